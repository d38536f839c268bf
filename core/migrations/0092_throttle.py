"""One throttle for every kind of attempt (core.throttle): the table throttle_count takes the place
of login_attempt. Throttle counts live for minutes, so the old rows are dropped, not copied."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class ThrottleCount(Model):
        scope = CharField(max_length=32)
        key = CharField(max_length=80)
        window_start = DateTimeField()
        count = IntegerField(default=0)
        expires_at = DateTimeField(index=True)

        class Meta:
            table_name = "throttle_count"
            indexes = ((("scope", "key", "window_start"), True),)

    with db.bind_ctx([ThrottleCount]):
        db.create_tables([ThrottleCount])
    db.execute_sql("DROP TABLE login_attempt")


def down(migrator, db):
    class LoginAttempt(Model):
        scope = CharField(max_length=16)
        key = CharField(max_length=64)
        created_at = DateTimeField(default=utcnow, index=True)

        class Meta:
            table_name = "login_attempt"
            indexes = ((("scope", "key", "created_at"), False),)

    with db.bind_ctx([LoginAttempt]):
        db.create_tables([LoginAttempt])
    db.execute_sql("DROP TABLE throttle_count")
