"""Daily check counts (a member's checks, a peer's questions) are counted by core's throttle
(core.throttle, table throttle_count) like every other attempt, so the plugin's own table goes.
Its rows only ever counted the current day, so they are dropped, not copied: a quota starts
afresh once, at the upgrade."""
import datetime

from peewee import CharField, DateField, DateTimeField, IntegerField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    db.execute_sql("DROP TABLE alerts_check_quota")


def down(migrator, db):
    class CheckQuota(Model):
        key = CharField(max_length=80)
        day = DateField()
        count = IntegerField(default=0)
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "alerts_check_quota"
            indexes = ((("key", "day"), True),)

    with db.bind_ctx([CheckQuota]):
        db.create_tables([CheckQuota])
