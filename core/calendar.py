"""Calendar files (.ics, RFC 5545 with RFC 5546 methods), built with the icalendar library.

Shared by the modules that send or offer events (casework appointments, training sessions). The
rules every caller keeps, so a calendar updates or cancels the event it already has instead of
adding another:

- one UID for the event's whole life (make it once with new_uid and store it);
- SEQUENCE goes up with every change a calendar shows (time, place, cancellation), never down;
- METHOD:REQUEST while it stands, METHOD:CANCEL with STATUS:CANCELLED once cancelled;
- DTSTAMP is when the file was made; every time is written in UTC.

One event per file: RFC 5546 asks that the components of one iTIP message share their UID, so an
event with several dates (each with its own UID) is sent as one file per date.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from email.utils import parseaddr

from flask import current_app

from core.db import utcnow


@dataclass
class CalendarEvent:
    """What one calendar file says. Times are naive UTC, as the database stores them."""

    uid: str
    sequence: int
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    summary: str
    cancelled: bool = False
    last_modified: datetime.datetime | None = None
    location: str | None = None
    description: str | None = None
    url: str | None = None
    attendee_email: str | None = None


def new_uid(owner: str) -> str:
    """A fresh random UID, e.g. "<uuid>@casework.redumbrella"."""
    return f"{uuid.uuid4()}@{owner}.redumbrella"


def as_utc(value: datetime.datetime) -> datetime.datetime:
    """A naive UTC datetime made aware (icalendar then writes it with Z)."""
    return value.replace(tzinfo=datetime.UTC)


def _organizer_address(fallback: str) -> str:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or fallback
    return parseaddr(str(sender))[1] or fallback


def build_ics(event: CalendarEvent, prodid: str, fallback_organizer: str = "calendar@localhost") -> bytes:
    """The event as an iCalendar file: METHOD:REQUEST, or METHOD:CANCEL once it is cancelled.

    RFC 5546 asks a REQUEST or CANCEL to name its organizer: the platform's sender address. The
    attendee, when given, is the person the file is for, with PARTSTAT ACCEPTED.
    """
    from icalendar import Calendar, Event, vCalAddress

    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if event.cancelled else "REQUEST")
    item = Event()
    item.add("uid", event.uid)
    item.add("sequence", event.sequence)
    item.add("dtstamp", as_utc(utcnow().replace(microsecond=0)))
    item.add("dtstart", as_utc(event.starts_at))
    item.add("dtend", as_utc(event.ends_at))
    if event.last_modified is not None:
        item.add("last-modified", as_utc(event.last_modified.replace(microsecond=0)))
    item.add("summary", event.summary)
    item.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    item.add("transp", "OPAQUE")
    item.add("class", "PRIVATE")
    if event.location:
        item.add("location", event.location)
    if event.description:
        item.add("description", event.description)
    if event.url:
        item.add("url", event.url)
    item.add("organizer", vCalAddress("mailto:" + _organizer_address(fallback_organizer)))
    if event.attendee_email:
        attendee = vCalAddress("mailto:" + event.attendee_email)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "ACCEPTED"
        item.add("attendee", attendee)
    calendar.add_component(item)
    return calendar.to_ical()


def attach_ics(message, body: bytes, filename: str, cancelled: bool) -> None:
    """Attach a calendar file to an e-mail (core.mail.build_message's), with its iTIP method."""
    message.add_attachment(body, maintype="text", subtype="calendar", filename=filename,
                           params={"method": "CANCEL" if cancelled else "REQUEST"})
