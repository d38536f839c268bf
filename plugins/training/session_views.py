"""Pages for sessions: trainers' under /training/author/sessions/, learners' under /training/sessions/.

Every change goes through plugins.training.sessions and plugins.training.attendance (which lock,
audit and send the e-mails). Times are typed in the instance's time zone (DEFAULT_TIMEZONE) and
stored in UTC. The online link is shown only to learners with a place.
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
from plugins.training import _
from plugins.training import attendance as attendance_service
from plugins.training import sessions as service
from plugins.training.models import ATTENDANCE, Booking, Course, Session, SessionDate

MANAGE = "training.manage"
LEARN = "training.learn"
ORGANISATION = "training.organisation"

bp = Blueprint("training_sessions", __name__, url_prefix="/training")


def _me():
    return current_user._get_current_object()


def _zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config.get("DEFAULT_TIMEZONE") or "UTC"))


def _local_input(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=datetime.UTC).astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")


def _from_local(text: str) -> str | None:
    """A datetime-local value (instance's zone) as ISO 8601 UTC; None when empty, "invalid" when not a time."""
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


@bp.app_template_filter("session_span")
def session_span(date) -> str:
    return service.format_span(date) if date else ""


@bp.app_template_filter("session_time")
def session_time(value) -> str:
    from flask_babel import format_datetime

    return format_datetime(value, "EEEE d MMMM, HH:mm") if value else ""


def _messages(exc: ValidationError) -> dict:
    errors = {}
    for key, value in exc.messages.items():
        if isinstance(value, dict):  # nested dates: {index: {field: [...]}}
            for inner in value.values():
                for name, problems in (inner.items() if isinstance(inner, dict) else []):
                    errors.setdefault(name, []).extend(problems if isinstance(problems, list) else [problems])
        else:
            errors[key] = value if isinstance(value, list) else [str(value)]
    return errors


def _date_payload(prefix: str = "") -> tuple[dict, dict]:
    payload, errors = {}, {}
    for name in ("starts_at", "ends_at"):
        value = _from_local(request.form.get(prefix + name, ""))
        if value in (None, "invalid"):
            errors[name] = [_("Please give a date and a time.")]
        else:
            payload[name] = value
    return payload, errors


def _session_payload(with_date: bool) -> tuple[dict | None, dict]:
    form = request.form
    payload = {
        "course_id": form.get("course_id", ""), "title": form.get("title", ""), "venue": form.get("venue", ""),
        "online_link": form.get("online_link", ""), "capacity": form.get("capacity", ""),
        "needs_approval": form.get("needs_approval") == "y",
        "cancel_cutoff_hours": form.get("cancel_cutoff_hours", ""),
        "counts_for_completion": form.get("counts_for_completion") == "y",
    }
    errors: dict = {}
    for name in ("course_id", "capacity", "cancel_cutoff_hours"):
        if whole_number(str(payload[name]).strip(), max_digits=9) is None:
            errors[name] = [_("Please give a whole number.")]
            payload.pop(name)
    if with_date:
        date, date_errors = _date_payload()
        errors.update(date_errors)
        if not date_errors:
            payload["dates"] = [date]
    try:
        data = service.SessionInSchema().load(payload, partial=tuple(n for n in ("course_id", "capacity",
                                                                                 "cancel_cutoff_hours")
                                                                     if n in errors))
    except ValidationError as exc:
        errors = {**_messages(exc), **errors}
        data = None
    return (None if errors else data), errors


def _courses() -> dict:
    return {str(c.id): c.title for c in Course.select().where(Course.status != "archived").order_by(Course.title)}


# -- trainers ---------------------------------------------------------------------------------------


def _author_list(values=None, errors=None, status=200):
    show_past = request.args.get("past") == "1"
    sessions = service.all_sessions(include_past=show_past)
    return render_template("training/sessions/author_list.html", sessions=sessions, courses=_courses(),
                           values=values or {"capacity": 20, "cancel_cutoff_hours": 24, "counts_for_completion": True},
                           errors=errors or {}, zone=str(_zone()), show_past=show_past,
                           booked={s.id: service.booked_count(s) for s in sessions},
                           first={s.id: service.first_start(s) for s in sessions}), status


@bp.route("/author/sessions/", methods=["GET", "POST"])
@requires(MANAGE)
def author_sessions():
    if request.method == "GET":
        return _author_list()
    data, errors = _session_payload(with_date=True)
    if data is not None:
        try:
            session = service.create_session(_me(), data)
        except ValidationError as exc:
            errors = _messages(exc)
    if errors:
        return _author_list({**request.form.to_dict(), "needs_approval": request.form.get("needs_approval") == "y",
                             "counts_for_completion": request.form.get("counts_for_completion") == "y"}, errors, 422)
    flash(_("The session is saved. Add more dates below if it has them."), "info")
    return redirect(url_for("training_sessions.author_session", session_id=session.id), code=303)


def _session_or_404(session_id: int) -> Session:
    found = Session.get_or_none(Session.id == session_id)
    if found is None:
        abort(404)
    return found


def _date_or_404(session: Session, date_id: int) -> SessionDate:
    found = SessionDate.get_or_none((SessionDate.id == date_id) & (SessionDate.session == session.id))
    if found is None:
        abort(404)
    return found


def _author_page(session: Session, values=None, errors=None, status=200):
    from core.accounts.models import User

    if values is None:
        values = {"course_id": str(session.course_id), "title": session.title, "venue": session.venue,
                  "online_link": session.online_link, "capacity": session.capacity,
                  "needs_approval": session.needs_approval, "cancel_cutoff_hours": session.cancel_cutoff_hours,
                  "counts_for_completion": session.counts_for_completion}
    rows = service.bookings(session)
    users = {u.id: u for u in User.select().where(User.id.in_([b.user_id for b in rows]))} if rows else {}
    return render_template(
        "training/sessions/author_session.html", session=session, values=values, errors=errors or {},
        courses=_courses(), dates=service.dates_of(session, include_cancelled=True), zone=str(_zone()),
        booked=[b for b in rows if b.status == "booked"], waiting=[b for b in rows if b.status == "waitlisted"],
        requested=[b for b in rows if b.status == "requested"], users=users, local=_local_input, now=utcnow(),
    ), status


@bp.route("/author/sessions/<int:session_id>", methods=["GET", "POST"])
@requires(MANAGE)
def author_session(session_id: int):
    session = _session_or_404(session_id)
    if request.method == "GET":
        return _author_page(session)
    data, errors = _session_payload(with_date=False)
    if data is not None:
        try:
            service.update_session(session, _me(), data)
        except service.SessionError as exc:
            errors = {"_schema": [exc.message()]}
    if errors:
        return _author_page(session, {**request.form.to_dict(),
                                      "needs_approval": request.form.get("needs_approval") == "y",
                                      "counts_for_completion": request.form.get("counts_for_completion") == "y"},
                            errors, 422)
    flash(_("Saved. People with a place are told of any change to the title or the place."), "info")
    return redirect(url_for("training_sessions.author_session", session_id=session.id), code=303)


def _date_form(session: Session):
    payload, errors = _date_payload()
    if not errors:
        try:
            data = service.DateInSchema().load(payload)
        except ValidationError as exc:
            errors = _messages(exc)
    if errors:
        return None, _author_page(session, None, errors, 422)
    return data, None


@bp.route("/author/sessions/<int:session_id>/dates", methods=["POST"])
@requires(MANAGE)
def add_date(session_id: int):
    session = _session_or_404(session_id)
    data, page = _date_form(session)
    if page is not None:
        return page
    try:
        service.add_date(session, _me(), data["starts_at"], data["ends_at"])
    except service.SessionError as exc:
        return _author_page(session, None, {"_schema": [exc.message()]}, 409)
    flash(_("The date is added. People with a place are sent the new calendar file."), "info")
    return redirect(url_for("training_sessions.author_session", session_id=session.id), code=303)


@bp.route("/author/sessions/<int:session_id>/dates/<int:date_id>", methods=["POST"])
@requires(MANAGE)
def change_date(session_id: int, date_id: int):
    session = _session_or_404(session_id)
    date = _date_or_404(session, date_id)
    data, page = _date_form(session)
    if page is not None:
        return page
    try:
        service.change_date(date, _me(), data["starts_at"], data["ends_at"])
    except service.SessionError as exc:
        return _author_page(session, None, {"_schema": [exc.message()]}, 409)
    flash(_("The date is changed. People with a place are sent the updated calendar file."), "info")
    return redirect(url_for("training_sessions.author_session", session_id=session.id), code=303)


@bp.route("/author/sessions/<int:session_id>/dates/<int:date_id>/cancel", methods=["POST"])
@requires(MANAGE)
def cancel_date(session_id: int, date_id: int):
    session = _session_or_404(session_id)
    try:
        service.cancel_date(_date_or_404(session, date_id), _me())
    except service.SessionError as exc:
        return _author_page(session, None, {"_schema": [exc.message()]}, 409)
    flash(_("The date is cancelled. People with a place are told."), "info")
    return redirect(url_for("training_sessions.author_session", session_id=session.id), code=303)


@bp.route("/author/sessions/<int:session_id>/cancel", methods=["POST"])
@requires(MANAGE)
def cancel_session(session_id: int):
    session = _session_or_404(session_id)
    service.cancel_session(session, _me())
    flash(_("The session is cancelled. Everyone who booked is told."), "info")
    return redirect(url_for("training_sessions.author_session", session_id=session.id), code=303)


def _booking_or_404(session: Session, booking_id: int) -> Booking:
    found = Booking.get_or_none((Booking.id == booking_id) & (Booking.session == session.id))
    if found is None:
        abort(404)
    return found


@bp.route("/author/sessions/<int:session_id>/bookings/<int:booking_id>/<any(approve, decline, remove):action>",
          methods=["POST"])
@requires(MANAGE)
def booking_action(session_id: int, booking_id: int, action: str):
    session = _session_or_404(session_id)
    booking = _booking_or_404(session, booking_id)
    try:
        if action == "remove":
            service.cancel_booking(session, booking.user_id, actor=_me())
        else:
            service.decide(booking, _me(), approve=action == "approve")
    except service.SessionError as exc:
        return _author_page(session, None, {"_schema": [exc.message()]}, 409)
    flash(_("Saved. The person is told by e-mail."), "info")
    return redirect(url_for("training_sessions.author_session", session_id=session.id), code=303)


# -- attendance -------------------------------------------------------------------------------------


def _attendance_page(session, date, errors=None, status=200, qr=None, check_in_url=None):
    return render_template("training/sessions/attendance.html", session=session, date=date,
                           roster=attendance_service.roster(date), statuses=attendance_service.status_labels(),
                           errors=errors or {}, qr=qr, check_in_url=check_in_url,
                           window=attendance_service.window(date)), status


@bp.route("/author/sessions/<int:session_id>/dates/<int:date_id>/attendance", methods=["GET", "POST"])
@requires(MANAGE)
def attendance(session_id: int, date_id: int):
    session = _session_or_404(session_id)
    date = _date_or_404(session, date_id)
    if request.method == "GET":
        return _attendance_page(session, date)
    statuses = {}
    for key, value in request.form.items():
        if key.startswith("mark-") and value:
            user_id = key.removeprefix("mark-")
            person_id = whole_number(user_id)
            if person_id is None or value not in ATTENDANCE:
                return _attendance_page(session, date, {"_schema": [_("Please choose a mark from the list.")]}, 422)
            statuses[person_id] = value
    try:
        attendance_service.mark(date, _me(), statuses)
        if request.form.get("close") == "y":
            attendance_service.close(date, _me())
    except attendance_service.AttendanceError as exc:
        message = {"cancelled": _("This date was cancelled.")}.get(
            exc.code, _("Only people with a place can be marked."))
        return _attendance_page(session, date, {"_schema": [message]}, 409)
    flash(_("Attendance saved.") if request.form.get("close") != "y"
          else _("Attendance saved and closed: everyone not marked is recorded as absent."), "info")
    return redirect(url_for("training_sessions.attendance", session_id=session.id, date_id=date.id), code=303)


@bp.route("/author/sessions/<int:session_id>/dates/<int:date_id>/check-in-code", methods=["POST"])
@requires(MANAGE)
def check_in_code(session_id: int, date_id: int):
    """A new QR code for the date, shown once (only its hash is kept); older codes stop working."""
    session = _session_or_404(session_id)
    date = _date_or_404(session, date_id)
    if date.cancelled_at is not None:
        abort(409)
    raw = attendance_service.issue_code(date, _me())
    from core.mail import external_url

    url = external_url("training_sessions.check_in", token=raw)  # BASE_URL when set, as in e-mails
    return _attendance_page(session, date, qr=attendance_service.qr_svg(url), check_in_url=url)


# -- learners ---------------------------------------------------------------------------------------


@bp.route("/sessions/")
@requires(LEARN)
def sessions():
    me = _me()
    listed = service.learner_sessions(me)
    mine = {b.session_id: b for b in Booking.select().where(
        (Booking.user == me.id) & Booking.session.in_([s.id for s in listed]))} if listed else {}
    return render_template("training/sessions/list.html", sessions=listed, mine=mine,
                           labels=service.status_labels(),
                           dates={s.id: service.dates_of(s) for s in listed})


def _visible_session(session_id: int) -> Session:
    """A session of a course the person is enrolled on (else 404, as if it did not exist)."""
    found = Session.get_or_none(Session.id == session_id)
    if found is None or service.enrolment_for(found, _me()) is None:
        abort(404)
    return found


def _session_page(session: Session, errors=None, status=200):
    booking = service.booking_of(session, _me())
    has_place = booking is not None and booking.status == "booked" and session.cancelled_at is None
    return render_template(
        "training/sessions/session.html", session=session, booking=booking, has_place=has_place,
        dates=service.dates_of(session), labels=service.status_labels(), open=service.is_open(session),
        full=service.booked_count(session) >= session.capacity, errors=errors or {},
        cutoff_passed=service._cutoff_passed(session, utcnow()),
        waiting_position=(next((i for i, b in enumerate(service.waitlist(session), 1) if b.id == booking.id), None)
                          if booking is not None and booking.status == "waitlisted" else None),
    ), status


@bp.route("/sessions/<int:session_id>")
@requires(LEARN)
def session(session_id: int):
    return _session_page(_visible_session(session_id))


@bp.route("/sessions/<int:session_id>/book", methods=["POST"])
@requires(LEARN)
def book(session_id: int):
    session = _visible_session(session_id)
    try:
        booking = service.book(session, _me())
    except service.SessionError as exc:
        return _session_page(session, {"_schema": [exc.message()]}, 409)
    flash({"booked": _("You have a place. We have sent you an e-mail with a calendar file."),
           "waitlisted": _("The session is full, so you are on the waiting list. We will e-mail you if a place "
                           "comes free."),
           "requested": _("Your request is sent. We will e-mail you when it has been approved.")
           }.get(booking.status, _("Saved.")), "info")
    return redirect(url_for("training_sessions.session", session_id=session.id), code=303)


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@requires(LEARN)
def cancel(session_id: int):
    session = _visible_session(session_id)
    try:
        service.cancel_booking(session, _me())
    except service.SessionError as exc:
        return _session_page(session, {"_schema": [exc.message()]}, 409)
    flash(_("Your booking is cancelled. We have sent you an e-mail to remove it from your calendar."), "info")
    return redirect(url_for("training_sessions.session", session_id=session.id), code=303)


@bp.route("/sessions/<int:session_id>/dates/<int:date_id>.ics")
@requires(LEARN)
def date_ics(session_id: int, date_id: int):
    """One date's calendar file, for a person with a place."""
    session = _visible_session(session_id)
    booking = service.booking_of(session, _me())
    if booking is None or booking.status != "booked":
        abort(404)
    date = _date_or_404(session, date_id)
    body = service.build_ics(service.date_event(date, session, _me().email, cancelled=session.cancelled_at
                                                is not None), service.PRODID, fallback_organizer="training@localhost")
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="session-{session.id}-{date.id}.ics"'})


@bp.route("/sessions/check-in/<token>", methods=["GET", "POST"])
@requires(LEARN)
def check_in(token: str):
    code = attendance_service.code_for(token)
    if code is None:
        abort(404)
    date = SessionDate.get_by_id(code.session_date_id)
    if request.method == "POST":
        state = attendance_service.check_in(code, _me())
    else:
        state = attendance_service.check_in_state(code, _me())
    status = 200 if state in ("open", "present", "late", "done") else 409
    return render_template("training/sessions/check_in.html", state=state, date=date, session=date.session,
                           token=token, window=attendance_service.window(date)), status


# -- organisation managers --------------------------------------------------------------------------


@bp.route("/sessions/approvals", methods=["GET", "POST"])
@requires(ORGANISATION)
def approvals():
    if request.method == "POST":
        booking_id = whole_number(request.form.get("booking", ""), max_digits=17)
        found = Booking.get_or_none(Booking.id == booking_id) if booking_id is not None else None
        if found is None or not service.may_approve(_me(), found):
            abort(404)
        try:
            service.decide(found, _me(), approve=request.form.get("decision") == "approve")
        except service.SessionError as exc:
            flash(exc.message(), "error")
        else:
            flash(_("Saved. The person is told by e-mail."), "info")
        return redirect(url_for("training_sessions.approvals"), code=303)
    from core.accounts.models import User

    rows = service.pending_approvals(_me())
    users = {u.id: u for u in User.select().where(User.id.in_([b.user_id for b in rows]))} if rows else {}
    return render_template("training/sessions/approvals.html", rows=rows, users=users)
