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

    def shown(self) -> list[list[str]]:
        grid = self.grid()
        hidden = suppress(grid)
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
    sector_rows = [(code, labels.get(code, code)) for code in KINDS] + [(NONE, no_org)]
    org_rows = sorted(org_names.items(), key=lambda item: (item[1].lower(), item[0]))
    if any(key[0] == NONE for key in by_org):
        org_rows.append((NONE, no_org))
    return [
        Table("sector", _("Completions by sector"), sector_rows, columns, by_kind),
        Table("organisation", _("Completions by organisation"), org_rows, columns, by_org),
    ]


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
