"""Clearly fake sample cases for a demo instance: a referral waiting, cases at different stages,
and a declined referral. Every name and number is made up (DEMO, 07700 900xxx is Ofcom's drama range)."""

from __future__ import annotations

import datetime


def fill(app, accounts) -> None:
    from plugins.casework import service
    from plugins.casework.models import Case, Referral

    if Case.select().exists():
        return
    worker = accounts.get("caseworker")
    supervisor = accounts.get("casework_supervisor")
    if worker is None:
        return
    base = {"contact_method": "text", "safe_times": "DEMO: weekdays after 6pm, no voicemail",
            "may_leave_message": False, "language": "en", "region": "london"}
    Referral.create(source="self", working_name="DEMO Sky", contact="07700 900001",
                    needs="DEMO: made-up sample. Would like to talk about options.", **base)
    samples = [("DEMO Rowan", "07700 900002", "assessment"), ("DEMO Jules", "07700 900003", "plan"),
               ("DEMO Ash", "07700 900004", "active")]
    client = accounts.get("member")  # the demo member is DEMO Jules, so "Your support" has a case to show
    for name, number, stage in samples:
        referral = Referral.create(source="partner", working_name=name, contact=number,
                                   referred_by=accounts.get("partner"),
                                   client=client if stage == "plan" else None,
                                   client_agreed_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                                   **base)
        case = service.accept_referral(referral, supervisor or worker, worker.id if supervisor else None)
        service.add_contact(case, worker, {"channel": "text", "outcome": "spoke", "minutes": 10,
                                           "note": "DEMO: made-up sample contact."})
        service.add_task(case, worker, "DEMO: call back about housing",
                         datetime.date.today() + datetime.timedelta(days=2))
        if case.client_id:
            service.add_message(case, worker, "DEMO: made-up message. I have the leaflet about housing for you. "
                                              "Shall we meet on Thursday?")
        for step in ("assessment", "plan", "active"):
            try:
                case = service.set_stage(case, step, worker)
            except service.CaseworkError:
                break
            if step == stage:
                break
    declined = Referral.create(source="self", working_name="DEMO Robin", contact="07700 900005", **base)
    Referral.update(status="declined", decline_reason="outside_area",
                    decided_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                    decided_by=worker.id).where(Referral.id == declined.id).execute()
