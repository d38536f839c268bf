"""Alerts, their regions, sources, perpetrator details, identifiers and history; subscriptions; the
delivery outbox; partner feed tokens; identifier-check quotas, events and staff warnings."""
import datetime

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    class User(Model):
        class Meta:
            table_name = "user"

    class Alert(Model):
        status = CharField(max_length=16, default="draft", index=True)
        severity = CharField(max_length=8, default="medium")
        title = CharField(max_length=200, default="")
        summary = TextField(default="")
        incident_types = CharField(max_length=500, default="")
        occurred_on = DateField(null=True)
        expires_on = DateField(null=True, index=True)
        review_on = DateField(null=True)
        version = IntegerField(default=1)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=now, index=True)
        changed_at = DateTimeField(default=now)
        published_at = DateTimeField(null=True, index=True)
        corrected_at = DateTimeField(null=True)
        withdrawn_at = DateTimeField(null=True)
        withdrawn_reason = TextField(null=True)

        class Meta:
            table_name = "alerts_alert"

    class AlertRegion(Model):
        alert = ForeignKeyField(Alert, on_delete="CASCADE")
        region = CharField(max_length=64)

        class Meta:
            table_name = "alerts_region"
            indexes = ((("alert", "region"), True), (("region",), False))

    class AlertSource(Model):
        alert = ForeignKeyField(Alert, on_delete="CASCADE")
        report_id = IntegerField(index=True)

        class Meta:
            table_name = "alerts_source"
            indexes = ((("alert", "report_id"), True),)

    class AlertPerpetrator(Model):
        alert = ForeignKeyField(Alert, on_delete="CASCADE")
        position = IntegerField(default=0)
        description = TextField(null=True)
        vehicle = TextField(null=True)

        class Meta:
            table_name = "alerts_perpetrator"

    class AlertIdentifier(Model):
        alert = ForeignKeyField(Alert, on_delete="CASCADE")
        kind = CharField(max_length=16)
        blind_index = CharField(max_length=64)
        display = TextField()

        class Meta:
            table_name = "alerts_identifier"
            indexes = ((("kind", "blind_index"), False),)

    class AlertRevision(Model):
        alert = ForeignKeyField(Alert, on_delete="CASCADE")
        version = IntegerField()
        action = CharField(max_length=16)
        status = CharField(max_length=16)
        snapshot = TextField()
        note = TextField(null=True)
        changed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        changed_at = DateTimeField(default=now)

        class Meta:
            table_name = "alerts_revision"

    class Candidate(Model):
        report_id = IntegerField(unique=True)
        created_at = DateTimeField(default=now)
        dismissed_at = DateTimeField(null=True)

        class Meta:
            table_name = "alerts_candidate"

    class Subscription(Model):
        user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
        channels = CharField(max_length=32, default="web")
        all_regions = BooleanField(default=False)
        frequency = CharField(max_length=16, default="immediate")
        sms_number = TextField(null=True)
        created_at = DateTimeField(default=now)
        changed_at = DateTimeField(default=now)

        class Meta:
            table_name = "alerts_subscription"

    class SubscriptionRegion(Model):
        subscription = ForeignKeyField(Subscription, on_delete="CASCADE")
        region = CharField(max_length=64)

        class Meta:
            table_name = "alerts_subscription_region"
            indexes = ((("subscription", "region"), True), (("region",), False))

    class Delivery(Model):
        key = CharField(max_length=96, unique=True)
        kind = CharField(max_length=8, default="alert")
        alert = ForeignKeyField(Alert, null=True, on_delete="CASCADE")
        user = ForeignKeyField(User, on_delete="CASCADE")
        channel = CharField(max_length=8)
        status = CharField(max_length=12, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=now)
        claimed_by = CharField(max_length=96, null=True)
        claimed_at = DateTimeField(null=True)
        last_error = CharField(max_length=64, null=True)
        digest = ForeignKeyField("self", null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=now)
        sent_at = DateTimeField(null=True)

        class Meta:
            table_name = "alerts_delivery"
            indexes = (
                (("status", "channel", "next_attempt_at"), False),
                (("alert", "status"), False),
                (("user", "status"), False),
            )

    class FeedToken(Model):
        label = TextField()
        token_hash = CharField(max_length=64, unique=True)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=now)
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            table_name = "alerts_feed_token"

    class CheckQuota(Model):
        key = CharField(max_length=80)
        day = DateField()
        count = IntegerField(default=0)

        class Meta:
            table_name = "alerts_check_quota"
            indexes = ((("key", "day"), True),)

    class CheckEvent(Model):
        account_id = IntegerField(null=True)
        created_at = DateTimeField(default=now)
        kind = CharField(max_length=8)
        shape = CharField(max_length=16)
        tag = CharField(max_length=12)
        result = CharField(max_length=12)

        class Meta:
            table_name = "alerts_check_event"
            indexes = ((("account_id", "created_at"), False),)

    class CheckWarning(Model):
        account_id = IntegerField()
        day = DateField()
        reason = CharField(max_length=16)
        count = IntegerField(default=0)
        created_at = DateTimeField(default=now)
        resolved_at = DateTimeField(null=True)
        resolved_by = IntegerField(null=True)

        class Meta:
            table_name = "alerts_check_warning"
            indexes = ((("account_id", "day", "reason"), True),)

    tables = [Alert, AlertRegion, AlertSource, AlertPerpetrator, AlertIdentifier, AlertRevision, Candidate,
              Subscription, SubscriptionRegion, Delivery, FeedToken, CheckQuota, CheckEvent, CheckWarning]
    with db.bind_ctx([User, *tables]):
        db.create_tables(tables)


def down(migrator, db):
    for table in (
        "alerts_check_warning",
        "alerts_check_event",
        "alerts_check_quota",
        "alerts_feed_token",
        "alerts_delivery",
        "alerts_subscription_region",
        "alerts_subscription",
        "alerts_candidate",
        "alerts_revision",
        "alerts_identifier",
        "alerts_perpetrator",
        "alerts_source",
        "alerts_region",
        "alerts_alert",
    ):
        db.execute_sql(f"DROP TABLE {table}")  # noqa: S608 - fixed names
