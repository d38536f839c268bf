"""The reports an alert may be written from, and what it may take from them.

A report may be the source of an alert when it is verified and its reporter currently agrees to a
community warning (`eligible`). A draft takes from its reports only structured facts, never text
the reporter typed (COPIED_FROM_REPORTS, `details_from_reports`); `reporter_words` shows a
moderator the description and vehicle the reporter gave, beside the form, to write from (staff
only; never saved in the alert). Reports verified with that consent and not yet used wait for a
moderator as candidates (`add_candidate`, `open_candidates`).
"""

from __future__ import annotations

from core.db import utcnow
from plugins.alerts import _
from plugins.alerts.details import allowed_details
from plugins.alerts.errors import AlertError
from plugins.alerts.models import IDENTIFIER_KINDS, PERSON, Alert, AlertSource, Candidate

# What a draft takes from its reports, field by field (docs/modules/alerts.md, "Where alerts
# come from"). Only structured facts, never text the reporter typed:
#   incident types  codes from the configured list             copied
#   region          a code from the configured list            copied
#   occurred_on     a date (the latest of the reports)         copied
#   identifiers     phones, e-mails, plates, online names,     copied with include_perpetrators
#                   normalised (E.164, lower case...), as the check matches them
#   description, vehicle (gender, age, height, build, hair,    never copied: free text; shown to the
#     distinguishing features, languages; make, model, colour) moderator beside the form (reporter_words)
#   names, narrative, location, time of day, work setting,     never copied, never read here
#     contact method, anything about the reporter
COPIED_FROM_REPORTS = ("incident_types", "region", "occurred_on", "identifiers")


def reporting_models():
    from plugins.reporting import models

    return models


def eligible(report) -> bool:
    """Verified, and the reporter currently agrees to a community warning."""
    return report.status == "verified" and report.has_consent("share_alert")


def check_eligible(reports: list) -> None:
    """Raise AlertError (422, "reports") naming the first report an alert may not be written from."""
    for report in reports:
        if not eligible(report):
            raise AlertError(_("Report %(reference)s cannot be used: an alert needs a verified report whose "
                               "reporter agreed to a community warning.", reference=report.reference), 422, "reports")


def eligible_reports(limit: int = 200) -> list:
    """Verified reports with a current share_alert consent, newest first (for the moderator's picker)."""
    models = reporting_models()
    Report, Consent = models.Report, models.Consent
    consented = Consent.select(Consent.report).where(
        (Consent.purpose == "share_alert") & Consent.withdrawn_at.is_null()
    )
    return list(
        Report.select()
        .where((Report.status == "verified") & (Report.id.in_(consented)))
        .order_by(Report.verified_at.desc(nulls="LAST"), Report.id.desc())
        .limit(limit)
    )


def reports_by_reference(references: list[str]) -> list:
    """The reports named, each checked; raises AlertError (422) naming the first that cannot be used."""
    Report = reporting_models().Report
    found = []
    for reference in references:
        report = Report.get_or_none(Report.reference == str(reference).strip().upper())
        if report is None:
            raise AlertError(_("There is no report %(reference)s.", reference=reference), 422, "reports")
        check_eligible([report])
        found.append(report)
    if not found:
        raise AlertError(_("Please choose at least one report."), 422, "reports")
    return found


def details_from_reports(reports: list) -> dict:
    """What a draft may take from these reports: the structured facts of COPIED_FROM_REPORTS,
    nothing the reporter typed."""
    models = reporting_models()
    incident_types: list[str] = []
    regions: list[str] = []
    dates = []
    identifiers = []
    seen_identifiers = set()
    for report in reports:
        for code in report.incident_type_codes:
            if code not in incident_types:
                incident_types.append(code)
        if report.region and report.region not in regions:
            regions.append(report.region)
        if report.occurred_on:
            dates.append(report.occurred_on)
        rows = models.PerpetratorIdentifier.select().where(models.PerpetratorIdentifier.report == report)
        for row in rows:
            if row.kind in IDENTIFIER_KINDS and (row.kind, row.blind_index) not in seen_identifiers:
                seen_identifiers.add((row.kind, row.blind_index))
                identifiers.append({"kind": row.kind, "value": row.display})
    return {
        "incident_types": incident_types,
        "regions": regions,
        "occurred_on": max(dates) if dates else None,
        "identifiers": identifiers,
    }


def reporter_words(alert: Alert) -> list[dict]:
    """For the moderator writing the alert, staff only: the description and vehicle each source
    report gives of the people who did harm, as the reporter wrote them. Shown beside the form to
    write from; never copied into the alert and never part of what members see.
    [{"reference": "R-...", "people": [{"description": {...}, "vehicle": {...}}]}]"""
    models = reporting_models()
    ids = source_report_ids(alert)
    if not ids:
        return []
    found = []
    for report in models.Report.select().where(models.Report.id.in_(ids)).order_by(models.Report.id):
        people = []
        for person in models.Perpetrator.select().where(models.Perpetrator.report == report).order_by(
                models.Perpetrator.position):
            description, vehicle = allowed_details(person.description_dict, person.vehicle_dict)
            if description or vehicle:
                people.append({"description": description, "vehicle": vehicle})
        found.append({"reference": report.reference, "people": people})
    return found


def source_report_ids(alert: Alert) -> list[int]:
    return [row.report_id for row in AlertSource.select(AlertSource.report_id).where(AlertSource.alert == alert)]


def source_references(alert: Alert) -> list[str]:
    Report = reporting_models().Report
    ids = source_report_ids(alert)
    if not ids:
        return []
    return [row.reference for row in Report.select(Report.reference).where(Report.id.in_(ids))]


def no_longer_eligible(alert: Alert):
    """The first source report that no longer allows a community warning (its consent was
    withdrawn or its status changed since), or None."""
    Report = reporting_models().Report
    for report_id in source_report_ids(alert):
        report = Report.get_or_none(Report.id == report_id)
        if report is not None and not eligible(report):
            return report
    return None


def sources_still_consenting(alert: Alert) -> bool:
    """False when a source report's consent to a community warning was withdrawn since (staff see it)."""
    return no_longer_eligible(alert) is None


def dismiss_candidates(report_ids: list[int]) -> None:
    """Take these reports off the moderators' list of candidates (used by an alert, or dismissed)."""
    Candidate.update(dismissed_at=utcnow()).where(
        Candidate.report_id.in_(report_ids) & Candidate.dismissed_at.is_null()
    ).execute()


def add_candidate(report) -> None:
    """Called when a report is verified: if a warning may be shared, put it before moderators."""
    if eligible(report):
        Candidate.insert(report_id=report.id).on_conflict_ignore().execute()


def open_candidates() -> list:
    """Verified, consenting reports that no alert uses yet and nobody dismissed."""
    Report = reporting_models().Report
    rows = list(Candidate.select().where(Candidate.dismissed_at.is_null()).order_by(Candidate.created_at.desc()))
    # A safety notice citing a report (a pattern) does not warn about its person: still a candidate.
    used = {row.report_id for row in AlertSource.select(AlertSource.report_id).join(Alert).where(
        Alert.kind == PERSON)}
    reports = []
    for row in rows:
        if row.report_id in used:
            continue
        report = Report.get_or_none(Report.id == row.report_id)
        if report is not None and eligible(report):
            reports.append(report)
    return reports
