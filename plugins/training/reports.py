"""Reports for funders: completions by sector, by organisation and by period, and what changed.

- Completions: enrolments completed within the chosen months, by the learner's organisation (its
  kind is the sector), counted by month or quarter. Learners without an organisation are a row
  of their own.
- What changed: for each course with questionnaires, how many answered before and after, and
  the average per statement before and after (each only when its results are shown: at least 5
  answers, counted in fives; see plugins/training/questionnaires.py).
- Small numbers: every count under 5 is shown as "<5", and where a total would let it be worked
  out, a second count is hidden as "*" (core.suppression, the rule the casework returns use).
  Totals are exact. Nothing names a person.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass

from peewee import JOIN

from core.organisations import KINDS, Organisation, OrganisationMember
from core.suppression import PRIMARY, THRESHOLD, suppress
from plugins.training import _
from plugins.training.models import Course, Enrolment

MAX_MONTHS = 36
NONE = "-"  # the row code for learners without an organisation


class ReportError(ValueError):
    """A choice of months the report cannot be made for; the message is translated."""


def kind_labels() -> dict[str, str]:
    return {"police": _("Police"), "health": _("Health"), "support": _("Support services"),
            "local_authority": _("Local authority"), "justice": _("Justice"), "education": _("Education"),
            "other": _("Other")}


@dataclass
class Table:
    """Counts by row (a sector or organisation) and column (a period), with totals."""

    key: str
    title: str
    rows: list[tuple[str, str]]  # (code, label)
    columns: list[tuple[str, str]]
    counts: dict  # (row code, column code) -> count

    def grid(self) -> list[list[int]]:
        body = [[self.counts.get((r, c), 0) for c, _label in self.columns] for r, _label in self.rows]
        body = [line + [sum(line)] for line in body]
        return body + [[sum(line[k] for line in body) for k in range(len(self.columns) + 1)]]

    hidden: dict | None = None  # decided with the tables it is linked to (link_sectors); else alone

    def shown(self) -> list[list[str]]:
        grid = self.grid()
        hidden = self.hidden if self.hidden is not None else suppress(grid)
        labels = [label for _code, label in self.rows] + [_("Total")]
        return [[labels[i]] + [hidden.get((i, j), str(value)) for j, value in enumerate(line)]
                for i, line in enumerate(grid)]

    def header(self) -> list[str]:
        return [""] + [label for _code, label in self.columns] + [_("Total")]


def _month(text: str | None, default: datetime.date) -> datetime.date:
    if not text:
        return default
    try:
        return datetime.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise ReportError(_("Write months as year-month, for example 2026-01.")) from None


def parse_choice(args, today: datetime.date | None = None) -> tuple[str, datetime.date, datetime.date]:
    """(period kind, first month, last month) from the query string; the last 12 months by default."""
    today = today or datetime.date.today()
    kind = args.get("period", "quarter")
    if kind not in ("month", "quarter"):
        raise ReportError(_("Choose months or quarters."))
    end = _month(args.get("end"), today.replace(day=1))
    start_default = (end.replace(year=end.year - 1) + datetime.timedelta(days=32)).replace(day=1)
    start = _month(args.get("start"), start_default)
    if start > end:
        raise ReportError(_("The first month must come before the last."))
    if (end.year - start.year) * 12 + end.month - start.month + 1 > MAX_MONTHS:
        raise ReportError(_("Choose at most %(num)d months.", num=MAX_MONTHS))
    return kind, start, end


def periods(kind: str, start: datetime.date, end: datetime.date) -> list[tuple[str, str]]:
    """(code, label) per period; codes are 2026-01 (months) or 2026-Q1 (quarters)."""
    found, month = [], start
    while month <= end:
        code = f"{month:%Y-%m}" if kind == "month" else f"{month.year}-Q{(month.month - 1) // 3 + 1}"
        if not found or found[-1][0] != code:
            found.append((code, code))
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return found


def _period_of(kind: str, when: datetime.datetime) -> str:
    return f"{when:%Y-%m}" if kind == "month" else f"{when.year}-Q{(when.month - 1) // 3 + 1}"


def completions(kind: str, start: datetime.date, end: datetime.date, course_id: int | None = None) -> list[Table]:
    """Two tables: completions by sector and by organisation, per period (one query)."""
    since = datetime.datetime.combine(start, datetime.time())
    until = datetime.datetime.combine((end + datetime.timedelta(days=32)).replace(day=1), datetime.time())
    query = (Enrolment.select(Enrolment.completed_at, Organisation.id, Organisation.name, Organisation.kind)
             .join(OrganisationMember, on=(OrganisationMember.user == Enrolment.user), join_type=JOIN.LEFT_OUTER)
             .join(Organisation, join_type=JOIN.LEFT_OUTER, on=(Organisation.id == OrganisationMember.organisation))
             .where((Enrolment.status == "completed") & (Enrolment.completed_at >= since)
                    & (Enrolment.completed_at < until)))
    if course_id is not None:
        query = query.where(Enrolment.course == course_id)
    columns = periods(kind, start, end)
    by_kind: dict = {}
    by_org: dict = {}
    org_names: dict[str, str] = {}
    for completed_at, org_id, org_name, org_kind in query.tuples():
        period = _period_of(kind, completed_at)
        sector = org_kind if org_id is not None else NONE
        org = str(org_id) if org_id is not None else NONE
        if org_id is not None:
            org_names[org] = org_name
        by_kind[(sector, period)] = by_kind.get((sector, period), 0) + 1
        by_org[(org, period)] = by_org.get((org, period), 0) + 1
    labels = kind_labels()
    no_org = _("No organisation")
    # Every organisation of the instance is a row (with completions or not), so the organisations
    # shown do not depend on who completed; sectors are those the organisations belong to.
    organisations = {str(o.id): (o.name, o.kind) for o in Organisation.select(Organisation.id, Organisation.name,
                                                                             Organisation.kind)}
    org_names.update({code: name for code, (name, _kind) in organisations.items()})
    sector_of = {code: kind for code, (_name, kind) in organisations.items()}
    sector_of[NONE] = NONE
    used = {kind for kind in sector_of.values()}
    sector_rows = [(code, labels.get(code, code)) for code in KINDS if code in used]
    sector_rows += [(code, code) for code in sorted(used - set(KINDS) - {NONE})]
    sector_rows.append((NONE, no_org))
    org_rows = sorted(org_names.items(), key=lambda item: (sector_order(item[0], sector_of, sector_rows),
                                                           item[1].lower(), item[0]))
    org_rows.append((NONE, no_org))
    sectors = Table("sector", _("Completions by sector"), sector_rows, columns, by_kind)
    orgs = Table("organisation", _("Completions by organisation"), org_rows, columns, by_org)
    link_sectors(sectors, orgs, sector_of)
    return [sectors, orgs]


def sector_order(org: str, sector_of: dict, sector_rows: list) -> int:
    codes = [code for code, _label in sector_rows]
    return codes.index(sector_of.get(org, NONE)) if sector_of.get(org, NONE) in codes else len(codes)


def link_sectors(sectors: Table, orgs: Table, sector_of: dict) -> None:
    """Decide the hidden cells of both tables together, so one cannot give the other away.

    Each sector's row is the sum of its organisations' rows, and both tables share the totals row.
    So, as the reporting plugin's trends do for tables sharing a line (plugins/reporting/trends.py):
    the sector table decides its cells; then, for each sector, its organisations' rows are checked
    as a table of their own whose totals line is the sector's row: a period whose sector count is
    hidden is hidden for all its organisations, and the rest is suppressed as if the sector's row
    were known. The totals row is handled the same way, with every organisation. If that hides a
    sector count the sector table showed, the sector table hides it too and all is decided again.
    """
    sector_grid, org_grid = sectors.grid(), orgs.grid()
    sector_codes = [code for code, _label in sectors.rows]
    org_codes = [code for code, _label in orgs.rows]
    last_sector, last_org = len(sector_grid) - 1, len(org_grid) - 1
    width = len(sector_grid[0])
    groups = [(index, [i for i, code in enumerate(org_codes) if sector_of.get(code, NONE) == sector])
              for index, sector in enumerate(sector_codes)]
    groups.append((last_sector, list(range(last_org))))  # the totals row: every organisation
    forced: set[tuple[int, int]] = set()
    while True:
        mine = suppress(sector_grid, hidden=forced)
        org_hidden: dict = {}
        more: set[tuple[int, int]] = set()
        for sector_index, members in groups:
            if not members:
                continue
            sub = [org_grid[i] for i in members] + [sector_grid[sector_index]]
            shared = {j for i, j in mine if i == sector_index}
            whole = {(i, j) for j in shared for i in range(len(members))}
            if width - 1 in shared:  # the sector's total is hidden: say nothing of its organisations
                whole = {(i, j) for i in range(len(members)) for j in range(width)}
            hidden = suppress(sub, hidden=whole | {(len(members), j) for j in shared})
            more |= {(sector_index, j) for i, j in hidden if i == len(members)} - {(sector_index, j) for j in shared}
            for (i, j), mark in hidden.items():
                if i < len(members):
                    org_hidden[(members[i], j)] = mark
        if not more:
            for (i, j), mark in mine.items():
                if i == last_sector:
                    org_hidden[(last_org, j)] = mark
            sectors.hidden, orgs.hidden = mine, org_hidden
            return
        forced |= more


@dataclass
class Change:
    course: str
    before: str  # how many answered, as shown ("<5" under the threshold)
    after: str
    statements: list[tuple[str, float | None, float | None, float | None]]


def what_changed(course_id: int | None = None) -> list[Change]:
    from plugins.training import questionnaires
    from plugins.training.models import Questionnaire

    course_ids = {row.course_id for row in Questionnaire.select(Questionnaire.course)}
    if course_id is not None:
        course_ids &= {course_id}
    found = []
    for course in Course.select().where(Course.id.in_(sorted(course_ids))).order_by(Course.title, Course.id):
        before = questionnaires.results(course, "before")
        after = questionnaires.results(course, "after")
        if before is None and after is None:
            continue

        def count(result) -> str:
            answered = result.answered if result else 0
            return PRIMARY if answered < THRESHOLD else str(answered)

        found.append(Change(course.title, count(before), count(after), questionnaires.change(before, after)))
    return found


def as_csv(tables: list[Table], changes: list[Change], kind: str, start: datetime.date, end: datetime.date) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_safe(_("Training report")), kind, f"{start:%Y-%m}", f"{end:%Y-%m}"])
    writer.writerow([_safe(_("Counts under 5 are shown as <5; * is hidden so that they cannot be worked out from "
                             "the totals."))])
    for table in tables:
        writer.writerow([])
        writer.writerow([_safe(table.title)])
        writer.writerow([_safe(cell) for cell in table.header()])
        for line in table.shown():
            writer.writerow([_safe(cell) for cell in line])
    writer.writerow([])
    writer.writerow([_safe(_("What changed (average from 1, strongly disagree, to 5, strongly agree)"))])
    writer.writerow([_safe(_("Course")), _safe(_("Statement")), _safe(_("Answered before")),
                     _safe(_("Answered after")), _safe(_("Average before")), _safe(_("Average after")),
                     _safe(_("Change"))])
    for change in changes:
        for text, before, after, delta in change.statements or [("", None, None, None)]:
            writer.writerow([_safe(change.course), _safe(text), change.before, change.after, _num(before),
                             _num(after), _num(delta, signed=True)])
    return out.getvalue()


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _safe(text: str) -> str:
    """A spreadsheet must not read a label as a formula ('=', '+', '-', '@' at the start)."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
