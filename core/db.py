"""One database for the whole platform, chosen by REDUMBRELLA_DATABASE_URL.

Models everywhere subclass BaseModel and so share one DatabaseProxy; the proxy is bound when the
app is created. Connections come from a pool and are taken per request and per task.

The concurrency rule, for every write in web requests, commands and tasks alike:
- Write inside `db.atomic()`. On SQLite every transaction begins with `BEGIN IMMEDIATE`, so it
  holds the write lock before its first read. A deferred transaction that reads and then writes
  cannot be upgraded while another connection writes and fails at once with "database is locked",
  before the busy timeout is even consulted; an immediate one waits its turn, on a file lock
  (core.write_queue) rather than in SQLite's busy handler.
- On PostgreSQL, a transaction that reads a row and then writes from what it read locks that
  row first (`lock_row`), so two writers of the same record queue up instead of losing an update.
  Counters are single UPDATE or INSERT ... ON CONFLICT statements, which need no lock.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import re
import sqlite3
import time
import weakref
from urllib.parse import urlparse

from peewee import DatabaseProxy, InterfaceError, Model, OperationalError
from playhouse.db_url import parse
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from core.write_queue import WriteQueue

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a committed report survives a power cut
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "secure_delete": 1,  # deleted rows are overwritten, not left in free pages
}


def utcnow() -> datetime.datetime:
    """Naive UTC now: what every timestamp column stores, on SQLite and PostgreSQL alike."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def is_sqlite(database=None) -> bool:
    from peewee import SqliteDatabase

    target = database or db.obj
    return isinstance(target, SqliteDatabase)


def run_sql(sql: str, params=()):
    """Execute one fixed statement written with %s placeholders, on SQLite or PostgreSQL.

    For the hot paths (every API call, every check), where building a peewee query costs more
    than running it. Only placeholders may vary; every value goes in params. On PostgreSQL the
    statement is prepared once per connection and then only executed: planning it can cost more
    than running it (1.7 ms against 0.2 ms for the identifier check's look-up). SQLite's driver
    already keeps its statements prepared.
    """
    database = db.obj  # once: each attribute read through the proxy costs a failed lookup first
    if database.param != "%s":
        return database.execute_sql(_with_param(sql, database.param), params)
    name, prepare = prepared_statement(sql)
    connection = database.connection()
    done = _PREPARED.setdefault(connection, set())
    if name not in done:
        database.execute_sql(prepare)
        done.add(name)
    placeholders = ", ".join(["%s"] * len(params))
    return database.execute_sql(f"EXECUTE {name} ({placeholders})" if params else f"EXECUTE {name}", params)


@functools.lru_cache(maxsize=256)
def _with_param(sql: str, param: str) -> str:
    """The statement with the driver's own placeholder (SQLite's ?), worked out once."""
    return sql.replace("%s", param)


# Statements prepared on each PostgreSQL connection, by name; forgotten with the connection.
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=256)
def prepared_statement(sql: str) -> tuple[str, str]:
    """A stable name for a statement and its PREPARE text ($1, $2... for the %s placeholders)."""
    name = "ru_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:16]
    numbered = iter(range(1, sql.count("%s") + 1))
    body = re.sub(r"%s", lambda _match: f"${next(numbered)}", sql)
    return name, f"PREPARE {name} AS {body}"


def lock_row(model, key) -> None:
    """Lock one row until the transaction ends, before reading it to decide a write.

    PostgreSQL: SELECT ... FOR UPDATE, so a second writer of the same row waits for the first to
    commit and then reads what it wrote. SQLite needs nothing: the transaction already holds the
    database's write lock (BEGIN IMMEDIATE).
    """
    if not db.in_transaction():
        raise RuntimeError("lock_row needs a transaction (db.atomic())")
    if not is_sqlite():
        model.select(model._meta.primary_key).where(model._meta.primary_key == key).for_update().execute()


def write_turn():
    """The turn to write (core.write_queue) around a single statement outside a transaction, a hot
    path's autocommit write; a transaction takes its turn by itself. Nothing to wait for on PostgreSQL."""
    queue = getattr(db.obj, "write_queue", None)
    return queue.turn() if queue is not None else contextlib.nullcontext()


@contextlib.contextmanager
def relaxed_commit():
    """One transaction (immediate, as every writer's) whose commit does not wait for the disk.

    For writes made on every call of a busy public path (an identifier check's count, event and
    audit entry; a certificate lookup's count): waiting for a disk sync each time would cap them
    at the disk's sync rate. The commit still survives the process being killed; only a power cut
    of the database machine could lose its last moments, so never use it for a report or anything
    else that must not be lost. SQLite: synchronous=NORMAL for this transaction (WAL), then FULL
    again; PostgreSQL: SET LOCAL synchronous_commit TO OFF.
    """
    database = db.obj
    sqlite = is_sqlite(database)
    if sqlite:
        database.execute_sql("PRAGMA synchronous = NORMAL")
    try:
        with database.atomic():
            if not sqlite:
                database.execute_sql("SET LOCAL synchronous_commit TO OFF")
            yield
    finally:
        if sqlite:
            database.execute_sql("PRAGMA synchronous = FULL")


def open_database(url: str):
    """A pooled peewee database for the URL (sqlite:///path or postgresql://...)."""
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+")[0]
    if scheme == "sqlite":
        return QueuedSqlitePool(
            **parse(url),
            pragmas=SQLITE_PRAGMAS,
            lock_type="IMMEDIATE",  # every transaction takes the write lock up front (see above)
            max_connections=32,
            stale_timeout=300,
            check_same_thread=False,
        )
    return PostgresPool(**parse(url), max_connections=32, stale_timeout=300)


class QueuedSqlitePool(PooledSqliteDatabase):
    """peewee's SQLite pool whose transactions wait for their turn in core.write_queue first."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        timeout = dict(kwargs.get("pragmas") or {}).get("busy_timeout", 5000) / 1000
        self.write_queue = WriteQueue(database if on_disk else None, timeout)

    def begin(self, lock_type=None):
        self.write_queue.take()
        try:
            return super().begin(lock_type)
        except BaseException:
            self.write_queue.give_back()
            raise

    def commit(self):
        try:
            return super().commit()
        finally:
            self.write_queue.give_back()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self.write_queue.give_back()


class PostgresPool(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool without the liveness round trip for a connection handed back moments ago.

    The pool sends `SELECT 1` each time it hands out a connection, to catch one the server closed
    while it sat idle: under load that is one more round trip on every request for a connection
    that was in use a few milliseconds earlier. A connection idle for longer is still checked.
    """

    FRESH_SECONDS = 2.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._returned_at: dict[int, float] = {}

    def _can_reuse(self, conn) -> bool:
        reusable = super()._can_reuse(conn)
        if reusable:
            self._returned_at[self.conn_key(conn)] = time.monotonic()
        return reusable

    def _is_closed(self, conn) -> bool:
        returned = self._returned_at.pop(self.conn_key(conn), None)
        if returned is not None and time.monotonic() - returned < self.FRESH_SECONDS and not conn.closed:
            return False
        return super()._is_closed(conn)


def init_app(app) -> None:
    """Bind the proxy and hand each request its own pooled connection."""
    db.initialize(open_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _connect():
        try:
            db.connect(reuse_if_open=True)
        except (OperationalError, InterfaceError):
            # The database is down: /healthz still reports (as JSON, 503), every other page says
            # the service is unavailable (503) instead of failing with a 500.
            from flask import abort, g, jsonify, request

            g.database_unavailable = True  # the layout then renders without the database
            if request.endpoint == "core.healthz":
                from core.health import check

                return jsonify(check(app)), 503
            abort(503)
        return None

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()


_CANNOT_WRITE = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


def cannot_write(error: BaseException) -> bool:
    """Whether a database error is SQLite unable to write the database where it is, rather than a
    database that is down or busy: the file, or the -wal and -shm files beside it, cannot be opened
    for writing (SQLITE_CANTOPEN, as the pragmas find when a connection opens on a read-only disk),
    a write is refused on a connection SQLite opened read-only (SQLITE_READONLY), or the disk is
    full or failing (SQLITE_FULL; SQLITE_IOERR, what a full tmpfs gives). Looks through peewee's
    wrapping to the sqlite3 error; any other database's error answers False."""
    seen: BaseException | None = error
    for _depth in range(4):  # peewee's error wraps sqlite3's: one or two steps
        if seen is None:
            break
        code = getattr(seen, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _CANNOT_WRITE  # the primary code
        wrapped = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = wrapped or seen.__cause__ or seen.__context__
    return False


class connection:
    """Context manager for work outside a request (tasks, CLI): connect, then give it back."""

    def __enter__(self):
        self._opened = db.connect(reuse_if_open=True)
        return db

    def __exit__(self, *exc):
        if self._opened and not db.is_closed():
            db.close()
