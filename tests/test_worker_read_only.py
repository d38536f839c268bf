"""A queue worker started on a disk turned read-only (SQLite) says so in one JSON log line naming
the folder to fix, and exits with status 1, as it does when its database cannot be reached: no
traceback, no personal data, and no worker left running whose every task fails. Two ways a disk is
found read-only (and a full disk, which the worker reports the same way):

- after a clean stop: SQLite cannot make its -wal and -shm files, and the pragmas fail as the
  connection opens;
- after a crash: the -wal and -shm files are still there, so the database opens and can be read,
  and only a write is refused.

The web side is unchanged: /healthz says the disk is read-only. SQLite only (a real read-only file
system, tests/small_disk.py): with PostgreSQL the instance folder holds no database.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import using_postgres
from fixtures.processes import instance_env, run_cli
from small_disk import make_read_only, small_disk

from core.db import db

pytestmark = [
    pytest.mark.once,  # the same on any database: run in the SQLite pass only
    pytest.mark.skipif(using_postgres(), reason="the instance folder holds the database only with SQLite"),
]

EMAIL = "someone.private@example.org"


def _instance_on(disk: Path, database_url: str, make_app) -> tuple[Path, Path]:
    """An instance folder on the small disk, with a copy of this test's database (one account in
    it), used once before the disk turns read-only: the site made its key files there."""
    source = database_url.removeprefix("sqlite:///")
    db.obj.close_all()
    with sqlite3.connect(source) as checkpoint:  # everything in the file itself before it is copied
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    instance = disk / "instance"
    instance.mkdir()
    database = instance / "redumbrella.sqlite3"
    shutil.copyfile(source, database)
    # The keys the data was written with (the test's own instance folder), as a moved instance keeps them.
    if (Path(source).parent / "instance" / "keys").is_dir():
        shutil.copytree(Path(source).parent / "instance" / "keys", instance / "keys")
    _app_on(instance, database, make_app)
    db.obj.close_all()  # nothing left open for writing: the disk could not be made read-only
    assert (instance / "keys").is_dir()
    return instance, database


def _app_on(instance: Path, database: Path, make_app):
    return make_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{database}", "QUEUE_IMMEDIATE": False})


def _as_a_crash_leaves_it(instance: Path, database: Path, make_app) -> None:
    """The database and the queue as a worker killed mid-write leaves them: each with a write still
    in its -wal file beside the -shm file. SQLite deletes both when its last connection closes, so
    they are copied aside first and put back."""
    queue = _app_on(instance, database, make_app).extensions["redumbrella.queue"].huey
    queue.pending_count()  # the queue file, as the worker made it
    queue.storage.close()
    db.obj.close_all()
    for path, write in ((database, "INSERT INTO heartbeat (name, seen_at) VALUES ('crash', '2030-01-01 00:00:00')"),
                        (instance / "queue.sqlite3", "PRAGMA user_version = 7")):
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode = wal")
        connection.execute(write)
        kept = {suffix: Path(f"{path}{suffix}").read_bytes() for suffix in ("-wal", "-shm")}
        connection.close()
        for suffix, content in kept.items():
            Path(f"{path}{suffix}").write_bytes(content)


def _env(instance: Path, database: Path) -> dict[str, str]:
    return instance_env(instance, f"sqlite:///{database}")


def _worker_on(instance: Path, database: Path):
    return run_cli(["worker"], _env(instance, database), timeout=30)


def _assert_one_line_and_exit_1(done, instance: Path, cause: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    everything = done.stdout + done.stderr
    assert "Traceback" not in everything and '"stack"' not in everything
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and not done.stdout.strip(), everything[-2000:]
    entry = json.loads(lines[0])
    assert set(entry) == {"time", "level", "logger", "message", "event", "reason"}, entry
    assert entry["level"] == "ERROR" and entry["logger"] == "redumbrella.worker"
    assert entry["event"] == "database_not_writable" and entry["reason"] == "OperationalError"
    message = entry["message"]
    assert message.startswith(f"the database cannot be written ({cause}"), message
    assert "): the worker stops." in message, message
    assert f"{instance} must be writable by this user" in message and "/healthz" in message
    assert EMAIL not in everything  # nothing of what the database holds


def _health(make_app, instance: Path, database: Path) -> tuple[int, dict]:
    answer = _app_on(instance, database, make_app).test_client().get("/healthz")
    return answer.status_code, answer.get_json()


def test_a_worker_on_a_disk_turned_read_only_after_a_clean_stop_logs_one_line_and_exits_1(
        make_app, make_user, database_url, tmp_path):
    make_user("member", email=EMAIL)
    with small_disk(tmp_path / "disk", 64) as disk:
        instance, database = _instance_on(disk, database_url, make_app)
        make_read_only(disk)
        _assert_one_line_and_exit_1(_worker_on(instance, database), instance, "unable to open database file")

        status, health = _health(make_app, instance, database)
        assert status == 503 and health["disk"] == "read-only" and health["status"] == "unavailable"


def test_a_worker_on_a_disk_turned_read_only_after_a_crash_logs_one_line_and_exits_1(
        make_app, make_user, database_url, tmp_path):
    make_user("member", email=EMAIL)
    with small_disk(tmp_path / "disk", 64) as disk:
        instance, database = _instance_on(disk, database_url, make_app)
        _as_a_crash_leaves_it(instance, database, make_app)
        make_read_only(disk)
        _assert_one_line_and_exit_1(_worker_on(instance, database), instance, "attempt to write a readonly database")

        # The web side still reads the database, and /healthz says the disk is read-only.
        status, health = _health(make_app, instance, database)
        assert status == 503 and health["disk"] == "read-only" and health["database"] == "ok"


def _fill(disk: Path) -> None:
    """Write to the disk until it is full."""
    with open(disk / "filler", "wb") as filler:  # noqa: PTH123 - written until the disk refuses
        try:
            while True:
                filler.write(b"\0" * (1 << 20))
                filler.flush()
        except OSError:
            return


def test_a_worker_on_a_full_disk_says_the_database_cannot_be_written(make_app, make_user, database_url, tmp_path):
    """A full disk (SQLite's "disk I/O error" or "database or disk is full") is the operator's to
    fix where the database is, not a database that cannot be reached."""
    make_user("member", email=EMAIL)
    with small_disk(tmp_path / "disk", 64) as disk:
        instance, database = _instance_on(disk, database_url, make_app)
        _fill(disk)
        _assert_one_line_and_exit_1(_worker_on(instance, database), instance, "")


def test_a_worker_whose_database_can_be_written_starts(make_app, database_url, tmp_path):
    """The check before starting stops only a database that cannot be written: on a writable disk
    the worker starts, beats, and logs no error."""
    from fixtures.processes import start_worker, wait_for

    with small_disk(tmp_path / "disk", 64) as disk:
        instance, database = _instance_on(disk, database_url, make_app)
        web = _app_on(instance, database, make_app).test_client()
        worker = start_worker(_env(instance, database), tmp_path / "worker.log")
        try:
            wait_for(lambda: web.get("/healthz").get_json()["worker"] == "ok", 30, "the heartbeat", worker)
            assert worker.alive()
        finally:
            worker.stop()
        assert '"ERROR"' not in worker.output() and "Traceback" not in worker.output(), worker.output()[-2000:]


def test_missing_key_files_on_a_read_only_disk_are_one_line_not_a_traceback(tmp_path):
    """A first start (no keys/ yet) on a disk that cannot be written: the key files cannot be made,
    and every command says so in one line naming the file, as for any other start-up problem."""
    with small_disk(tmp_path / "disk", 64) as disk:
        instance = disk / "instance"
        instance.mkdir()
        make_read_only(disk)
        database = instance / "redumbrella.sqlite3"
        for command in (["worker"], ["plugins", "list"]):
            done = run_cli(command, _env(instance, database), timeout=30)
            everything = done.stdout + done.stderr
            assert done.returncode != 0 and "Traceback" not in everything, everything[-2000:]
            assert f"{instance / 'keys'}" in everything and "cannot be made" in everything, everything[-2000:]
