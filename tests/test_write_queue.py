"""SQLite writers queue for their turn on a file lock before BEGIN IMMEDIATE (core.write_queue).

The queue must hold for exactly as long as the transaction, in every thread and process; it must
not outlive a process killed mid-transaction; a writer must never wait for it longer than the
database's busy timeout; and no write may be lost while many threads of many processes read and
then write the same row.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from peewee import OperationalError

from core.db import SQLITE_PRAGMAS, QueuedSqlitePool, db, open_database, write_turn

pytestmark = pytest.mark.once  # its own SQLite files: the same on either pass

ROOT = Path(__file__).resolve().parent.parent


def _database(path: Path, busy_ms: int | None = None) -> QueuedSqlitePool:
    if busy_ms is None:
        database = open_database(f"sqlite:///{path}")
    else:
        database = QueuedSqlitePool(str(path), pragmas={**SQLITE_PRAGMAS, "busy_timeout": busy_ms},
                                    lock_type="IMMEDIATE", check_same_thread=False)
    database.execute_sql("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    database.execute_sql("INSERT OR IGNORE INTO counter (id, n) VALUES (1, 0)")
    return database


def _queue_is_free(lock_path: str) -> bool:
    """Whether someone else (another open file: another process or thread) could take the lock now."""
    with open(lock_path, "ab") as other:
        try:
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        return True


def test_a_transaction_holds_the_queue_until_it_commits_or_rolls_back(tmp_path):
    database = _database(tmp_path / "db.sqlite3")
    lock = database.write_queue.path
    assert lock == f"{tmp_path / 'db.sqlite3'}-writer.lock"
    with database.atomic():
        database.execute_sql("UPDATE counter SET n = n + 1")
        assert not _queue_is_free(lock)
        with database.atomic():  # a savepoint: still one turn
            database.execute_sql("UPDATE counter SET n = n + 1")
        assert not _queue_is_free(lock)
    assert _queue_is_free(lock)
    with pytest.raises(RuntimeError), database.atomic():
        database.execute_sql("UPDATE counter SET n = n + 1")
        raise RuntimeError("changed my mind")
    assert _queue_is_free(lock)
    assert database.execute_sql("SELECT n FROM counter").fetchone()[0] == 2
    assert oct(os.stat(lock).st_mode & 0o777) == "0o600"
    database.close_all()


def test_a_statement_outside_a_transaction_takes_its_turn_with_write_turn(tmp_path):
    """A hot path's single autocommit write (alerts' "sent" mark) queues like a transaction."""
    database = _database(tmp_path / "db.sqlite3")
    previous = db.obj
    db.initialize(database)
    try:
        with write_turn():
            assert not _queue_is_free(database.write_queue.path)
            database.execute_sql("UPDATE counter SET n = n + 1")
        assert _queue_is_free(database.write_queue.path)
        with pytest.raises(RuntimeError), write_turn():
            raise RuntimeError("the statement failed")
        assert _queue_is_free(database.write_queue.path)
        db.initialize(open_database("sqlite://"))  # in memory: nobody else to take turns with
        with write_turn():
            pass
    finally:
        db.initialize(previous)
        database.close_all()


def test_a_writer_waits_no_longer_than_the_busy_timeout(tmp_path):
    database = _database(tmp_path / "db.sqlite3", busy_ms=300)
    with open(database.write_queue.path, "ab") as holder:  # someone else's turn, and it never ends
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"), database.atomic():
            database.execute_sql("UPDATE counter SET n = n + 1")
        waited = time.monotonic() - started
    assert 0.3 <= waited < 5
    with database.atomic():  # and the queue is not left taken by the writer that gave up
        database.execute_sql("UPDATE counter SET n = n + 1")
    assert database.execute_sql("SELECT n FROM counter").fetchone()[0] == 1
    database.close_all()


HOLD_AND_WAIT = """
import sys, time
from core.db import open_database
database = open_database("sqlite:///" + sys.argv[1])
with database.atomic():
    database.execute_sql("UPDATE counter SET n = n + 100")
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_mid_transaction_leaves_the_queue_free(tmp_path):
    path = tmp_path / "db.sqlite3"
    database = _database(path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_AND_WAIT, str(path)], cwd=ROOT,  # noqa: S603
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert not _queue_is_free(database.write_queue.path)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        started = time.monotonic()
        with database.atomic():
            database.execute_sql("UPDATE counter SET n = n + 1")
        assert time.monotonic() - started < 5  # not the 10 s busy timeout
    finally:
        if holder.poll() is None:
            holder.kill()
    assert database.execute_sql("SELECT n FROM counter").fetchone()[0] == 1  # the killed one's +100 is gone
    database.close_all()


def _take_in_child(queue, answers) -> None:
    try:
        queue.take()
    except OperationalError:
        answers.put("waited")
    else:
        queue.give_back()
        answers.put("took it")


def test_a_forked_child_queues_behind_its_parent(tmp_path):
    """A child shares its parent's open files: it must open its own, or the two would not exclude
    each other (gunicorn forks its workers from one process)."""
    database = _database(tmp_path / "db.sqlite3", busy_ms=200)
    fork = multiprocessing.get_context("fork")
    answers = fork.Queue()
    with database.atomic():  # the parent's file is open and locked before the fork
        database.execute_sql("UPDATE counter SET n = n + 1")
        child = fork.Process(target=_take_in_child, args=(database.write_queue, answers))
        child.start()
        child.join(timeout=30)
    assert answers.get(timeout=5) == "waited"
    child = fork.Process(target=_take_in_child, args=(database.write_queue, answers))
    child.start()
    child.join(timeout=30)
    assert answers.get(timeout=5) == "took it"
    database.close_all()


READ_THEN_WRITE = """
import sys, threading
from core.db import open_database
database = open_database("sqlite:///" + sys.argv[1])
errors = []

def add():
    try:
        for _ in range(int(sys.argv[2])):
            with database.atomic():
                n = database.execute_sql("SELECT n FROM counter WHERE id = 1").fetchone()[0]
                database.execute_sql("UPDATE counter SET n = ? WHERE id = 1", (n + 1,))
    except Exception as error:  # reported below: the test fails on any
        errors.append(repr(error))
    finally:
        database.close()

threads = [threading.Thread(target=add) for _ in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
"""


def test_many_threads_of_many_processes_read_then_write_and_lose_nothing(tmp_path):
    path = tmp_path / "db.sqlite3"
    database = _database(path)
    writers = [subprocess.Popen([sys.executable, "-c", READ_THEN_WRITE, str(path), "60"], cwd=ROOT,  # noqa: S603
                                stdout=subprocess.PIPE, text=True) for _ in range(4)]
    reports = [writer.communicate(timeout=120)[0].strip() for writer in writers]
    assert reports == ["[]"] * 4
    assert database.execute_sql("SELECT n FROM counter").fetchone()[0] == 4 * 3 * 60
    database.close_all()


def test_a_lock_file_that_cannot_be_opened_never_stops_a_write(tmp_path, caplog):
    database = _database(tmp_path / "db.sqlite3")
    Path(database.write_queue.path).mkdir()  # something else is where the lock file would be
    with caplog.at_level("WARNING", logger="redumbrella.db"):
        for _ in range(3):
            with database.atomic():
                database.execute_sql("UPDATE counter SET n = n + 1")
    assert database.execute_sql("SELECT n FROM counter").fetchone()[0] == 3
    warnings = [record for record in caplog.records if getattr(record, "event", "") == "write_queue_unavailable"]
    assert len(warnings) == 1 and warnings[0].reason == "IsADirectoryError"
    database.close_all()


def test_root_gives_a_lock_file_it_makes_to_the_database_files_owner(tmp_path):
    """As SQLite does for its -wal and -shm files: a command run as root (sudo redumbrella ...)
    must not leave a lock file the service's own user cannot open."""
    if os.geteuid() != 0:  # only root can give a file away, and only root can make this mistake
        path = tmp_path / "db.sqlite3"
        database = _database(path)
        with database.atomic():
            database.execute_sql("UPDATE counter SET n = n + 1")
        assert os.stat(database.write_queue.path).st_uid == os.geteuid()
        database.close_all()
        return
    path = tmp_path / "db.sqlite3"
    database = _database(path)  # no transaction yet: no lock file
    assert not Path(database.write_queue.path).exists()
    os.chown(path, 4321, 4321)  # the service's user
    with database.atomic():
        database.execute_sql("UPDATE counter SET n = n + 1")
    made = os.stat(database.write_queue.path)
    assert (made.st_uid, made.st_gid) == (4321, 4321)
    database.close_all()
