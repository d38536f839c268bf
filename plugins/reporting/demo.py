"""Clearly fake sample reports for a demo instance."""

from __future__ import annotations

import datetime


def fill(app, accounts) -> None:
    from plugins.reporting.models import Report
    from plugins.reporting.service import create_report

    if Report.select().exists():
        return
    today = datetime.date.today()
    samples = [
        {
            "incident_types": ["robbery", "threats"],
            "occurred_on": today - datetime.timedelta(days=2),
            "region": "london",
            "narrative": "DEMO: made-up sample. A client took back the money at knifepoint.",
            "perpetrators": [{"names": ["Demo Dave"], "phones": ["+447700900123"], "emails": [], "handles": [],
                              "vehicle": {"make": "Demo", "colour": "silver", "plate": "DE10MO"}, "description": None}],
            "consent": {"share_alert": True, "police_intelligence": False, "police_report": False,
                        "wants_support": True},
        },
        {
            "incident_types": ["fake_client"],
            "occurred_on": today - datetime.timedelta(days=20),
            "region": "north_west",
            "narrative": "DEMO: made-up sample. Booked three times and never arrived.",
            "perpetrators": [{"names": [], "phones": ["+447700900123"], "emails": [], "handles": ["demo_timewaster"],
                              "vehicle": None, "description": None}],
            "consent": {"share_alert": True, "police_intelligence": True, "police_report": False,
                        "wants_support": False},
        },
    ]
    for sample in samples:
        create_report(sample, reporter=None, source="web")
