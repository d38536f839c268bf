"""/healthz tells an operator what the old "ok" hid (operator review D, M1 and M2), on SQLite and
PostgreSQL:

- a process whose code is older than the schema (a newer release ran `db upgrade`, this process was
  not restarted) answers 503, "schema": "newer than this code: restart", from the one statement
  /healthz already makes; a history row of a plugin whose package was removed does not count;
- a disk with less than 50 MB free for the instance folder answers 503, "disk": "full", and
  "read-only" when it turned read-only; both come back to "ok" without a restart.
"""

from __future__ import annotations

from pathlib import Path

from small_disk import make_read_only, make_writable, small_disk

from core.db import connection, db
from core.schema import HISTORY_TABLE

FROM_A_NEWER_RELEASE = "reporting:9999_from_a_newer_release"
SCHEMA_NEWER = "newer than this code: restart"


def health(app) -> tuple[int, dict]:
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


def _history(app, sql: str, name: str) -> None:
    with app.app_context(), connection():
        db.execute_sql(sql.format(table=HISTORY_TABLE, param=db.param), (name,))


ADD = "INSERT INTO \"{table}\" (name, applied) VALUES ({param}, CURRENT_TIMESTAMP)"
REMOVE = "DELETE FROM \"{table}\" WHERE name = {param}"


def test_a_process_older_than_the_schema_answers_503_until_restarted(make_app):
    app = make_app()
    status, report = health(app)
    assert status == 200 and report["schema"] == "ok" and report["status"] == "ok", report

    _history(app, ADD, FROM_A_NEWER_RELEASE)  # a newer release's `db upgrade`, run behind this process
    try:
        status, report = health(app)
        assert status == 503, report
        assert report["schema"] == SCHEMA_NEWER
        assert report["status"] == "unavailable" and report["pending_migrations"] == 0
        assert report["database"] == "ok"
        assert health(app)[1]["schema"] == SCHEMA_NEWER, "asked again (from the cache), the same"
    finally:
        _history(app, REMOVE, FROM_A_NEWER_RELEASE)
    status, report = health(app)
    assert status == 200 and report["schema"] == "ok"


def test_a_removed_plugins_history_is_not_newer_code(make_app):
    app = make_app()
    _history(app, ADD, "gone:0001_initial")  # a plugin once installed, its package since removed
    try:
        status, report = health(app)
        assert status == 200 and report["schema"] == "ok", report
    finally:
        _history(app, REMOVE, "gone:0001_initial")


def test_a_full_disk_answers_503_and_recovers_without_a_restart(make_app, tmp_path):
    with small_disk(tmp_path / "disk", 80) as disk:
        app = make_app({"INSTANCE_PATH": str(disk / "instance")})
        Path(app.instance_path).mkdir(exist_ok=True)
        status, report = health(app)
        assert status == 200 and report["disk"] == "ok", report

        filler = disk / "filler"
        with filler.open("wb") as handle:  # leaves less than DISK_FULL_BELOW (50 MB) of the 80 MB
            handle.write(b"\0" * (40 * 1024 * 1024))
        from core import health as checks

        assert checks.DISK_FULL_BELOW == 50 * 1024 * 1024
        status, report = health(app)
        assert status == 503, report
        assert report["disk"] == "full" and report["status"] == "unavailable" and report["database"] == "ok"

        filler.unlink()
        assert health(app) == (200, {**report, "disk": "ok", "status": "ok"})

        make_read_only(disk)
        try:
            status, report = health(app)
            assert status == 503 and report["disk"] == "read-only", report
        finally:
            make_writable(disk)
        assert health(app)[0] == 200


def test_the_database_folder_counts_too(make_app, tmp_path, database_url):
    """With SQLite, the database file may live outside the instance folder: its disk is checked too."""
    from conftest import using_postgres

    if using_postgres():
        return  # PostgreSQL's disk is the database server's: monitored there (docs/deployment.md)
    import shutil

    with small_disk(tmp_path / "disk", 40) as disk:  # 40 MB: below the threshold from the start
        copy = disk / "redumbrella.sqlite3"
        shutil.copyfile(database_url.removeprefix("sqlite:///"), copy)
        app = make_app({"DATABASE_URL": f"sqlite:///{copy}"})
        status, report = health(app)
        assert status == 503 and report["disk"] == "full", report
