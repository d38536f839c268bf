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
exclude each other too), and again in a forked child, which must not share its parent's. The
queue only saves time: a lock file that cannot be opened (another user's, a read-only folder)
leaves the writers to SQLite's handler, with one warning in the log, and never stops a write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import threading
import time

from peewee import OperationalError

log = logging.getLogger("redumbrella.db")

FIRST_WAIT = 0.00002  # seconds between tries: doubled each time up to LONGEST_WAIT
LONGEST_WAIT = 0.001


class WriteQueue:
    """The turns of one database's writers (one per database object, shared by its threads).
    Without a file (a database in memory has no other connection to wait for) it does nothing."""

    def __init__(self, database_path: str | None, timeout: float):
        self.database_path = database_path
        self.path = f"{database_path}-writer.lock" if database_path else None
        self.timeout = timeout
        self._mine = threading.local()
        self._warned = False

    def _file(self):
        """This thread's own open file (made again after a fork), closed with the thread or the
        queue; None when there is none or it cannot be opened (tried once per thread): writers
        then wait in SQLite's handler, as before."""
        held = getattr(self._mine, "file", None)
        if held is None or held[0] != os.getpid():
            opened = None
            if self.path:
                try:
                    opened = open_lock_file(self.path, self.database_path)  # kept open
                except OSError as error:
                    self._unavailable(error)
            held = self._mine.file = (os.getpid(), opened)
        return held[1]

    def _unavailable(self, error: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning("the writers' lock file cannot be opened: writers wait in SQLite's busy handler",
                        extra={"event": "write_queue_unavailable", "reason": type(error).__name__})

    def take(self) -> None:
        """Wait for the turn to write; "database is locked" once the busy timeout has passed."""
        opened = self._file()
        if opened is None:
            return
        deadline = time.monotonic() + self.timeout
        wait = FIRST_WAIT
        while True:
            try:
                fcntl.flock(opened.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OperationalError("database is locked") from None
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT)

    def give_back(self) -> None:
        held = getattr(self._mine, "file", None)
        if held is not None and held[1] is not None and held[0] == os.getpid():
            fcntl.flock(held[1].fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def turn(self):
        """The turn around a single statement written outside a transaction."""
        self.take()
        try:
            yield
        finally:
            self.give_back()


def open_lock_file(path: str, database_path: str):
    """An empty file beside the database to flock (mode 600), opened unbuffered; raises OSError.
    Also core.schema's migration lock.

    The folder belongs to the service's user, and a command may run as root: a symbolic link put
    in the lock file's place is not followed, anything but a plain file is refused, and only a file
    this process has just made is given to the database's owner (never one found there)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor, made = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600), True
    except FileExistsError:
        descriptor, made = os.open(path, flags), False
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise IsADirectoryError(errno.EISDIR, "not a plain file", path)
    opened = open(descriptor, "ab", buffering=0)  # noqa: SIM115 - the caller closes it
    if made:
        _owned_like_the_database(opened, database_path)
    return opened


def _owned_like_the_database(opened, database_path: str) -> None:
    """A command run as root must not leave a lock file the service's own user cannot open: as
    SQLite does for its -wal and -shm files, root gives it to the database file's owner."""
    if os.geteuid() != 0:
        return
    try:
        owner = os.stat(database_path)
        if os.fstat(opened.fileno()).st_uid != owner.st_uid:
            os.fchown(opened.fileno(), owner.st_uid, owner.st_gid)
    except OSError:
        return  # the database file is not there yet (made by this connection): nobody else's
