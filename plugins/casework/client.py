"""The client's own page, "Your support": no new account needed.

Reached by the client's account (Case.client or Referral.client) or by a receipt: the receipt of
their report (through the reporting plugin's receipt look-up) or of their self-referral. Receipts
travel in POST bodies only, never in an address, and every action on the page carries the receipt
again. A wrong receipt, a receipt of a report with no support request, and no receipt at all get
one and the same answer; wrong receipts are counted and throttled exactly as the reporting plugin
counts them (per visitor and for everyone, 429 past the limit; a right receipt always opens).

It shows the next appointment, the messages with the worker (the client reads and writes), the
safety plan if the worker shared it, the consents given and withdrawn (each with a button to
withdraw it and a sentence saying what that changes), and the ledger of who received what about
them. A referral that is still waiting says so; a declined one shows the neutral decline message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.audit import record
from core.db import db, lock_row, utcnow
from core.numbers import whole_number
from core.permissions import PUBLIC, requires
from plugins.casework import _, _l, evidence
from plugins.casework import appointments as appointment_service
from plugins.casework import referrals_out as referral_service
from plugins.casework.models import Case, CaseMessage, ClientConsent, Referral, ReferralOut
from plugins.casework.timeline import add_event

bp = Blueprint("casework_client", __name__, url_prefix="/casework/my-support")

MAX_MESSAGE = 10_000


def event_labels() -> dict:
    return {
        "client_message": _l("The client wrote a message"),
        "client_consent_withdrawn": _l("The client withdrew a consent"),
    }


def consent_labels() -> dict:
    """What each consent purpose means, said to the client."""
    return {
        appointment_service.REMINDER_PURPOSE: _l("Reminders of your appointments"),
        evidence.PURPOSE: _l("Giving the police an evidence pack of your own reports and the timeline of your "
                             "support"),
    }


def withdrawal_effects() -> dict:
    """What withdrawing each consent changes, told to the client right after they do it."""
    return {
        appointment_service.REMINDER_PURPOSE: _l("Done. We will not send you appointment reminders."),
        evidence.PURPOSE: _l("Done. Your worker can no longer give the police an evidence pack. Anything "
                             "already given stays with them: your worker can talk this through with you."),
        "referral_out": _l("Done. You no longer agree to this referral: your worker sees this and will not "
                           "share anything more with that service."),
    }


# -- finding the client's case ------------------------------------------------------------------------


@dataclass
class Found:
    """What a client opened: their case, or a referral not yet accepted (or declined)."""

    case: Case | None = None
    referral: Referral | None = None
    receipt: str | None = None
    extra: dict = field(default_factory=dict)


def _referral_outcome(referral: Referral | None) -> Found | None:
    if referral is None:
        return None
    case = Case.select().where(Case.referral == referral.id).order_by(Case.id.desc()).first()
    return Found(case=case, referral=referral)


def for_account(user) -> Found | None:
    """The signed-in client's newest case, else their newest referral."""
    if not getattr(user, "is_authenticated", False):
        return None
    case = Case.select().where(Case.client == user.id).order_by(Case.created_at.desc(), Case.id.desc()).first()
    if case is not None:
        return Found(case=case)
    referral = (Referral.select().where(Referral.client == user.id)
                .order_by(Referral.created_at.desc(), Referral.id.desc()).first())
    return _referral_outcome(referral)


class Throttled(Exception):
    """Too many wrong receipts lately (the same limits as the reporting plugin's)."""


def _reporting_on() -> bool:
    from flask import current_app

    from core.plugins import get_registry

    return get_registry(current_app._get_current_object()).is_enabled("reporting")


def _by_report_receipt(text: str) -> Found | None:
    """The case (or referral) of the report a receipt opens, through the reporting plugin's look-up,
    which also counts and throttles wrong receipts."""
    from plugins.reporting import service as reporting

    try:
        report = reporting.report_for_receipt(text, reporting.session_bucket())
    except reporting.Throttled:
        raise Throttled() from None
    if report is None:
        return None
    link = CaseReport_for(report.id)
    if link is not None:
        return Found(case=link)
    referral = (Referral.select().where(Referral.report_id == report.id)
                .order_by(Referral.created_at.desc(), Referral.id.desc()).first())
    return _referral_outcome(referral)


def _count_wrong() -> None:
    """With the reporting plugin off, a wrong receipt is still counted as reporting counts it (core's
    throttle, the same scope and limits), in the transaction the count takes itself."""
    from plugins.reporting import service as reporting

    if reporting._count_wrong_receipt(reporting.session_bucket()):
        raise Throttled()


def CaseReport_for(report_id: int) -> Case | None:  # noqa: N802 - reads as the table it looks in
    from plugins.casework.models import CaseReport

    link = CaseReport.select().where(CaseReport.report_id == report_id).order_by(CaseReport.id.desc()).first()
    return Case.get_or_none(Case.id == link.case_id) if link is not None else None


def _by_referral_receipt(text: str) -> Found | None:
    """A self-referral's own receipt (c1's core.receipts), when that module is there."""
    from plugins.casework.service import referral_for_receipt

    return _referral_outcome(referral_for_receipt(text))


def for_receipt(text: str | None) -> Found | None:
    """What a receipt opens, or None (wrong, expired, or about a report with no support request)."""
    text = (text or "").strip()[:64]
    found = _by_referral_receipt(text)
    if found is None:
        if _reporting_on():
            found = _by_report_receipt(text)
        else:
            _count_wrong()
    if found is not None:
        found.receipt = text
    return found


# -- what the page shows -------------------------------------------------------------------------------


def messages(case: Case) -> list[CaseMessage]:
    return list(CaseMessage.select().where(CaseMessage.case == case.id).order_by(CaseMessage.created_at,
                                                                                 CaseMessage.id))


def safety_plan(case: Case):
    """The newest version the worker shared (plans.shared_safety_plan, c2's module, once it is there)."""
    try:
        from plugins.casework.plans import shared_safety_plan
    except ImportError:
        from plugins.casework.models import SafetyPlan

        return (SafetyPlan.select().where((SafetyPlan.case == case.id) & SafetyPlan.shared_with_client)
                .order_by(SafetyPlan.version.desc()).first())
    return shared_safety_plan(case)


def consents(case: Case) -> list[ClientConsent]:
    return list(ClientConsent.select().where(ClientConsent.case == case.id).order_by(ClientConsent.created_at.desc(),
                                                                                     ClientConsent.id.desc()))


def decline_text(referral: Referral) -> str:
    """The neutral words for a declined referral (the intake module's decline_message once it is there)."""
    try:
        from plugins.casework.service import decline_message
    except ImportError:
        from plugins.casework.schemas import DECLINE_REASONS

        return str(DECLINE_REASONS.get(referral.decline_reason or "other", DECLINE_REASONS["other"]))
    return decline_message(referral)


def page_context(found: Found) -> dict:
    case = found.case
    context = {"case": case, "referral": found.referral, "receipt": found.receipt}
    if case is None:
        if found.referral is not None and found.referral.status == "declined":
            context["decline_message"] = decline_text(found.referral)
        return context
    context.update(
        next_appointment=appointment_service.next_for_case(case),
        appointment_kinds=appointment_service.kind_labels(),
        messages=messages(case),
        safety_plan=safety_plan(case),
        consents=consents(case),
        consent_labels=consent_labels(),
        referrals=referral_service.of_case(case),
        service_kinds=referral_service.service_kind_labels(),
        ledger=referral_service.ledger(case),
        ledger_consents=referral_service.consent_labels(),
        describe=evidence.describe,
        recipient_label=evidence.recipient_label,
        reminders_on=appointment_service.reminders_on(case),
        reminder_channel=case.reminder_channel,
        sms_available=appointment_service.sms_available(),
    )
    return context


# -- what the client can do -------------------------------------------------------------------------------


class ActionError(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid")
        self.errors = errors


def write_message(case: Case, body: str, user=None) -> CaseMessage:
    from core import text as text_rule

    try:
        body = text_rule.clean(body or "")
    except text_rule.TextRefused as exc:
        raise ActionError({"body": [text_rule.message(exc.problem)]}) from None
    if not body:
        raise ActionError({"body": [_("Please write something first.")]})
    if len(body) > MAX_MESSAGE:
        raise ActionError({"body": [_("Please keep this under %(count)d characters (it has %(length)d).",
                                      count=MAX_MESSAGE, length=len(body))]})
    author = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    with db.atomic():
        message = CaseMessage.create(case=case, from_client=True, author=author, body=body)
        add_event(case, "client_message", None, row_id=message.id)
        record("case.client_message", target=case.target(), actor_id=author)
    return message


def withdraw_consent(case: Case, consent_id: int, user=None) -> str | None:
    """Withdraw one of the case's consents; returns its purpose, or None when there was nothing to withdraw."""
    actor = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    row = ClientConsent.get_or_none((ClientConsent.id == consent_id) & (ClientConsent.case == case.id))
    if row is None or row.withdrawn_at is not None:
        return None
    if row.purpose == appointment_service.REMINDER_PURPOSE:
        appointment_service.set_reminders(case, actor, None, by_client=True)
        return row.purpose
    with db.atomic():
        lock_row(ClientConsent, row.id)
        changed = ClientConsent.update(withdrawn_at=utcnow()).where(
            (ClientConsent.id == row.id) & ClientConsent.withdrawn_at.is_null()).execute()
        if not changed:
            return None
        add_event(case, "client_consent_withdrawn", None, detail=row.purpose[:64], row_id=row.id)
        record("case.consent_withdrawn", target=case.target(), actor_id=actor)
    return row.purpose


def withdraw_referral(case: Case, referral_id: int, user=None) -> bool:
    referral = ReferralOut.get_or_none((ReferralOut.id == referral_id) & (ReferralOut.case == case.id))
    if referral is None:
        return False
    actor = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    return referral_service.withdraw(referral, actor, by_client=True)


def act(case: Case, user=None) -> tuple[str | None, dict]:
    """Do what the client asked on their page; (notice, errors)."""
    action = request.form.get("action", "view")
    try:
        if action == "message":
            write_message(case, request.form.get("body", ""), user)
            return _("Thank you. Your message is sent to your worker."), {}
        kind, _sep, value = action.partition(":")
        row_id = whole_number(value)
        if kind == "withdraw_consent" and row_id is not None:
            purpose = withdraw_consent(case, row_id, user)
            if purpose is None:
                return None, {}
            return str(withdrawal_effects().get(purpose, _("Done. You no longer agree to this."))), {}
        if kind == "withdraw_referral" and row_id is not None:
            if withdraw_referral(case, row_id, user):
                return str(withdrawal_effects()["referral_out"]), {}
            return None, {}
        if kind == "reminders" and value in ("email", "text", "stop"):
            actor = user if getattr(user, "is_authenticated", False) else None
            appointment_service.set_reminders(case, actor, None if value == "stop" else value, by_client=True)
            if value == "stop":
                return str(withdrawal_effects()[appointment_service.REMINDER_PURPOSE]), {}
            return _("Done. We will remind you of appointments the day before."), {}
    except ActionError as exc:
        return None, exc.errors
    return None, {}


# -- pages ---------------------------------------------------------------------------------------------------


def _not_found(errors: dict | None = None, status: int = 404):
    message = _("We could not find your support with that. Please check the receipt: it is the one you were "
                "given when you sent your report or asked for support.")
    return render_template("casework/client/open.html", errors=errors or {"receipt": [message]}), status


def _render(found: Found, notice: str | None = None, errors: dict | None = None):
    if found.case is not None:
        record("case.client_viewed", target=found.case.target(),
               actor_id=current_user.id if current_user.is_authenticated else None)
    return render_template("casework/client/page.html", notice=notice, errors=errors or {},
                           **page_context(found)), 422 if errors else 200


@bp.route("/", methods=["GET", "POST"])
@requires(PUBLIC)
def page():
    if request.method == "GET":
        found = for_account(current_user)
        if found is None:
            return render_template("casework/client/open.html", errors={})
        return _render(found)
    if "receipt" in request.form:
        try:
            found = for_receipt(request.form.get("receipt"))
        except Throttled:
            from plugins.reporting import service as reporting

            return _not_found({"receipt": [reporting.throttled_message()]}, 429)
        if found is None:
            return _not_found()
        notice, errors = act(found.case) if found.case is not None else (None, {})
        return _render(found, notice, errors)
    found = for_account(current_user)
    if found is None:
        return _not_found()
    if found.case is None:
        return redirect(url_for("casework_client.page"), code=303)
    notice, errors = act(found.case, current_user)
    if errors:
        return _render(found, errors=errors)
    if notice:
        flash(notice, "info")
    return redirect(url_for("casework_client.page"), code=303)
