"""Training's blocks on core pages (core/slots.py): on a learner's home page their next session
and any certificate that runs out within EXPIRY_WARNING_DAYS (or has run out within as many days);
on their profile, their certificates; on the administrators' overview, bookings waiting for
approval."""

from __future__ import annotations

import datetime

from core.db import utcnow
from core.permissions import user_has
from core.slots import PageBlock, render_block
from plugins.training import _, domain
from plugins.training.models import Booking, Certificate, Session, SessionDate

EXPIRY_WARNING_DAYS = 30


def expiring_certificates(user, today: datetime.date | None = None) -> list:
    today = today or datetime.date.today()
    window = datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    return list(Certificate.select().where(
        Certificate.user == user.id, Certificate.revoked_at.is_null(), Certificate.expires_on.is_null(False),
        Certificate.expires_on.between(today - window, today + window)).order_by(Certificate.expires_on))


def next_session(user):
    """(session, its next date) of the learner's next booked session, or None."""
    row = (SessionDate.select(SessionDate, Session).join(Session).join(Booking, on=(Booking.session == Session.id))
           .where(Booking.user == user.id, Booking.status == "booked", SessionDate.starts_at >= utcnow())
           .order_by(SessionDate.starts_at).first())
    return (row.session, row) if row is not None else None


def page_blocks(app, slot, user):
    if not getattr(user, "is_authenticated", False):
        return None
    found = []
    learner = user_has(app, user, "training.learn")
    if slot == "home" and learner:
        today = datetime.date.today()
        expiring = expiring_certificates(user, today)
        if expiring:
            found.append(PageBlock(_("Your certificates"), render_block(
                domain, "training/slots/expiring.html", certificates=expiring, today=today), order=20))
        upcoming = next_session(user)
        if upcoming is not None:
            found.append(PageBlock(_("Your next training session"), render_block(
                domain, "training/slots/next_session.html", session=upcoming[0], date=upcoming[1]), order=21))
    if slot == "profile" and learner:
        count = Certificate.select().where(Certificate.user == user.id).count()
        if count:
            found.append(PageBlock(_("Your certificates"), render_block(
                domain, "training/slots/profile.html", count=count), order=40))
    if slot == "admin_overview" and user_has(app, user, "training.organisation"):
        waiting = Booking.select().where(Booking.status == "requested").count()
        found.append(PageBlock(_("Training bookings"), render_block(
            domain, "training/slots/bookings_waiting.html", waiting=waiting), order=40))
    return found
