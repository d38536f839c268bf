"""Core tables: which plugins are enabled, plugin settings, the worker heartbeat, the key check and
receipts kept to be shown again."""

from peewee import BooleanField, CharField, DateTimeField, IntegerField, TextField

from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow


class PluginState(BaseModel):
    """One row per plugin that was ever switched; no row means disabled (deny by default)."""

    name = CharField(primary_key=True, max_length=64)
    enabled = BooleanField(default=False)
    changed_at = DateTimeField(default=utcnow)


class PluginSetting(BaseModel):
    """A plugin's admin settings, stored as the JSON its settings schema dumps."""

    plugin = CharField(primary_key=True, max_length=64)
    data = TextField(default="{}")
    changed_at = DateTimeField(default=utcnow)


class Heartbeat(BaseModel):
    """Last time a queue worker ran its periodic heartbeat, shown by /healthz."""

    name = CharField(primary_key=True, max_length=64)
    seen_at = DateTimeField(default=utcnow)


class KeyCheck(BaseModel):
    """Proof of the keys this database's data was written with: one row (core.key_check)."""

    id = IntegerField(primary_key=True)
    sealed = EncryptedTextField()  # a known text under the encryption keys; `keys rotate` re-encrypts it
    blind_index = CharField(max_length=16)  # the blind-index key's fingerprint (core.crypto.fingerprint)
    key_files = TextField(default="[]")  # JSON: names of every key file keys/ has held (a module's too)
    audit_keys = TextField(default="[]")  # JSON: ids of every audit key that has signed (core.crypto.audit_key_id)
    recorded_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "core_key_check"


class KeptReceipt(BaseModel):
    """A receipt kept for a few minutes to show again to the browser given it (core.kept_receipts).
    Nothing else: not what it opens, nor when it was made."""

    key_hash = CharField(max_length=64, primary_key=True)  # a hash of keys only that browser holds
    receipt = EncryptedTextField()
    expires_at = DateTimeField(index=True)

    class Meta:
        table_name = "core_kept_receipt"
