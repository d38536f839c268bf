"""Receipts: what an anonymous person keeps instead of an account (a report, a request for support).

A receipt is 16 random digits in groups of four, shown once and never stored: only an Argon2id
hash of it is kept, under an instance-wide salt derived from the blind-index key (so the same
receipt gives the same hash and can be looked up, and a stolen database cannot be searched
quickly without the key). The Argon2 cost is configuration (ARGON2_*), stored beside each hash
so a receipt made under older settings still opens. Each owner hashes under its own scope, so a
report's receipt never opens anything else.

Throttling wrong receipts belongs to whoever asks for them (the reporting plugin counts them in
its own table and settings); lookup() hashes even a malformed receipt, so a wrong answer takes
as long as a right one.
"""

from __future__ import annotations

import secrets

from argon2.low_level import Type, hash_secret_raw
from flask import current_app

from core.crypto import keyring
from core.numbers import ASCII_DIGITS, ascii_digits

RECEIPT_DIGITS = 16


def new_receipt() -> str:
    """16 random digits in groups of four: easy to write down, read out, or type on any keyboard."""
    digits = f"{secrets.randbelow(10**RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"
    return " ".join(digits[i : i + 4] for i in range(0, RECEIPT_DIGITS, 4))


def receipt_digits(text: str | None) -> str | None:
    """The 16 digits of a receipt as typed (spaces and dashes do not matter), or None.

    Digits of any script (Arabic-Indic, Persian, fullwidth) count as their ASCII digit, so a
    receipt typed on another keyboard opens the same report; "²" and the like are not digits."""
    digits = "".join(ch for ch in ascii_digits(text) if ch in ASCII_DIGITS)
    return digits if len(digits) == RECEIPT_DIGITS else None


def receipt_cost() -> str:
    """The Argon2 parameters receipts are hashed with now, as stored beside each hash."""
    config = current_app.config
    return f"{config['ARGON2_TIME_COST']}:{config['ARGON2_MEMORY_COST']}:{config['ARGON2_PARALLELISM']}"


def _salt(scope: str) -> bytes:
    return bytes.fromhex(keyring().blind_index(f"{scope}-receipt-salt", "v1"))[:16]


def receipt_hash(digits: str, cost: str, scope: str = "reporting") -> str:
    """Argon2id of the receipt (slow on purpose: a stolen database cannot be searched quickly)."""
    time_cost, memory_cost, parallelism = (int(part) for part in cost.split(":"))
    raw = hash_secret_raw(
        secret=digits.encode(),
        salt=_salt(scope),
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=32,
        type=Type.ID,
    )
    return raw.hex()


def lookup(model, text: str | None, scope: str):
    """The row of `model` (with receipt_hash and receipt_cost columns) a receipt opens, or None.

    Tries the current cost first, then each older cost still stored. Expiry is the caller's rule.
    """
    digits = receipt_digits(text)
    cost = receipt_cost()
    hashed = receipt_hash(digits or "0" * RECEIPT_DIGITS, cost, scope)
    if digits is None:
        return None
    found = model.get_or_none(model.receipt_hash == hashed)
    if found is None:
        older = model.select(model.receipt_cost).where(
            model.receipt_cost.is_null(False) & (model.receipt_cost != cost)).distinct()
        for row in older:
            found = model.get_or_none(model.receipt_hash == receipt_hash(digits, row.receipt_cost, scope))
            if found is not None:
                break
    return found
