"""Tables of the alerts plugin (all prefixed alerts_).

An alert is written by a moderator from verified reports whose reporter agreed to a community
warning. Its kind is "person" (a warning about someone who did harm) or "notice" (a safety notice
about a condition: a pattern of robberies in an area, a fake agency, a scam, an unsafe venue, an
operation, a harm-reduction warning), which may cite several such reports or none and carries a
category from the plugin's settings. Both kinds share everything else: review, preview, channels,
corrections, withdrawal, digests, feeds and the check. It copies structured facts only (incident
types, date, regions, and for an alert about a person the perpetrator identifiers the check
matches); every word of free text in it was typed by a moderator, never copied from what the
reporter wrote. It is published only after a moderator reviewed its preview.
Perpetrator identifiers are kept as blind indexes for the identifier check and encrypted for display.

Delivery goes through an outbox (Delivery): one row per recipient and channel with a unique
idempotency key. A worker claims rows, sends, and marks each one sent before the next, so a
worker that dies repeats at most the message it was handing over at that instant.
"""

from __future__ import annotations

import json

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow
from plugins.reporting.models import DescribedPerson  # alerts requires reporting

# Alert statuses. "updated" is a published alert that was corrected after publication.
DRAFT, PUBLISHED, UPDATED, WITHDRAWN = "draft", "published", "updated", "withdrawn"
STATUSES = (DRAFT, PUBLISHED, UPDATED, WITHDRAWN)
VISIBLE_STATUSES = (PUBLISHED, UPDATED)
SEVERITIES = ("low", "medium", "high")
IDENTIFIER_KINDS = ("phone", "email", "plate", "handle")  # what a draft copies from reports
PERSON, NOTICE = "person", "notice"
ALERT_KINDS = (PERSON, NOTICE)

CHANNELS = ("email", "sms", "web")
SENT_CHANNELS = ("email", "sms")  # channels that go through the outbox; "web" is the alert list
FREQUENCIES = ("immediate", "daily")

# Outbox states.
HELD = "held"  # waiting for the recipient's daily digest
PENDING = "pending"  # due at next_attempt_at
SENDING = "sending"  # claimed by a worker (claimed_by), being handed to the mail or SMS server
SENT = "sent"
FAILED = "failed"  # gave up after the configured attempts; staff see it and may retry
CANCELLED = "cancelled"  # the alert was withdrawn, or the recipient unsubscribed, before it went
BUNDLED = "bundled"  # folded into a digest message (digest_id)
DELIVERY_STATES = (HELD, PENDING, SENDING, SENT, FAILED, CANCELLED, BUNDLED)


class Alert(BaseModel):
    kind = CharField(max_length=8, default=PERSON, index=True)  # ALERT_KINDS; fixed when it is made
    category = CharField(max_length=64, null=True)  # a notice's category code (settings: notice_categories)
    status = CharField(max_length=16, default=DRAFT, index=True)
    severity = CharField(max_length=8, default="medium")
    title = CharField(max_length=200, default="")
    summary = TextField(default="")  # written by a moderator for publication
    incident_types = CharField(max_length=500, default="")  # codes, comma-separated
    occurred_on = DateField(null=True)
    expires_on = DateField(null=True, index=True)  # after this day: out of lists and checks
    review_on = DateField(null=True)  # a reminder for staff to look at it again
    version = IntegerField(default=1)  # bumped by every saved change
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow, index=True)
    changed_at = DateTimeField(default=utcnow)
    published_at = DateTimeField(null=True, index=True)
    corrected_at = DateTimeField(null=True)  # last correction after publication (members see it)
    withdrawn_at = DateTimeField(null=True)
    withdrawn_reason = EncryptedTextField(null=True)  # staff-only free text
    # The last review: a moderator saw the preview (the alert as members will see it, and how many
    # people will be told) of this version, whose content had this digest (preview.content_digest).
    # Publishing needs both to match the alert as it is now; every edit clears them.
    reviewed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    reviewed_at = DateTimeField(null=True)
    reviewed_version = IntegerField(null=True)
    reviewed_digest = CharField(max_length=64, null=True)
    # Federation (plugins/alerts/federation.py): "local", "peers" or "group:NAME", and whether peers
    # may pass it on. A received alert names the peer it came through (its name here) and, when
    # that peer passed on another instance's alert, the origin's name.
    distribution = CharField(max_length=80, default="local")
    may_pass_on = BooleanField(default=False)
    received_from = CharField(max_length=60, null=True)
    origin_name = CharField(max_length=120, null=True)

    class Meta:
        table_name = "alerts_alert"

    @property
    def incident_type_codes(self) -> list[str]:
        return [code for code in (self.incident_types or "").split(",") if code]

    @property
    def is_visible(self) -> bool:
        return self.status in VISIBLE_STATUSES

    @property
    def is_notice(self) -> bool:
        return self.kind == NOTICE

    @property
    def is_received(self) -> bool:
        return self.received_from is not None

    def target(self) -> str:
        return f"alert:{self.id}"


class AlertRegion(BaseModel):
    alert = ForeignKeyField(Alert, backref="region_rows", on_delete="CASCADE")
    region = CharField(max_length=64)

    class Meta:
        table_name = "alerts_region"
        indexes = ((("alert", "region"), True), (("region",), False))


class AlertSource(BaseModel):
    """Which reports an alert was written from (staff only; never shown to members)."""

    alert = ForeignKeyField(Alert, backref="sources", on_delete="CASCADE")
    report_id = IntegerField(index=True)

    class Meta:
        table_name = "alerts_source"
        indexes = ((("alert", "report_id"), True),)


class AlertPerpetrator(DescribedPerson, BaseModel):
    """Perpetrator details a moderator chose to publish: a description and a vehicle (encrypted JSON)."""

    alert = ForeignKeyField(Alert, backref="perpetrators", on_delete="CASCADE")
    position = IntegerField(default=0)
    description = EncryptedTextField(null=True)
    vehicle = EncryptedTextField(null=True)

    class Meta:
        table_name = "alerts_perpetrator"


class AlertIdentifier(BaseModel):
    """A published phone, email, plate, handle or website: blind index for the check, encrypted for display."""

    alert = ForeignKeyField(Alert, backref="identifiers", on_delete="CASCADE")
    kind = CharField(max_length=16)
    blind_index = CharField(max_length=64)
    display = EncryptedTextField()

    class Meta:
        table_name = "alerts_identifier"
        indexes = ((("kind", "blind_index"), False),)


class AlertRevision(BaseModel):
    """The history of an alert for staff: every save, publication, correction and withdrawal."""

    alert = ForeignKeyField(Alert, backref="revisions", on_delete="CASCADE")
    version = IntegerField()
    action = CharField(max_length=16)  # created, edited, reviewed, published, corrected, withdrawn
    status = CharField(max_length=16)
    snapshot = EncryptedTextField()  # JSON of the alert as it was after this action
    note = EncryptedTextField(null=True)
    changed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    changed_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "alerts_revision"

    @property
    def snapshot_dict(self) -> dict:
        return json.loads(self.snapshot)


class Candidate(BaseModel):
    """A report verified with consent to a community warning, waiting for a moderator's decision."""

    report_id = IntegerField(unique=True)
    created_at = DateTimeField(default=utcnow)
    dismissed_at = DateTimeField(null=True)

    class Meta:
        table_name = "alerts_candidate"


class Subscription(BaseModel):
    user = ForeignKeyField(User, unique=True, backref="+", on_delete="CASCADE")
    channels = CharField(max_length=32, default="web")  # comma-separated CHANNELS
    all_regions = BooleanField(default=False)
    frequency = CharField(max_length=16, default="immediate")
    sms_number = EncryptedTextField(null=True)  # E.164, only when SMS is chosen
    created_at = DateTimeField(default=utcnow)
    changed_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "alerts_subscription"

    @property
    def channel_list(self) -> list[str]:
        return [code for code in (self.channels or "").split(",") if code]


class SubscriptionRegion(BaseModel):
    subscription = ForeignKeyField(Subscription, backref="region_rows", on_delete="CASCADE")
    region = CharField(max_length=64)

    class Meta:
        table_name = "alerts_subscription_region"
        indexes = ((("subscription", "region"), True), (("region",), False))


class Delivery(BaseModel):
    """The outbox: one message to one recipient on one channel. Only ids go to the queue."""

    key = CharField(max_length=96, unique=True)  # idempotency key, e.g. "alert:12:7:email", "alert:12:v4:7:email"
    kind = CharField(max_length=8, default="alert")  # alert, update (a correction), withdraw, or digest
    alert = ForeignKeyField(Alert, null=True, backref="deliveries", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    channel = CharField(max_length=8)
    status = CharField(max_length=12, default=PENDING)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    claimed_by = CharField(max_length=96, null=True)
    claimed_at = DateTimeField(null=True)
    last_error = CharField(max_length=64, null=True)  # an error class name, never an address or text
    digest = ForeignKeyField("self", null=True, backref="bundled", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        table_name = "alerts_delivery"
        indexes = (
            (("status", "channel", "next_attempt_at"), False),
            (("alert", "status"), False),
            (("user", "status"), False),
        )


class FeedToken(BaseModel):
    """A partner organisation's token for the Atom and JSON feeds; only its SHA-256 is stored."""

    label = EncryptedTextField()  # the organisation's name, as staff wrote it ("" when organisation_id is set)
    # core.organisations: the partner organisation the token belongs to. Tokens made before
    # organisations existed keep their label, and get one when the label matched an organisation's
    # name (migration 0006); the others show their label until staff make a new token.
    organisation_id = IntegerField(null=True, index=True)
    token_hash = CharField(max_length=64, unique=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        table_name = "alerts_feed_token"


class CheckEvent(BaseModel):
    """One check, for spotting enumeration: no identifier, only keyed hashes of its shape."""

    account_id = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    kind = CharField(max_length=8)
    shape = CharField(max_length=16)  # keyed hash of the identifier minus its last characters
    tag = CharField(max_length=12)  # a short keyed hash, to count distinct identifiers
    result = CharField(max_length=12)

    class Meta:
        table_name = "alerts_check_event"
        indexes = ((("account_id", "created_at"), False),)


class CheckWarning(BaseModel):
    """Staff are told when an account checks many sequential or similar identifiers."""

    account_id = IntegerField()
    day = DateField()
    reason = CharField(max_length=16)  # "similar" or "volume"
    count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = IntegerField(null=True)

    class Meta:
        table_name = "alerts_check_warning"
        indexes = ((("account_id", "day", "reason"), True),)


MODELS = [
    Alert,
    AlertRegion,
    AlertSource,
    AlertPerpetrator,
    AlertIdentifier,
    AlertRevision,
    Candidate,
    Subscription,
    SubscriptionRegion,
    Delivery,
    FeedToken,
    CheckEvent,
    CheckWarning,
]
