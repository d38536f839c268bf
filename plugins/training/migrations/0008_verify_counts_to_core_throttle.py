"""Certificate lookups are counted by core's throttle (core.throttle, table throttle_count) like
every other attempt, so the plugin's own table of counts per address and minute goes. Its rows
only ever counted the current minute, so they are dropped, not copied."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    db.execute_sql("DROP TABLE training_verify_count")


def down(migrator, db):
    class VerifyCount(Model):
        key = CharField(max_length=40)
        minute = DateTimeField(index=True)
        count = IntegerField(default=0)
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "training_verify_count"
            indexes = ((("key", "minute"), True),)

    with db.bind_ctx([VerifyCount]):
        db.create_tables([VerifyCount])
