"""Intake and the case core: referrals, accepting and declining them, stages, workers, contacts,
tasks and messages. Shared by the pages, the API, the hooks and the tests.

Every change is made inside db.atomic() with a timeline event (plugins.casework.timeline) and an
audit entry of codes and references only. Pages and API endpoints get a case through
plugins.casework.access.case_for, never by looking it up themselves.
"""

from __future__ import annotations

import datetime
import logging
import secrets

from flask import current_app

from core.accounts.models import User
from core.audit import record
from core.db import db, lock_row, utcnow
from core.permissions import user_has
from core.settings import plugin_settings
from plugins.casework import _, _l
from plugins.casework.access import CASES, is_supervisor
from plugins.casework.models import (
    OPEN_STAGES,
    STAGES,
    Case,
    CaseMessage,
    CaseReport,
    Contact,
    Referral,
    Task,
)
from plugins.casework.schemas import DECLINE_REASONS
from plugins.casework.timeline import add_event

log = logging.getLogger("redumbrella.casework")

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # as reports: no 0/O, 1/I/L or U
REFERENCE_LENGTH = 6
SCOPE = "casework"  # receipts of self-referrals are hashed apart from reports' receipts
CONTACT_FIELDS = ("working_name", "contact_method", "contact", "safe_times", "may_leave_message", "language",
                  "region")


class CaseworkError(ValueError):
    """The change cannot be made; the message (translated) says why."""


class Conflict(CaseworkError):
    """The record is no longer in a state that allows the change (someone else got there first)."""


class AlreadySent(CaseworkError):
    """This form was sent before (a reload, a double tap): nothing new is made."""


def settings() -> dict:
    return plugin_settings("casework")


def event_labels() -> dict:
    """Timeline labels of the events this module writes (kind -> lazy label)."""
    return {
        "opened": _l("Case opened"),
        "stage": _l("Stage changed"),
        "reopened": _l("Case reopened"),
        "worker": _l("Worker changed"),
        "contact": _l("Contact recorded"),
        "task": _l("Task added"),
        "task_done": _l("Task done"),
        "task_undone": _l("Task open again"),
        "task_changed": _l("Task changed"),
        "message_to_client": _l("Message to the client"),
        "message_from_client": _l("Message from the client"),
        "report_linked": _l("Report linked"),
        "break_glass": _l("Opened by someone covering (break-glass)"),
    }


def stage_labels() -> dict:
    return {
        "new": _("New"),
        "assessment": _("Assessment"),
        "plan": _("Plan"),
        "active": _("Active support"),
        "closing": _("Closing"),
        "closed": _("Closed"),
    }


def source_labels() -> dict:
    return {
        "report": _("From a report"),
        "consent_later": _("From a report (support asked for later)"),
        "self": _("Asked for support themselves"),
        "partner": _("Referred by a partner"),
    }


# -- referrals ---------------------------------------------------------------------------------------


def _audit(action: str, target: str, user=None) -> None:
    record(action, target=target, actor_id=getattr(user, "id", user))


def referral_from_report(report, source: str = "report") -> Referral | None:
    """A referral from a report whose reporter consented to wants_support, or None without that consent.

    Only what that consent covers is copied: the safe contact details given for support, the
    language, the region, and the report's id and reference (never what happened or who did it).
    A report already waiting in the queue is not referred twice.
    """
    if not report.has_consent("wants_support"):
        return None
    reporter = User.get_or_none(User.id == report.reporter_id) if report.reporter_id else None
    with db.atomic():
        waiting = Referral.get_or_none((Referral.report_id == report.id) & (Referral.status == "open"))
        if waiting is not None:
            return waiting
        referral = Referral.create(
            source=source,
            report_id=report.id,
            report_reference=report.reference,
            client=reporter.id if reporter else None,
            working_name=reporter.working_name if reporter else None,
            contact_method=report.support_contact_method,
            contact=report.support_contact,
            safe_times=report.support_safe_times,
            may_leave_message=report.support_may_leave_message,
            language=report.language,
            region=report.region,
        )
        _audit("referral.created", referral.target())
    _notify_team(referral)
    return referral


def withdraw_referral_for_report(report) -> Referral | None:
    """The reporter no longer wants support: a referral from their report that nobody has taken
    up yet is withdrawn (a case already open stays with its caseworker, who talks it over with the
    client: that is the client's own consent, on their support page)."""
    with db.atomic():
        waiting = Referral.get_or_none((Referral.report_id == report.id) & (Referral.status == "open"))
        if waiting is None:
            return None
        Referral.update(status="withdrawn", decided_at=utcnow()).where(Referral.id == waiting.id).execute()
        _audit("referral.withdrawn", waiting.target())
    return waiting


def self_referral(data: dict, user=None, form_key: str | None = None,
                  keep_receipt_as: str | None = None) -> tuple[Referral, str | None]:
    """Someone asks for support themselves; an anonymous person gets a receipt for their client page.

    form_key: the one-time key of the form it came from (core.once), claimed in the transaction that
    makes the referral. A form sent again (a reload of the answer, a double tap on a slow
    connection) raises AlreadySent and makes nothing.
    keep_receipt_as: where the receipt is kept, in the same transaction, to be shown again to the
    browser that sent the form (core.kept_receipts.key_for), if anywhere."""
    from core import kept_receipts, once
    from core.receipts import new_receipt, receipt_cost, receipt_digits, receipt_hash

    receipt = None
    with db.atomic():
        if not once.claim(form_key):
            raise AlreadySent
        referral = Referral(source="self", **_contact_values(data), needs=data.get("needs"))
        if user is not None and getattr(user, "is_authenticated", False):
            referral.client = user.id
            referral.working_name = referral.working_name or user.working_name
        else:
            receipt = new_receipt()
            referral.receipt_cost = receipt_cost()
            referral.receipt_hash = receipt_hash(receipt_digits(receipt), referral.receipt_cost, SCOPE)
        referral.save(force_insert=True)
        if receipt is not None and keep_receipt_as is not None:
            kept_receipts.keep(keep_receipt_as, receipt)
        _audit("referral.created", referral.target(), user if receipt is None else None)
    _notify_team(referral)
    return referral, receipt


def partner_referral(data: dict, partner) -> Referral:
    """A partner refers someone who agreed to it (the agreement is required and its time kept)."""
    if not data.get("client_agreed"):
        raise CaseworkError(_("Please only refer someone once they have agreed to it."))
    with db.atomic():
        referral = Referral.create(source="partner", **_contact_values(data), needs=data.get("needs"),
                                   referred_by=partner.id, client_agreed_at=utcnow())
        _audit("referral.created", referral.target(), partner)
    _notify_team(referral)
    return referral


def _contact_values(data: dict) -> dict:
    return {name: data.get(name) for name in CONTACT_FIELDS}


def referral_for_receipt(text: str | None) -> Referral | None:
    """The self-referral an anonymous person's receipt opens (for the client page), or None."""
    from core.receipts import lookup

    return lookup(Referral, text, SCOPE)


def _notify_team(referral: Referral) -> None:
    from plugins.casework.tasks import notify_team

    notify_team(referral.id)  # called after the commit: the task reads the referral by its id


def open_referrals() -> list[Referral]:
    return list(Referral.select().where(Referral.status == "open").order_by(Referral.created_at, Referral.id))


def referral_or_none(referral_id: int) -> Referral | None:
    return Referral.get_or_none(Referral.id == referral_id)


def may_work(user) -> bool:
    return user_has(current_app, user, CASES)


def caseworkers() -> list[User]:
    """Active accounts that can hold cases (for a supervisor's choice of worker)."""
    from core.accounts.models import UserRole
    from core.permissions import roles_for

    roles = roles_for(current_app, CASES)
    return list(User.select().join(UserRole).where(UserRole.role.in_(list(roles)) & (User.active == True))  # noqa: E712
                .distinct().order_by(User.id))


def new_case_reference() -> str:
    while True:
        reference = "C-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        if not Case.select().where(Case.reference == reference).exists():
            return reference


def accept_referral(referral: Referral, user, worker_id: int | None = None) -> Case:
    """Open a case for the referral, assigned to `user` or (a supervisor's choice) to `worker_id`."""
    worker = user
    if worker_id is not None and worker_id != user.id:
        if not is_supervisor(user):
            raise CaseworkError(_("Only a supervisor can give a case to another worker."))
        worker = User.get_or_none((User.id == worker_id) & (User.active == True))  # noqa: E712
        if worker is None or not may_work(worker):
            raise CaseworkError(_("Please choose someone who works on cases."))
    with db.atomic():
        lock_row(Referral, referral.id)
        status = Referral.select(Referral.status).where(Referral.id == referral.id).scalar()
        if status != "open":
            raise Conflict(_("This referral has already been dealt with."))
        now = utcnow()
        case = Case.create(
            reference=new_case_reference(),
            referral=referral.id,
            client=referral.client_id,
            **{name: getattr(referral, name) for name in CONTACT_FIELDS},
            stage="new",
            stage_changed_at=now,
            worker=worker.id,
            supervisor=user.id if is_supervisor(user) else None,
        )
        if referral.report_id is not None:
            CaseReport.create(case=case, report_id=referral.report_id, report_reference=referral.report_reference)
        Referral.update(status="accepted", decided_at=now, decided_by=user.id).where(
            Referral.id == referral.id).execute()
        add_event(case, "opened", user, referral.source)
        _audit("referral.accepted", referral.target(), user)
        _audit("case.opened", case.target(), user)
    referral.status = "accepted"
    return case


def decline_referral(referral: Referral, user, reason: str, note: str | None = None) -> Referral:
    """Decline with a reason code; the person is told in neutral words, with where else to turn."""
    if reason not in DECLINE_REASONS or reason not in settings()["decline_reasons"]:
        raise CaseworkError(_("Please choose one of the listed reasons."))
    with db.atomic():
        lock_row(Referral, referral.id)
        status = Referral.select(Referral.status).where(Referral.id == referral.id).scalar()
        if status != "open":
            raise Conflict(_("This referral has already been dealt with."))
        Referral.update(status="declined", decided_at=utcnow(), decided_by=user.id, decline_reason=reason,
                        decline_note=note).where(Referral.id == referral.id).execute()
        _audit("referral.declined", referral.target(), user)
    referral.status, referral.decline_reason = "declined", reason
    from plugins.casework.tasks import tell_declined

    tell_declined(referral.id)
    return referral


def decline_message(referral: Referral) -> str | None:
    """What the person is told about a declined referral (their client page, the e-mail): the
    reason in neutral words and where else to turn. None unless the referral was declined."""
    if referral.status != "declined":
        return None
    reason = str(DECLINE_REASONS.get(referral.decline_reason or "other", DECLINE_REASONS["other"]))
    where_else = (settings().get("where_else") or "").strip() or _(
        "You can still ask us for help another time. Other services may also help, such as your local "
        "sexual violence support service, your doctor, or a helpline. In an emergency call 999.")
    return f"{reason}\n\n{where_else}"


# -- stages and workers ------------------------------------------------------------------------------


def _closure_allowed(case: Case) -> bool:
    """A supervisor's approval of the closure (plans.closure_allowed, when that module is there)."""
    try:
        from plugins.casework.plans import closure_allowed
    except ImportError:
        return True
    return bool(closure_allowed(case))


def stage_error(case: Case, stage: str) -> str | None:
    """Why the case cannot move to `stage` now (translated), or None when it can.

    Rules: any open stage may move to any other open stage but "closing" only through
    set_stage's approval check; "closed" only from "closing"; a closed case only reopens, to
    "assessment". Closing and closing for good both need the supervisor's approval of the closure.
    """
    if stage not in STAGES:
        return _("Please choose one of the listed stages.")
    if stage == case.stage:
        return _("The case is already at this stage.")
    if case.stage == "closed":
        if stage != "assessment":
            return _("A closed case can only be reopened, at the assessment stage.")
        return None
    if stage == "closed" and case.stage != "closing":
        return _("A case is closed from the closing stage.")
    if stage in ("closing", "closed") and not _closure_allowed(case):
        return _("Closing a case needs a supervisor's approval first.")
    return None


def set_stage(case: Case, stage: str, user) -> Case:
    """Move the case to `stage`, or raise CaseworkError with a translated reason."""
    with db.atomic():
        lock_row(Case, case.id)
        fresh = Case.get_by_id(case.id)
        problem = stage_error(fresh, stage)
        if problem:
            raise CaseworkError(problem)
        now = utcnow()
        changes = {Case.stage: stage, Case.stage_changed_at: now, Case.updated_at: now}
        reopening = fresh.stage == "closed"
        if stage == "closed":
            changes[Case.closed_at] = now
        if reopening:
            changes[Case.closed_at] = None
            changes[Case.reopened_count] = Case.reopened_count + 1
        Case.update(changes).where(Case.id == case.id).execute()
        add_event(case, "reopened" if reopening else "stage", user, stage)
        _audit("case.reopened" if reopening else f"case.stage_{stage}", case.target(), user)
    return Case.get_by_id(case.id)


def reassign(case: Case, worker_id: int, user) -> Case:
    if not is_supervisor(user):
        raise CaseworkError(_("Only a supervisor can give a case to another worker."))
    worker = User.get_or_none((User.id == worker_id) & (User.active == True))  # noqa: E712
    if worker is None or not may_work(worker):
        raise CaseworkError(_("Please choose someone who works on cases."))
    with db.atomic():
        Case.update(worker=worker.id, supervisor=user.id, updated_at=utcnow()).where(Case.id == case.id).execute()
        add_event(case, "worker", user, f"user:{worker.id}")
        _audit("case.reassigned", case.target(), user)
    return Case.get_by_id(case.id)


def filtered_cases(query, stage: str | None = None, worker: int | None = None):
    if stage:
        query = query.where(Case.stage == stage)
    if worker:
        query = query.where(Case.worker == worker)
    return query.order_by(Case.updated_at.desc(), Case.id.desc())


def linked_reports(case: Case) -> list[str]:
    return [row.report_reference for row in CaseReport.select(CaseReport.report_reference)
            .where(CaseReport.case == case.id).order_by(CaseReport.id)]


# -- contacts, tasks, messages -------------------------------------------------------------------------


def add_contact(case: Case, user, data: dict) -> Contact:
    with db.atomic():
        contact = Contact.create(case=case, by=user.id, happened_at=data.get("happened_at") or utcnow(),
                                 channel=data["channel"], outbound=data.get("outbound", True),
                                 minutes=data.get("minutes"), outcome=data["outcome"], note=data.get("note"))
        add_event(case, "contact", user, data["outcome"], contact.id)
        _audit("case.contact_added", case.target(), user)
    return contact


def contacts(case: Case) -> list[Contact]:
    return list(Contact.select().where(Contact.case == case.id).order_by(Contact.happened_at.desc(),
                                                                         Contact.id.desc()))


def add_task(case: Case, user, title: str, due_on: datetime.date | None = None) -> Task:
    with db.atomic():
        task = Task.create(case=case, title=title, due_on=due_on, assigned_to=case.worker_id or user.id,
                           created_by=user.id)
        add_event(case, "task", user, "", task.id)
        _audit("case.task_added", case.target(), user)
    return task


def task_of(case: Case, task_id: int) -> Task | None:
    return Task.get_or_none((Task.id == task_id) & (Task.case == case.id))


def update_task(case: Case, task: Task, user, done: bool | None = None, title: str | None = None,
                due_on=...) -> Task:
    with db.atomic():
        changes = {}
        kind = "task_changed"
        if done is not None and done != (task.done_at is not None):
            changes[Task.done_at] = utcnow() if done else None
            kind = "task_done" if done else "task_undone"
        if title:
            changes[Task.title] = title
        if due_on is not ...:
            changes[Task.due_on] = due_on
            changes[Task.reminded_at] = None
        if changes:
            Task.update(changes).where(Task.id == task.id).execute()
            add_event(case, kind, user, "", task.id)
            _audit(f"case.{kind}", case.target(), user)
    return Task.get_by_id(task.id)


def tasks(case: Case) -> list[Task]:
    rows = list(Task.select().where(Task.case == case.id).order_by(Task.id))
    far = datetime.date.max
    return sorted(rows, key=lambda t: (t.done_at is not None, t.due_on or far, t.id))


def add_message(case: Case, user, body: str) -> CaseMessage:
    """The worker writes to the client (the client reads and answers on their client page)."""
    with db.atomic():
        message = CaseMessage.create(case=case, from_client=False, author=user.id, body=body)
        add_event(case, "message_to_client", user, "", message.id)
        _audit("case.message_sent", case.target(), user)
    return message


def messages(case: Case, reader=None) -> list[CaseMessage]:
    """Oldest first. A worker reading marks the client's messages read."""
    if reader is not None:
        CaseMessage.update(read_at=utcnow()).where((CaseMessage.case == case.id) & CaseMessage.from_client
                                                   & CaseMessage.read_at.is_null()).execute()
    return list(CaseMessage.select().where(CaseMessage.case == case.id).order_by(CaseMessage.created_at,
                                                                                 CaseMessage.id))


def due_tasks_by_worker(today: datetime.date) -> dict[int, int]:
    """{worker id: how many open tasks are due today or overdue} on open cases."""
    from peewee import fn

    rows = (Task.select(Task.assigned_to, fn.COUNT(Task.id)).join(Case)
            .where(Task.done_at.is_null() & Task.due_on.is_null(False) & (Task.due_on <= today)
                   & Task.assigned_to.is_null(False) & Case.stage.in_(list(OPEN_STAGES)))
            .group_by(Task.assigned_to).tuples())
    return {worker: count for worker, count in rows}
