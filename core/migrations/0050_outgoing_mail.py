"""A record of each e-mail core queues (kind, record, status), so staff can see those not sent."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class OutgoingMail(Model):
        kind = CharField(max_length=32)
        target = CharField(max_length=64)
        status = CharField(max_length=16, default="queued", index=True)
        attempts = IntegerField(default=0)
        last_error = CharField(max_length=64, null=True)
        created_at = DateTimeField(default=utcnow, index=True)
        updated_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "core_outgoing_mail"

    with db.bind_ctx([OutgoingMail]):
        db.create_tables([OutgoingMail])
