"""Encrypt the staff-only withdrawal reason of alerts, which was stored as plain text.

Runs from `redumbrella db upgrade`, after the app has loaded its keys, so the instance's key ring
encrypts what is there; rows written from now on go through EncryptedTextField.
"""
from peewee import Model, TextField

from core.crypto import keyring


class Alert(Model):
    """A frozen view of the one column this migration rewrites, as raw text."""

    withdrawn_reason = TextField(null=True)

    class Meta:
        table_name = "alerts_alert"


def _rewrite(db, change):
    with db.bind_ctx([Alert]):
        for alert in Alert.select(Alert.id, Alert.withdrawn_reason).where(Alert.withdrawn_reason.is_null(False)):
            Alert.update(withdrawn_reason=change(alert.withdrawn_reason)).where(Alert.id == alert.id).execute()


def up(migrator, db):
    _rewrite(db, keyring().encrypt)


def down(migrator, db):
    _rewrite(db, keyring().decrypt)
