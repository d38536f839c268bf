"""Encrypt the staff-only withdrawal reason of alerts, which was stored as plain text.

Runs from `redumbrella db upgrade`, after the app has loaded its keys, so the instance's key ring
encrypts what is there; rows written from now on go through EncryptedTextField.
"""
from core.crypto import keyring


def up(migrator, db):
    rows = db.execute_sql(
        "SELECT id, withdrawn_reason FROM alerts_alert WHERE withdrawn_reason IS NOT NULL"
    ).fetchall()
    for alert_id, reason in rows:
        db.execute_sql(
            f"UPDATE alerts_alert SET withdrawn_reason = {db.param} WHERE id = {db.param}",
            (keyring().encrypt(reason), alert_id),
        )


def down(migrator, db):
    rows = db.execute_sql(
        "SELECT id, withdrawn_reason FROM alerts_alert WHERE withdrawn_reason IS NOT NULL"
    ).fetchall()
    for alert_id, token in rows:
        db.execute_sql(
            f"UPDATE alerts_alert SET withdrawn_reason = {db.param} WHERE id = {db.param}",
            (keyring().decrypt(token), alert_id),
        )
