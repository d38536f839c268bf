"""Reporting's block on the administrators' overview (core/slots.py): reports waiting for review,
for those who moderate them."""

from __future__ import annotations

from core.permissions import user_has
from core.slots import PageBlock, render_block
from plugins.reporting import _, domain
from plugins.reporting.models import OPEN_STATUSES, Report


def page_blocks(app, slot, user):
    if slot != "admin_overview" or not user_has(app, user, "reporting.moderate"):
        return None
    waiting = Report.select().where(Report.status.in_(OPEN_STATUSES)).count()
    urgent = Report.select().where(Report.status.in_(OPEN_STATUSES), Report.urgency > 0).count()
    return PageBlock(_("Reports"), render_block(domain, "reporting/slots/waiting.html", waiting=waiting,
                                                urgent=urgent), order=10)
