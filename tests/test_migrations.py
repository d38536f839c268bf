"""Versioned migrations (issue 2, item 5), on SQLite and PostgreSQL.

History rows are "<owner>:<file>"; a database that is behind is reported clearly by
`redumbrella db status` (non-zero exit, names what is pending), by /healthz (503) and by `serve`,
which refuses to start; `init` creates everything and is safe to run twice. The CLI runs as a real
process. Behind-ness is made on a throwaway database: an empty SQLite file, or a PostgreSQL
database created for the test next to the test database.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from conftest import TEST_DATABASE_URL, using_postgres
from fixtures import sample_plugin
from fixtures.processes import free_port, instance_env, port_open, run_cli, run_cli_many
from helpers import sign_in

from core.db import connection, db
from core.schema import HISTORY_TABLE, runners, status, upgrade

OWNER_FILE = re.compile(r"^[a-z][a-z0-9_]*:\d{4}_[a-z0-9_]+$")


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database: a new SQLite file, or "<test database>_fresh" on PostgreSQL, created once
    and emptied for each test (dropping a database forces a slow checkpoint; emptying does not)."""
    if not using_postgres():
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg2

    parsed = urlparse(TEST_DATABASE_URL)
    name = f"{parsed.path.lstrip('/')}_fresh"
    url = urlunparse(parsed._replace(path=f"/{name}"))
    def execute(target: str, sql: str, params=()):
        connection = psycopg2.connect(target)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone() if cursor.description else None
        finally:
            connection.close()

    if execute(TEST_DATABASE_URL, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)) is None:
        execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"')

    def empty():
        execute(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    empty()
    yield url
    if db.obj is not None:
        db.obj.close_all()
    empty()


def _history(app) -> list[str]:
    with app.app_context(), connection():
        return [row[0] for row in db.execute_sql(f'SELECT name FROM "{HISTORY_TABLE}"').fetchall()]  # noqa: S608


def test_history_rows_are_named_owner_and_file(make_app):
    app = make_app(extra_plugins=[sample_plugin])
    with app.app_context(), connection():
        upgrade(app)
        expected = {f"{runner.owner}:{Path(path).stem}" for runner in runners(app)
                    for path in Path(runner.directory).glob("[0-9]*.py")}
    history = _history(app)
    assert set(history) == expected, "every migration file of every owner is recorded, nothing else"
    assert all(OWNER_FILE.match(name) for name in history), history
    assert {"core:0001_core", "training:0001_courses", "sample:0001_notes"} <= set(history)
    assert len(history) == len(set(history))


def test_fresh_database_init_twice_upgrade_and_behind(make_app, fresh_database_url, tmp_path):
    """One throwaway database through its life (each step is a real `redumbrella` process)."""
    instance = tmp_path / "instance"
    env = instance_env(instance, fresh_database_url)

    # Empty: everything is pending, and commands that need tables say so plainly.
    empty, listing = run_cli_many([["db", "status"], ["plugins", "list"]], env)
    assert empty.returncode == 1
    assert "pending core:0001_core" in empty.stdout
    assert "behind by" in empty.stderr and "redumbrella db upgrade" in empty.stderr
    assert listing.returncode == 1 and "Traceback" not in listing.stderr
    assert "redumbrella db upgrade" in listing.stderr

    # init creates the instance and the whole schema...
    first = run_cli(["init"], env)
    assert first.returncode == 0, first.stderr
    applied = int(re.search(r"Database: (\d+) migration\(s\) applied", first.stdout).group(1))
    assert instance.is_dir()
    # ...and running it again (or db upgrade) changes nothing.
    second, upgrade_again, ok = run_cli_many([["init"], ["db", "upgrade"], ["db", "status"]], env)
    assert second.returncode == 0 and "Database: already up to date" in second.stdout, second.stderr
    assert upgrade_again.returncode == 0 and upgrade_again.stdout.strip() == "Database is up to date."
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "core: " in ok.stdout and " 0 pending" in ok.stdout and "pending " not in ok.stdout

    app = make_app({"DATABASE_URL": fresh_database_url})
    history = _history(app)
    assert len(history) == applied == len(set(history)), "the second run applied nothing again"
    with app.app_context(), connection():
        assert all(not owner.pending for owner in status(app))
        tables = set(db.get_tables())
    assert {"plugin_state", "plugin_setting", "heartbeat", HISTORY_TABLE, "training_course"} <= tables
    assert app.test_client().get("/healthz").status_code == 200

    # A release adds a migration: here, the newest core migration's history row is removed.
    with app.app_context(), connection():
        latest = max(name for name in history if name.startswith("core:"))
        db.execute_sql(f'DELETE FROM "{HISTORY_TABLE}" WHERE name = {db.param}', (latest,))  # noqa: S608

    port = free_port()
    behind, refused, worker = run_cli_many(
        [["db", "status"], ["serve", "--port", str(port), "--no-worker"], ["worker"]], env, timeout=30
    )
    assert behind.returncode == 1
    assert f"pending {latest}" in behind.stdout
    assert "behind by 1 migration(s)" in behind.stderr

    health = app.test_client().get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["pending_migrations"] == 1 and health.get_json()["status"] == "unavailable"

    assert refused.returncode == 1
    assert f"the database is behind by 1 migration(s) ({latest}): run `redumbrella db upgrade` first" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not port_open(port), "nothing may listen when serve refuses"
    assert worker.returncode == 1 and "redumbrella db upgrade" in worker.stderr


def test_commands_that_migrate_started_together_take_turns(make_app, fresh_database_url, tmp_path):
    """Two containers starting at once each run `init` (or `db upgrade`) on an empty database:
    one applies every migration, the others wait for it and find nothing left to do."""
    env = instance_env(tmp_path / "instance", fresh_database_url)
    done = run_cli_many([["init"], ["init"], ["db", "upgrade"]], env, timeout=180)
    for result in done:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    # init says "Database: N migration(s) applied"; db upgrade prints "applied NAME" for each.
    counts = [int(found.group(1)) if (found := re.search(r"Database: (\d+) migration\(s\) applied", result.stdout))
              else len(re.findall(r"^applied ", result.stdout, re.M)) for result in done]
    history = _history(make_app({"DATABASE_URL": fresh_database_url}))
    assert sorted(counts)[-1] == len(history) == len(set(history)), counts
    assert sorted(counts)[:-1] == [0, 0], "only one of them migrated"
    config = tomllib.loads((tmp_path / "instance" / "config.toml").read_text())
    assert config["BASE_URL"] == "http://127.0.0.1:8000", "written once, not once per init"
    if not using_postgres():  # the lock they took turns on: empty, the owner's alone
        lock = tmp_path / "fresh.sqlite3-migrate.lock"
        assert lock.stat().st_size == 0 and lock.stat().st_mode & 0o777 == 0o600


def test_a_lock_file_that_cannot_be_taken_stops_the_upgrade_and_is_never_followed(tmp_path):
    """Whoever holds the service's account may put a link to another file where the SQLite
    migration lock goes, for a command run as root to open (and hand over): it is not followed, and
    a lock that cannot be taken stops the command with one line instead of migrating without it."""
    database = tmp_path / "own.sqlite3"
    env = instance_env(tmp_path / "instance", f"sqlite:///{database}")
    victim = tmp_path / "victim"
    victim.write_text("someone else's file\n")
    victim.chmod(0o600)
    (tmp_path / "own.sqlite3-migrate.lock").symlink_to(victim)
    for args in (["init"], ["db", "upgrade"]):
        refused = run_cli(args, env)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr
        assert refused.stderr.strip().splitlines()[-1].startswith(
            f"redumbrella: configuration error: {database}-migrate.lock cannot be opened"), refused.stderr
    assert victim.read_text() == "someone else's file\n" and victim.stat().st_mode & 0o777 == 0o600
    assert not list(sqlite3.connect(database).execute(
        "SELECT name FROM sqlite_master WHERE name = 'schema_migration'")), "nothing migrated without the lock"

    (tmp_path / "own.sqlite3-migrate.lock").unlink()
    done = run_cli(["db", "upgrade"], env)
    assert done.returncode == 0 and "applied core:0001_core" in done.stdout, done.stderr


def test_sqlite_connections_are_durable_and_strict(make_app, tmp_path):
    """WAL, synchronous=FULL, foreign keys on and a busy timeout, on every pooled connection."""
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'pragmas.sqlite3'}"})
    with app.app_context(), connection():
        pragma = {name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: S608
                  for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 10000}
    with sqlite3.connect(tmp_path / "pragmas.sqlite3") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "WAL is stored in the file"


def test_migrations_never_run_at_web_start_up(make_app, fresh_database_url):
    app = make_app({"DATABASE_URL": fresh_database_url})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    with app.app_context(), connection():
        assert "plugin_state" not in db.get_tables(), "creating the app must not migrate"
        pending = [name for owner in status(app) for name in owner.pending]
    assert "core:0001_core" in pending and response.get_json()["pending_migrations"] == len(pending)


def test_healthz_answers_503_with_json_when_the_database_cannot_be_reached(app, make_user, make_app, tmp_path):
    signed_in = app.test_client()
    sign_in(signed_in, make_user("member"))
    cookie = signed_in.get_cookie("session")

    missing = tmp_path / "no-such-folder" / "db.sqlite3"  # SQLite cannot open a file in a missing folder
    broken = make_app({"DATABASE_URL": f"sqlite:///{missing}", "TESTING": False})
    client = broken.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["database"] == "unavailable" and health.get_json()["status"] == "unavailable"
    page = client.get("/")
    assert page.status_code == 503, "a page says the service is unavailable, not that it broke"
    assert "not available right now" in page.get_data(as_text=True)
    # Someone signed in meets the same page (signed out), not a crash.
    client.set_cookie("session", cookie.value)
    page = client.get("/account/profile")
    assert page.status_code == 503 and "Quick exit" in page.get_data(as_text=True)
