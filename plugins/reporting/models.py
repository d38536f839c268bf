"""Tables of the reporting plugin (all prefixed reporting_).

What a reporter writes in their own words, how to reach them, where it happened and every
attachment are encrypted with core.crypto. Identifiers of the person who did harm (phones,
emails, plates, handles) are stored as blind indexes, so reports can be linked without keeping
them in clear. No IP address or browser detail is stored anywhere in these tables.

Other plugins (alerts) build on these names; keep them stable:
Report.status == "verified", Report.has_consent("share_alert"), PerpetratorIdentifier.kind and
.blind_index, and the report_verified hook.
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
)

from core.accounts.models import User
from core.crypto import EncryptedTextField, keyring
from core.db import BaseModel, utcnow

STATUSES = ("new", "triage", "needs_info", "verified", "duplicate", "rejected")
OPEN_STATUSES = ("new", "triage", "needs_info")
# research: the report may be part of a de-identified research export (plugins/reporting/research.py).
# Reports sent before it was asked have not given it.
PURPOSES = ("share_alert", "police_intelligence", "police_report", "wants_support", "research")
IDENTIFIER_KINDS = ("phone", "email", "plate", "handle")
# How a reporter who asked for support would like to be reached (the same codes as casework's).
SUPPORT_CONTACT_METHODS = ("phone", "text", "email", "whatsapp", "signal", "in_person", "other")

# Urgency: a reporter asking for support or describing a recent serious assault comes first.
URGENCY_URGENT = 2
URGENCY_SERIOUS = 1
URGENCY_ROUTINE = 0


class EncryptedBytesField(EncryptedTextField):
    """Bytes encrypted as a Fernet token (text), so `redumbrella keys rotate` re-encrypts them too."""

    def db_value(self, value):
        if value is None:
            return None
        return keyring().encrypt_bytes(bytes(value)).decode("ascii")

    def decrypt(self, value):  # read again after a key rotation, as text is (EncryptedTextField)
        return keyring().decrypt_bytes(value.encode("ascii") if isinstance(value, str) else bytes(value))


class Report(BaseModel):
    """One incident report: what happened, when, roughly where, and who is asking what of us."""

    reference = CharField(max_length=16, unique=True)  # R-7KQ2XW: safe to say on the phone
    status = CharField(max_length=16, default="new", index=True)
    urgency = IntegerField(default=URGENCY_ROUTINE, index=True)
    incident_types = CharField(max_length=500, default="")  # codes, comma-separated
    occurred_on = DateField(null=True)
    occurred_time = CharField(max_length=16, null=True)  # a time-of-day code, never exact
    region = CharField(max_length=64, null=True, index=True)
    location = EncryptedTextField(null=True)
    work_setting = CharField(max_length=64, null=True)
    contact_method = CharField(max_length=64, null=True)
    narrative = EncryptedTextField(null=True)
    # Reporter: an account, or nobody (anonymous) with only a slow hash of their receipt.
    reporter = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="reports")
    receipt_hash = CharField(max_length=128, null=True, unique=True)
    receipt_cost = CharField(max_length=32, null=True)  # the Argon2 parameters the hash was made with
    receipt_expires_at = DateTimeField(null=True)
    # Made by a partner or caseworker for someone else, who consented to it.
    on_behalf = BooleanField(default=False)
    on_behalf_consent_at = DateTimeField(null=True)
    # How and when a caseworker may safely make contact (only if support was asked for).
    support_contact = EncryptedTextField(null=True)
    support_safe_times = EncryptedTextField(null=True)
    support_contact_method = CharField(max_length=16, null=True)  # SUPPORT_CONTACT_METHODS
    support_may_leave_message = BooleanField(null=True)
    language = CharField(max_length=16, null=True)
    source = CharField(max_length=8, default="web")  # web or api
    # An anonymous report sent after its address had already sent the day's number of them
    # (service.create_report): still a report, listed after the others of its urgency and sent
    # without an e-mail to moderators, so that a flood of false ones cannot bury the real ones.
    many_from_address = BooleanField(default=False)
    duplicate_of = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="duplicates")
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    status_changed_at = DateTimeField(default=utcnow, index=True)
    verified_at = DateTimeField(null=True)

    class Meta:
        table_name = "reporting_report"
        indexes = ((("status", "urgency", "created_at"), False),)

    @property
    def incident_type_codes(self) -> list[str]:
        return [code for code in (self.incident_types or "").split(",") if code]

    @property
    def is_anonymous(self) -> bool:
        return self.reporter_id is None

    def current_consents(self) -> dict[str, Consent]:
        """Purpose -> the consent currently given (not withdrawn)."""
        rows = Consent.select().where((Consent.report == self) & Consent.withdrawn_at.is_null())
        return {row.purpose: row for row in rows}

    def has_consent(self, purpose: str) -> bool:
        """Whether the reporter currently agrees to this purpose; nothing is shared otherwise."""
        return (
            Consent.select()
            .where((Consent.report == self) & (Consent.purpose == purpose) & Consent.withdrawn_at.is_null())
            .exists()
        )

    def target(self) -> str:
        """How the audit log names this report."""
        return f"report:{self.reference}"


class DescribedPerson:
    """Reads the encrypted JSON description and vehicle of a perpetrator, in reports and alerts."""

    @property
    def description_dict(self) -> dict:
        return json.loads(self.description) if self.description else {}

    @property
    def vehicle_dict(self) -> dict:
        return json.loads(self.vehicle) if self.vehicle else {}


class Perpetrator(DescribedPerson, BaseModel):
    """One person who did harm, as the reporter describes them; all text encrypted."""

    report = ForeignKeyField(Report, backref="perpetrators", on_delete="CASCADE")
    position = IntegerField(default=0)
    names = EncryptedTextField(null=True)  # JSON list of names or nicknames used
    description = EncryptedTextField(null=True)  # JSON object: gender, age_range, height, build, hair...
    vehicle = EncryptedTextField(null=True)  # JSON object: make, model, colour

    class Meta:
        table_name = "reporting_perpetrator"

    @property
    def name_list(self) -> list[str]:
        return json.loads(self.names) if self.names else []


class PerpetratorIdentifier(BaseModel):
    """A phone, email, plate or handle of a perpetrator: a blind index to match, an encrypted value to show."""

    perpetrator = ForeignKeyField(Perpetrator, backref="identifiers", on_delete="CASCADE")
    report = ForeignKeyField(Report, backref="identifiers", on_delete="CASCADE")
    kind = CharField(max_length=16)
    blind_index = CharField(max_length=64)
    display = EncryptedTextField()  # the normalised value (E.164 phone, lower-case email...)

    class Meta:
        table_name = "reporting_perpetrator_identifier"
        indexes = ((("kind", "blind_index"), False),)


class Consent(BaseModel):
    """One purpose the reporter agreed to; withdrawing sets withdrawn_at and keeps the row as history."""

    report = ForeignKeyField(Report, backref="consents", on_delete="CASCADE")
    purpose = CharField(max_length=32)
    given_at = DateTimeField(default=utcnow)
    withdrawn_at = DateTimeField(null=True)
    withdrawn_by = CharField(max_length=16, null=True)  # "reporter" or "staff" (on the reporter's request)
    withdrawn_by_user_id = IntegerField(null=True)

    class Meta:
        table_name = "reporting_consent"
        indexes = ((("report", "purpose"), False),)


class ReportMessage(BaseModel):
    """A message between staff and the reporter, or a staff-only note (kind "note")."""

    KINDS = ("note", "to_reporter", "from_reporter")

    report = ForeignKeyField(Report, backref="messages", on_delete="CASCADE")
    kind = CharField(max_length=16)
    author = ForeignKeyField(User, null=True, on_delete="SET NULL")  # None: the reporter
    body = EncryptedTextField()
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "reporting_message"


class Draft(BaseModel):
    """A report being filled in, step by step; the session holds only a random key to it."""

    key_hash = CharField(max_length=64, primary_key=True)  # sha256 of the key kept in the session
    data = EncryptedTextField(default="{}")  # JSON of the answers so far
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)

    class Meta:
        table_name = "reporting_draft"


class Attachment(BaseModel):
    """A screenshot or photo, re-encoded without metadata, encrypted; first kept with a draft."""

    report = ForeignKeyField(Report, null=True, backref="attachments", on_delete="CASCADE")
    draft = ForeignKeyField(Draft, null=True, backref="attachments", on_delete="CASCADE")
    content_type = CharField(max_length=32)
    size = IntegerField()
    data = EncryptedBytesField()
    from_reporter = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "reporting_attachment"


class ResearchExport(BaseModel):
    """A research export: one admin asks, a different staff member approves, then it can be downloaded.

    Holds what was asked (period, attributes, k) and, after each download, what it contained
    (counts only); never a report, a row of the export or any free text.
    """

    STATES = ("requested", "approved", "refused")

    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    requested_at = DateTimeField(default=utcnow)
    first_month = CharField(max_length=7)  # YYYY-MM, by the month the report was sent
    last_month = CharField(max_length=7)
    attributes = CharField(max_length=200)  # codes, comma-separated (research.ATTRIBUTES)
    k = IntegerField()
    status = CharField(max_length=16, default="requested", index=True)
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(null=True)
    downloads = IntegerField(default=0)
    last_rows = IntegerField(null=True)  # rows in the last download
    last_left_out = IntegerField(null=True)  # consenting reports left out of it (could not be generalised)

    class Meta:
        table_name = "reporting_research_export"

    @property
    def attribute_codes(self) -> list[str]:
        return [code for code in (self.attributes or "").split(",") if code]


MODELS = [Report, Perpetrator, PerpetratorIdentifier, Consent, ReportMessage, Draft, Attachment, ResearchExport]
