"""What /healthz reports: can we reach the database and the queue storage, and is a worker alive."""

from __future__ import annotations

import datetime

from core.db import db, utcnow
from core.models import Heartbeat
from core.queue import EXTENSION

HEARTBEAT = "worker"
WORKER_STALE_AFTER = datetime.timedelta(minutes=5)


def check(app) -> dict:
    report = {"status": "ok", "database": "ok", "queue": "ok", "worker": "unknown", "pending_migrations": 0}
    try:
        db.execute_sql("SELECT 1")
        from core.schema import pending

        report["pending_migrations"] = len(pending(app))
        beat = Heartbeat.get_or_none(Heartbeat.name == HEARTBEAT)
        if beat is not None:
            report["worker"] = "ok" if utcnow() - beat.seen_at < WORKER_STALE_AFTER else "stale"
    except Exception:  # noqa: BLE001 - any failure to reach the database is "unavailable"
        report["database"] = "unavailable"
    try:
        report["queued_tasks"] = app.extensions[EXTENSION].huey.pending_count()
    except Exception:  # noqa: BLE001 - same for the queue's storage
        report["queue"] = "unavailable"
    if report["database"] != "ok" or report["queue"] != "ok" or report["pending_migrations"]:
        report["status"] = "unavailable"
    return report


def beat() -> None:
    Heartbeat.insert(name=HEARTBEAT, seen_at=utcnow()).on_conflict(
        conflict_target=[Heartbeat.name], update={Heartbeat.seen_at: utcnow()}
    ).execute()
