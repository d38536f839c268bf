"""When each daily check count was started, so retention can age it by a date-time column."""
import datetime

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("alerts_check_quota", "created_at", DateTimeField(default=datetime.datetime.utcnow))
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("alerts_check_quota", "created_at"))
