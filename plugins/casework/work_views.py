"""The worker's pages for a case's appointments, referrals out and evidence pack.

Under /casework/cases/<reference>/: every page gets its case through access.case_for (404 for
anyone but the worker, supervisors and break-glass; views audited), every change goes through the
service modules (appointments, referrals_out, evidence), which write the timeline and the audit.
Times are typed in the instance's time zone (DEFAULT_TIMEZONE) and stored in UTC.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from core.db import utcnow
from core.numbers import whole_number
from core.permissions import requires
from plugins.casework import _, evidence
from plugins.casework import appointments as appointment_service
from plugins.casework import referrals_out as referral_service
from plugins.casework.access import CASES, case_for

bp = Blueprint("casework_work", __name__, url_prefix="/casework/cases/<reference>")


@bp.app_template_filter("support_datetime")
def support_datetime(value) -> str:
    from flask_babel import format_datetime

    return format_datetime(value, "medium") if value else ""


@bp.app_template_filter("support_date")
def support_date(value) -> str:
    from flask_babel import format_date

    return format_date(value, "medium") if value else ""


@bp.app_template_global("case_page_url")
def case_page_url(case) -> str:
    """The case page (c1's casework.case) when it exists, else this module's appointments page."""
    from werkzeug.routing import BuildError

    try:
        return url_for("casework.case", reference=case.reference)
    except BuildError:
        return url_for("casework_work.appointments", reference=case.reference)


def _zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config.get("DEFAULT_TIMEZONE") or "UTC"))


def _local_input(value: datetime.datetime | None) -> str:
    """A stored (naive UTC) time as the value of a datetime-local input, in the instance's zone."""
    if value is None:
        return ""
    return value.replace(tzinfo=datetime.UTC).astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")


def _from_local(text: str) -> str | None:
    """A datetime-local value (instance's zone) as ISO 8601 UTC, or None when it is not a time."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return "invalid"
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone())
    return value.astimezone(datetime.UTC).isoformat()


def _me():
    return current_user._get_current_object()


# -- appointments ---------------------------------------------------------------------------------------


def _appointment_payload() -> tuple[dict, dict]:
    form = request.form
    errors: dict = {}
    payload = {
        "kind": form.get("kind", ""),
        "place": form.get("place", ""),
        "note": form.get("note", ""),
        "accompanied": form.get("accompanied") == "y",
        "remind_client": form.get("remind_client") == "y",
    }
    for name in ("starts_at", "ends_at"):
        value = _from_local(form.get(name, ""))
        if value == "invalid":
            errors[name] = [_("Please give a date and a time.")]
        elif value is not None:
            payload[name] = value
    if "starts_at" not in payload and "starts_at" not in errors:
        errors["starts_at"] = [_("Please give a date and a time.")]
    return payload, errors


def _load_appointment() -> tuple[dict | None, dict, dict]:
    """(data, errors, values to show again)."""
    payload, errors = _appointment_payload()
    values = {**request.form.to_dict(), "accompanied": payload["accompanied"],
              "remind_client": payload["remind_client"]}
    try:
        data = appointment_service.AppointmentInSchema().load(payload)
    except ValidationError as exc:
        errors = {**{k: list(v) if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()}, **errors}
        data = None
    if errors:
        return None, errors, values
    return data, {}, values


def _appointments_page(case, values=None, errors=None, status=200):
    return render_template(
        "casework/work/appointments.html", case=case, rows=appointment_service.of_case(case),
        kinds=appointment_service.kind_labels(), values=values or {"kind": "other"}, errors=errors or {},
        route=appointment_service.reminder_route(case), route_messages=appointment_service.route_messages(),
        reminders_on=appointment_service.reminders_on(case), sms_available=appointment_service.sms_available(),
        zone=str(_zone()), now=utcnow(),
    ), status


@bp.route("/appointments", methods=["GET", "POST"])
@requires(CASES)
def appointments(reference: str):
    if request.method == "GET":
        return _appointments_page(case_for(reference, _me()))
    case = case_for(reference, _me(), audit=None)
    data, errors, values = _load_appointment()
    if errors:
        return _appointments_page(case, values, errors, 422)
    appointment_service.create(case, _me(), data)
    flash(_("The appointment is saved. Add it to your calendar with its calendar file."), "info")
    return redirect(url_for("casework_work.appointments", reference=case.reference), code=303)


def _appointment(case, appointment_id: int):
    found = appointment_service.get_for_case(case, appointment_id)
    if found is None:
        abort(404)
    return found


def _edit_page(case, appointment, values=None, errors=None, status=200):
    if values is None:
        values = {"kind": appointment.kind, "starts_at": _local_input(appointment.starts_at),
                  "ends_at": _local_input(appointment.ends_at), "place": appointment.place, "note": appointment.note,
                  "accompanied": appointment.accompanied, "remind_client": appointment.remind_client,
                  "minutes_spent": appointment.minutes_spent}
    return render_template("casework/work/appointment.html", case=case, appointment=appointment,
                           kinds=appointment_service.kind_labels(), values=values, errors=errors or {},
                           zone=str(_zone())), status


@bp.route("/appointments/<int:appointment_id>", methods=["GET", "POST"])
@requires(CASES)
def appointment(reference: str, appointment_id: int):
    case = case_for(reference, _me(), audit="case.viewed" if request.method == "GET" else None)
    found = _appointment(case, appointment_id)
    if request.method == "GET":
        return _edit_page(case, found)
    data, errors, values = _load_appointment()
    if errors:
        return _edit_page(case, found, values, errors, 422)
    try:
        appointment_service.update(found, _me(), data)
    except appointment_service.AppointmentClosed:
        return _edit_page(case, found, values, {"_schema": [_("This appointment was cancelled: make a new one.")]},
                          409)
    flash(_("The appointment is changed. Download its calendar file again to update your calendar."), "info")
    return redirect(url_for("casework_work.appointment", reference=case.reference, appointment_id=found.id), code=303)


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@requires(CASES)
def cancel_appointment(reference: str, appointment_id: int):
    case = case_for(reference, _me(), audit=None)
    appointment_service.cancel(_appointment(case, appointment_id), _me())
    flash(_("The appointment is cancelled. Download its calendar file to remove it from your calendar."), "info")
    return redirect(url_for("casework_work.appointment", reference=case.reference, appointment_id=appointment_id),
                    code=303)


@bp.route("/appointments/<int:appointment_id>/attendance", methods=["POST"])
@requires(CASES)
def attendance(reference: str, appointment_id: int):
    case = case_for(reference, _me(), audit=None)
    found = _appointment(case, appointment_id)
    attended = {"yes": True, "no": False}.get(request.form.get("attended", ""))
    minutes = (request.form.get("minutes_spent") or "").strip()
    payload = {"attended": attended, "accompanied": request.form.get("accompanied") == "y"}
    errors = {}
    if minutes:
        if (spent := whole_number(minutes, max_digits=5)) is not None:
            payload["minutes_spent"] = spent
        else:
            errors["minutes_spent"] = [_("Please give a number of minutes.")]
    if not errors:
        try:
            data = appointment_service.AttendanceInSchema().load(payload)
        except ValidationError as exc:
            errors = {k: list(v) for k, v in exc.messages.items()}
    if errors:
        values = {**request.form.to_dict(), "starts_at": _local_input(found.starts_at),
                  "ends_at": _local_input(found.ends_at), "kind": found.kind, "place": found.place, "note": found.note}
        return _edit_page(case, found, values, errors, 422)
    appointment_service.record_attendance(found, _me(), data)
    flash(_("Saved."), "info")
    return redirect(url_for("casework_work.appointment", reference=case.reference, appointment_id=found.id), code=303)


@bp.route("/appointments/<int:appointment_id>.ics")
@requires(CASES)
def appointment_ics(reference: str, appointment_id: int):
    case = case_for(reference, _me(), audit="case.appointment_ics")
    found = _appointment(case, appointment_id)
    body = appointment_service.ics(found, include_place=request.args.get("place") == "1",
                                   attendee_email=getattr(current_user, "email", None))
    method = "CANCEL" if found.cancelled_at else "REQUEST"
    return Response(body, content_type=f"text/calendar; charset=utf-8; method={method}", headers={
        "Content-Disposition": f'attachment; filename="{appointment_service.ics_filename(found)}"'})


@bp.route("/reminders", methods=["POST"])
@requires(CASES)
def reminders(reference: str):
    """The worker records the client's word: reminders by e-mail or text, or no more reminders."""
    case = case_for(reference, _me(), audit=None)
    choice = request.form.get("channel", "")
    if choice not in ("email", "text", "stop"):
        abort(422)
    appointment_service.set_reminders(case, _me(), None if choice == "stop" else choice, by_client=False)
    flash(_("Saved."), "info")
    return redirect(url_for("casework_work.appointments", reference=case.reference), code=303)


# -- referrals out ---------------------------------------------------------------------------------------


def _referrals_page(case, values=None, errors=None, status=200):
    return render_template("casework/work/referrals_out.html", case=case, rows=referral_service.of_case(case),
                           kinds=referral_service.service_kind_labels(), outcomes=referral_service.outcome_labels(),
                           values=values or {}, errors=errors or {}, ledger=referral_service.ledger(case),
                           consents=referral_service.consent_labels(), describe=evidence.describe,
                           recipient_label=evidence.recipient_label), status


@bp.route("/referrals-out", methods=["GET", "POST"])
@requires(CASES)
def referrals_out(reference: str):
    if request.method == "GET":
        return _referrals_page(case_for(reference, _me()))
    case = case_for(reference, _me(), audit=None)
    form = request.form
    payload = {"service_kind": form.get("service_kind", ""), "service_name": form.get("service_name", ""),
               "shared": form.get("shared", ""), "client_agreed": form.get("client_agreed") == "y"}
    try:
        data = referral_service.ReferralOutInSchema().load(payload)
    except ValidationError as exc:
        errors = {k: list(v) for k, v in exc.messages.items()}
        if "client_agreed" in errors:
            errors["client_agreed"] = [_("A referral needs the client's agreement to share exactly this.")]
        return _referrals_page(case, {**form.to_dict(), "client_agreed": payload["client_agreed"]}, errors, 422)
    referral_service.create(case, _me(), data)
    flash(_("The referral is recorded and added to the client's record of what was shared."), "info")
    return redirect(url_for("casework_work.referrals_out", reference=case.reference), code=303)


def _referral(case, referral_id: int):
    found = referral_service.get_for_case(case, referral_id)
    if found is None:
        abort(404)
    return found


@bp.route("/referrals-out/<int:referral_id>/outcome", methods=["POST"])
@requires(CASES)
def referral_outcome(reference: str, referral_id: int):
    case = case_for(reference, _me(), audit=None)
    found = _referral(case, referral_id)
    try:
        data = referral_service.OutcomeInSchema().load({"outcome": request.form.get("outcome", ""),
                                                        "note": request.form.get("note", "")})
    except ValidationError as exc:
        return _referrals_page(case, request.form.to_dict(), {k: list(v) for k, v in exc.messages.items()}, 422)
    referral_service.set_outcome(found, _me(), data["outcome"], data.get("note"))
    flash(_("Saved."), "info")
    return redirect(url_for("casework_work.referrals_out", reference=case.reference), code=303)


@bp.route("/referrals-out/<int:referral_id>/withdraw", methods=["POST"])
@requires(CASES)
def referral_withdraw(reference: str, referral_id: int):
    """The client told the worker they no longer agree to this referral."""
    case = case_for(reference, _me(), audit=None)
    referral_service.withdraw(_referral(case, referral_id), _me(), by_client=False)
    flash(_("The client's consent to this referral is marked as withdrawn."), "info")
    return redirect(url_for("casework_work.referrals_out", reference=case.reference), code=303)


@bp.route("/referrals-out/<int:referral_id>/print")
@requires(CASES)
def referral_print(reference: str, referral_id: int):
    case = case_for(reference, _me(), audit="case.referral_out_printed")
    found = _referral(case, referral_id)
    if found.consent_withdrawn_at is not None:
        return render_template("casework/work/referral_withdrawn.html", case=case, referral=found), 410
    return render_template("casework/work/referral_print.html", case=case, referral=found,
                           kinds=referral_service.service_kind_labels(), printed_on=utcnow())


# -- evidence pack -------------------------------------------------------------------------------------


@bp.route("/evidence-pack", methods=["GET", "POST"])
@requires(CASES)
def evidence_pack(reference: str):
    if request.method == "GET":
        case = case_for(reference, _me())
        return render_template("casework/work/evidence.html", case=case, consent=evidence.consent(case),
                               pack=evidence.preview(case))
    case = case_for(reference, _me(), audit=None)
    try:
        pack = evidence.produce(case, _me())
    except evidence.NoConsent:
        return render_template("casework/work/evidence.html", case=case, consent=None, pack=evidence.preview(case),
                               refused=True), 409
    return render_template("casework/work/evidence_print.html", case=case, pack=pack, printed_on=utcnow(),
                           labels=_event_labels())


@bp.route("/evidence-pack/consent", methods=["POST"])
@requires(CASES)
def evidence_consent(reference: str):
    """The worker records the client's agreement to an evidence pack, given on their word."""
    case = case_for(reference, _me(), audit=None)
    if request.form.get("client_agreed") != "y":
        flash(_("Tick the box to say the client agreed."), "error")
    else:
        evidence.record_consent(case, _me())
        flash(_("The client's agreement is recorded. They can see it, and withdraw it, on their own page."), "info")
    return redirect(url_for("casework_work.evidence_pack", reference=case.reference), code=303)


def _event_labels() -> dict:
    from plugins.casework.timeline import event_labels

    return event_labels()
