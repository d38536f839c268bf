"""Accompaniment and appointments: the worker's diary for a case, its .ics files and client reminders.

An appointment (police, sexual assault referral centre, clinic, court, housing, other) has a time,
a place (encrypted), whether the worker accompanies the client, and afterwards whether it was
attended and how long it took.

Calendar files (.ics, RFC 5545 with RFC 5546 methods, built with the icalendar library):
- one UID for the appointment's whole life, so a calendar updates the event it already has;
- SEQUENCE goes up with every change a calendar shows (time, kind, cancellation), never down;
- METHOD:REQUEST while it stands, METHOD:CANCEL with STATUS:CANCELLED once cancelled;
- DTSTAMP is when the file was made; every time is in UTC (core.calendar builds the file);
- the summary is neutral ("Casework appointment C-XXXX"): no client name, no kind, no note;
- the place is left out unless the worker ticks "include the place": a worker's calendar often
  syncs to a third party (Google, Microsoft, Apple), where the place of a police station or a
  sexual assault referral centre next to a case reference would say too much.

Reminders go to the client only when they agreed (Case.reminders_agreed_at and reminder_channel,
with an "appointment_reminders" ClientConsent that is not withdrawn) and the worker ticked
"remind the client" on the appointment: a periodic task sends one neutral message about a day
before, in the client's language, by e-mail (core.mail) or by text message through the alerts
plugin's send_sms hook. Text needs the alerts plugin enabled with an SMS backend; without it a
text reminder falls back to e-mail when there is an address, else nothing is sent, and the pages
say so.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from flask import current_app
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api import ApiSchema, UtcDateTime
from core.audit import record
from core.db import db, lock_row, utcnow
from core.queue import crontab, periodic_task, task
from plugins.casework import _, _l
from plugins.casework.models import APPOINTMENT_KINDS, Appointment, Case, ClientConsent
from plugins.casework.sections import section
from plugins.casework.timeline import add_event

log = logging.getLogger("redumbrella.casework")

REMINDER_PURPOSE = "appointment_reminders"
REMINDER_CHANNELS = ("email", "text")
REMIND_AHEAD = datetime.timedelta(hours=24)  # "the day before": from 24 hours ahead until it starts
MAX_PLACE = 500
MAX_NOTE = 10_000
MAX_MINUTES = 24 * 60
PRODID = "-//Red Umbrella//casework//EN"


def kind_labels() -> dict:
    return {
        "police": _l("Police"),
        "sarc": _l("Sexual assault referral centre"),
        "clinic": _l("Clinic or health appointment"),
        "court": _l("Court"),
        "housing": _l("Housing"),
        "other": _l("Other"),
    }


def event_labels() -> dict:
    """Timeline kinds this module writes, with their labels (c1's timeline merges them)."""
    return {
        "appointment": _l("Appointment arranged"),
        "appointment_changed": _l("Appointment changed"),
        "appointment_cancelled": _l("Appointment cancelled"),
        "appointment_attendance": _l("Appointment attendance recorded"),
        "reminders": _l("Appointment reminders agreed or stopped"),
    }


# -- input ----------------------------------------------------------------------------------------


def as_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """Naive UTC, as every timestamp is stored (a naive input is taken as UTC already)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def _text(max_length: int, multiline: bool = False):
    from core.fields import Text

    return Text(max_length=max_length, multiline=multiline)


class AppointmentInSchema(ApiSchema):
    kind = fields.String(required=True, validate=validate.OneOf(APPOINTMENT_KINDS),
                         metadata={"enum": list(APPOINTMENT_KINDS)})
    starts_at = UtcDateTime(required=True, metadata={"description": "ISO 8601; without a time zone it is UTC."})
    ends_at = UtcDateTime(allow_none=True, load_default=None)
    place = _text(MAX_PLACE)
    note = _text(MAX_NOTE, multiline=True)
    accompanied = fields.Boolean(load_default=False, metadata={"description": "The worker goes with the client."})
    remind_client = fields.Boolean(load_default=False, metadata={
        "description": "Send the client a reminder the day before, if they agreed to reminders."})

    @validates_schema
    def _order(self, data, **kwargs):
        starts, ends = as_utc(data.get("starts_at")), as_utc(data.get("ends_at"))
        if starts and ends and ends <= starts:
            raise ValidationError({"ends_at": [_("The end must be after the start.")]})


class AttendanceInSchema(ApiSchema):
    attended = fields.Boolean(required=True, allow_none=True, metadata={
        "description": "true: it took place; false: the client did not go or it did not happen; null: not known."})
    accompanied = fields.Boolean(load_default=None, allow_none=True)
    minutes_spent = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=MAX_MINUTES))


# -- changes --------------------------------------------------------------------------------------


def new_uid() -> str:
    from core.calendar import new_uid as calendar_uid

    return calendar_uid("casework")


def _default_end(starts_at: datetime.datetime) -> datetime.datetime:
    return starts_at + datetime.timedelta(hours=1)


def create(case: Case, actor, data: dict) -> Appointment:
    starts = as_utc(data["starts_at"])
    with db.atomic():
        appointment = Appointment.create(
            case=case, by=getattr(actor, "id", actor), kind=data["kind"], starts_at=starts,
            ends_at=as_utc(data.get("ends_at")) or _default_end(starts), place=data.get("place"),
            note=data.get("note"), uid=new_uid(), sequence=0, accompanied=bool(data.get("accompanied")),
            remind_client=bool(data.get("remind_client")),
        )
        add_event(case, "appointment", actor, detail=appointment.kind, row_id=appointment.id)
        record("case.appointment_added", target=case.target(), actor_id=getattr(actor, "id", actor))
    return appointment


class AppointmentClosed(Exception):
    """A cancelled appointment cannot be changed (make a new one)."""


def update(appointment: Appointment, actor, data: dict) -> Appointment:
    """Change an appointment: its UID stays and its SEQUENCE goes up, so calendars update it."""
    with db.atomic():
        lock_row(Appointment, appointment.id)
        current = Appointment.get_by_id(appointment.id)
        if current.cancelled_at is not None:
            raise AppointmentClosed()
        starts = as_utc(data["starts_at"])
        moved = starts != current.starts_at
        current.kind = data["kind"]
        current.starts_at = starts
        current.ends_at = as_utc(data.get("ends_at")) or _default_end(starts)
        current.place = data.get("place")
        current.note = data.get("note")
        current.accompanied = bool(data.get("accompanied"))
        current.remind_client = bool(data.get("remind_client"))
        if moved:
            current.client_reminded_at = None  # a new time gets its own reminder
        current.sequence = current.sequence + 1
        current.updated_at = utcnow()
        current.save()
        add_event(current.case, "appointment_changed", actor, detail=current.kind, row_id=current.id)
        record("case.appointment_changed", target=current.case.target(), actor_id=getattr(actor, "id", actor))
    return current


def cancel(appointment: Appointment, actor) -> Appointment:
    """Cancel: SEQUENCE goes up once more and the .ics becomes METHOD:CANCEL. Cancelling twice changes nothing."""
    with db.atomic():
        lock_row(Appointment, appointment.id)
        current = Appointment.get_by_id(appointment.id)
        if current.cancelled_at is not None:
            return current
        current.cancelled_at = utcnow()
        current.sequence = current.sequence + 1
        current.updated_at = current.cancelled_at
        current.save()
        add_event(current.case, "appointment_cancelled", actor, detail=current.kind, row_id=current.id)
        record("case.appointment_cancelled", target=current.case.target(), actor_id=getattr(actor, "id", actor))
    return current


def record_attendance(appointment: Appointment, actor, data: dict) -> Appointment:
    """Whether it took place, whether the worker went too, and the time spent (not calendar data:
    the SEQUENCE stays)."""
    with db.atomic():
        lock_row(Appointment, appointment.id)
        current = Appointment.get_by_id(appointment.id)
        current.attended = data.get("attended")
        if data.get("accompanied") is not None:
            current.accompanied = data["accompanied"]
        current.minutes_spent = data.get("minutes_spent")
        current.updated_at = utcnow()
        current.save()
        detail = {True: "attended", False: "not_attended"}.get(current.attended, "unknown")
        add_event(current.case, "appointment_attendance", actor, detail=detail, row_id=current.id)
        record("case.appointment_attendance", target=current.case.target(), actor_id=getattr(actor, "id", actor))
    return current


def of_case(case: Case) -> list[Appointment]:
    return list(Appointment.select().where(Appointment.case == case.id).order_by(Appointment.starts_at,
                                                                                 Appointment.id))


def get_for_case(case: Case, appointment_id: int) -> Appointment | None:
    return Appointment.get_or_none((Appointment.id == appointment_id) & (Appointment.case == case.id))


def next_for_case(case: Case) -> Appointment | None:
    coming = (Appointment.case == case.id) & Appointment.cancelled_at.is_null() & (Appointment.starts_at > utcnow())
    return Appointment.select().where(coming).order_by(Appointment.starts_at).first()


# -- the calendar file ------------------------------------------------------------------------------


def ics(appointment: Appointment, include_place: bool = False, attendee_email: str | None = None) -> bytes:
    """The appointment as an iCalendar file (see the module's notes); the place only when asked.

    The organizer and attendee are the platform and the worker themselves: nothing about the client.
    """
    from core.calendar import CalendarEvent, build_ics

    case = appointment.case
    event = CalendarEvent(
        uid=appointment.uid, sequence=appointment.sequence, starts_at=appointment.starts_at,
        ends_at=appointment.ends_at or _default_end(appointment.starts_at),
        summary=_("Casework appointment %(reference)s", reference=case.reference),
        cancelled=appointment.cancelled_at is not None,
        last_modified=appointment.updated_at or appointment.created_at,
        location=appointment.place if include_place and appointment.place else None,
        attendee_email=attendee_email,
    )
    return build_ics(event, PRODID, fallback_organizer="casework@localhost")


def ics_filename(appointment: Appointment) -> str:
    return f"appointment-{appointment.case.reference}-{appointment.id}.ics"


# -- reminders to the client ----------------------------------------------------------------------


def reminder_consent(case: Case) -> ClientConsent | None:
    return (ClientConsent.select()
            .where((ClientConsent.case == case.id) & (ClientConsent.purpose == REMINDER_PURPOSE)
                   & ClientConsent.withdrawn_at.is_null())
            .order_by(ClientConsent.id.desc()).first())


def reminders_on(case: Case) -> bool:
    return bool(case.reminders_agreed_at and case.reminder_channel in REMINDER_CHANNELS and reminder_consent(case))


def set_reminders(case: Case, actor, channel: str | None, by_client: bool) -> Case:
    """The client agrees to reminders by `channel` ("email" or "text"), or stops them (None).

    By the client on their page (by_client=True) or by the worker on the client's word. Every
    change is a new ClientConsent row (history kept); stopping withdraws the current one.
    """
    if channel is not None and channel not in REMINDER_CHANNELS:
        raise ValueError(channel)
    now = utcnow()
    with db.atomic():
        lock_row(Case, case.id)
        ClientConsent.update(withdrawn_at=now).where(
            (ClientConsent.case == case.id) & (ClientConsent.purpose == REMINDER_PURPOSE)
            & ClientConsent.withdrawn_at.is_null()).execute()
        if channel is None:
            Case.update(reminders_agreed_at=None, reminder_channel=None).where(Case.id == case.id).execute()
        else:
            ClientConsent.create(case=case, purpose=REMINDER_PURPOSE, given_by_client=by_client)
            Case.update(reminders_agreed_at=now, reminder_channel=channel).where(Case.id == case.id).execute()
        add_event(case, "reminders", None if by_client else actor, detail=channel or "stopped")
        record("case.reminders_" + ("agreed" if channel else "stopped"), target=case.target(),
               actor_id=getattr(actor, "id", actor))
    return Case.get_by_id(case.id)


def sms_available() -> bool:
    """Text messages can be sent: the alerts plugin is enabled and has an SMS backend configured."""
    from core.plugins import get_registry

    app = current_app._get_current_object()
    if not get_registry(app).is_enabled("alerts"):
        return False
    from plugins.alerts import sms

    return sms.configured(app)


def _email_of(case: Case) -> str | None:
    if case.client_id is not None:
        from core.accounts.models import User

        user = User.get_or_none(User.id == case.client_id)
        if user is not None and user.active and user.email:
            return user.email
    if case.contact_method == "email" and case.contact:
        return case.contact
    return None


def _phone_of(case: Case) -> str | None:
    if case.contact_method in ("phone", "text") and case.contact:
        return case.contact
    return None


@dataclass(frozen=True)
class Route:
    """How a reminder would reach the client now: a channel ("email", "text") or None, and why."""

    channel: str | None
    reason: str  # "ok", "not_agreed", "fallback_email", "no_text", "no_address"


def reminder_route(case: Case) -> Route:
    if not reminders_on(case):
        return Route(None, "not_agreed")
    if case.reminder_channel == "text":
        if _phone_of(case) and sms_available():
            return Route("text", "ok")
        if _email_of(case):
            return Route("email", "fallback_email")
        return Route(None, "no_text")
    if _email_of(case):
        return Route("email", "ok")
    return Route(None, "no_address")


def route_messages() -> dict:
    return {
        "not_agreed": _l("The client has not agreed to appointment reminders, so none are sent."),
        "ok": _l("Reminders are sent the day before, in the client's language."),
        "fallback_email": _l("Text messages cannot be sent from this site (the alerts module or its text "
                             "message service is off), so reminders go by e-mail instead."),
        "no_text": _l("Text messages cannot be sent from this site (the alerts module or its text message "
                      "service is off) and there is no e-mail address, so no reminders are sent."),
        "no_address": _l("There is no e-mail address for the client, so no reminders are sent."),
    }


def _locale_of(case: Case) -> str:
    locales = current_app.config["LOCALES"]
    if case.language in locales:
        return case.language
    if case.client_id is not None:
        from core.accounts.models import User

        user = User.get_or_none(User.id == case.client_id)
        if user is not None and user.locale in locales:
            return user.locale
    return current_app.config["DEFAULT_LOCALE"]


def reminder_text(appointment: Appointment, locale: str) -> tuple[str, str]:
    """(subject, body): neutral words in the client's language, no kind, no place, no name."""
    from flask_babel import format_datetime, get_domain

    from core.i18n import force_language
    from plugins.casework import domain

    previous = get_domain()
    with force_language(locale):
        domain.as_default()
        try:
            when = format_datetime(appointment.starts_at, "EEEE d MMMM, HH:mm")
            subject = _("A reminder")
            body = _("Hello,\n\nA reminder of your appointment on %(when)s. If you cannot go or need to change "
                     "it, please let your support worker know.\n\nIf you did not expect this message, you can "
                     "ignore it.", when=when)
        finally:
            previous.as_default()
    return subject, body


def due_reminders(now: datetime.datetime | None = None) -> list[Appointment]:
    now = now or utcnow()
    return list(Appointment.select().join(Case).where(
        Appointment.remind_client & Appointment.cancelled_at.is_null() & Appointment.client_reminded_at.is_null()
        & (Appointment.starts_at > now) & (Appointment.starts_at <= now + REMIND_AHEAD)
        & Case.reminders_agreed_at.is_null(False) & Case.closed_at.is_null()
    ))


def queue_due_reminders(now: datetime.datetime | None = None) -> int:
    """Mark each due reminder as taken and queue its sending (ids only in the queue); returns how many."""
    queued = []
    for appointment in due_reminders(now):
        with db.atomic():
            lock_row(Appointment, appointment.id)
            current = Appointment.get_by_id(appointment.id)
            if current.client_reminded_at is not None or not reminders_on(current.case):
                continue
            Appointment.update(client_reminded_at=utcnow()).where(Appointment.id == current.id).execute()
        queued.append(current.id)
    for appointment_id in queued:
        send_reminder(appointment_id)
    return len(queued)


def deliver_reminder(appointment_id: int) -> str | None:
    """Send one reminder now by the route the client's case allows; returns the channel used or None."""
    appointment = Appointment.get_or_none(Appointment.id == appointment_id)
    if appointment is None or appointment.cancelled_at is not None:
        return None
    case = appointment.case
    route = reminder_route(case)
    if route.channel is None:
        log.info("reminder not sent", extra={"event": "casework_reminder_skipped", "reason": route.reason})
        return None
    subject, body = reminder_text(appointment, _locale_of(case))
    key = f"casework-reminder-{appointment.uid}-{appointment.sequence}"
    if route.channel == "email":
        from core.mail import build_message, send_message

        message = build_message(_email_of(case), subject, body)
        message["Content-Language"] = _locale_of(case).replace("_", "-")
        send_message(message)
    else:
        from core.plugins import get_registry
        from plugins.alerts import sms

        app = current_app._get_current_object()
        if not get_registry(app).call("send_sms", app=app, backend=sms.backend(app), to=_phone_of(case), body=body,
                                      key=key):
            raise RuntimeError("NoSmsBackend")
    log.info("reminder sent", extra={"event": "casework_reminder_sent", "reason": route.channel})
    return route.channel


@task(retries=3, retry_delay=300)
def send_reminder(appointment_id: int):
    """Send one client reminder (the argument is an id: no address or text sits in the queue)."""
    return deliver_reminder(appointment_id)


@periodic_task(crontab(minute="*/15"))
def remind_clients():
    """Every 15 minutes: queue the reminders of appointments in the next 24 hours."""
    return queue_due_reminders()


TASKS = [send_reminder, remind_clients]


# -- the case page's section --------------------------------------------------------------------------


@section("appointments", order=70)
def appointments_section(case: Case, user) -> dict:
    rows = of_case(case)
    now = utcnow()
    return {
        "upcoming": [a for a in rows if a.cancelled_at is None and a.starts_at >= now],
        "past": [a for a in rows if a.cancelled_at is None and a.starts_at < now][-10:],
        "cancelled": sum(1 for a in rows if a.cancelled_at is not None),
        "kinds": kind_labels(),
        "route": reminder_route(case),
        "route_messages": route_messages(),
    }
