"""The audit log: append-only and chained with a keyed hash, with no personal data in it.

Each entry records who (an account id), did what (an action code) to which record (a reference
such as "report:R-7KQ2") and when. Each row's hash is an HMAC-SHA256, under the audit key kept
outside the database (`<instance>/keys/audit.keys` or REDUMBRELLA_AUDIT_KEYS), of its fields and
the previous row's hash. Editing or deleting a row breaks the chain, and without the key nobody
can compute a chain that fits again, so `redumbrella audit verify` finds where.

Entries written before the key existed (by a release before core migration 0040) are plain
SHA-256 with an empty key_id. They are still checked, and they are accepted only as the beginning
of the log, sealed by the keyed entries after them: rewriting them changes the hash the first
keyed entry was signed over. The "head" (how many entries, and the newest one's hash) is what an
operator keeps elsewhere to notice entries removed from the end (`verify --expect-head`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from flask import has_request_context
from flask_login import current_user
from peewee import CharField, DateTimeField, IntegerField

from core.db import BaseModel, db, run_sql, utcnow

GENESIS = "0" * 64


class AuditEntry(BaseModel):
    created_at = DateTimeField(default=utcnow, index=True)
    actor_id = IntegerField(null=True, index=True)
    action = CharField(max_length=64, index=True)
    target = CharField(max_length=128, default="")
    previous_hash = CharField(max_length=64)
    entry_hash = CharField(max_length=64, unique=True)
    key_id = CharField(max_length=16, default="")  # which audit key signed it; "" before keys existed

    def compute_hash(self, key: bytes | None = None) -> str:
        """The entry's hash: HMAC-SHA256 under `key` for a keyed entry, plain SHA-256 for an old one."""
        return entry_hash(self.created_at, self.actor_id, self.action, self.target, self.previous_hash,
                          self.key_id, key)


def entry_hash(created_at, actor_id, action, target, previous_hash, key_id, key: bytes | None) -> str:
    fields = [created_at.isoformat(timespec="microseconds"), actor_id, action, target, previous_hash]
    if not key_id:  # written before the chain was keyed (core migration 0040)
        return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()
    if key is None:
        raise ValueError("a keyed entry needs its audit key")
    body = json.dumps([*fields, key_id], separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def record(action: str, target: str = "", actor_id: int | None = None) -> int:
    """Append an entry and return its id. Pass codes and references only, never names, numbers or
    free text."""
    from core.crypto import keyring

    if actor_id is None and has_request_context() and current_user and current_user.is_authenticated:
        actor_id = current_user.id
    ring = keyring()
    key_id = ring.audit_signing_id
    database = db.obj  # once: each attribute read through the proxy costs a failed lookup first
    # Inside a caller's transaction (an identifier check, a moderation step) the entry is part of
    # it; a savepoint would only add two statements.
    with contextlib.nullcontext() if database.in_transaction() else database.atomic():
        if not _is_sqlite(database):
            # One writer at a time extends the chain (SQLite already serialises writers).
            database.execute_sql("LOCK TABLE audit_entry IN SHARE ROW EXCLUSIVE MODE")
        # Plain statements and no model instance: an entry is written on every check and every
        # staff action, and only its values are needed to hash and store it.
        last = run_sql("SELECT entry_hash FROM audit_entry ORDER BY id DESC LIMIT 1").fetchone()
        previous, now = last[0] if last else GENESIS, utcnow()
        signed = entry_hash(now, actor_id, action, target, previous, key_id, ring.audit_keys[key_id])
        return run_sql(
            "INSERT INTO audit_entry (created_at, actor_id, action, target, previous_hash, entry_hash, key_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (now, actor_id, action, target, previous, signed, key_id),
        ).fetchone()[0]


@dataclass(frozen=True)
class Head:
    """Where the chain ends: how many entries it has and the newest one's hash."""

    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """COUNT:HASH, or the last such pair in a text (a saved `audit verify` output)."""
        found = re.findall(r"\b(\d+):([0-9a-f]{64})\b", text)
        if not found:
            raise ValueError("a saved head is COUNT:HASH, as `redumbrella audit verify` prints it")
        count, digest = found[-1]
        return cls(int(count), digest)


@dataclass
class Verification:
    head: Head
    broken_at: int | None = None  # id of the first entry that does not fit
    problem: str = ""  # what is wrong, in one line; "" when the log is intact

    @property
    def intact(self) -> bool:
        return not self.problem


def check(expect: Head | None = None) -> Verification:
    """Walk the whole chain; also check that `expect` (a head saved earlier) is a point on it."""
    from core.crypto import keyring

    keys = keyring().audit_keys
    previous, count, keyed_seen, last_id = GENESIS, 0, False, None
    expect_matched = expect is None or (expect.count == 0 and expect.hash == GENESIS)
    query = AuditEntry.select().order_by(AuditEntry.id)
    for entry in query.iterator():
        count += 1
        last_id = entry.id
        if entry.previous_hash != previous:
            return _broken(count - 1, previous, entry.id, f"the audit chain breaks at entry {entry.id}")
        if entry.key_id:
            key = keys.get(entry.key_id)
            if key is None:
                return _broken(count - 1, previous, entry.id,
                               f"entry {entry.id} was signed with an audit key this instance does not have "
                               f"(key id {entry.key_id})")
            keyed_seen = True
        elif keyed_seen:
            return _broken(count - 1, previous, entry.id, f"the audit chain breaks at entry {entry.id} "
                           "(an unkeyed entry after keyed ones)")
        else:
            key = None
        if not hmac.compare_digest(entry.compute_hash(key), entry.entry_hash):
            return _broken(count - 1, previous, entry.id, f"the audit chain breaks at entry {entry.id}")
        previous = entry.entry_hash
        if expect is not None and count == expect.count:
            if entry.entry_hash != expect.hash:
                return Verification(Head(count, previous), entry.id,
                                    f"entry number {count} is not the one in the saved head: "
                                    "the log was rewritten")
            expect_matched = True
    head = Head(count, previous)
    if count and not keyed_seen:
        return Verification(head, last_id, "the audit log has no keyed entry: its newest entries were removed")
    if not expect_matched:
        if expect.count > count:
            return Verification(head, None, f"the saved head has {expect.count} entries but the log has "
                                f"{count}: entries were removed")
        return Verification(head, None, "the saved head is not on the audit chain: the log was rewritten")
    return Verification(head)


def _broken(count: int, previous: str, entry_id: int, problem: str) -> Verification:
    return Verification(Head(count, previous), entry_id, problem)


def verify() -> int | None:
    """Walk the chain; return the id of the first entry that does not fit, or None if all do."""
    return check().broken_at


def head() -> Head:
    """The current head, without checking the chain (for backup manifests)."""
    row = run_sql("SELECT COUNT(*) FROM audit_entry").fetchone()
    last = run_sql("SELECT entry_hash FROM audit_entry ORDER BY id DESC LIMIT 1").fetchone()
    return Head(row[0], last[0] if last else GENESIS)


def _is_sqlite(database=None) -> bool:
    from core.db import is_sqlite

    return is_sqlite(database)
