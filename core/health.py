"""What /healthz reports: can we reach the database and the queue storage, does this process run
the code the schema was migrated for, is there room to write, and is a worker alive."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from core.db import run_sql, utcnow
from core.models import Heartbeat
from core.per_app import per_app
from core.queue import EXTENSION

HEARTBEAT = "worker"
WORKER_STALE_AFTER = datetime.timedelta(minutes=5)
# Below this much free space (for the service's user) on the instance folder's file system, or the
# SQLite database's, "disk" is "full" and the answer 503: SQLite needs room for its WAL and journal,
# and a report with pictures takes a few MB, so writes fail soon after. Not a substitute for
# alerting on free space well before (docs/deployment.md, "Monitor").
DISK_FULL_BELOW = 50 * 1024 * 1024
SCHEMA_NEWER = "newer than this code: restart"


_BEAT_SQL = "SELECT seen_at FROM heartbeat WHERE name = %s"
# core.schema.HISTORY_STAMP_SQL and _BEAT_SQL in one round trip.
_HISTORY_AND_BEAT_SQL = ("SELECT (SELECT COUNT(*) FROM schema_migration), (SELECT MAX(applied) FROM schema_migration), "
                         "(SELECT seen_at FROM heartbeat WHERE name = %s)")


def check(app) -> dict:
    report = {"status": "ok", "database": "ok", "schema": "ok", "disk": _disk(app), "queue": "ok",
              "worker": "unknown", "pending_migrations": 0}
    try:
        from core.schema import history_exists, newer, pending

        # One statement, also the proof that the database answers: a load balancer asks every few
        # seconds. A database never migrated has neither table: reading the heartbeat fails there.
        if history_exists(app):
            count, latest, seen_at = run_sql(_HISTORY_AND_BEAT_SQL, (HEARTBEAT,)).fetchone()
            report["pending_migrations"] = len(pending(app, (count, latest)))
            if newer(app, (count, latest)):  # the same cached read of the history: no statement more
                report["schema"] = SCHEMA_NEWER
        else:
            report["pending_migrations"] = len(pending(app))
            beat = run_sql(_BEAT_SQL, (HEARTBEAT,)).fetchone()
            seen_at = beat[0] if beat else None
        if seen_at is not None:
            report["worker"] = "ok" if utcnow() - _as_datetime(seen_at) < WORKER_STALE_AFTER else "stale"
    except Exception:  # noqa: BLE001 - any failure to reach the database is "unavailable"
        report["database"] = "unavailable"
        report["schema"] = "unknown"
    try:
        report["queued_tasks"] = app.extensions[EXTENSION].huey.pending_count()
    except Exception:  # noqa: BLE001 - same for the queue's storage
        report["queue"] = "unavailable"
    if (report["database"] != "ok" or report["queue"] != "ok" or report["pending_migrations"]
            or report["schema"] != "ok" or report["disk"] != "ok"):
        report["status"] = "unavailable"
    return report


def _disk(app) -> str:
    """"ok", "full" (less than DISK_FULL_BELOW free for the service's user), "read-only", or
    "unavailable" (a folder is missing). One statvfs a folder, nothing written: cheap enough for
    every call."""
    try:
        found = [os.statvfs(folder) for folder in _data_folders(app)]
    except OSError:
        return "unavailable"
    if any(stat.f_flag & os.ST_RDONLY for stat in found):
        return "read-only"
    return "full" if min(stat.f_bavail * stat.f_frsize for stat in found) < DISK_FULL_BELOW else "ok"


def _data_folders(app) -> tuple[str, ...]:
    """The instance folder, and the SQLite database's folder when it is elsewhere; found once per process."""

    def find() -> tuple[str, ...]:
        from peewee import SqliteDatabase

        from core.db import db

        folders = [str(app.instance_path)]
        database = db.obj.database if isinstance(db.obj, SqliteDatabase) else ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folders.append(str(Path(database).resolve().parent))
        return tuple(dict.fromkeys(folders))

    return per_app("redumbrella.health.folders", find, app)


def _as_datetime(value) -> datetime.datetime:
    """SQLite hands the stored text back, PostgreSQL a datetime (peewee's field does this for models)."""
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)


def beat() -> None:
    Heartbeat.insert(name=HEARTBEAT, seen_at=utcnow()).on_conflict(
        conflict_target=[Heartbeat.name], update={Heartbeat.seen_at: utcnow()}
    ).execute()
