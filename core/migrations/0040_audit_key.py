"""The audit chain is keyed: each new entry's hash is an HMAC-SHA256 under the audit key.

A plain SHA-256 chain can be recomputed by anyone who can write to the database (drop the
triggers, edit a row, re-chain every row after it) and then reads as intact. From here on every
entry is signed with the audit key, which lives outside the database like the encryption keys,
and carries the id of the key that signed it (`key_id`).

Entries already written stay exactly as they are (the log is append-only, so they are not
rewritten): their plain hashes are checked as before, and this migration seals them with one
keyed entry, `audit.keyed`, whose signature covers the newest old entry's hash. Changing any old
entry now changes that hash and breaks the seal, which cannot be re-signed without the key. If the
old chain was already broken, the break stays where `redumbrella audit verify` reports it.

Runs from `redumbrella db upgrade`, after the app has loaded its keys (and created the audit key
file on first start).
"""

import datetime
import hashlib
import hmac
import json
import logging

from peewee import CharField, DateTimeField, IntegerField, Model

from core.crypto import keyring

GENESIS = "0" * 64
log = logging.getLogger("redumbrella.migrations")


class AuditEntry(Model):
    """A frozen copy of the table as it is after this migration."""

    created_at = DateTimeField()
    actor_id = IntegerField(null=True)
    action = CharField(max_length=64)
    target = CharField(max_length=128, default="")
    previous_hash = CharField(max_length=64)
    entry_hash = CharField(max_length=64, unique=True)
    key_id = CharField(max_length=16, default="")

    class Meta:
        table_name = "audit_entry"


def _fields(entry):
    return [entry.created_at.isoformat(timespec="microseconds"), entry.actor_id, entry.action, entry.target,
            entry.previous_hash]


def up(migrator, db):
    db.execute_sql("ALTER TABLE audit_entry ADD COLUMN key_id VARCHAR(16) NOT NULL DEFAULT ''")
    ring = keyring()
    key_id = ring.audit_signing_id
    with db.bind_ctx([AuditEntry]):
        previous, count, broken = GENESIS, 0, None
        for entry in AuditEntry.select().order_by(AuditEntry.id).iterator():
            count += 1
            digest = hashlib.sha256(json.dumps(_fields(entry), separators=(",", ":")).encode()).hexdigest()
            if broken is None and (entry.previous_hash != previous or digest != entry.entry_hash):
                broken = entry.id
            previous = entry.entry_hash
        if not count:
            return  # a new instance: every entry will be keyed from the first
        if broken is not None:
            log.warning("the unkeyed audit chain was already broken before it was sealed",
                        extra={"event": "audit_chain_broken", "count": count})
        seal = AuditEntry(created_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None), actor_id=None,
                          action="audit.keyed", target=f"audit_entry:{count}", previous_hash=previous,
                          key_id=key_id)
        body = json.dumps([*_fields(seal), key_id], separators=(",", ":")).encode()
        seal.entry_hash = hmac.new(ring.audit_keys[key_id], body, hashlib.sha256).hexdigest()
        seal.save(force_insert=True)


def down(migrator, db):
    raise RuntimeError("the audit log is append-only: its keyed entries cannot be turned back into unkeyed ones")
