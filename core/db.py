"""One database for the whole platform, chosen by REDUMBRELLA_DATABASE_URL.

Models everywhere subclass BaseModel and so share one DatabaseProxy; the proxy is bound when the
app is created. Connections come from a pool and are taken per request and per task.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlparse

from peewee import DatabaseProxy, InterfaceError, Model, OperationalError
from playhouse.db_url import connect

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


def sql_text(sql: str) -> str:
    """A fixed statement written with %s placeholders, in the bound database's placeholder style.

    For the hot paths (every API call, every check), where building a peewee query costs more
    than running it. Only placeholders may vary; every value goes in the parameters.
    """
    return sql if db.param == "%s" else sql.replace("%s", db.param)


def run_sql(sql: str, params=()):
    """Execute a fixed statement written with %s placeholders (see sql_text)."""
    return db.execute_sql(sql_text(sql), params)


def open_database(url: str):
    """A pooled peewee database for the URL (sqlite:///path or postgresql://...)."""
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+")[0]
    if scheme == "sqlite":
        return connect(
            url.replace(parsed.scheme, "sqlite+pool", 1),
            pragmas=SQLITE_PRAGMAS,
            max_connections=32,
            stale_timeout=300,
            check_same_thread=False,
        )
    return connect(
        url.replace(parsed.scheme, "postgresql+pool", 1),
        max_connections=32,
        stale_timeout=300,
    )


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


class connection:
    """Context manager for work outside a request (tasks, CLI): connect, then give it back."""

    def __enter__(self):
        self._opened = db.connect(reuse_if_open=True)
        return db

    def __exit__(self, *exc):
        if self._opened and not db.is_closed():
            db.close()
