"""Casework's blocks on core pages (core/slots.py): a client's next appointment on the home page,
and for caseworkers the referrals waiting, on the home page and the administrators' overview.

The appointment block says when, never what kind or where: the home page may be seen over a
shoulder, and the details are one click away on "Your support".
"""

from __future__ import annotations

from core.db import utcnow
from core.permissions import user_has
from core.slots import PageBlock, render_block
from plugins.casework import _, domain
from plugins.casework.models import Appointment, Case, Referral


def next_appointment(user):
    """The client's next appointment not cancelled, in any of their cases, or None."""
    return (Appointment.select().join(Case)
            .where(Case.client == user.id, Appointment.cancelled_at.is_null(), Appointment.starts_at >= utcnow())
            .order_by(Appointment.starts_at).first())


def waiting_referrals() -> int:
    return Referral.select().where(Referral.status == "open").count()


def page_blocks(app, slot, user):
    if not getattr(user, "is_authenticated", False):
        return None
    found = []
    if slot == "home":
        appointment = next_appointment(user)
        if appointment is not None:
            found.append(PageBlock(_("Your next appointment"), render_block(
                domain, "casework/slots/next_appointment.html", appointment=appointment), order=10))
    if slot in ("home", "admin_overview") and user_has(app, user, "casework.cases"):
        waiting = waiting_referrals()
        if waiting or slot == "admin_overview":
            found.append(PageBlock(_("Referrals"), render_block(
                domain, "casework/slots/referrals_waiting.html", waiting=waiting), order=30))
    return found
