"""What /healthz reports: can we reach the database and the queue storage, and is a worker alive."""

from __future__ import annotations

import datetime

from core.db import run_sql, utcnow
from core.models import Heartbeat
from core.queue import EXTENSION

HEARTBEAT = "worker"
WORKER_STALE_AFTER = datetime.timedelta(minutes=5)


_BEAT_SQL = "SELECT seen_at FROM heartbeat WHERE name = %s"
# core.schema.HISTORY_STAMP_SQL and _BEAT_SQL in one round trip.
_HISTORY_AND_BEAT_SQL = ("SELECT (SELECT COUNT(*) FROM schema_migration), (SELECT MAX(applied) FROM schema_migration), "
                         "(SELECT seen_at FROM heartbeat WHERE name = %s)")


def check(app) -> dict:
    report = {"status": "ok", "database": "ok", "queue": "ok", "worker": "unknown", "pending_migrations": 0}
    try:
        from core.schema import history_exists, pending

        # One statement, also the proof that the database answers: a load balancer asks every few
        # seconds. A database never migrated has neither table: reading the heartbeat fails there.
        if history_exists(app):
            count, latest, seen_at = run_sql(_HISTORY_AND_BEAT_SQL, (HEARTBEAT,)).fetchone()
            report["pending_migrations"] = len(pending(app, (count, latest)))
        else:
            report["pending_migrations"] = len(pending(app))
            beat = run_sql(_BEAT_SQL, (HEARTBEAT,)).fetchone()
            seen_at = beat[0] if beat else None
        if seen_at is not None:
            report["worker"] = "ok" if utcnow() - _as_datetime(seen_at) < WORKER_STALE_AFTER else "stale"
    except Exception:  # noqa: BLE001 - any failure to reach the database is "unavailable"
        report["database"] = "unavailable"
    try:
        report["queued_tasks"] = app.extensions[EXTENSION].huey.pending_count()
    except Exception:  # noqa: BLE001 - same for the queue's storage
        report["queue"] = "unavailable"
    if report["database"] != "ok" or report["queue"] != "ok" or report["pending_migrations"]:
        report["status"] = "unavailable"
    return report


def _as_datetime(value) -> datetime.datetime:
    """SQLite hands the stored text back, PostgreSQL a datetime (peewee's field does this for models)."""
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def beat() -> None:
    Heartbeat.insert(name=HEARTBEAT, seen_at=utcnow()).on_conflict(
        conflict_target=[Heartbeat.name], update={Heartbeat.seen_at: utcnow()}
    ).execute()
