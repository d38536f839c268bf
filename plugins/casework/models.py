"""Tables of the casework plugin (all prefixed casework_).

Support from referral to closure. Every free-text field and every way of reaching a client is
encrypted with core.crypto; codes (stages, channels, domains, outcomes) are plain so they can be
counted. A client is known by a working name, never a legal name unless they choose to give it.
Casework does not require the reporting plugin: a link to a report is kept as its id and
reference, not as a foreign key, so self-referrals work on an instance without reporting.

Who may see a case: its worker, the casework supervisors, and anyone with casework access who
broke the glass for it with a reason (BreakGlass); plugins/casework/access.py decides.
"""

from __future__ import annotations

import json

from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow

REFERRAL_SOURCES = ("report", "consent_later", "self", "partner")
REFERRAL_STATUSES = ("open", "accepted", "declined", "withdrawn")
STAGES = ("new", "assessment", "plan", "active", "closing", "closed")
OPEN_STAGES = STAGES[:-1]
CONTACT_METHODS = ("phone", "text", "email", "whatsapp", "signal", "in_person", "other")
CONTACT_CHANNELS = ("phone", "text", "email", "whatsapp", "signal", "in_person", "video", "letter", "other")
CONTACT_OUTCOMES = ("spoke", "message_left", "no_answer", "unsafe_to_talk", "failed", "met")
RISK_LEVELS = ("standard", "medium", "high")
GOAL_STATUSES = ("open", "met", "not_met", "not_applicable")
JUSTICE_PATHS = ("undecided", "chose_not_to_report", "intelligence_only", "reported")
APPOINTMENT_KINDS = ("police", "sarc", "clinic", "court", "housing", "other")
APPROVAL_KINDS = ("plan", "closure")
OUTCOME_POINTS = ("intake", "review", "closure")


class CaseworkModel(BaseModel):
    """Shared by every casework table: the time a row was made."""

    created_at = DateTimeField(default=utcnow, index=True)


class Referral(CaseworkModel):
    """A request for support, before a caseworker accepts or declines it."""

    source = CharField(max_length=16)  # REFERRAL_SOURCES
    status = CharField(max_length=16, default="open", index=True)
    # The report it came from (reporting plugin), by id and reference only.
    report_id = IntegerField(null=True, index=True)
    report_reference = CharField(max_length=16, null=True)
    # The client: an account, or nobody (anonymous) with a slow hash of a receipt for the client page.
    client = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    receipt_hash = CharField(max_length=128, null=True, unique=True)
    receipt_cost = CharField(max_length=32, null=True)
    working_name = EncryptedTextField(null=True)
    # How and when it is safe to make contact (only what the client gave for this purpose).
    contact_method = CharField(max_length=16, null=True)  # CONTACT_METHODS
    contact = EncryptedTextField(null=True)
    safe_times = EncryptedTextField(null=True)
    may_leave_message = BooleanField(null=True)
    language = CharField(max_length=16, null=True)
    region = CharField(max_length=64, null=True)
    needs = EncryptedTextField(null=True)  # what the client said would help, in their words
    # Made by a partner on someone's behalf, with that person's recorded agreement.
    referred_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    client_agreed_at = DateTimeField(null=True)
    decided_at = DateTimeField(null=True)
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decline_reason = CharField(max_length=32, null=True)  # a code, told to the client in neutral words
    decline_note = EncryptedTextField(null=True)  # staff-only detail

    class Meta:
        table_name = "casework_referral"

    def target(self) -> str:
        return f"referral:{self.id}"


class Case(CaseworkModel):
    """One person's support, from acceptance to closure (and reopening)."""

    reference = CharField(max_length=16, unique=True)  # C-7KQ2XW
    referral = ForeignKeyField(Referral, null=True, on_delete="SET NULL", backref="cases")
    client = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    working_name = EncryptedTextField(null=True)
    legal_name = EncryptedTextField(null=True)  # only if the client chooses to give it
    contact_method = CharField(max_length=16, null=True)
    contact = EncryptedTextField(null=True)
    safe_times = EncryptedTextField(null=True)
    may_leave_message = BooleanField(null=True)
    language = CharField(max_length=16, null=True)
    region = CharField(max_length=64, null=True)
    # Appointment reminders go to the client only if they agreed, by the channel they chose.
    reminders_agreed_at = DateTimeField(null=True)
    reminder_channel = CharField(max_length=16, null=True)  # "text" or "email"
    stage = CharField(max_length=16, default="new", index=True)  # STAGES
    stage_changed_at = DateTimeField(default=utcnow)
    worker = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+", index=True)
    supervisor = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    risk_level = CharField(max_length=16, null=True)  # RISK_LEVELS, from the latest assessment
    risk_review_on = DateField(null=True)
    justice_path = CharField(max_length=24, default="undecided")  # JUSTICE_PATHS, the client's choice
    closed_at = DateTimeField(null=True, index=True)  # retention counts from here
    closure_reason = CharField(max_length=32, null=True)
    closure_checklist = TextField(default="[]")  # codes ticked, JSON
    closure_note = EncryptedTextField(null=True)
    reopened_count = IntegerField(default=0)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "casework_case"

    def target(self) -> str:
        return f"case:{self.reference}"

    @property
    def checklist(self) -> list[str]:
        return json.loads(self.closure_checklist or "[]")


class CaseReport(BaseModel):
    """A report linked to a case (the one it came from, or one the client made later)."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="reports")
    report_id = IntegerField(index=True)
    report_reference = CharField(max_length=16)

    class Meta:
        table_name = "casework_case_report"
        indexes = ((("case", "report_id"), True),)


class CaseEvent(CaseworkModel):
    """One line of the case's timeline: what happened (a code) and a link to the row it was about.

    Every service function that changes a case writes one, so the timeline is one query. The
    text shown is built from the kind and the linked row, translated when read; nothing here is
    free text.
    """

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="events")
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    kind = CharField(max_length=32)  # e.g. "stage", "contact", "task_done", "appointment", "referral_out"
    detail = CharField(max_length=64, default="")  # a code (the new stage, the outcome), never personal data
    row_id = IntegerField(null=True)  # the contact, task, appointment... the event is about

    class Meta:
        table_name = "casework_event"


class Contact(CaseworkModel):
    """A contact with the client, or an attempt: failed and unsafe attempts are recorded too."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="contacts")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    happened_at = DateTimeField()
    channel = CharField(max_length=16)  # CONTACT_CHANNELS
    outbound = BooleanField(default=True)
    minutes = IntegerField(null=True)
    outcome = CharField(max_length=16)  # CONTACT_OUTCOMES
    note = EncryptedTextField(null=True)

    class Meta:
        table_name = "casework_contact"


class Task(CaseworkModel):
    """Something to do for the case, with a due date; the worker is reminded when it is due."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="tasks")
    title = EncryptedTextField()
    due_on = DateField(null=True, index=True)
    assigned_to = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    done_at = DateTimeField(null=True)
    reminded_at = DateTimeField(null=True)

    class Meta:
        table_name = "casework_task"


class CaseMessage(CaseworkModel):
    """A message between the client (on their client page) and their worker."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="messages")
    from_client = BooleanField()
    author = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    body = EncryptedTextField()
    read_at = DateTimeField(null=True)

    class Meta:
        table_name = "casework_message"


class Assessment(CaseworkModel):
    """A needs and risk assessment: a risk level with a review date, and one row per domain."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="assessments")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    risk_level = CharField(max_length=16)  # RISK_LEVELS
    review_on = DateField(null=True)
    summary = EncryptedTextField(null=True)

    class Meta:
        table_name = "casework_assessment"


class AssessmentNeed(BaseModel):
    """One domain of an assessment (domains are a plugin setting, so groups outside the UK adapt them)."""

    assessment = ForeignKeyField(Assessment, on_delete="CASCADE", backref="needs")
    domain = CharField(max_length=32)
    level = CharField(max_length=16)  # "none", "some", "high"
    note = EncryptedTextField(null=True)

    class Meta:
        table_name = "casework_assessment_need"


class SafetyPlan(CaseworkModel):
    """A version of the client's safety plan; a change makes a new version, earlier ones stay."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="safety_plans")
    version = IntegerField()
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    content = EncryptedTextField()
    shared_with_client = BooleanField(default=False)

    class Meta:
        table_name = "casework_safety_plan"
        indexes = ((("case", "version"), True),)


class Goal(CaseworkModel):
    """A goal of the action plan, in one domain, marked met / not met / not applicable."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="goals")
    domain = CharField(max_length=32)
    text = EncryptedTextField()
    status = CharField(max_length=16, default="open")  # GOAL_STATUSES
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "casework_goal"


class JusticeStep(CaseworkModel):
    """A step of the criminal-justice journey the client chose (stage codes are a setting)."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="justice_steps")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    stage = CharField(max_length=32)
    happened_on = DateField(null=True)
    deadline_on = DateField(null=True)  # e.g. the last day to ask for a review of a decision
    crime_reference = EncryptedTextField(null=True)
    note = EncryptedTextField(null=True)

    class Meta:
        table_name = "casework_justice_step"


class CompensationClaim(CaseworkModel):
    case = ForeignKeyField(Case, on_delete="CASCADE", backref="claims")
    status = CharField(max_length=24)  # a code from the settings' list
    deadline_on = DateField(null=True)
    outcome = EncryptedTextField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "casework_compensation"


class Appointment(CaseworkModel):
    """An appointment the worker goes to or accompanies the client to; offered as an .ics file.

    `uid` stays the same for the appointment's life and `sequence` goes up with every change, so a
    calendar updates (or cancels) the event it already has instead of adding another.
    """

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="appointments")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    kind = CharField(max_length=16)  # APPOINTMENT_KINDS
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField(null=True)
    place = EncryptedTextField(null=True)
    note = EncryptedTextField(null=True)
    uid = CharField(max_length=64, unique=True)
    sequence = IntegerField(default=0)
    cancelled_at = DateTimeField(null=True)
    accompanied = BooleanField(default=False)
    attended = BooleanField(null=True)
    minutes_spent = IntegerField(null=True)
    remind_client = BooleanField(default=False)
    client_reminded_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "casework_appointment"


class ReferralOut(CaseworkModel):
    """A referral to another service, with the client's consent naming what is shared."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="referrals_out")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    service_kind = CharField(max_length=32)
    service_name = EncryptedTextField()
    shared = EncryptedTextField()  # what is shared, as the client agreed it
    consent_at = DateTimeField(null=True)
    consent_withdrawn_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    outcome = CharField(max_length=24, null=True)
    outcome_note = EncryptedTextField(null=True)

    class Meta:
        table_name = "casework_referral_out"


class Disclosure(CaseworkModel):
    """The client's ledger: who received what about them, and under which consent."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="disclosures")
    by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    recipient = EncryptedTextField()
    what = EncryptedTextField()
    consent = CharField(max_length=32)  # the purpose the client agreed to, e.g. "referral_out", "police"
    referral_out = ForeignKeyField(ReferralOut, null=True, on_delete="SET NULL", backref="disclosures")

    class Meta:
        table_name = "casework_disclosure"


class ClientConsent(CaseworkModel):
    """A consent the client gave for their case (reminders, sharing with police), with its history."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="consents")
    purpose = CharField(max_length=32)
    given_by_client = BooleanField(default=True)  # False: recorded by the worker on the client's word
    withdrawn_at = DateTimeField(null=True)

    class Meta:
        table_name = "casework_consent"


class Approval(CaseworkModel):
    """A supervisor's decision on a case plan or a closure: approved, or sent back with a comment."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="approvals")
    kind = CharField(max_length=16)  # APPROVAL_KINDS
    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(null=True)
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decision = CharField(max_length=16, null=True)  # "approved" or "sent_back"
    comment = EncryptedTextField(null=True)

    class Meta:
        table_name = "casework_approval"


class SupervisionNote(CaseworkModel):
    """Kept apart from the case file: a supervisor's note on a worker's supervision."""

    supervisor = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    worker = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    case = ForeignKeyField(Case, null=True, on_delete="SET NULL", backref="+")
    note = EncryptedTextField()

    class Meta:
        table_name = "casework_supervision_note"


class OutcomeMeasure(CaseworkModel):
    """The client's answers at intake, review or closure (codes and 1-5 scores, JSON)."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="outcomes")
    point = CharField(max_length=16)  # OUTCOME_POINTS
    answers = TextField(default="{}")

    class Meta:
        table_name = "casework_outcome"


class Feedback(BaseModel):
    """A client's feedback at closure, kept with no link to the case or worker: anonymous to them."""

    month = DateField(index=True)  # the first day of the month it was given, for returns
    answers = TextField(default="{}")
    comment = EncryptedTextField(null=True)

    class Meta:
        table_name = "casework_feedback"


class FeedbackToken(CaseworkModel):
    """A one-time link a worker hands to a client for closure feedback.

    It names no case, worker or client on purpose: the feedback it lets in is anonymous to the
    worker. Only a hash of the token is kept; the row is deleted when the feedback is given.
    """

    token_hash = CharField(max_length=64, unique=True)
    expires_at = DateTimeField(index=True)

    class Meta:
        table_name = "casework_feedback_token"


class BreakGlass(CaseworkModel):
    """Someone with casework access opened a case that is not theirs (cover), with a stated reason."""

    case = ForeignKeyField(Case, on_delete="CASCADE", backref="+")
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    reason = EncryptedTextField()
    expires_at = DateTimeField(index=True)
    seen_by_supervisor_at = DateTimeField(null=True)

    class Meta:
        table_name = "casework_break_glass"


MODELS = [Referral, Case, CaseReport, CaseEvent, Contact, Task, CaseMessage, Assessment, AssessmentNeed, SafetyPlan,
          Goal, JusticeStep, CompensationClaim, Appointment, ReferralOut, Disclosure, ClientConsent, Approval,
          SupervisionNote, OutcomeMeasure, Feedback, BreakGlass, FeedbackToken]
