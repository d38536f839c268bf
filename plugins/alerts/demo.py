"""Clearly fake sample alerts for a demo instance (`redumbrella demo`).

Each sample alert is written from the demo report whose incident type it is about (its title,
summary and severity fit what that report says happened), and the demo member is subscribed to the
region of the first one, so the member's Alerts page, which opens on that region, shows it.
"""

from __future__ import annotations

import datetime

# (incident type of the report it is written from, the alert's own fields)
SAMPLES = (
    ("robbery", {
        "title": "DEMO: made-up sample, a client who takes the money back",
        "summary": "DEMO: made-up sample. He books by phone, pays at the door, then takes the money back "
                   "with threats. If he calls, do not see him alone.",
        "severity": "high",
    }),
    ("fake_client", {
        "title": "DEMO: made-up sample, a client who books and never arrives",
        "summary": "DEMO: made-up sample. He books several times from the same number and online name, "
                   "then never turns up. Ask for a deposit before you travel or turn other clients away.",
        "severity": "low",
    }),
)
# A safety notice about a condition, not one person: the group's own knowledge, citing no report.
SAMPLE_NOTICE = {
    "title": "DEMO: made-up sample, a fake agency taking deposits",
    "summary": "DEMO: made-up sample. A website offering shared flats and bookings asks for a deposit, "
               "then stops answering. Do not send money before you have met them.",
    "severity": "medium",
    "category": "fake_advertiser",
    "identifiers": [{"kind": "website", "value": "fake-agency.example"}],
}
FALLBACK_REGION = "london"


def fill(app, accounts) -> None:
    from core.db import utcnow
    from plugins.alerts import service, subscriptions
    from plugins.alerts.models import Alert
    from plugins.alerts.reading import regions_of
    from plugins.alerts.sources import eligible_reports
    from plugins.reporting.models import Report

    if Alert.select().exists():
        return
    moderator = accounts.get("moderator")
    reports = eligible_reports()
    if not reports:
        # The reporting plugin's demo reports wait for moderation: verify the ones that agreed to
        # a community warning, as a moderator would.
        for report in Report.select().order_by(Report.id):
            if report.has_consent("share_alert"):
                Report.update(status="verified", verified_at=utcnow(), status_changed_at=utcnow()).where(
                    Report.id == report.id).execute()
        reports = eligible_reports()
    first_region = None
    used: set[int] = set()
    for incident_type, fields in SAMPLES:
        report = next((r for r in reports if incident_type in r.incident_type_codes and r.id not in used), None)
        if report is None:
            continue  # never put a sample's words on a report about something else
        used.add(report.id)
        alert = service.create_from_reports([report], {
            **fields, "expires_on": datetime.date.today() + datetime.timedelta(days=90),
        }, moderator)
        if not regions_of(alert):
            service.update(alert, {"regions": [FALLBACK_REGION]}, moderator)
        service.review(alert, moderator)  # the demo moderator "saw the preview" of these made-up samples
        service.publish(alert, moderator)
        first_region = first_region or regions_of(alert)[0]
    if first_region:
        notice = service.create_notice([], {**SAMPLE_NOTICE, "regions": [first_region],
                                            "expires_on": datetime.date.today() + datetime.timedelta(days=60)},
                                       moderator)
        service.review(notice, moderator)
        service.publish(notice, moderator)
    member = accounts.get("member")
    if member is not None and first_region and subscriptions.get(member) is None:
        subscriptions.save(member, {"channels": ["email", "web"], "regions": [first_region]}, sms_available=False)
