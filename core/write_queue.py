"""SQLite writers wait for their turn on a file lock, instead of in SQLite's busy handler.

Every transaction begins `BEGIN IMMEDIATE` (core.db): it takes the database's write lock before
its first statement. When another connection holds the lock, SQLite's busy handler sleeps 1 ms,
then 2, then 5... before trying again, however soon the lock is free: under load a quarter of
the identifier checks slept so, each for longer than the other writer held the lock (bench/speed.py,
docs/speed.md). Before BEGIN, each writer therefore takes an exclusive `flock` on a file beside
the database (`<database>-writer.lock`), and gives it back after COMMIT or ROLLBACK. A writer that
finds it taken tries again after 20 us, then 40, doubling up to 1 ms: about as long as the
holder's transaction, where SQLite's first sleep is already longer than most.

The file lock only orders the platform's own writers (web threads, worker, commands); SQLite's
lock stays what keeps the data safe, and a writer that does not take the file lock (a statement
outside a transaction, the sqlite3 shell, a backup) still waits in SQLite's busy handler. The
kernel drops the lock of a process that dies, kill -9 included. The wait is bounded by the
database's busy timeout, as SQLite's own is: past it the writer fails with "database is locked".
Each thread opens the file itself (an flock belongs to one open file, so threads of one process
exclude each other too), and again in a forked child, which must not share its parent's.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from peewee import OperationalError

FIRST_WAIT = 0.00002  # seconds between tries: doubled each time up to LONGEST_WAIT
LONGEST_WAIT = 0.001


class WriteQueue:
    """The turns of one database's writers (one per database object, shared by its threads)."""

    def __init__(self, database_path: str, timeout: float):
        self.path = f"{database_path}-writer.lock"
        self.timeout = timeout
        self._mine = threading.local()

    def _file(self) -> int:
        """This thread's own open file (made again after a fork); closed with the thread or the queue."""
        held = getattr(self._mine, "file", None)
        if held is None or held[0] != os.getpid():
            opened = open(self.path, "ab", buffering=0, opener=_private)  # noqa: SIM115 - kept open
            held = self._mine.file = (os.getpid(), opened)
        return held[1].fileno()

    def take(self) -> None:
        """Wait for the turn to write; "database is locked" once the busy timeout has passed."""
        file = self._file()
        deadline = time.monotonic() + self.timeout
        wait = FIRST_WAIT
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OperationalError("database is locked") from None
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT)

    def give_back(self) -> None:
        held = getattr(self._mine, "file", None)
        if held is not None and held[0] == os.getpid():
            fcntl.flock(held[1].fileno(), fcntl.LOCK_UN)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
