"""Wrong receipts are counted by core's throttle (core.throttle, table throttle_count) like every
other attempt, so the plugin's own table goes. Its rows only ever counted the last 15 minutes, so
they are dropped, not copied."""
import datetime

from peewee import CharField, DateTimeField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    db.execute_sql("DROP TABLE reporting_receipt_attempt")


def down(migrator, db):
    class ReceiptAttempt(Model):
        bucket = CharField(max_length=64)
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "reporting_receipt_attempt"
            indexes = ((("bucket", "created_at"), False),)

    with db.bind_ctx([ReceiptAttempt]):
        db.create_tables([ReceiptAttempt])
