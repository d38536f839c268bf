"""Safety notices: an alert's kind ("person", as every alert so far, or "notice") and a notice's
category code."""
from peewee import CharField

COLUMNS = ("kind", "category")


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("alerts_alert", "kind", CharField(max_length=8, default="person")),
        migrator.add_column("alerts_alert", "category", CharField(max_length=64, null=True)),
        migrator.add_index("alerts_alert", ("kind",), False),
    )


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS alerts_alert_kind")  # SQLite will not drop an indexed column
    migrator.migrate(*(migrator.drop_column("alerts_alert", column) for column in COLUMNS))
