"""many_from_address gets a default in the database (false), so the release before 0006, whose INSERT
leaves the column out, still saves a report between `db upgrade` and its own restart. 0006 added the
column NOT NULL with its default in the model only: peewee used it to fill the rows then present,
and the database kept none, so that release's reports failed with a 500 at the last step.

PostgreSQL sets the default in place. SQLite cannot: playhouse rebuilds the table (a new table, every
row copied, the old one dropped, its indexes made again), inside this migration's transaction. Its
migrator turns foreign keys off before the transaction begins; with them on, dropping the old table
would delete every row that refers to a report. The checks below roll everything back rather than
go on if they were on, or if a row, a column's NOT NULL, an index or a reference did not come through.
"""
from peewee import SQL

TABLE = "reporting_report"
COLUMN = "many_from_address"


def up(migrator, db):
    if not _is_sqlite(db):
        migrator.migrate(migrator.add_column_default(TABLE, COLUMN, SQL("false")))
        return
    _rebuild(migrator, db, migrator.add_column_default(TABLE, COLUMN, 0))


def down(migrator, db):
    if not _is_sqlite(db):
        migrator.migrate(migrator.drop_column_default(TABLE, COLUMN))
        return
    _rebuild(migrator, db, migrator.drop_column_default(TABLE, COLUMN))


def _rebuild(migrator, db, operation) -> None:
    if db.execute_sql("PRAGMA foreign_keys").fetchone()[0]:
        raise RuntimeError(f"foreign keys are on: rebuilding {TABLE} would delete every row referring to a report")
    before = _shape(db)
    migrator.migrate(operation)
    after = _shape(db)
    if after != before:
        raise RuntimeError(f"rebuilding {TABLE} changed more than a default: {before} became {after}")
    if db.execute_sql("PRAGMA foreign_key_check").fetchall():
        raise RuntimeError(f"rebuilding {TABLE} left references to reports that do not exist")


def _shape(db) -> tuple:
    """What the rebuild must keep: the rows, each column but its default, every index as written."""
    rows = db.execute_sql(f'SELECT COUNT(*), TOTAL(id) FROM "{TABLE}"').fetchone()  # noqa: S608  # nosec B608  # constant
    columns = [(name, kind, notnull, pk) for _cid, name, kind, notnull, _default, pk
               in db.execute_sql(f'PRAGMA table_info("{TABLE}")').fetchall()]
    indexes = sorted(db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                                    (TABLE,)).fetchall())
    return rows, columns, indexes


def _is_sqlite(db) -> bool:
    from core.db import is_sqlite

    return is_sqlite(getattr(db, "obj", None) or db)
