"""Alerts migration 0003 encrypts withdrawal reasons written before it, on SQLite and PostgreSQL."""

from core import schema
from core.crypto import keyring
from core.db import connection, db

ENCRYPT = "alerts:0003_encrypt_withdrawal_reason"


def alerts_runner(app):
    return next(runner for runner in schema.runners(app) if runner.owner == "alerts")


def test_reasons_stored_in_clear_are_encrypted_by_the_upgrade(app):
    reason = "Withdrawn: the reporter asked us to, canary 7f3a"
    with app.app_context(), connection():
        runner = alerts_runner(app)
        undone = runner.down(ENCRYPT)  # the database as it was before this migration (and any later one)
        assert undone[-1] == ENCRYPT
        db.execute_sql(
            "INSERT INTO alerts_alert (status, severity, title, summary, incident_types, version, created_at, "
            f"changed_at, withdrawn_reason) VALUES ('withdrawn', 'medium', 'old', 's', '', 1, "
            f"CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, {db.param})",
            (reason,),
        )
        (alert_id,) = db.execute_sql("SELECT max(id) FROM alerts_alert").fetchone()
        assert schema.upgrade(app) == list(reversed(undone))
        (stored,) = db.execute_sql(f"SELECT withdrawn_reason FROM alerts_alert WHERE id = {alert_id}").fetchone()
        assert stored != reason and "canary" not in stored
        assert keyring().decrypt(stored) == reason

        from plugins.alerts.models import Alert

        assert Alert.get_by_id(alert_id).withdrawn_reason == reason
