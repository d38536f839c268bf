"""Casework: referrals, cases and everything on them (see plugins/casework/models.py)."""

import datetime

from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    class User(Model):
        class Meta:
            table_name = "user"

    class Referral(Model):
        source = CharField(max_length=16)
        status = CharField(max_length=16, index=True, default="open")
        report_id = IntegerField(null=True, index=True)
        report_reference = CharField(max_length=16, null=True)
        client = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        receipt_hash = CharField(max_length=128, null=True, unique=True)
        receipt_cost = CharField(max_length=32, null=True)
        working_name = TextField(null=True)
        contact_method = CharField(max_length=16, null=True)
        contact = TextField(null=True)
        safe_times = TextField(null=True)
        may_leave_message = BooleanField(null=True)
        language = CharField(max_length=16, null=True)
        region = CharField(max_length=64, null=True)
        needs = TextField(null=True)
        referred_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        client_agreed_at = DateTimeField(null=True)
        decided_at = DateTimeField(null=True)
        decided_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        decline_reason = CharField(max_length=32, null=True)
        decline_note = TextField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_referral"

    class Case(Model):
        reference = CharField(max_length=16, unique=True)
        referral = ForeignKeyField(Referral, backref="+", null=True, on_delete="SET NULL")
        client = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        working_name = TextField(null=True)
        legal_name = TextField(null=True)
        contact_method = CharField(max_length=16, null=True)
        contact = TextField(null=True)
        safe_times = TextField(null=True)
        may_leave_message = BooleanField(null=True)
        language = CharField(max_length=16, null=True)
        region = CharField(max_length=64, null=True)
        reminders_agreed_at = DateTimeField(null=True)
        reminder_channel = CharField(max_length=16, null=True)
        stage = CharField(max_length=16, index=True, default="new")
        stage_changed_at = DateTimeField(default=now)
        worker = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        supervisor = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        risk_level = CharField(max_length=16, null=True)
        risk_review_on = DateField(null=True)
        justice_path = CharField(max_length=24, default="undecided")
        closed_at = DateTimeField(null=True, index=True)
        closure_reason = CharField(max_length=32, null=True)
        closure_checklist = TextField(default="[]")
        closure_note = TextField(null=True)
        reopened_count = IntegerField(default=0)
        updated_at = DateTimeField(default=now)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_case"

    class CaseReport(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        report_id = IntegerField(index=True)
        report_reference = CharField(max_length=16)

        class Meta:
            table_name = "casework_case_report"
            indexes = [(("case", "report_id"), True)]

    class CaseEvent(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        actor = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        kind = CharField(max_length=32)
        detail = CharField(max_length=64, default="")
        row_id = IntegerField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_event"

    class Contact(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        happened_at = DateTimeField()
        channel = CharField(max_length=16)
        outbound = BooleanField(default=True)
        minutes = IntegerField(null=True)
        outcome = CharField(max_length=16)
        note = TextField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_contact"

    class Task(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        title = TextField()
        due_on = DateField(null=True, index=True)
        assigned_to = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        created_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        done_at = DateTimeField(null=True)
        reminded_at = DateTimeField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_task"

    class CaseMessage(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        from_client = BooleanField()
        author = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        body = TextField()
        read_at = DateTimeField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_message"

    class Assessment(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        risk_level = CharField(max_length=16)
        review_on = DateField(null=True)
        summary = TextField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_assessment"

    class AssessmentNeed(Model):
        assessment = ForeignKeyField(Assessment, backref="+", on_delete="CASCADE")
        domain = CharField(max_length=32)
        level = CharField(max_length=16)
        note = TextField(null=True)

        class Meta:
            table_name = "casework_assessment_need"

    class SafetyPlan(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        version = IntegerField()
        by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        content = TextField()
        shared_with_client = BooleanField(default=False)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_safety_plan"
            indexes = [(("case", "version"), True)]

    class Goal(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        domain = CharField(max_length=32)
        text = TextField()
        status = CharField(max_length=16, default="open")
        updated_at = DateTimeField(default=now)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_goal"

    class JusticeStep(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        stage = CharField(max_length=32)
        happened_on = DateField(null=True)
        deadline_on = DateField(null=True)
        crime_reference = TextField(null=True)
        note = TextField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_justice_step"

    class CompensationClaim(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        status = CharField(max_length=24)
        deadline_on = DateField(null=True)
        outcome = TextField(null=True)
        updated_at = DateTimeField(default=now)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_compensation"

    class Appointment(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        kind = CharField(max_length=16)
        starts_at = DateTimeField(index=True)
        ends_at = DateTimeField(null=True)
        place = TextField(null=True)
        note = TextField(null=True)
        uid = CharField(max_length=64, unique=True)
        sequence = IntegerField(default=0)
        cancelled_at = DateTimeField(null=True)
        accompanied = BooleanField(default=False)
        attended = BooleanField(null=True)
        minutes_spent = IntegerField(null=True)
        remind_client = BooleanField(default=False)
        client_reminded_at = DateTimeField(null=True)
        updated_at = DateTimeField(default=now)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_appointment"

    class ReferralOut(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        service_kind = CharField(max_length=32)
        service_name = TextField()
        shared = TextField()
        consent_at = DateTimeField(null=True)
        consent_withdrawn_at = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)
        outcome = CharField(max_length=24, null=True)
        outcome_note = TextField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_referral_out"

    class Disclosure(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        recipient = TextField()
        what = TextField()
        consent = CharField(max_length=32)
        referral_out = ForeignKeyField(ReferralOut, backref="+", null=True, on_delete="SET NULL")
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_disclosure"

    class ClientConsent(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        purpose = CharField(max_length=32)
        given_by_client = BooleanField(default=True)
        withdrawn_at = DateTimeField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_consent"

    class Approval(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        kind = CharField(max_length=16)
        requested_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        decided_at = DateTimeField(null=True)
        decided_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        decision = CharField(max_length=16, null=True)
        comment = TextField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_approval"

    class SupervisionNote(Model):
        supervisor = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        worker = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        case = ForeignKeyField(Case, backref="+", null=True, on_delete="SET NULL")
        note = TextField()
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_supervision_note"

    class OutcomeMeasure(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        point = CharField(max_length=16)
        answers = TextField(default="{}")
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_outcome"

    class Feedback(Model):
        month = DateField(index=True)
        answers = TextField(default="{}")
        comment = TextField(null=True)

        class Meta:
            table_name = "casework_feedback"

    class BreakGlass(Model):
        case = ForeignKeyField(Case, backref="+", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        reason = TextField()
        expires_at = DateTimeField(index=True)
        seen_by_supervisor_at = DateTimeField(null=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_break_glass"

    tables = [
        Referral,
        Case,
        CaseReport,
        CaseEvent,
        Contact,
        Task,
        CaseMessage,
        Assessment,
        AssessmentNeed,
        SafetyPlan,
        Goal,
        JusticeStep,
        CompensationClaim,
        Appointment,
        ReferralOut,
        Disclosure,
        ClientConsent,
        Approval,
        SupervisionNote,
        OutcomeMeasure,
        Feedback,
        BreakGlass,
    ]
    with db.bind_ctx([User, *tables]):
        db.create_tables(tables)


def down(migrator, db):
    for table in reversed(
        [
            "casework_referral",
            "casework_case",
            "casework_case_report",
            "casework_event",
            "casework_contact",
            "casework_task",
            "casework_message",
            "casework_assessment",
            "casework_assessment_need",
            "casework_safety_plan",
            "casework_goal",
            "casework_justice_step",
            "casework_compensation",
            "casework_appointment",
            "casework_referral_out",
            "casework_disclosure",
            "casework_consent",
            "casework_approval",
            "casework_supervision_note",
            "casework_outcome",
            "casework_feedback",
            "casework_break_glass",
        ]
    ):
        db.execute_sql(f"DROP TABLE {table}")  # noqa: S608 - fixed names
