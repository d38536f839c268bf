"""Random tokens that are stored only as a hash: one way to make them, hash them and check them.

Bearer tokens (core.accounts.tokens), session keys, one-time links (invitations, set-your-password
links), the partners' feed tokens, feedback links, check-in codes and report drafts all work the
same way: the holder gets a random token once, the database keeps only its hash, and a token
is found by looking its hash up. (Personal access tokens are core.accounts.tokens, which uses this
module; password-reset links are signed rather than stored, core.accounts.reset.)

A token carries 128 to 256 random bits (`secrets.token_urlsafe`), so neither guessing nor an
offline search can find it from its hash, however fast the hash: a slow password hash (Argon2) or
a per-row salt would only make each look-up cost more, and a salted hash could not be looked up
by index at all. Slow hashes are for low-entropy secrets (passwords, receipts: core.receipts).

Two hashes are in use, and both stay, because rows already stored must keep working:
- `hash_token(token)`: SHA-256 in hex. Use it for anything new.
- `hash_token(token, kind=...)`: HMAC-SHA256 under the blind-index key (core.crypto) for that
  kind, as the one-time links and check-in codes have always been stored. A database read
  without the key then cannot even confirm a token seen elsewhere.
Both are 64 hexadecimal characters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 random bits: a token_urlsafe of 43 characters


def new_token(prefix: str = "", nbytes: int = TOKEN_BYTES) -> str:
    """A fresh random token, URL-safe, after an optional prefix that lets people and secret
    scanners recognise it ("ru_" for access tokens)."""
    return prefix + secrets.token_urlsafe(nbytes)


def hash_token(token: str, kind: str | None = None) -> str:
    """What is stored in place of the token: SHA-256, or with `kind` the keyed blind index."""
    if kind is not None:
        from core.crypto import keyring

        return keyring().blind_index(kind, token)
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def verify(token: str | None, stored: str | None, kind: str | None = None) -> bool:
    """Whether the token is the one whose hash was stored, compared in constant time."""
    if not token or not stored:
        return False
    return hmac.compare_digest(hash_token(token, kind).encode("ascii"), stored.encode("ascii"))
