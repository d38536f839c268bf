"""Research exports: de-identified, k-anonymous CSV files of the reports whose reporters said yes to
research, made only after a second staff member approves (docs/modules/trends.md).

- Only reports with a research consent that is not withdrawn *when the file is made* (so a
  withdrawal keeps a report out of every later download), not rejected or duplicate ones, sent in
  the months asked for.
- De-identified: only the attributes below, all codes (no free text, no identifiers, no contact
  details, no reference, no exact date: the month it happened; places as configured regions).
- k-anonymous by global recoding (the Datafly method): while more than MAX_LEFT_OUT of the rows
  are in a combination shared by fewer than k reports, the attribute with the most distinct values
  is made coarser (month -> quarter -> year -> any; types -> broad groups -> any; the others ->
  any). Rows still in a combination shared by fewer than k are left out and counted. Rows are
  sorted by their values, so their order says nothing about when a report came.
- Every file made is audited with its counts and attribute list (never a row), and counted on
  the request.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from core.audit import record
from core.db import db, lock_row, utcnow
from plugins.reporting import _, _l, options
from plugins.reporting.models import Consent, Report, ResearchExport
from plugins.reporting.trends import COUNTED_STATUSES

ATTRIBUTES = ("month", "region", "types", "setting", "contact", "police", "support")
MAX_LEFT_OUT = 0.05  # generalise further while more than this share of rows would be left out
APPROVAL_DAYS = 7  # an approved export can be made for this long
ANY = "*"
NOT_GIVEN = "not_given"
# Broad incident groups: the first step of generalising incident types.
TYPE_GROUPS = {
    "physical_assault": "violence", "sexual_assault": "violence", "rape": "violence",
    "robbery": "theft_or_money", "non_payment": "theft_or_money", "blackmail": "theft_or_money",
    "threats": "threats_or_harassment", "harassment": "threats_or_harassment", "doxxing": "threats_or_harassment",
}
LEVELS = {"month": 3, "region": 1, "types": 2, "setting": 1, "contact": 1, "police": 1, "support": 1}


def attribute_labels() -> dict[str, str]:
    return {
        "month": _("Month it happened"),
        "region": _("Region"),
        "types": _("Incident types"),
        "setting": _("Work setting"),
        "contact": _("How contact was made"),
        "police": _("Asked for help with a police report"),
        "support": _("Asked for support"),
    }


class ResearchError(ValueError):
    """The step cannot be taken; the message is translated."""


# -- from a report to a row --------------------------------------------------------------------------


def _base(report: tuple, consents: set[str]) -> dict[str, str]:
    """The finest values of one report (codes only)."""
    _id, occurred_on, region, types, work_setting, contact_method = report
    regions = {choice.code for choice in options.configured("regions")}
    return {
        "month": f"{occurred_on:%Y-%m}" if occurred_on else NOT_GIVEN,
        "region": region if region in regions else NOT_GIVEN,
        "types": "+".join(sorted({c for c in (types or "").split(",") if c})) or NOT_GIVEN,
        "setting": work_setting or NOT_GIVEN,
        "contact": contact_method or NOT_GIVEN,
        "police": "yes" if "police_report" in consents else "no",
        "support": "yes" if "wants_support" in consents else "no",
    }


def generalise(attribute: str, value: str, level: int) -> str:
    """The value made coarser `level` steps (0: as it is; LEVELS[attribute]: any)."""
    if level <= 0:
        return value
    if level >= LEVELS[attribute]:
        return ANY
    if value == NOT_GIVEN:
        return value
    if attribute == "month":
        year, month = value.split("-")
        return f"{year}-Q{(int(month) - 1) // 3 + 1}" if level == 1 else year
    if attribute == "types":
        return "+".join(sorted({TYPE_GROUPS.get(code, "other") for code in value.split("+")}))
    return ANY


@dataclass
class Made:
    """One export, made: its rows (generalised), what was done, and what was left out."""

    attributes: list[str]
    k: int
    levels: dict[str, int]
    rows: list[dict[str, str]] = field(default_factory=list)
    consenting: int = 0  # reports that said yes to research, in the period
    left_out: int = 0  # of those, rows that could not be generalised enough


def anonymise(base_rows: list[dict[str, str]], attributes: list[str], k: int) -> Made:
    """Generalise (global recoding) until at most MAX_LEFT_OUT of the rows are in a combination
    shared by fewer than k; leave those out."""
    levels = dict.fromkeys(attributes, 0)
    while True:
        rows = [{a: generalise(a, row[a], levels[a]) for a in attributes} for row in base_rows]
        sizes = Counter(tuple(row[a] for a in attributes) for row in rows)
        small = sum(count for count in sizes.values() if count < k)
        coarser = [a for a in attributes if levels[a] < LEVELS[a]]
        if small <= MAX_LEFT_OUT * len(rows) or not coarser:
            break
        distinct = {a: len({row[a] for row in rows}) for a in coarser}
        levels[max(coarser, key=lambda a: (distinct[a], -attributes.index(a)))] += 1
    kept = [row for row in rows if sizes[tuple(row[a] for a in attributes)] >= k]
    kept.sort(key=lambda row: tuple(row[a] for a in attributes))
    return Made(list(attributes), k, levels, kept, len(base_rows), len(base_rows) - len(kept))


def consenting_reports(first: str, last: str) -> list[dict[str, str]]:
    """The finest values of every report that says yes to research now, sent in these months."""
    start = datetime.datetime.fromisoformat(first + "-01")
    year, month = int(last[:4]), int(last[5:])
    end = datetime.datetime(year + month // 12, month % 12 + 1, 1)
    research = (Consent.select(Consent.report)
                .where((Consent.purpose == "research") & Consent.withdrawn_at.is_null()))
    reports = list(Report.select(Report.id, Report.occurred_on, Report.region, Report.incident_types,
                                 Report.work_setting, Report.contact_method)
                   .where(Report.id.in_(research) & Report.status.in_(COUNTED_STATUSES)
                          & (Report.created_at >= start) & (Report.created_at < end)).tuples())
    given: dict[int, set[str]] = {}
    if reports:
        for report_id, purpose in (Consent.select(Consent.report, Consent.purpose)
                                   .where(Consent.report.in_([r[0] for r in reports]) & Consent.withdrawn_at.is_null()
                                          & Consent.purpose.in_(("police_report", "wants_support"))).tuples()):
            given.setdefault(report_id, set()).add(purpose)
    return [_base(report, given.get(report[0], set())) for report in reports]


def make(export: ResearchExport) -> Made:
    return anonymise(consenting_reports(export.first_month, export.last_month), export.attribute_codes, export.k)


# -- the files ---------------------------------------------------------------------------------------


def data_csv(made: Made) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(made.attributes)
    for row in made.rows:
        writer.writerow([row[a] for a in made.attributes])
    return out.getvalue()


def dictionary_csv(made: Made, export: ResearchExport) -> str:
    """What each column means and how coarse it was made, and the counts of the export."""
    level_words = {
        "month": {0: _l("year-month it happened (YYYY-MM)"), 1: _l("quarter it happened (YYYY-Qn)"),
                  2: _l("year it happened")},
        "types": {0: _l("incident type codes named in the report, joined by +"),
                  1: _l("broad groups of the types named (violence, theft_or_money, threats_or_harassment, other), "
                        "joined by +")},
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["column", "meaning", "values"])
    labels = attribute_labels()
    for attribute in made.attributes:
        level = made.levels[attribute]
        if level >= LEVELS[attribute]:
            values = _("* for every row: made fully general so that no row could be picked out")
        elif attribute in level_words:
            values = str(level_words[attribute][level])
        elif attribute in ("police", "support"):
            values = _("yes or no (the reporter's choice when this file was made)")
        else:
            values = _("a code of this instance's list (GET /api/v1/regions and the like)")
        writer.writerow([attribute, labels[attribute], f"{values}; {NOT_GIVEN}: {_('not given')}"])
    writer.writerow([])
    writer.writerow(["k", made.k, _("every combination of values above is shared by at least this many rows")])
    writer.writerow(["rows", len(made.rows), ""])
    writer.writerow(["left_out", made.left_out,
                     _("reports that said yes to research but could not be grouped with k others")])
    writer.writerow(["reports_sent", f"{export.first_month}..{export.last_month}",
                     _("months in which the reports were sent")])
    writer.writerow(["consent", "research", _("only reports whose reporter says yes to research now")])
    return out.getvalue()


def zipped(made: Made, export: ResearchExport) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.csv", data_csv(made))
        archive.writestr("data_dictionary.csv", dictionary_csv(made, export))
    return buffer.getvalue()


# -- asking, approving, making -------------------------------------------------------------------------


def ask(user, first: str, last: str, attributes: list[str], k: int) -> ResearchExport:
    chosen = [a for a in ATTRIBUTES if a in set(attributes)]
    if not chosen:
        raise ResearchError(_("Please choose at least one thing to export."))
    if first > last:
        raise ResearchError(_("The first month must not be after the last."))
    with db.atomic():
        export = ResearchExport.create(requested_by=user, first_month=first, last_month=last,
                                       attributes=",".join(chosen), k=max(5, int(k)))
        record("research_export.requested", target=f"research_export:{export.id}", actor_id=user.id)
    return export


def decide(export: ResearchExport, user, approve: bool) -> ResearchExport:
    """A second staff member approves (or refuses): never the person who asked."""
    with db.atomic():
        lock_row(ResearchExport, export.id)
        export = ResearchExport.get_by_id(export.id)
        if export.requested_by_id == user.id:
            raise ResearchError(_("Someone other than the person who asked must approve an export."))
        if export.status != "requested":
            raise ResearchError(_("This export has already been decided."))
        export.status = "approved" if approve else "refused"
        export.decided_by = user
        export.decided_at = utcnow()
        export.save(only=[ResearchExport.status, ResearchExport.decided_by, ResearchExport.decided_at])
        record(f"research_export.{export.status}", target=f"research_export:{export.id}", actor_id=user.id)
    return export


def usable(export: ResearchExport) -> bool:
    return (export.status == "approved" and export.decided_at is not None
            and utcnow() - export.decided_at <= datetime.timedelta(days=APPROVAL_DAYS))


def produce(export: ResearchExport, user) -> tuple[Made, bytes]:
    """Make the file now (from the consents as they are now), count it and audit what it held."""
    if not usable(export):
        raise ResearchError(_("This export is not approved, or its approval has run out: please ask again."))
    made = make(export)
    body = zipped(made, export)
    with db.atomic():
        ResearchExport.update(downloads=ResearchExport.downloads + 1, last_rows=len(made.rows),
                              last_left_out=made.left_out).where(ResearchExport.id == export.id).execute()
        levels = "".join(str(made.levels[a]) for a in made.attributes)
        record("research_export.made", actor_id=user.id,
               target=f"research_export:{export.id} rows={len(made.rows)} left_out={made.left_out} k={made.k} "
                      f"levels={levels} attrs={export.attributes}"[:128])
    return made, body
