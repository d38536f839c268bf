"""Webhooks for partner systems (core.webhooks): endpoints per organisation and their outbox."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    class User(Model):
        class Meta:
            table_name = "user"

    class Organisation(Model):
        class Meta:
            table_name = "organisation"

    class WebhookEndpoint(Model):
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE", backref="+")
        url = TextField()
        events = CharField(max_length=2000, default="")
        secret = TextField()
        previous_secret = TextField(null=True)
        previous_secret_until = DateTimeField(null=True)
        active = BooleanField(default=True)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "webhook_endpoint"

    class WebhookDelivery(Model):
        endpoint = ForeignKeyField(WebhookEndpoint, on_delete="CASCADE", backref="+")
        event_type = CharField(max_length=64)
        message_id = CharField(max_length=40)
        payload = TextField()
        status = CharField(max_length=12, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=now)
        claimed_by = CharField(max_length=96, null=True)
        claimed_at = DateTimeField(null=True)
        last_status = IntegerField(null=True)
        last_error = CharField(max_length=80, null=True)
        last_attempt_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)
        delivered_at = DateTimeField(null=True)

        class Meta:
            table_name = "webhook_delivery"
            indexes = (
                (("status", "next_attempt_at"), False),
                (("endpoint", "id"), False),
                (("message_id", "endpoint"), True),
            )

    with db.bind_ctx([User, Organisation, WebhookEndpoint, WebhookDelivery]):
        db.create_tables([WebhookEndpoint, WebhookDelivery])


def down(migrator, db):
    db.execute_sql("DROP TABLE webhook_delivery")
    db.execute_sql("DROP TABLE webhook_endpoint")
