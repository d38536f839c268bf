"""The audit log: append-only and hash-chained, with no personal data in it.

Each entry records who (an account id), did what (an action code) to which record (a reference
such as "report:R-7KQ2") and when. Each row's hash covers its fields and the previous row's hash,
so editing or deleting a row breaks the chain, and `redumbrella audit verify` finds where.
"""

from __future__ import annotations

import contextlib
import hashlib
import json

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

    def compute_hash(self) -> str:
        body = json.dumps(
            [
                self.created_at.isoformat(timespec="microseconds"),
                self.actor_id,
                self.action,
                self.target,
                self.previous_hash,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(body.encode()).hexdigest()


def record(action: str, target: str = "", actor_id: int | None = None) -> AuditEntry:
    """Append an entry. Pass codes and references only, never names, numbers or free text."""
    if actor_id is None and has_request_context() and current_user and current_user.is_authenticated:
        actor_id = current_user.id
    # Inside a caller's transaction (an identifier check, a moderation step) the entry is part of
    # it; a savepoint would only add two statements.
    with contextlib.nullcontext() if db.in_transaction() else db.atomic():
        if not _is_sqlite():
            # One writer at a time extends the chain (SQLite already serialises writers).
            db.execute_sql("LOCK TABLE audit_entry IN SHARE ROW EXCLUSIVE MODE")
        # Plain statements: an entry is written on every check and every staff action.
        last = run_sql("SELECT entry_hash FROM audit_entry ORDER BY id DESC LIMIT 1").fetchone()
        entry = AuditEntry(created_at=utcnow(), actor_id=actor_id, action=action, target=target,
                           previous_hash=last[0] if last else GENESIS)
        entry.entry_hash = entry.compute_hash()
        entry.id = run_sql(
            "INSERT INTO audit_entry (created_at, actor_id, action, target, previous_hash, entry_hash) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (entry.created_at, actor_id, action, target, entry.previous_hash, entry.entry_hash),
        ).fetchone()[0]
    return entry


def verify() -> int | None:
    """Walk the chain; return the id of the first entry that does not fit, or None if all do."""
    previous = GENESIS
    for entry in AuditEntry.select().order_by(AuditEntry.id).iterator():
        if entry.previous_hash != previous or entry.compute_hash() != entry.entry_hash:
            return entry.id
        previous = entry.entry_hash
    return None


def _is_sqlite() -> bool:
    from core.db import is_sqlite

    return is_sqlite()
