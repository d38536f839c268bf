"""Alerts' block on the administrators' overview (core/slots.py): messages that could not be
delivered, and alerts due for review, for those who oversee deliveries or publish."""

from __future__ import annotations

from core.permissions import user_has
from core.slots import PageBlock, render_block
from plugins.alerts import _, domain
from plugins.alerts.models import FAILED, Delivery


def page_blocks(app, slot, user):
    if slot != "admin_overview" or not user_has(app, user, "alerts.oversee"):
        return None
    failed = Delivery.select().where(Delivery.status == FAILED).count()
    return PageBlock(_("Alerts"), render_block(domain, "alerts/slots/failed.html", failed=failed), order=20)
