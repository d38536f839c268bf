"""Pages of the casework plugin's intake and case core, under /casework/.

/casework/                      the caller's caseload (every case for supervisors, with filters)
/casework/referrals             the referral queue: accept (opens a case) or decline with a reason
/casework/support               "Get support": anyone asks for support (anonymous allowed)
/casework/refer                 a partner refers someone who agreed to it
/casework/cases/<reference>     the case page, built from sections (plugins/casework/sections.py)
/casework/break-glass           open a case that is not yours, with a reason supervisors see

Every case is reached through access.case_for (404 to anyone who may not see it; every view is
audited). Forms are plain HTML with a CSRF token; everything works without JavaScript.
"""

from __future__ import annotations

import contextlib
import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime
from flask_login import current_user
from marshmallow import ValidationError

from core import kept_receipts, once
from core.accounts.models import User
from core.audit import record
from core.db import utcnow
from core.fields import Text
from core.i18n import language_switched
from core.numbers import whole_number
from core.permissions import PUBLIC, requires
from plugins.casework import _, service
from plugins.casework.access import CASES, SUPERVISE, break_glass, case_for, is_supervisor, visible_cases
from plugins.casework.models import (
    CONTACT_CHANNELS,
    CONTACT_METHODS,
    CONTACT_OUTCOMES,
    STAGES,
    BreakGlass,
    Case,
    CaseEvent,
    Referral,
)
from plugins.casework.schemas import DECLINE_REASONS, ContactInSchema
from plugins.casework.sections import section, sections_for
from plugins.casework.timeline import events

bp = Blueprint("casework", __name__, url_prefix="/casework", static_folder="static")
REFER = "casework.refer"


def _user():
    return current_user._get_current_object()


@bp.app_template_filter("casework_date")
def _date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return format_datetime(value, "medium")
    return format_date(value, "medium")


def channel_labels() -> dict:
    return {
        "phone": _("Phone call"), "text": _("Text message"), "email": _("E-mail"), "whatsapp": _("WhatsApp"),
        "signal": _("Signal"), "in_person": _("In person"), "video": _("Video call"), "letter": _("Letter"),
        "other": _("Another way"),
    }


def outcome_labels() -> dict:
    return {
        "spoke": _("Spoke with them"), "message_left": _("Left a message"), "no_answer": _("No answer"),
        "unsafe_to_talk": _("Not safe to talk"), "failed": _("Could not get through"), "met": _("Met in person"),
    }


def decline_labels() -> dict:
    return {
        "capacity": _("No capacity"), "outside_area": _("Outside our area"),
        "not_our_service": _("Another service fits better"), "could_not_reach": _("Could not reach them"),
        "already_supported": _("Already supported"), "other": _("Other reason"),
    }


@bp.app_template_global("casework_labels")
def _labels() -> dict:
    return {"stage": service.stage_labels(), "source": service.source_labels(), "channel": channel_labels(),
            "outcome": outcome_labels(), "decline": decline_labels(),
            "method": {code: channel_labels().get(code, code) for code in CONTACT_METHODS}}


def _names(ids) -> dict[int, str]:
    """Staff accounts' display names by id (workers, supervisors: never clients)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {user.id: user.display_name() for user in User.select().where(User.id.in_(list(ids)))}


# -- the caseload ------------------------------------------------------------------------------------


@bp.route("/")
@requires(CASES)
def index():
    user = _user()
    supervisor = is_supervisor(user)
    stage = request.args.get("stage") if request.args.get("stage") in STAGES else None
    worker = request.args.get("worker", "")
    worker_id = whole_number(worker, max_digits=9) if supervisor else None
    cases = list(service.filtered_cases(visible_cases(user), stage, worker_id).limit(500))
    return render_template(
        "casework/index.html", cases=cases, supervisor=supervisor, stage=stage, worker=worker_id, stages=STAGES,
        workers=service.caseworkers() if supervisor else [], names=_names(c.worker_id for c in cases),
        waiting=Referral.select().where(Referral.status == "open").count(),
    )


# -- the referral queue ------------------------------------------------------------------------------


@bp.route("/referrals")
@requires(CASES)
def referrals():
    user = _user()
    return render_template(
        "casework/referrals.html", referrals=service.open_referrals(), supervisor=is_supervisor(user),
        workers=service.caseworkers() if is_supervisor(user) else [],
        reasons=[code for code in service.settings()["decline_reasons"] if code in DECLINE_REASONS],
        errors={},
    )


def _referral(referral_id: int) -> Referral:
    found = service.referral_or_none(referral_id)
    if found is None:
        abort(404)
    return found


@bp.route("/referrals/<int:referral_id>/accept", methods=["POST"])
@requires(CASES)
def accept(referral_id: int):
    referral = _referral(referral_id)
    worker = request.form.get("worker", "")
    try:
        case = service.accept_referral(referral, _user(), whole_number(worker, max_digits=9))
    except service.CaseworkError as exc:
        flash(str(exc), "error")
        return redirect(url_for("casework.referrals"), code=303)
    flash(_("Case %(reference)s is open.", reference=case.reference), "info")
    return redirect(url_for("casework.case", reference=case.reference), code=303)


@bp.route("/referrals/<int:referral_id>/decline", methods=["POST"])
@requires(CASES)
def decline(referral_id: int):
    referral = _referral(referral_id)
    note = (request.form.get("note") or "").strip()[:10_000] or None
    try:
        service.decline_referral(referral, _user(), request.form.get("reason", ""), note)
    except service.CaseworkError as exc:
        flash(str(exc), "error")
        return redirect(url_for("casework.referrals"), code=303)
    flash(_("The referral is declined; the person is told in neutral words, with where else to turn."), "info")
    return redirect(url_for("casework.referrals"), code=303)


# -- asking for support ------------------------------------------------------------------------------


def _contact_form(form) -> tuple[dict | None, dict]:
    """The safe contact details and what would help, as typed, checked with the API's rules."""
    from plugins.casework.schemas import SafeContactSchema

    class Schema(SafeContactSchema):
        working_name = Text(metadata={"description": "A working name, if they want to give one."})
        needs = Text(max_length=4000, multiline=True)

    raw = {name: (form.get(name) or "").strip() or None
           for name in ("working_name", "contact_method", "contact", "safe_times", "language", "needs")}
    raw["may_leave_message"] = {"yes": True, "no": False}.get(form.get("may_leave_message"))
    try:
        data = Schema().load(raw)
    except ValidationError as exc:
        return None, {name: list(messages) if isinstance(messages, list) else [str(messages)]
                      for name, messages in exc.messages.items()}
    errors = {}
    if not data.get("contact") and not (current_user.is_authenticated):
        errors["contact"] = [_("Please tell us a safe way to reach you.")]
    return (None if errors else data), errors


def _languages() -> dict:
    from flask import current_app

    from core.i18n import language_name

    return {code: language_name(code) for code in current_app.config["LOCALES"]}


@bp.route("/support", methods=["GET", "POST"])
@requires(PUBLIC)
def support():
    """Ask for support. Each form carries a one-time key: sending the same form again (a reload of
    the answer, a double tap) makes no second request. For a few minutes the browser that sent it
    is shown the same receipt again, until the person says they have kept it ("kept_receipt");
    after that, or to another browser, the answer says only that the request is already there
    (core.kept_receipts).

    The footer's language switcher posts this form (action "language", base.html's language_form):
    the page comes back in the new language with what was typed, sending nothing, claiming
    nothing and finding no fault with answers not yet finished."""
    if not service.settings()["allow_self_referral"]:
        abort(404)
    posted = request.method == "POST"
    action = request.form.get("action") if posted else None
    form_key = once.posted_key(request.form.get("form_key")) if posted else None
    anonymous = not current_user.is_authenticated
    if action == "kept_receipt":
        kept_receipts.forget(kept_receipts.key_for(form_key))
        flash(_("Thank you. This phone or computer no longer shows your receipt."), "info")
        return redirect(url_for("core.index"), code=303)
    if action == "language" and request.form.get("page") == "receipt":
        # The switcher on "Your request is sent": the same page in the language chosen, with the
        # receipt still kept for this browser (only "we already have this request" once it is not).
        receipt = kept_receipts.shown(kept_receipts.key_for(form_key)) if anonymous else None
        with language_switched():
            return render_template("casework/support_done.html", receipt=receipt, already_sent=receipt is None,
                                   form_key=form_key if receipt else None)
    values = dict(request.form) if posted else {}
    values["form_key"] = form_key or once.new_key()
    if action != "send":
        if anonymous:
            kept_receipts.browser_key(create=True)  # before any send: a second tap carries it too
        with language_switched() if action == "language" else contextlib.nullcontext():
            return render_template("casework/support.html", values=values, errors={}, languages=_languages())
    data, errors = _contact_form(request.form)
    if errors:
        return render_template("casework/support.html", values=values, errors=errors,
                               languages=_languages()), 422
    kept_as = kept_receipts.key_for(form_key, create=True) if anonymous else None
    try:
        _referral_row, receipt = service.self_referral(data, None if anonymous else _user(), form_key=form_key,
                                                       keep_receipt_as=kept_as)
    except service.AlreadySent:
        # Asked after the first send committed (its key's claim waited for it): its receipt, if
        # this browser sent it and it is still kept; else only "we already have this request".
        receipt = kept_receipts.shown(kept_as)
        if receipt is None:
            return render_template("casework/support_done.html", receipt=None, already_sent=True)
    return render_template("casework/support_done.html", receipt=receipt, already_sent=False,
                           form_key=form_key if kept_as else None)


@bp.route("/refer", methods=["GET", "POST"])
@requires(REFER)
def refer():
    """A partner refers someone who agreed to it. The footer's language switcher posts this form
    (action "language"): the page comes back in that language with what was typed, sending nothing."""
    values = dict(request.form) if request.method == "POST" else {}
    if request.method == "GET":
        return render_template("casework/refer.html", values=values, errors={}, languages=_languages())
    if request.form.get("action") == "language":
        with language_switched():
            return render_template("casework/refer.html", values=values, errors={}, languages=_languages())
    data, errors = _contact_form(request.form)
    if data is not None and not data.get("contact"):
        errors = {"contact": [_("Please give a safe way to reach them.")]}
    if request.form.get("client_agreed") != "y":
        errors["client_agreed"] = [_("Please only refer someone once they have agreed to it.")]
    if errors:
        return render_template("casework/refer.html", values=values, errors=errors, languages=_languages()), 422
    service.partner_referral({**data, "client_agreed": True}, _user())
    flash(_("Thank you. The referral is sent; a caseworker will contact them in the way they chose."), "info")
    return redirect(url_for("casework.refer"), code=303)


# -- the case page ---------------------------------------------------------------------------------


@bp.route("/cases/<reference>")
@requires(CASES)
def case(reference: str):
    found = case_for(reference, _user())
    return render_template("casework/case.html", case=found, sections=sections_for(found, _user()))


def _back(found: Case, anchor: str = ""):
    return redirect(url_for("casework.case", reference=found.reference) + (f"#section-{anchor}" if anchor else ""),
                    code=303)


@bp.route("/cases/<reference>/stage", methods=["POST"])
@requires(CASES)
def stage(reference: str):
    found = case_for(reference, _user(), audit=None)
    try:
        service.set_stage(found, request.form.get("stage", ""), _user())
    except service.CaseworkError as exc:
        flash(str(exc), "error")
        return _back(found, "overview")
    flash(_("The stage is changed."), "info")
    return _back(found, "overview")


@bp.route("/cases/<reference>/worker", methods=["POST"])
@requires(SUPERVISE)
def worker(reference: str):
    found = case_for(reference, _user(), audit=None)
    chosen = request.form.get("worker", "")
    try:
        service.reassign(found, whole_number(chosen, max_digits=9) or 0, _user())
    except service.CaseworkError as exc:
        flash(str(exc), "error")
        return _back(found, "overview")
    flash(_("The case has a new worker."), "info")
    return _back(found, "overview")


@bp.route("/cases/<reference>/contacts", methods=["POST"])
@requires(CASES)
def add_contact(reference: str):
    found = case_for(reference, _user(), audit=None)
    raw = {"channel": request.form.get("channel", ""), "outcome": request.form.get("outcome", ""),
           "outbound": request.form.get("outbound", "out") != "in", "note": request.form.get("note") or None}
    minutes = (request.form.get("minutes") or "").strip()
    if minutes:
        raw["minutes"] = whole_number(minutes, max_digits=5)
        if raw["minutes"] is None:
            raw["minutes"] = -1
    try:
        data = ContactInSchema().load(raw)
    except ValidationError as exc:
        flash(" ".join(str(m) for messages in exc.messages.values() for m in
                       (messages if isinstance(messages, list) else [messages])), "error")
        return _back(found, "contacts")
    service.add_contact(found, _user(), data)
    flash(_("The contact is recorded."), "info")
    return _back(found, "contacts")


def _due(text: str | None):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise service.CaseworkError(_("Please give the date as year-month-day, e.g. 2025-03-31.")) from None


@bp.route("/cases/<reference>/tasks", methods=["POST"])
@requires(CASES)
def add_task(reference: str):
    found = case_for(reference, _user(), audit=None)
    title = (request.form.get("title") or "").strip()
    try:
        title = Text(required=True, allow_none=False).deserialize(title)
        due = _due(request.form.get("due_on"))
    except (ValidationError, service.CaseworkError) as exc:
        flash(" ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc), "error")
        return _back(found, "tasks")
    service.add_task(found, _user(), title, due)
    flash(_("The task is added."), "info")
    return _back(found, "tasks")


@bp.route("/cases/<reference>/tasks/<int:task_id>", methods=["POST"])
@requires(CASES)
def change_task(reference: str, task_id: int):
    found = case_for(reference, _user(), audit=None)
    task = service.task_of(found, task_id)
    if task is None:
        abort(404)
    service.update_task(found, task, _user(), done=request.form.get("action") == "done")
    return _back(found, "tasks")


@bp.route("/cases/<reference>/messages", methods=["POST"])
@requires(CASES)
def add_message(reference: str):
    found = case_for(reference, _user(), audit=None)
    try:
        body = Text(max_length=10_000, multiline=True, required=True, allow_none=False).deserialize(
            request.form.get("body") or "")
    except ValidationError as exc:
        flash(" ".join(exc.messages), "error")
        return _back(found, "messages")
    service.add_message(found, _user(), body)
    flash(_("Your message is sent. The client reads it on their client page."), "info")
    return _back(found, "messages")


@bp.route("/cases/<reference>/timeline")
@requires(CASES)
def timeline(reference: str):
    found = case_for(reference, _user())
    rows = events(found)
    return render_template("casework/timeline.html", case=found, events=rows, labels=_event_labels(),
                           names=_names(e.actor_id for e in rows))


# -- break-glass -----------------------------------------------------------------------------------


@bp.route("/break-glass", methods=["GET", "POST"])
@requires(CASES)
def glass():
    if request.method == "GET":
        return render_template("casework/break_glass.html", values={}, errors={})
    reference = (request.form.get("reference") or "").strip()[:16]
    reason = (request.form.get("reason") or "").strip()
    try:
        reason = Text(max_length=1000, multiline=True, required=True, allow_none=False).deserialize(reason)
    except ValidationError as exc:
        return render_template("casework/break_glass.html", values=dict(request.form),
                               errors={"reason": list(exc.messages)}), 422
    found = break_glass(reference, _user(), reason)
    if found is None:
        abort(404)
    return redirect(url_for("casework.case", reference=found.reference), code=303)


@bp.route("/break-glass/log")
@requires(SUPERVISE)
def glass_log():
    rows = list(BreakGlass.select(BreakGlass, Case.reference).join(Case)
                .order_by(BreakGlass.created_at.desc()).limit(200))
    unseen = [row.id for row in rows if row.seen_by_supervisor_at is None]
    if unseen:
        BreakGlass.update(seen_by_supervisor_at=utcnow()).where(BreakGlass.id.in_(unseen)).execute()
    record("casework.break_glass_log_viewed", target="break_glass", actor_id=_user().id)
    return render_template("casework/break_glass_log.html", rows=rows, unseen=set(unseen),
                           names=_names(row.user_id for row in rows))


# -- the sections of the case page this module owns ------------------------------------------------------


@section("overview", order=10)
def overview_section(case: Case, user) -> dict:
    supervisor = is_supervisor(user)
    return {
        "names": _names([case.worker_id, case.supervisor_id]),
        "reports": service.linked_reports(case),
        "stages": [s for s in STAGES if s != case.stage] if case.stage != "closed" else ["assessment"],
        "supervisor": supervisor,
        "workers": service.caseworkers() if supervisor else [],
    }


@section("contacts", order=20)
def contacts_section(case: Case, user) -> dict:
    rows = service.contacts(case)
    return {"contacts": rows, "channels": CONTACT_CHANNELS, "outcomes": CONTACT_OUTCOMES,
            "names": _names(c.by_id for c in rows)}


@section("tasks", order=30)
def tasks_section(case: Case, user) -> dict:
    return {"tasks": service.tasks(case), "today": datetime.date.today()}


@section("messages", order=35)
def messages_section(case: Case, user) -> dict:
    return {"messages": service.messages(case, reader=user)}


@section("timeline", order=100)
def timeline_section(case: Case, user) -> dict:
    rows = list(CaseEvent.select().where(CaseEvent.case == case.id)
                .order_by(CaseEvent.created_at.desc(), CaseEvent.id.desc()).limit(20))
    return {"events": rows, "labels": _event_labels(), "names": _names(e.actor_id for e in rows)}


def _event_labels() -> dict:
    from plugins.casework.timeline import event_labels

    return event_labels()
