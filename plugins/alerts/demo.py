"""Clearly fake sample alerts for a demo instance (`redumbrella demo`)."""

from __future__ import annotations

import datetime


def fill(app, accounts) -> None:
    from core.db import utcnow
    from plugins.alerts import service, subscriptions
    from plugins.alerts.models import Alert
    from plugins.reporting.models import Report

    if Alert.select().exists():
        return
    moderator = accounts.get("moderator")
    reports = service.eligible_reports(limit=2)
    if not reports:
        # The reporting plugin's demo reports wait for moderation: verify the ones that agreed to
        # a community warning, as a moderator would.
        candidates = [report for report in Report.select().order_by(Report.id) if report.has_consent("share_alert")]
        for report in candidates[:2]:
            Report.update(status="verified", verified_at=utcnow(), status_changed_at=utcnow()).where(
                Report.id == report.id).execute()
        reports = service.eligible_reports(limit=2)
    if not reports:
        return
    alert = service.create_from_reports(reports[:1], {
        "title": "DEMO: made-up sample, a client who takes the money back",
        "summary": "DEMO: made-up sample. He books by phone, pays at the door, then takes the money back "
                   "with threats. If he calls, do not see him alone.",
        "severity": "high",
        "expires_on": datetime.date.today() + datetime.timedelta(days=90),
    }, moderator)
    if not service.regions_of(alert):
        service.update(alert, {"regions": ["london"]}, moderator)
    service.publish(alert, moderator)
    member = accounts.get("member")
    if member is not None and subscriptions.get(member) is None:
        subscriptions.save(member, {"channels": ["email", "web"], "regions": ["london"]}, sms_available=False)
