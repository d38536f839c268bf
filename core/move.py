"""`redumbrella db copy-to`: move an instance's SQLite database into an empty PostgreSQL database.

Run on the stopped instance. In order, and nothing is written to PostgreSQL until every check has
passed (one transaction, rolled back on any failure):

1. the SQLite database must be fully migrated, and no other process may have it open: the copy
   holds SQLite's exclusive lock from the first row read to the last check, so a web or queue
   worker still running is found (it keeps its connections open) and refused, and nothing can be
   written to SQLite while it is copied;
2. the PostgreSQL database must hold no table at all;
3. the schema is made there by the same migrations a fresh PostgreSQL instance runs (core's and
   every installed module's), so it is exactly that instance's schema; the rows those migrations
   write are then replaced by the SQLite database's, the migration history included (it records
   when each migration was applied to this data, not to the empty schema);
4. every table is copied row by row, found in the databases' catalogs (no table or module is named
   here), each value converted to its PostgreSQL column's type where SQLite stores it differently
   (booleans as 0/1, dates and times as text, bytes in text columns); then every sequence is set
   past its column's largest value, so new rows get new ids;
5. checks: the same row count in every table, the audit chain gives the same verdict and the same
   head as on SQLite, and a sample of every encrypted column decrypts with the instance's keys.

The SQLite database is only read. The task queue (`queue.sqlite3` or Redis) does not depend on
the database and stays as it is: tasks still waiting run against PostgreSQL when the worker
starts again (they name rows by id, and the ids are copied as they are).
"""

from __future__ import annotations

import datetime
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

HISTORY_TABLE = "schema_migration"
BATCH = 500  # rows read from SQLite and sent to PostgreSQL at once
LOCK_WAIT_SECONDS = 2


class MoveError(Exception):
    """The copy cannot go ahead or did not check out; the message says why, and nothing was kept."""


@dataclass
class Copied:
    tables: dict[str, int]  # rows copied, per table
    audit_head: str | None
    decrypted: int = 0
    queued_tasks: int | None = None  # waiting in the queue (None: not known)
    notes: list[str] = field(default_factory=list)


def shown_url(url: str) -> str:
    """The URL with its password hidden, for printing."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunparse(parsed._replace(netloc=f"{user}:***@{netloc[1]}"))


def copy_to(app, target_url: str) -> Copied:
    """Copy the app's SQLite database into the empty PostgreSQL database at target_url."""
    from core.db import connection, db, is_sqlite, open_database

    if urlparse(target_url).scheme.split("+")[0] not in {"postgres", "postgresql"}:
        raise MoveError("the target must be a PostgreSQL database: postgresql://USER:PASSWORD@HOST:PORT/NAME")
    source = db.obj
    if not is_sqlite(source):
        raise MoveError("this instance's database is not SQLite (REDUMBRELLA_DATABASE_URL): copy-to moves a "
                        "SQLite database to PostgreSQL; from PostgreSQL use pg_dump, or backup and restore")
    with connection():
        before = _source_checks(app)
    source.close_all()  # this process's own connections would hold the lock below
    path = Path(source.database)
    lite = _lock(path)
    try:
        tables = _sqlite_tables(lite)
        counts = {table: lite.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608  # nosec B608  # catalog names
                  for table in tables}
        head = _sqlite_head(lite, tables)
        if head != (str(before.head) if before else None):
            raise MoveError("the SQLite database changed while it was being checked: stop the web server and the "
                            "queue worker, then run the command again")
        target = open_database(target_url)
        db.initialize(target)
        try:
            result = _copy(app, lite, tables, counts, before)
        finally:
            target.close_all()
            db.initialize(source)
    finally:
        lite.rollback()
        lite.close()
    result.queued_tasks = _queued_tasks(app)
    return result


def _source_checks(app):
    """Refuse a database behind its migrations; return its audit verification (None: no audit log)."""
    from core.audit import check
    from core.db import db
    from core.schema import pending

    behind = pending(app)
    if behind:
        raise MoveError(f"the SQLite database is behind by {len(behind)} migration(s) ({', '.join(behind[:3])}"
                        f"{', ...' if len(behind) > 3 else ''}): run `redumbrella db upgrade` first, so both "
                        "databases have the same schema")
    return check() if db.table_exists("audit_entry") else None


def _lock(path: Path) -> sqlite3.Connection:
    """A connection holding the SQLite database's exclusive lock (read only by us; released by rollback).

    With the database in WAL mode, exclusive locking mode is granted only when no other connection
    has the database open: a running web or queue worker keeps pooled connections open, so it is
    found here rather than writing reports into SQLite after they were copied."""
    if not path.exists():
        raise MoveError(f"the SQLite database {path} does not exist")
    lite = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
    try:
        lite.execute("PRAGMA locking_mode = EXCLUSIVE")
        lite.execute("BEGIN EXCLUSIVE")
        lite.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        lite.close()
        raise MoveError(f"another process has {path.name} open: stop the web server and the queue worker "
                        "(systemctl stop redumbrella-web redumbrella-worker, or Ctrl+C on `redumbrella serve`), "
                        "then run the command again") from None
    return lite


def _sqlite_tables(lite: sqlite3.Connection) -> list[str]:
    rows = lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                        "ORDER BY name").fetchall()
    return [row[0] for row in rows]


def _sqlite_head(lite: sqlite3.Connection, tables: list[str]) -> str | None:
    if "audit_entry" not in tables:
        return None
    from core.audit import GENESIS

    count = lite.execute("SELECT COUNT(*) FROM audit_entry").fetchone()[0]
    last = lite.execute("SELECT entry_hash FROM audit_entry ORDER BY id DESC LIMIT 1").fetchone()
    return f"{count}:{last[0] if last else GENESIS}"


def _copy(app, lite: sqlite3.Connection, tables: list[str], counts: dict[str, int], before) -> Copied:
    from peewee import DatabaseError, InterfaceError

    from core.db import connection, db
    from core.schema import upgrade

    rolled_back = "nothing was kept in PostgreSQL (the copy was rolled back)"
    try:
        with connection():
            _refuse_unless_empty()
            try:
                with db.atomic():
                    upgrade(app)
                    result = _fill(lite, tables, counts)
                    _check(app, result, counts, before)
            except MoveError as exc:
                raise MoveError(f"{exc}; {rolled_back}") from None
            except (DatabaseError, InterfaceError) as exc:
                raise MoveError(f"PostgreSQL: {_first_line(exc)}; {rolled_back}") from None
    except (DatabaseError, InterfaceError) as exc:  # peewee's, around the driver's: reaching the database
        raise MoveError(f"PostgreSQL: {_first_line(exc)}") from None
    return result


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _refuse_unless_empty() -> None:
    from core.db import db

    found = sorted(row[0] for row in db.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "UNION SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"
    ).fetchall())
    if found:
        raise MoveError(f"the PostgreSQL database is not empty: it has {found[0]}"
                        f"{f' and {len(found) - 1} other table(s) or sequence(s)' if len(found) > 1 else ''}. "
                        "Copy into a new, empty database (createdb); nothing was changed")


# -- the copy --------------------------------------------------------------------------------


def _pg_tables() -> list[str]:
    from core.db import db

    return [row[0] for row in db.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]


def _pg_columns(table: str) -> list[tuple[str, str]]:
    """(name, data type) of a PostgreSQL table's columns, in their order."""
    from core.db import db

    return [(name, kind) for name, kind in db.execute_sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()]


def _foreign_keys() -> list[tuple[str, str, str]]:
    """(table, column, referenced table) for every foreign key column."""
    from core.db import db

    return db.execute_sql(
        "SELECT c.relname, a.attname, r.relname FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) "
        "WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace").fetchall()


def _primary_key(table: str) -> list[str]:
    from core.db import db

    return [row[0] for row in db.execute_sql(
        "SELECT a.attname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) "
        "WHERE k.contype = 'p' AND c.relname = %s AND c.relnamespace = current_schema()::regnamespace",
        (table,)).fetchall()]


def _in_order(tables: list[str], keys: list[tuple[str, str, str]]) -> list[str]:
    """Referenced tables before the tables referring to them (a table's references to itself are
    filled in afterwards, by _fill)."""
    needs = {table: {ref for own, _column, ref in keys if own == table and ref != table} for table in tables}
    ordered: list[str] = []
    while needs:
        ready = sorted(table for table, refs in needs.items() if not refs - set(ordered))
        if not ready:
            raise MoveError(f"the tables {', '.join(sorted(needs))} refer to each other in a circle: they cannot be "
                            "copied one after the other")
        ordered.extend(ready)
        for table in ready:
            del needs[table]
    return ordered


def _fill(lite: sqlite3.Connection, tables: list[str], counts: dict[str, int]) -> Copied:
    from core.db import db

    target_tables = _pg_tables()
    only_sqlite = sorted(set(tables) - set(target_tables))
    only_pg = sorted(set(target_tables) - set(tables))
    if only_sqlite:
        raise MoveError(f"the SQLite database has table(s) no installed module makes: {', '.join(only_sqlite)}. "
                        "Install the module they belong to (same release), then run the command again")
    if only_pg:
        raise MoveError(f"the migrations made table(s) the SQLite database does not have: {', '.join(only_pg)}. "
                        "Is the SQLite database from this release? (`redumbrella db status`)")
    keys = _foreign_keys()
    order = _in_order(tables, keys)
    # The migrations may have written rows of their own (the history, any seeded row): the SQLite
    # database's rows replace them, so nothing is there twice.
    for table in reversed(order):
        if db.execute_sql(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():  # noqa: S608  # nosec B608  # catalog names
            db.execute_sql(f'DELETE FROM "{table}"')  # noqa: S608  # nosec B608  # catalog names
    cursor = db.connection().cursor()
    for table in order:
        self_refs = [column for own, column, ref in keys if own == table and ref == table]
        _copy_table(lite, cursor, table, self_refs)
    _set_sequences()
    return Copied(tables=dict(counts), audit_head=_sqlite_head(lite, tables))


def _copy_table(lite: sqlite3.Connection, cursor, table: str, self_refs: list[str]) -> None:
    from psycopg2 import Error
    from psycopg2.extras import execute_values

    columns = _pg_columns(table)
    source_columns = {row[1] for row in lite.execute(f'PRAGMA table_info("{table}")').fetchall()}
    if source_columns != {name for name, _kind in columns}:
        differ = sorted(source_columns ^ {name for name, _kind in columns})
        raise MoveError(f"{table} has other columns in the two databases ({', '.join(differ)}): is the SQLite "
                        "database from this release? (`redumbrella db status`)")
    names = [name for name, _kind in columns]
    converters = [_CONVERT.get(kind) for _name, kind in columns]
    # A row may refer to one of its own table inserted after it: such columns are set afterwards.
    later = [names.index(column) for column in self_refs]
    key = _primary_key(table)
    quoted = ", ".join(f'"{name}"' for name in names)
    rows = lite.execute(f'SELECT {quoted} FROM "{table}"')  # noqa: S608  # nosec B608  # catalog names
    insert = f'INSERT INTO "{table}" ({quoted}) VALUES %s'  # noqa: S608  # nosec B608  # catalog names
    deferred = []
    try:
        while batch := rows.fetchmany(BATCH):
            converted = []
            for row in batch:
                values = [value if convert is None or value is None else convert(value, table, names[i])
                          for i, (value, convert) in enumerate(zip(row, converters, strict=True))]
                if later and key:
                    if any(values[i] is not None for i in later):
                        deferred.append(([values[i] for i in later], [values[names.index(k)] for k in key]))
                    for i in later:
                        values[i] = None
                converted.append(values)
            execute_values(cursor, insert, converted, page_size=BATCH)
        if deferred:
            assignments = ", ".join(f'"{names[i]}" = %s' for i in later)
            match = " AND ".join(f'"{k}" = %s' for k in key)
            update = f'UPDATE "{table}" SET {assignments} WHERE {match}'  # noqa: S608  # nosec B608  # catalog names
            for values, key_values in deferred:
                cursor.execute(update, (*values, *key_values))
    except Error as exc:
        raise MoveError(f"copying {table} failed: {_first_line(exc)}") from None


def _set_sequences() -> None:
    """Every serial or identity column's sequence past the column's largest copied value."""
    from core.db import db

    found = db.execute_sql(
        "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL").fetchall()
    for table, column, sequence in found:
        db.execute_sql(
            f'SELECT setval(%s, COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)',  # noqa: S608  # nosec B608  # catalog names
            (sequence,))


# -- converting SQLite's stored values to PostgreSQL's column types ------------------------------


def _boolean(value, table, column):
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "t", "yes"}:
        return True
    if text in {"0", "false", "f", "no"}:
        return False
    raise MoveError(f"{table}.{column} holds {text[:20]!r} where a true or false belongs")


def _bytes(value, _table, _column):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _text(value, table, column):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise MoveError(f"{table}.{column} holds bytes that are not text") from None
    return value if isinstance(value, str) else str(value)


def _parsed(parse):
    def convert(value, _table, _column):
        if isinstance(value, str):
            try:
                return parse(value.strip())
            except ValueError:
                return value  # PostgreSQL reads it, or says which value it cannot
        return value

    return convert


_CONVERT = {
    "boolean": _boolean,
    "bytea": _bytes,
    "text": _text,
    "character varying": _text,
    "character": _text,
    "timestamp without time zone": _parsed(datetime.datetime.fromisoformat),
    "timestamp with time zone": _parsed(datetime.datetime.fromisoformat),
    "date": _parsed(lambda text: datetime.date.fromisoformat(text[:10])),
    "time without time zone": _parsed(datetime.time.fromisoformat),
}


# -- checks ----------------------------------------------------------------------------------


def _check(app, result: Copied, counts: dict[str, int], before) -> None:
    """Inside the copy's transaction: counts, the audit chain and a decryption sample; raise to roll back."""
    from core.audit import check
    from core.backup import BackupError, _decrypt_sample
    from core.db import db

    differ = []
    for table, expected in counts.items():
        found = db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608  # nosec B608  # catalog names
        if found != expected:
            differ.append(f"{table} ({found} rows, not {expected})")
    if differ:
        raise MoveError(f"the copy does not have the same rows: {'; '.join(differ)}")
    if before is not None:
        after = check()
        if str(after.head) != str(before.head) or after.problem != before.problem:
            raise MoveError(f"the copied audit log does not verify as the SQLite one does: {after.problem or 'intact'} "
                            f"at {after.head}, against {before.problem or 'intact'} at {before.head}")
        if before.problem:
            result.notes.append(f"the audit log was not intact in SQLite already, and is copied as it is: "
                                f"{before.problem}")
    try:
        result.decrypted = _decrypt_sample()
    except BackupError as exc:
        raise MoveError(str(exc)) from None


def _queued_tasks(app) -> int | None:
    from core.queue import EXTENSION

    try:
        huey = app.extensions[EXTENSION].huey
        return huey.pending_count() + huey.scheduled_count()
    except Exception:  # noqa: BLE001 - only for the message: a queue that cannot be read is "not known"
        return None
