"""The evidence pack: the client's own reports and the case's timeline, for the police, with consent.

Only with the client's current consent (a ClientConsent "police_evidence_pack" that is not
withdrawn, given on their page or recorded by the worker on their word) can the worker produce it,
and it holds only:
- each linked report's own words and facts, as the client gave them through the reporting plugin
  (reference, date sent, when it happened, what kind of harm, region, place, their account);
- the case timeline's events of the kinds listed in POLICE_KINDS (when support began, appointments,
  the justice journey, earlier packs), as dates and labels.
Never referrals to other services, contact notes, assessments, plans, messages, supervision, the
worker's notes, the reporter's contact details, attachments or moderators' notes. Producing it
writes a Disclosure ("police", what was in it) on the client's ledger, a timeline event and an
audit entry; producing it again writes another, so the ledger counts every copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.audit import record
from core.db import db
from plugins.casework import _, _l
from plugins.casework.models import Case, CaseEvent, CaseReport, ClientConsent, Disclosure
from plugins.casework.timeline import add_event

PURPOSE = "police_evidence_pack"
RECIPIENT = "police"
# Timeline kinds that may go to the police: what happened on the justice journey and around it, never
# the support itself (assessments, plans, contacts, messages, supervision, break-glass).
POLICE_KINDS = ("opened", "appointment", "appointment_changed", "appointment_cancelled", "appointment_attendance",
                "justice_path", "justice_step", "evidence_pack")


def event_labels() -> dict:
    return {
        "evidence_pack": _l("Evidence pack produced for the police"),
        "consent": _l("Consent given or withdrawn"),
    }


def consent(case: Case) -> ClientConsent | None:
    return (ClientConsent.select()
            .where((ClientConsent.case == case.id) & (ClientConsent.purpose == PURPOSE)
                   & ClientConsent.withdrawn_at.is_null())
            .order_by(ClientConsent.id.desc()).first())


def record_consent(case: Case, actor) -> ClientConsent:
    """The worker records the client's agreement (given on their word) to an evidence pack."""
    with db.atomic():
        existing = consent(case)
        if existing is not None:
            return existing
        row = ClientConsent.create(case=case, purpose=PURPOSE, given_by_client=False)
        add_event(case, "consent", actor, detail=PURPOSE + ":given", row_id=row.id)
        record("case.consent_recorded", target=case.target(), actor_id=getattr(actor, "id", actor))
    return row


@dataclass
class PackReport:
    reference: str
    sent_on: object
    occurred_on: object
    occurred_time: str
    incident_types: list
    region: str
    location: str | None
    narrative: str | None


@dataclass
class Pack:
    case: Case
    reports: list
    events: list
    reporting_available: bool
    disclosure: Disclosure | None = None


def _reports(case: Case) -> tuple[list[PackReport], bool]:
    from flask import current_app

    from core.plugins import get_registry

    if not get_registry(current_app._get_current_object()).is_enabled("reporting"):
        return [], False
    from plugins.reporting import options
    from plugins.reporting.models import Report

    ids = [row.report_id for row in CaseReport.select().where(CaseReport.case == case.id).order_by(CaseReport.id)]
    found = []
    for report in Report.select().where(Report.id.in_(ids)).order_by(Report.created_at) if ids else []:
        found.append(PackReport(
            reference=report.reference,
            sent_on=report.created_at.date(),
            occurred_on=report.occurred_on,
            occurred_time=str(options.label_for("times", report.occurred_time)),
            incident_types=[str(options.label_for("incident_types", code)) for code in report.incident_type_codes],
            region=str(options.label_for("regions", report.region)),
            location=report.location,
            narrative=report.narrative,
        ))
    return found, True


def _events(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.select().where((CaseEvent.case == case.id) & CaseEvent.kind.in_(POLICE_KINDS))
                .order_by(CaseEvent.created_at, CaseEvent.id))


def preview(case: Case) -> Pack:
    reports, available = _reports(case)
    return Pack(case, reports, _events(case), available)


def describe(disclosure: Disclosure) -> str:
    """What a disclosure held, in the reader's language (an evidence pack's codes made into words)."""
    if disclosure.consent != PURPOSE:
        return disclosure.what
    reports, _sep, timeline = disclosure.what.partition(";")
    references = reports.removeprefix("reports:").replace(",", ", ") or _("none")
    try:
        count = int(timeline.removeprefix("timeline:"))
    except ValueError:
        count = 0
    return _("An evidence pack: your reports (%(references)s) and the timeline of your support "
             "(%(count)d entries)", references=references, count=count)


def recipient_label(disclosure: Disclosure) -> str:
    return _("The police") if disclosure.recipient == RECIPIENT and disclosure.consent == PURPOSE else \
        disclosure.recipient


class NoConsent(Exception):
    """The client has not agreed (or withdrew): no pack."""


def produce(case: Case, actor) -> Pack:
    """Build the pack and record the disclosure on the ledger (raises NoConsent without consent)."""
    with db.atomic():
        if consent(case) is None:
            raise NoConsent()
        pack = preview(case)
        # Stored as codes, shown in the reader's language by describe().
        what = f"reports:{','.join(r.reference for r in pack.reports)};timeline:{len(pack.events)}"
        pack.disclosure = Disclosure.create(case=case, by=getattr(actor, "id", actor), recipient=RECIPIENT,
                                            what=what, consent=PURPOSE)
        add_event(case, "evidence_pack", actor, detail=str(len(pack.reports)), row_id=pack.disclosure.id)
        record("case.evidence_pack", target=case.target(), actor_id=getattr(actor, "id", actor))
    pack.events = _events(case)
    return pack
