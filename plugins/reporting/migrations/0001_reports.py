"""Reports, perpetrators and their identifiers, consent per purpose, messages, drafts, attachments."""
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

    class Report(Model):
        reference = CharField(max_length=16, unique=True)
        status = CharField(max_length=16, default="new", index=True)
        urgency = IntegerField(default=0, index=True)
        incident_types = CharField(max_length=500, default="")
        occurred_on = DateField(null=True)
        occurred_time = CharField(max_length=16, null=True)
        region = CharField(max_length=64, null=True, index=True)
        location = TextField(null=True)
        work_setting = CharField(max_length=64, null=True)
        contact_method = CharField(max_length=64, null=True)
        narrative = TextField(null=True)
        reporter = ForeignKeyField(User, null=True, on_delete="SET NULL")
        receipt_hash = CharField(max_length=128, null=True, unique=True)
        receipt_cost = CharField(max_length=32, null=True)
        receipt_expires_at = DateTimeField(null=True)
        on_behalf = BooleanField(default=False)
        on_behalf_consent_at = DateTimeField(null=True)
        support_contact = TextField(null=True)
        support_safe_times = TextField(null=True)
        language = CharField(max_length=16, null=True)
        source = CharField(max_length=8, default="web")
        duplicate_of = ForeignKeyField("self", null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=now, index=True)
        updated_at = DateTimeField(default=now)
        status_changed_at = DateTimeField(default=now, index=True)
        verified_at = DateTimeField(null=True)

        class Meta:
            table_name = "reporting_report"
            indexes = ((("status", "urgency", "created_at"), False),)

    class Perpetrator(Model):
        report = ForeignKeyField(Report, on_delete="CASCADE")
        position = IntegerField(default=0)
        names = TextField(null=True)
        description = TextField(null=True)
        vehicle = TextField(null=True)

        class Meta:
            table_name = "reporting_perpetrator"

    class PerpetratorIdentifier(Model):
        perpetrator = ForeignKeyField(Perpetrator, on_delete="CASCADE")
        report = ForeignKeyField(Report, on_delete="CASCADE")
        kind = CharField(max_length=16)
        blind_index = CharField(max_length=64)
        display = TextField()

        class Meta:
            table_name = "reporting_perpetrator_identifier"
            indexes = ((("kind", "blind_index"), False),)

    class Consent(Model):
        report = ForeignKeyField(Report, on_delete="CASCADE")
        purpose = CharField(max_length=32)
        given_at = DateTimeField(default=now)
        withdrawn_at = DateTimeField(null=True)
        withdrawn_by = CharField(max_length=16, null=True)
        withdrawn_by_user_id = IntegerField(null=True)

        class Meta:
            table_name = "reporting_consent"
            indexes = ((("report", "purpose"), False),)

    class ReportMessage(Model):
        report = ForeignKeyField(Report, on_delete="CASCADE")
        kind = CharField(max_length=16)
        author = ForeignKeyField(User, null=True, on_delete="SET NULL")
        body = TextField()
        created_at = DateTimeField(default=now, index=True)

        class Meta:
            table_name = "reporting_message"

    class Draft(Model):
        key_hash = CharField(max_length=64, primary_key=True)
        data = TextField(default="{}")
        created_at = DateTimeField(default=now)
        expires_at = DateTimeField(index=True)

        class Meta:
            table_name = "reporting_draft"

    class Attachment(Model):
        report = ForeignKeyField(Report, null=True, on_delete="CASCADE")
        draft = ForeignKeyField(Draft, null=True, on_delete="CASCADE")
        content_type = CharField(max_length=32)
        size = IntegerField()
        data = TextField()
        from_reporter = BooleanField(default=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "reporting_attachment"

    class ReceiptAttempt(Model):
        bucket = CharField(max_length=64)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "reporting_receipt_attempt"
            indexes = ((("bucket", "created_at"), False),)

    tables = [Report, Perpetrator, PerpetratorIdentifier, Consent, ReportMessage, Draft, Attachment, ReceiptAttempt]
    with db.bind_ctx([User, *tables]):
        db.create_tables(tables)


def down(migrator, db):
    for table in (
        "reporting_receipt_attempt",
        "reporting_attachment",
        "reporting_draft",
        "reporting_message",
        "reporting_consent",
        "reporting_perpetrator_identifier",
        "reporting_perpetrator",
        "reporting_report",
    ):
        db.execute_sql(f"DROP TABLE {table}")  # noqa: S608 - fixed names
