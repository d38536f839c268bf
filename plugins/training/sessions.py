"""Sessions in person or online: dates, bookings, the waitlist, approval, cancellation, reminders.

A session belongs to a course and has one or more dates, a venue or an online link (encrypted, and
shown only to learners with a place), a capacity, a cancellation cut-off and optional approval.

Bookings (one row per session and person, reused when someone books again):
- requested: the session needs approval; the learner's organisation manager (or a trainer) decides;
- booked: a place; waitlisted: in the queue for one, in the order people joined it (updated_at);
- cancelled: by the learner (booked places only up to the cut-off), by a trainer, or with the session.

Concurrency: every change to a session's bookings locks the session row (core.db.lock_row) inside
db.atomic(), then counts and decides. So two people booking the last place get one place and one
waitlist entry, and two cancellations at once promote exactly two people, in order.

Calendar files (core.calendar): one per date, with the date's UID for its whole life; SEQUENCE goes
up with every change a calendar shows (time, place, cancellation of the date, the session or a
booking); METHOD:REQUEST for a place, METHOD:CANCEL once it is gone. They go by e-mail in the
learner's language, through the queue (ids only in the queue), recorded in core's outbox.

Reminders: a periodic task marks each booked place whose next date starts within REMIND_AHEAD
(reminded_at, at most once per booking) and queues one e-mail.
"""

from __future__ import annotations

import datetime
import logging

from flask import current_app
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api import ApiSchema, UtcDateTime
from core.audit import record
from core.calendar import CalendarEvent, attach_ics, build_ics, new_uid
from core.db import db, lock_row, utcnow
from core.fields import Text
from core.mail import queue_mail
from plugins.training import _, _l
from plugins.training.models import Booking, Course, Enrolment, Session, SessionDate

log = logging.getLogger("redumbrella.training")

PRODID = "-//Red Umbrella//training//EN"
REMIND_AHEAD = datetime.timedelta(hours=24)
ACTIVE = ("requested", "booked", "waitlisted")
MAX_CAPACITY = 1000
MAX_CUTOFF_HOURS = 24 * 30
MAX_DATES = 50
MAX_TITLE = 200
MAX_VENUE = 1000
MAX_LINK = 500
MAIL_KINDS = ("booked", "waitlisted", "requested", "promoted", "declined", "cancelled", "removed", "withdrawn",
              "removed_waiting", "changed", "session_cancelled", "waiting_ended", "reminder")


def status_labels() -> dict:
    return {
        "requested": _l("waiting for approval"),
        "booked": _l("you have a place"),
        "waitlisted": _l("on the waiting list"),
        "cancelled": _l("cancelled"),
    }


# -- errors ---------------------------------------------------------------------------------------


class SessionError(Exception):
    """A change that cannot be made; `code` names why, message() says it to the person."""

    code = "error"

    def message(self) -> str:
        return {
            "not_enrolled": _("Please enrol on the course first; then you can book its sessions."),
            "closed": _("This session is no longer taking bookings."),
            "past_cutoff": _("It is too late to cancel this place here. Please contact the trainer."),
            "no_booking": _("You have no booking for this session."),
            "not_allowed": _("You cannot approve this booking."),
            "cancelled": _("This session was cancelled."),
            "last_date": _("A session needs at least one date. Cancel the session instead."),
        }.get(self.code, _("This change could not be made."))


def _error(code: str) -> SessionError:
    error = SessionError(code)
    error.code = code
    return error


# -- input ----------------------------------------------------------------------------------------


def as_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """Naive UTC, as every timestamp is stored (a naive input is taken as UTC already)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


class _Text(Text):
    """Text people type under core.text's rule, with a length cap, trimmed of any kind of space at
    its ends; empty becomes None."""

    def __init__(self, max_length: int, required: bool = False, **kwargs):
        super().__init__(max_length, multiline=True, required=required, allow_none=not required, **kwargs)

    def kept(self, text: str) -> str:
        return super().kept(text).strip()


class DateInSchema(ApiSchema):
    starts_at = UtcDateTime(required=True, metadata={"description": "ISO 8601; without a time zone it is UTC."})
    ends_at = UtcDateTime(required=True)

    @validates_schema
    def _order(self, data, **kwargs):
        starts, ends = as_utc(data.get("starts_at")), as_utc(data.get("ends_at"))
        if starts and ends and ends <= starts:
            raise ValidationError({"ends_at": [_("The end must be after the start.")]})


def _link(value):
    if value and not value.lower().startswith(("https://", "http://")):
        raise ValidationError(_("Please give a web address starting with https://"))


class SessionInSchema(ApiSchema):
    course_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**63 - 1))
    title = _Text(MAX_TITLE, required=True)
    venue = _Text(MAX_VENUE)
    online_link = _Text(MAX_LINK, metadata={"description": "Shown only to learners with a place; stored encrypted."})
    capacity = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_CAPACITY))
    needs_approval = fields.Boolean(load_default=False, metadata={
        "description": "Bookings wait for the learner's organisation manager (or a trainer) to approve."})
    cancel_cutoff_hours = fields.Integer(load_default=24, validate=validate.Range(min=0, max=MAX_CUTOFF_HOURS))
    counts_for_completion = fields.Boolean(load_default=True)
    dates = fields.List(fields.Nested(DateInSchema), load_default=list,
                        validate=validate.Length(max=MAX_DATES))

    @validates_schema(skip_on_field_errors=False)
    def _place(self, data, **kwargs):
        if data.get("online_link"):
            _link(data["online_link"])
        if not data.get("venue") and not data.get("online_link"):
            raise ValidationError({"venue": [_("Please give a venue or an online link.")]})


# -- reading --------------------------------------------------------------------------------------


def dates_of(session, include_cancelled: bool = False) -> list[SessionDate]:
    query = SessionDate.select().where(SessionDate.session == session)
    if not include_cancelled:
        query = query.where(SessionDate.cancelled_at.is_null())
    return list(query.order_by(SessionDate.starts_at, SessionDate.id))


def first_start(session) -> datetime.datetime | None:
    dates = dates_of(session)
    return dates[0].starts_at if dates else None


def last_end(session) -> datetime.datetime | None:
    dates = dates_of(session)
    return max(d.ends_at for d in dates) if dates else None


def booked_count(session) -> int:
    return Booking.select().where((Booking.session == session) & (Booking.status == "booked")).count()


def waitlist(session) -> list[Booking]:
    return list(Booking.select().where((Booking.session == session) & (Booking.status == "waitlisted"))
                .order_by(Booking.updated_at, Booking.id))


def bookings(session, statuses=ACTIVE) -> list[Booking]:
    return list(Booking.select().where((Booking.session == session) & Booking.status.in_(list(statuses)))
                .order_by(Booking.updated_at, Booking.id))


def booking_of(session, user) -> Booking | None:
    return Booking.get_or_none((Booking.session == session) & (Booking.user == getattr(user, "id", user)))


def enrolment_for(session, user) -> Enrolment | None:
    return Enrolment.get_or_none((Enrolment.course == session.course_id) & (Enrolment.user == getattr(user, "id", user))
                                 & Enrolment.status.in_(["active", "completed"]))


def is_open(session, now: datetime.datetime | None = None) -> bool:
    """Taking bookings: not cancelled, and its first date has not started."""
    start = first_start(session)
    return session.cancelled_at is None and start is not None and start > (now or utcnow())


def learner_sessions(user) -> list[Session]:
    """Sessions of the courses the person is enrolled on that are not over, soonest first."""
    now = utcnow()
    courses = Enrolment.select(Enrolment.course).where(
        (Enrolment.user == user.id) & Enrolment.status.in_(["active", "completed"]))
    upcoming = SessionDate.select(SessionDate.session).where(
        SessionDate.cancelled_at.is_null() & (SessionDate.ends_at > now))
    sessions = list(Session.select().where(Session.course.in_(courses) & Session.id.in_(upcoming)
                                           & Session.cancelled_at.is_null()))
    return sorted(sessions, key=lambda s: (first_start(s) or now, s.id))


def all_sessions(include_past: bool = False) -> list[Session]:
    """Every session (for trainers), soonest first; past and cancelled ones only when asked."""
    sessions = list(Session.select().order_by(Session.id.desc()))
    now = utcnow()
    if not include_past:
        sessions = [s for s in sessions if s.cancelled_at is None and (last_end(s) or now) >= now]
    return sorted(sessions, key=lambda s: (first_start(s) or now, s.id))


# -- trainers' changes ------------------------------------------------------------------------------


def _actor_id(actor):
    return getattr(actor, "id", actor)


def _audit(action: str, session, actor) -> None:
    record(action, target=f"training_session:{session.id}", actor_id=_actor_id(actor))


def _bump(session) -> None:
    """SEQUENCE one higher on every date still standing (single statement: no lost update)."""
    SessionDate.update(sequence=SessionDate.sequence + 1).where(
        (SessionDate.session == session) & SessionDate.cancelled_at.is_null()).execute()


def _add_date(session, starts, ends) -> SessionDate:
    return SessionDate.create(session=session, starts_at=as_utc(starts), ends_at=as_utc(ends),
                              uid=new_uid("training"), sequence=0)


def create_session(actor, data: dict) -> Session:
    course = Course.get_or_none(Course.id == data["course_id"])
    if course is None:
        raise ValidationError({"course_id": [_("There is no such course.")]})
    with db.atomic():
        session = Session.create(
            course=course, title=data["title"], venue=data.get("venue"), online_link=data.get("online_link"),
            capacity=data["capacity"], needs_approval=bool(data.get("needs_approval")),
            cancel_cutoff_hours=data["cancel_cutoff_hours"],
            counts_for_completion=bool(data.get("counts_for_completion", True)), created_by=_actor_id(actor))
        for item in data.get("dates") or []:
            _add_date(session, item["starts_at"], item["ends_at"])
        _audit("training.session_created", session, actor)
    return session


def update_session(session, actor, data: dict) -> Session:
    """Change title, place, capacity, approval, cut-off. A change of title or place raises every
    date's SEQUENCE and tells the people with a place; more places promote from the waitlist."""
    notices: list[tuple[int, str]] = []
    with db.atomic():
        lock_row(Session, session.id)
        current = Session.get_by_id(session.id)
        if current.cancelled_at is not None:
            raise _error("cancelled")
        shown = (current.title, current.venue, current.online_link)
        current.title = data["title"]
        current.venue = data.get("venue")
        current.online_link = data.get("online_link")
        current.capacity = data["capacity"]
        current.needs_approval = bool(data.get("needs_approval"))
        current.cancel_cutoff_hours = data["cancel_cutoff_hours"]
        current.counts_for_completion = bool(data.get("counts_for_completion", True))
        current.save()
        if shown != (current.title, current.venue, current.online_link):
            _bump(current)
            notices += [(b.id, "changed") for b in bookings(current, ("booked",))]
        notices += [(b.id, "promoted") for b in _promote(current)]
        _audit("training.session_changed", current, actor)
    _send(notices)
    return current


def add_date(session, actor, starts, ends) -> SessionDate:
    with db.atomic():
        lock_row(Session, session.id)
        current = Session.get_by_id(session.id)
        if current.cancelled_at is not None:
            raise _error("cancelled")
        date = _add_date(current, starts, ends)
        notices = [(b.id, "changed") for b in bookings(current, ("booked",))]
        _audit("training.session_date_added", current, actor)
    _send(notices)
    return date


def change_date(date: SessionDate, actor, starts, ends) -> SessionDate:
    """A new time: same UID, SEQUENCE one higher, and the people with a place are told."""
    with db.atomic():
        lock_row(Session, date.session_id)
        current = SessionDate.get_by_id(date.id)
        if current.cancelled_at is not None or current.session.cancelled_at is not None:
            raise _error("cancelled")
        current.starts_at, current.ends_at = as_utc(starts), as_utc(ends)
        current.sequence += 1
        current.save()
        notices = [(b.id, "changed") for b in bookings(current.session, ("booked",))]
        _audit("training.session_date_changed", current.session, actor)
    _send(notices)
    return current


def cancel_date(date: SessionDate, actor) -> SessionDate:
    """One date cancelled: its calendar event becomes METHOD:CANCEL (SEQUENCE one higher)."""
    with db.atomic():
        lock_row(Session, date.session_id)
        current = SessionDate.get_by_id(date.id)
        if current.cancelled_at is not None:
            return current
        if len(dates_of(current.session)) <= 1:
            raise _error("last_date")
        current.cancelled_at = utcnow()
        current.sequence += 1
        current.save()
        notices = [(b.id, "changed") for b in bookings(current.session, ("booked",))]
        _audit("training.session_date_cancelled", current.session, actor)
    _send(notices)
    return current


def cancel_session(session, actor) -> Session:
    """The whole session: every booking ends, every date's event is cancelled. Twice changes nothing."""
    with db.atomic():
        lock_row(Session, session.id)
        current = Session.get_by_id(session.id)
        if current.cancelled_at is not None:
            return current
        current.cancelled_at = utcnow()
        current.save()
        _bump(current)
        told = bookings(current)
        Booking.update(status="cancelled", updated_at=utcnow()).where(
            (Booking.session == current) & Booking.status.in_(list(ACTIVE))).execute()
        _audit("training.session_cancelled", current, actor)
    _send([(b.id, "session_cancelled" if b.status == "booked" else "waiting_ended") for b in told])
    return current


# -- bookings ---------------------------------------------------------------------------------------


def _promote(session) -> list[Booking]:
    """Give free places to the waitlist in order (inside the caller's lock); returns who moved up."""
    free = session.capacity - booked_count(session)
    if free <= 0 or not is_open(session):
        return []
    moved = waitlist(session)[:free]
    for booking in moved:
        Booking.update(status="booked", updated_at=utcnow(), reminded_at=None).where(Booking.id == booking.id).execute()
    return moved


def book(session, user) -> Booking:
    """Book a place for `user`: booked, waitlisted when full, or requested when approval is needed.

    Booking again while a booking stands changes nothing and returns it.
    """
    with db.atomic():
        lock_row(Session, session.id)
        current = Session.get_by_id(session.id)
        if current.cancelled_at is not None or not is_open(current):
            raise _error("closed")
        if enrolment_for(current, user) is None:
            raise _error("not_enrolled")
        existing = booking_of(current, user)
        if existing is not None and existing.status in ACTIVE:
            return existing
        if current.needs_approval:
            status = "requested"
        elif booked_count(current) < current.capacity:
            status = "booked"
        else:
            status = "waitlisted"
        now = utcnow()
        if existing is None:
            booking = Booking.create(session=current, user=user.id, status=status, updated_at=now)
        else:
            booking = existing
            Booking.update(status=status, updated_at=now, approved_by=None, reminded_at=None).where(
                Booking.id == existing.id).execute()
            booking.status = status
            if status == "booked":
                _bump(current)  # they were sent a CANCEL before: the new REQUEST must be newer
        record(f"training.booking_{status}", target=f"training_session:{current.id}", actor_id=user.id)
    _send([(booking.id, status)])
    return booking


def _cutoff_passed(session, now: datetime.datetime) -> bool:
    start = first_start(session)
    if start is None:
        return False
    return now >= start - datetime.timedelta(hours=session.cancel_cutoff_hours)


def cancel_booking(session, user, actor=None) -> Booking:
    """Cancel `user`'s booking. By the learner (actor None): a place only up to the cut-off; a
    waitlist entry or a request at any time. By a trainer (actor given): at any time. A freed
    place goes to the next person on the waitlist."""
    by_trainer = actor is not None
    with db.atomic():
        lock_row(Session, session.id)
        current = Session.get_by_id(session.id)
        booking = booking_of(current, user)
        if booking is None or booking.status not in ACTIVE:
            raise _error("no_booking")
        had_place = booking.status == "booked"
        if had_place and not by_trainer and _cutoff_passed(current, utcnow()):
            raise _error("past_cutoff")
        Booking.update(status="cancelled", updated_at=utcnow()).where(Booking.id == booking.id).execute()
        booking.status = "cancelled"
        if had_place:
            kind = "removed" if by_trainer else "cancelled"
        else:  # off the waiting list or a request withdrawn: no calendar event to remove
            kind = "removed_waiting" if by_trainer else "withdrawn"
        notices = [(booking.id, kind)]
        if had_place:
            _bump(current)
            notices += [(b.id, "promoted") for b in _promote(current)]
        record("training.booking_cancelled", target=f"training_session:{current.id}",
               actor_id=_actor_id(actor) if by_trainer else _actor_id(user))
    _send(notices)
    return booking


def may_approve(approver, booking: Booking) -> bool:
    """Trainers approve any booking; an organisation manager the people they manage."""
    from core.permissions import user_has

    app = current_app._get_current_object()
    if user_has(app, approver, "training.manage"):
        return True
    try:
        from plugins.training.organisations import manager_may_approve
    except ImportError:  # until organisations exist, trainers approve
        return False
    return bool(user_has(app, approver, "training.organisation") and manager_may_approve(approver, booking.user))


def decide(booking: Booking, approver, approve: bool) -> Booking:
    """Approve a requested booking (a place, or the waitlist when full) or decline it."""
    if not may_approve(approver, booking):
        raise _error("not_allowed")
    with db.atomic():
        lock_row(Session, booking.session_id)
        current = Session.get_by_id(booking.session_id)
        found = Booking.get_by_id(booking.id)
        if found.status != "requested":
            return found
        if not approve:
            status = "cancelled"
        elif current.cancelled_at is not None or not is_open(current):
            raise _error("closed")
        elif booked_count(current) < current.capacity:
            status = "booked"
        else:
            status = "waitlisted"
        Booking.update(status=status, updated_at=utcnow(), approved_by=_actor_id(approver) if approve else None).where(
            Booking.id == found.id).execute()
        found.status = status
        record("training.booking_" + ("approved" if approve else "declined"), target=f"training_session:{current.id}",
               actor_id=_actor_id(approver))
    _send([(found.id, status if approve else "declined")])
    return found


def pending_approvals(approver) -> list[Booking]:
    """Requested bookings this person may decide, oldest first."""
    rows = Booking.select().where(Booking.status == "requested").order_by(Booking.updated_at, Booking.id)
    return [b for b in rows if may_approve(approver, b)]


# -- e-mail with calendar files -----------------------------------------------------------------------


BOOKING_MAIL = "training_booking"  # its core.mail.MailKind (hooks.py); which message it is goes to the task


def _send(notices: list[tuple[int, str]]) -> None:
    """Queue one e-mail per (booking id, kind), after the change is committed."""
    from plugins.training.tasks import mail_booking

    for booking_id, kind in notices:
        queue_mail(mail_booking, BOOKING_MAIL, f"training_booking:{booking_id}", booking_id, kind)


def date_event(date: SessionDate, session: Session, email: str | None, cancelled: bool) -> CalendarEvent:
    from core.mail import external_url

    try:
        page = external_url("training_sessions.session", session_id=session.id)
    except Exception:  # noqa: BLE001  # no BASE_URL outside a request: the file simply has no link
        page = None
    link = None if cancelled else session.online_link
    return CalendarEvent(
        uid=date.uid, sequence=date.sequence, starts_at=date.starts_at, ends_at=date.ends_at,
        summary=session.title, cancelled=cancelled or date.cancelled_at is not None or session.cancelled_at is not None,
        last_modified=None, location=None if cancelled else (session.venue or link),
        description=link, url=page, attendee_email=email,
    )


def ics_files(booking: Booking, email: str | None = None) -> list[tuple[str, bytes, bool]]:
    """(filename, body, cancelled) per date: REQUEST while the person has a place, CANCEL otherwise."""
    session = booking.session
    has_place = booking.status == "booked" and session.cancelled_at is None
    files = []
    for index, date in enumerate(dates_of(session, include_cancelled=True), start=1):
        cancelled = not has_place or date.cancelled_at is not None
        body = build_ics(date_event(date, session, email, cancelled), PRODID, fallback_organizer="training@localhost")
        files.append((f"session-{session.id}-{index}.ics", body, cancelled))
    return files


# What each kind needs the booking to be when it is sent (else nothing is sent: it changed since).
_EXPECTED = {"booked": ("booked",), "promoted": ("booked",), "changed": ("booked",), "reminder": ("booked",),
             "waitlisted": ("waitlisted",), "requested": ("requested",), "declined": ("cancelled",),
             "cancelled": ("cancelled",), "removed": ("cancelled",), "session_cancelled": ("cancelled",),
             "withdrawn": ("cancelled",), "removed_waiting": ("cancelled",), "waiting_ended": ("cancelled",)}
_WITH_CALENDAR = ("booked", "promoted", "changed", "reminder", "cancelled", "removed", "session_cancelled")


def deliver(booking_id: int, kind: str) -> bool:
    """Build and send one message now; False when there is nothing (any more) to send."""
    from core.accounts.models import User
    from core.i18n import force_language
    from core.mail import external_url, render_message, send_message

    booking = Booking.get_or_none(Booking.id == booking_id)
    if booking is None or kind not in _EXPECTED or booking.status not in _EXPECTED[kind]:
        return False
    user = User.get_or_none(User.id == booking.user_id)
    if user is None or not user.active or not user.email:
        return False
    session = booking.session
    locale = user.locale if user.locale in current_app.config["LOCALES"] else current_app.config["DEFAULT_LOCALE"]
    with force_language(locale):
        when = [format_span(d) for d in dates_of(session)]
    message = render_message(
        user.email, f"training/mail/{kind}.txt", locale, session=session, course=session.course, dates=when,
        place=booking.status == "booked" and session.cancelled_at is None,
        link=external_url("training_sessions.session", session_id=session.id))
    if kind in _WITH_CALENDAR:
        for filename, body, cancelled in ics_files(booking, user.email):
            attach_ics(message, body, filename, cancelled)
        if "Content-Language" not in message:  # making it multipart moved the header to the text part
            message["Content-Language"] = locale.replace("_", "-")
    send_message(message)
    return True


def format_span(date: SessionDate) -> str:
    """"Monday 3 March 2027, 10:00 – 13:00" in the current locale and the instance's time zone."""
    from flask_babel import format_datetime

    pattern = "EEEE d MMMM y, HH:mm"
    starts, ends = format_datetime(date.starts_at, pattern), format_datetime(date.ends_at, pattern)
    if starts[:-5] == ends[:-5]:  # the same day: the end's time alone
        return f"{starts} – {ends[-5:]}"
    return f"{starts} – {ends}"


# -- reminders ----------------------------------------------------------------------------------------


def due_reminders(now: datetime.datetime | None = None) -> list[Booking]:
    """Places not reminded yet whose next date starts within REMIND_AHEAD."""
    now = now or utcnow()
    soon = SessionDate.select(SessionDate.session).where(
        SessionDate.cancelled_at.is_null() & (SessionDate.starts_at > now)
        & (SessionDate.starts_at <= now + REMIND_AHEAD))
    return list(Booking.select().join(Session).where(
        (Booking.status == "booked") & Booking.reminded_at.is_null() & Session.cancelled_at.is_null()
        & Booking.session.in_(soon)))


def queue_due_reminders(now: datetime.datetime | None = None) -> int:
    """Mark each due reminder as taken (under the session's lock) and queue it; returns how many."""
    taken = []
    for booking in due_reminders(now):
        with db.atomic():
            lock_row(Session, booking.session_id)
            marked = Booking.update(reminded_at=utcnow()).where(
                (Booking.id == booking.id) & Booking.reminded_at.is_null() & (Booking.status == "booked")).execute()
        if marked:
            taken.append(booking.id)
    _send([(booking_id, "reminder") for booking_id in taken])
    return len(taken)
