"""Webhook endpoints and their outbox (core migration 0080_webhooks).

The URL, the secrets and every payload are encrypted at rest (core.crypto), like other secrets:
a URL often carries a partner's own token, and a payload holds what members see of an alert.
A delivery keeps the receiver's answer only as its status code and a short status line, never a
response body.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow
from core.organisations import Organisation

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
STATUSES = (PENDING, SENDING, DELIVERED, FAILED)


class WebhookEndpoint(BaseModel):
    """A partner system's address for one organisation, with the events it asked for."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE", backref="+")
    url = EncryptedTextField()
    events = CharField(max_length=2000, default="")  # event names, comma-separated
    secret = EncryptedTextField()  # "whsec_" + base64 of 32 random bytes
    # After a rotation the old secret still signs (a second signature) until this time, so the
    # partner can switch without missing a delivery.
    previous_secret = EncryptedTextField(null=True)
    previous_secret_until = DateTimeField(null=True)
    active = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "webhook_endpoint"

    @property
    def event_list(self) -> list[str]:
        return [name for name in (self.events or "").split(",") if name]

    def target(self) -> str:
        return f"webhook:{self.id}"


class WebhookDelivery(BaseModel):
    """The outbox: one message (one event) to one endpoint. Only ids go to the queue."""

    endpoint = ForeignKeyField(WebhookEndpoint, on_delete="CASCADE", backref="deliveries")
    event_type = CharField(max_length=64)
    message_id = CharField(max_length=40)  # webhook-id: "msg_..."; the same for every attempt and endpoint
    payload = EncryptedTextField()  # the exact JSON body that is signed and sent
    status = CharField(max_length=12, default=PENDING)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    claimed_by = CharField(max_length=96, null=True)
    claimed_at = DateTimeField(null=True)
    last_status = IntegerField(null=True)  # the receiver's HTTP status code, when it answered
    last_error = CharField(max_length=80, null=True)  # "HTTP 500 Internal Server Error", "ConnectionRefusedError"
    last_attempt_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    delivered_at = DateTimeField(null=True)

    class Meta:
        table_name = "webhook_delivery"
        indexes = (
            (("status", "next_attempt_at"), False),
            (("endpoint", "id"), False),
            (("message_id", "endpoint"), True),
        )
