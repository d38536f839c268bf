"""Versioned schema migrations for core and for each plugin, in one history table.

Each owner (core or a plugin) keeps numbered files NNNN_name.py defining up(migrator, db), run by
playhouse.migrations. History rows are named "<owner>:<file>", so two plugins' 0001_initial never
collide. Migrations run only from the CLI (`redumbrella db upgrade`, `init`), never at web start-up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from playhouse.migrations import Migration, Runner

from core.db import db, is_sqlite, run_sql
from core.per_app import per_app
from core.write_queue import open_lock_file

HISTORY_TABLE = "schema_migration"
CORE_MIGRATIONS = Path(__file__).parent / "migrations"


class OwnerRunner(Runner):
    """A playhouse Runner whose history names are prefixed with the owner's name."""

    def __init__(self, database, owner: str, directory: Path):
        super().__init__(database, str(directory), table_name=HISTORY_TABLE)
        self.owner = owner

    def migrations(self):
        return [
            Migration(m.idx, f"{self.owner}:{m.name}", m.path, m.applied) for m in super().migrations()
        ]

    def applied(self):
        prefix = f"{self.owner}:"
        return {name: when for name, when in super().applied().items() if name.startswith(prefix)}


@dataclass
class OwnerStatus:
    owner: str
    applied: list[str]
    pending: list[str]


def owners(app) -> list[tuple[str, Path]]:
    """(owner, folder): core first, then every installed plugin (enabled or not: a disabled plugin
    keeps its tables)."""
    from core.plugins import get_registry

    found = [("core", CORE_MIGRATIONS)]
    for owner, directory in get_registry(app).call_each("register_migrations", app=app):
        if owner != "core":
            found.append((owner, Path(directory)))
    return found


def runners(app) -> list[OwnerRunner]:
    return [OwnerRunner(db, owner, directory) for owner, directory in owners(app)]


def status(app) -> list[OwnerStatus]:
    result = []
    for runner in runners(app):
        rows = runner.status()
        result.append(
            OwnerStatus(
                runner.owner,
                applied=[m.name for m in rows if m.applied],
                pending=[m.name for m in rows if not m.applied],
            )
        )
    return result


# What tells that the history changed: its size and latest time (HISTORY_TABLE).
HISTORY_STAMP_SQL = "SELECT COUNT(*), MAX(applied) FROM schema_migration"


def pending(app, history: tuple | None = None) -> list[str]:
    """Migrations not applied yet, in the order `upgrade` would run them.

    Cheap enough for every /healthz call (a load balancer asks every few seconds): the files are
    listed once per process (they are the code this process runs: new files come with new code, so
    with a restart), and the history is read again only when one statement says it changed (its
    row count or latest time), as `db upgrade` or a rollback in another process does. history: that
    (count, latest) pair when the caller read it already (HISTORY_STAMP_SQL, in a statement of its own).
    """
    return list(_history_state(app, history)[0])


def newer(app, history: tuple | None = None) -> list[str]:
    """Applied migrations of core or an installed plugin that this code has no file for: a newer
    release ran `db upgrade` on this database while this process still runs the older code (it
    must be restarted on the new code). Read with pending(), from the same cached history: no
    statement of its own. A plugin whose package was removed is not this code's, and not counted.
    """
    return list(_history_state(app, history)[1])


def _history_state(app, history: tuple | None) -> tuple[list[str], list[str]]:
    """(pending, newer), read again only when the history's stamp changed."""
    known = _known(app)
    if not history_exists(app):  # a database never migrated
        return [name for _owner, names in known for name in names], []
    count, latest = history if history is not None else run_sql(HISTORY_STAMP_SQL).fetchone()
    seen = app.extensions.get(_SEEN)
    if seen is not None and seen[0] == (count, str(latest)):
        return seen[1], seen[2]
    applied = {name for (name,) in run_sql("SELECT name FROM schema_migration")}
    result = [name for _owner, names in known for name in names if name not in applied]
    files = {name for _owner, names in known for name in names}
    prefixes = tuple(f"{owner}:" for owner, _names in known)
    ahead = sorted(name for name in applied if name.startswith(prefixes) and name not in files)
    # One assignment: threads may race, harmlessly.
    app.extensions[_SEEN] = ((count, str(latest)), result, ahead)
    return result, ahead


def history_exists(app) -> bool:
    """Whether the database was ever migrated; asked of the database until it was."""
    if not app.extensions.get(_HISTORY_EXISTS):
        if not db.table_exists(HISTORY_TABLE):
            return False
        app.extensions[_HISTORY_EXISTS] = True  # a history table is never dropped
    return True


_KNOWN = "redumbrella.migrations"
_SEEN = "redumbrella.migrations.seen"
_HISTORY_EXISTS = "redumbrella.migrations.history"


def _known(app) -> list[tuple[str, list[str]]]:
    """Every migration file's history name, per owner, in running order; listed once per process."""
    return per_app(_KNOWN, lambda: [(owner, [f"{owner}:{m.name}" for m in Migration.load_directory(str(directory))])
                                    for owner, directory in owners(app)], app)



def upgrade(app) -> list[str]:
    """Apply every pending migration, core first; return the names applied. One process at a time
    (migration_lock): each runner reads what is pending once it holds the lock."""
    applied = []
    with migration_lock():
        for runner in runners(app):
            applied.extend(runner.up())
    return applied


def _database_file(name: str | None) -> str | None:
    """The SQLite database's file: its name, or the path of a file: URI; None for one in memory."""
    if not name or name == ":memory:":
        return None
    if not name.startswith("file:"):
        return name
    parsed = urlparse(name)
    if "mode=memory" in parsed.query or parsed.path in ("", ":memory:"):
        return None
    return parsed.path


def _sqlite_lock_file(name: str | None):
    """The open "<database>-migrate.lock" to flock, or None where there is nothing to take turns on
    (a database in memory; a folder this process cannot write, where SQLite cannot write the database
    either, its -wal and -shm files going beside it, and says so itself). A lock file that cannot be
    opened where the database can be written is a ConfigError: taking no turn would let two migrate."""
    path = _database_file(name)
    if path is None:
        return None
    lock = f"{path}-migrate.lock"
    try:
        return open_lock_file(lock, path)
    except OSError as error:
        if not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
            return None
        from core.config import ConfigError

        raise ConfigError(f"{lock} cannot be opened ({error.strerror or type(error).__name__}): commands that "
                          "migrate take turns on it. Remove it, or run the command as the user that owns "
                          "the database") from None


# PostgreSQL's advisory lock for migrating: one number for the whole database ("RUMIGRAT").
MIGRATION_LOCK_KEY = 0x52554D4947524154


@contextlib.contextmanager
def migration_lock():
    """Hold the database's migration lock: two `init` or `db upgrade` started together (two
    containers starting at once) would both find a migration pending, and the second would fail on
    the tables the first made. The second waits here, then finds nothing left to do.

    PostgreSQL: a session advisory lock, let go with the connection if the process dies. SQLite: an
    exclusive flock on "<database>-migrate.lock" beside the file (empty, mode 600; not the database
    file itself, whose locks are SQLite's own); the kernel lets it go if the process dies. A lock
    file that cannot be opened where the database can be written stops the command with one line
    (taking no turn would let two migrate at once). An in-memory database has one user and needs
    none."""
    database = db.obj
    if not is_sqlite(database):
        database.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            yield
        except BaseException:
            # In a transaction the failure aborted (db copy-to migrates inside one), letting go fails
            # too: the error that matters is the first, and the lock goes with the connection.
            with contextlib.suppress(Exception):
                database.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
            raise
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        return
    held = _sqlite_lock_file(database.database)
    if held is None:
        yield
        return
    with held:  # the file is never removed: a waiting process holds it open
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
