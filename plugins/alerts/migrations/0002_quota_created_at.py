"""When each daily check count was started, so retention can age it by a date-time column."""
import datetime

from peewee import DateTimeField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("alerts_check_quota", "created_at", DateTimeField(default=utcnow))
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("alerts_check_quota", "created_at"))
