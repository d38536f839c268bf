"""Anonymous reports sent after their address had sent the day's number of them are marked, and
the moderation queue lists them after the others of the same urgency: its partial index takes the
mark between urgency and age, so the first page is still read from the index."""
from peewee import BooleanField

OLD_ORDER = "urgency DESC, created_at"
NEW_ORDER = "urgency DESC, many_from_address, created_at"


def _queue_index(db, order: str) -> None:
    db.execute_sql("DROP INDEX reporting_report_open_queue")
    db.execute_sql(
        f"CREATE INDEX reporting_report_open_queue ON reporting_report ({order}) "
        "WHERE status IN ('new', 'triage', 'needs_info')"
    )


def up(migrator, db):
    migrator.migrate(migrator.add_column("reporting_report", "many_from_address", BooleanField(default=False)))
    _queue_index(db, NEW_ORDER)


def down(migrator, db):
    _queue_index(db, OLD_ORDER)
    migrator.migrate(migrator.drop_column("reporting_report", "many_from_address"))
