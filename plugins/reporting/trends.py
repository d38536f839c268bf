"""Trends: what the reports say is happening, by month, with no small number shown.

The numbers (docs/modules/trends.md):
- reports counted by the month they were sent (not rejected or duplicate ones), by region (the
  configured list; anything else is "Not given"), by incident type (a report can name several;
  a type named by fewer than RARE_TYPE reports in all is counted in "Other types, grouped"), and how
  many asked for help with a police report (the police_report consent) or for support
  (wants_support), as they stand now;
- monthly series from other plugins (alerts published, checks made) through the trend_series hook.

Hiding small numbers (core.suppression): every count from 1 to 4 is "fewer than 5" and enough others
are hidden that no total gives one away. A 0 is shown: nobody can be picked out of nobody, and
hiding every empty region or type would hide every count beside it (core.suppression's
zeros_shown: a hidden "<5" then means 1 to 4, and the check allows for that).

Filters must not undo that, so the hiding is decided once per month on two fixed tables that do
not depend on the filters: for each month, what reporters asked for (police and support, police
only, support only, neither: one partition, so one table) x regions, and incident types x
regions, each with its totals. A page (or the CSV, or GET /api/v1/trends) only ever shows cells of
those tables, or the sum of cells that are all shown: the "Total" column without a region filter,
a region's column with one. Nothing is ever added up across months, so choosing another period
shows the same cells.

The first table's last line (reports per region) decides what is hidden of that line; where it
is hidden, the types table hides that region's whole column, so the types table never says more
about a region's number of reports than the first table does.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from peewee import fn

from core.db import is_sqlite
from core.plugins import get_registry
from core.suppression import PRIMARY, SECONDARY, THRESHOLD, suppress
from plugins.reporting import _, _l, options
from plugins.reporting.models import Consent, Report

COUNTED_STATUSES = ("new", "triage", "needs_info", "verified")
ASKED = ("both", "police", "support", "neither")  # what a reporter asked for, as it stands now
RARE_TYPE = 10  # a type named by fewer reports than this, in all, is grouped with the other rare ones
MAX_MONTHS = 36
DEFAULT_MONTHS = 12
GROUPED = "_grouped"
NONE = "_none"


class TrendsError(ValueError):
    """A filter that cannot be used; the message is translated."""


@dataclass(frozen=True)
class Filters:
    first: datetime.date  # the first day of the first month
    last: datetime.date  # the first day of the last month
    region: str | None = None

    @property
    def months(self) -> list[str]:
        found, month = [], self.first
        while month <= self.last:
            found.append(f"{month:%Y-%m}")
            month = _next_month(month)
        return found

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime.combine(self.first, datetime.time())

    @property
    def end(self) -> datetime.datetime:
        return datetime.datetime.combine(_next_month(self.last), datetime.time())


def _next_month(day: datetime.date) -> datetime.date:
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def parse_filters(args) -> Filters:
    """from=YYYY-MM, to=YYYY-MM (default: the last 12 months, this one included) and region=code."""
    today = datetime.date.today().replace(day=1)

    def month(name: str) -> datetime.date | None:
        text = (args.get(name) or "").strip()
        if not text:
            return None
        try:
            if len(text) != 7:
                raise ValueError(text)
            return datetime.date.fromisoformat(text + "-01")
        except ValueError:
            raise TrendsError(_("Please give months as year-month, e.g. 2025-03.")) from None

    last = month("to") or today
    first = month("from")
    if first is None:
        first = last
        for _step in range(DEFAULT_MONTHS - 1):
            first = (first - datetime.timedelta(days=1)).replace(day=1)
    if first > last:
        raise TrendsError(_("The first month must not be after the last."))
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise TrendsError(_("Please choose at most %(count)d months.", count=MAX_MONTHS))
    region = (args.get("region") or "").strip() or None
    if region is not None and region not in {choice.code for choice in options.configured("regions")}:
        raise TrendsError(_("Please choose one of the listed regions."))
    return Filters(first, last, region)


def month_of(column):
    """A date-time column's month as 'YYYY-MM', computed by the database (for a GROUP BY)."""
    if is_sqlite():
        return fn.strftime("%Y-%m", column)
    return fn.to_char(column, "YYYY-MM")


# -- what is shown ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    count: int | None  # None: hidden
    hidden: str | None = None  # PRIMARY ("<5": fewer than 5) or SECONDARY ("*": hidden to protect another)

    @property
    def text(self) -> str:
        if self.hidden == PRIMARY:
            return str(_("fewer than 5"))
        if self.hidden == SECONDARY:
            return str(_("not shown"))
        return str(self.count)

    @property
    def csv(self) -> str:
        return self.hidden or str(self.count)

    def as_json(self) -> dict:
        return {"count": self.count, "suppressed": self.hidden}


def _cell(value: int, hidden: dict, at: tuple[int, int]) -> Cell:
    mark = hidden.get(at)
    return Cell(None, mark) if mark else Cell(value)


@dataclass
class Row:
    code: str
    label: str
    cells: list[Cell]
    total: bool = False  # the table's total line


@dataclass
class Table:
    key: str
    title: str
    note: str
    rows: list[Row]
    kind: str = "heat"  # "heat" (several lines) or "bars" (one line drawn, with its total beside it)


@dataclass
class Trends:
    filters: Filters
    months: list[str]
    tables: list[Table] = field(default_factory=list)


# -- counting -------------------------------------------------------------------------------------


def asked_labels() -> dict[str, str]:
    return {
        "both": str(_l("Help with a police report, and support")),
        "police": str(_l("Help with a police report only")),
        "support": str(_l("Support only")),
        "neither": str(_l("Neither")),
    }


def _regions() -> list[tuple[str, str]]:
    return [(choice.code, str(choice.label)) for choice in options.configured("regions")] + [
        (NONE, str(_l("Not given")))]


def type_rows() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The incident-type lines ((code, label)) and which line each stored code is counted in.

    Decided on every report ever counted, not on the filters, so every period and region is cut
    the same way. A configured type named by fewer than RARE_TYPE reports in all, and any code no
    longer configured, is counted in one grouped line.
    """
    totals: dict[str, int] = defaultdict(int)
    for text, count in (Report.select(Report.incident_types, fn.COUNT(Report.id))
                        .where(Report.status.in_(COUNTED_STATUSES)).group_by(Report.incident_types).tuples()):
        for code in {c for c in (text or "").split(",") if c}:
            totals[code] += count
    rows, line_of = [], {}
    for choice in options.configured("incident_types"):
        if totals.get(choice.code, 0) >= RARE_TYPE:
            rows.append((choice.code, str(choice.label)))
            line_of[choice.code] = choice.code
    rows.append((GROUPED, str(_l("Other types, grouped (each named by few reports)"))))
    rows.append((NONE, str(_l("No type given"))))
    return rows, line_of


@dataclass
class _Month:
    """One month's counts: region column -> count, per line of each table."""

    types: dict = field(default_factory=lambda: defaultdict(int))  # (line, region) -> reports naming it
    asked: dict = field(default_factory=lambda: defaultdict(int))  # (ASKED code, region)


def _count(filters: Filters, line_of: dict[str, str]) -> dict[str, _Month]:
    known = {code for code, _label in _regions()}
    in_range = (Report.status.in_(COUNTED_STATUSES) & (Report.created_at >= filters.start)
                & (Report.created_at < filters.end))
    consents: dict[int, set[str]] = defaultdict(set)
    for report_id, purpose in (Consent.select(Consent.report, Consent.purpose)
                               .join(Report, on=(Consent.report == Report.id))
                               .where(in_range & Consent.withdrawn_at.is_null()
                                      & Consent.purpose.in_(("police_report", "wants_support"))).tuples()):
        consents[report_id].add(purpose)
    found: dict[str, _Month] = defaultdict(_Month)
    for report_id, created_at, region, types in (Report.select(Report.id, Report.created_at, Report.region,
                                                               Report.incident_types).where(in_range).tuples()):
        month = found[f"{created_at:%Y-%m}"]
        column = region if region in known else NONE
        lines = {line_of.get(code, GROUPED) for code in (types or "").split(",") if code} or {NONE}
        for line in lines:
            month.types[(line, column)] += 1
        given = consents.get(report_id, set())
        police, support = "police_report" in given, "wants_support" in given
        month.asked[("both" if police and support else "police" if police else "support" if support
                     else "neither", column)] += 1
    return found


def _grid(counts: dict, rows: list[str], columns: list[str]) -> list[list[int]]:
    body = [[counts.get((r, c), 0) for c in columns] for r in rows]
    body = [line + [sum(line)] for line in body]
    return body + [[sum(line[k] for line in body) for k in range(len(columns) + 1)]]


def linked_suppress(reference: list[list[int]], others: list[list[list[int]]],
                    threshold: int = THRESHOLD) -> tuple[dict, list[dict]]:
    """Hide cells of tables that share their last line (reports per region, and in all).

    `reference` decides the shared line. In every other table, a column whose shared total is
    hidden is hidden whole, and the rest is checked as if the shared line were known (so what it
    shows is safe whatever the reference gives away); if that hides a shared total of its own,
    the reference hides it too, and everything is decided again. Returns the hidden cells of the
    reference and of each other table, as core.suppression.suppress does.
    """
    forced: set[tuple[int, int]] = set()
    last_row = len(reference) - 1
    while True:
        mine = suppress(reference, threshold, hidden=forced, zeros_shown=True)
        columns = {j for i, j in mine if i == last_row}
        results, more = [], set()
        for grid in others:
            last = len(grid) - 1
            whole = {(i, j) for j in columns for i in range(last)}
            if len(grid[0]) - 1 in columns:  # the grand total is hidden: say nothing in this table
                whole = {(i, j) for i in range(last + 1) for j in range(len(grid[0]))}
            hidden = suppress(grid, threshold, hidden=whole, zeros_shown=True)
            more |= {(last_row, j) for i, j in hidden if i == last} - {(last_row, j) for j in columns}
            for j in columns:
                if grid[last][j]:
                    hidden[(last, j)] = PRIMARY if grid[last][j] < threshold else SECONDARY
            results.append(hidden)
        if not more:
            return mine, results
        forced |= more


def build(filters: Filters) -> Trends:
    """Every table of the trends page for these filters, small numbers hidden."""
    type_lines, line_of = type_rows()
    regions = _regions()
    columns = [code for code, _label in regions]
    months = filters.months
    counted = _count(filters, line_of)
    # Per month: the hidden cells of each fixed table.
    type_codes = [code for code, _label in type_lines]
    decided = {}
    for month in months:
        counts = counted.get(month, _Month())
        asked = _grid(counts.asked, list(ASKED), columns)
        types = _grid(counts.types, type_codes, columns)
        hidden_asked, (hidden_types,) = linked_suppress(asked, [types])
        decided[month] = {"asked": (asked, hidden_asked), "types": (types, hidden_types)}
    column = columns.index(filters.region) if filters.region else len(columns)  # a region's, or the total

    def line(table: str, index: int, at: int = column) -> list[Cell]:
        cells = []
        for month in months:
            grid, hidden = decided[month][table]
            cells.append(_cell(grid[index][at], hidden, (index, at)))
        return cells

    def added(*indexes: int) -> list[Cell]:
        """The sum of cells of the first table, shown only when every one of them is shown."""
        parts = [line("asked", i) for i in indexes]
        return [Cell(sum(c.count for c in cells)) if all(c.count is not None for c in cells)
                else Cell(None, SECONDARY) for cells in zip(*parts, strict=True)]

    result = Trends(filters, months)
    total_row = len(ASKED)
    result.tables.append(Table(
        "reports", str(_l("Reports received")), str(_l("Reports sent each month, not counting rejected or "
                                                       "repeated ones.")),
        [Row("reports", str(_l("Reports")), line("asked", total_row), total=True)], kind="bars"))
    if filters.region is None:
        rows = [Row(code, label, line("asked", total_row, at=j)) for j, (code, label) in enumerate(regions)]
        rows.append(Row("total", str(_l("All regions")), line("asked", total_row), total=True))
        result.tables.append(Table("regions", str(_l("Reports by region")),
                                   str(_l("Where it happened, as the reporter chose it.")), rows))
    rows = [Row(code, label, line("types", i)) for i, (code, label) in enumerate(type_lines)]
    rows.append(Row("total", str(_l("All types named")), line("types", len(type_lines)), total=True))
    result.tables.append(Table("types", str(_l("Incidents by type")),
                               str(_l("A report can name more than one type, so these add up to more than the "
                                      "number of reports.")), rows))
    result.tables.append(Table("police", str(_l("Reports to the police")), str(_l(
        "Reporters who asked for help to make a full report to the police (and have not withdrawn it). Shown "
        "only when the two numbers it is made of are shown below.")),
        [Row("police", str(_l("Asked for help with a police report")), added(0, 1))], kind="bars"))
    result.tables.append(Table("support", str(_l("Support asked for")), str(_l(
        "Reporters who asked for support from a caseworker (and have not withdrawn it). Shown only when the "
        "two numbers it is made of are shown below.")),
        [Row("support", str(_l("Asked for support")), added(0, 2))], kind="bars"))
    labels = asked_labels()
    rows = [Row(code, labels[code], line("asked", i)) for i, code in enumerate(ASKED)]
    rows.append(Row("total", str(_l("Reports")), line("asked", total_row), total=True))
    result.tables.append(Table("asked", str(_l("What reporters asked for")), str(_l(
        "Each report is counted once: help with a police report, support from a caseworker, both, or neither.")),
        rows))
    result.tables.extend(other_tables(filters))
    return result


def other_tables(filters: Filters) -> list[Table]:
    """Series other plugins add (trend_series hook): each count from 1 to 4 is hidden; none is added up."""
    tables = []
    app = current_app._get_current_object()
    for answer in get_registry().call("trend_series", app=app, start=filters.start, end=filters.end,
                                      region=filters.region):
        for series in answer or []:
            counts = series.get("counts") or {}
            cells = [Cell(None, PRIMARY) if 0 < counts.get(m, 0) < THRESHOLD else Cell(int(counts.get(m, 0)))
                     for m in filters.months]
            key = "".join(ch for ch in str(series.get("key", "series")) if ch.isalnum() or ch in "_-")[:40]
            tables.append(Table(key, str(series.get("label", key)), str(series.get("note", "")),
                                [Row(key, str(series.get("label", key)), cells)], kind="bars"))
    return tables


def as_json(trends: Trends) -> dict:
    return {
        "from": trends.months[0], "to": trends.months[-1], "region": trends.filters.region,
        "months": trends.months, "threshold": THRESHOLD,
        "tables": [{
            "key": table.key, "title": table.title,
            "rows": [{"code": row.code, "label": row.label, "total": row.total,
                      "counts": [dict(month=m, **cell.as_json()) for m, cell in zip(trends.months, row.cells,
                                                                                   strict=True)]}
                     for row in table.rows],
        } for table in trends.tables],
    }


def as_csv(trends: Trends) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_safe(str(_l("Red Umbrella trends"))), trends.months[0], trends.months[-1],
                     trends.filters.region or ""])
    writer.writerow([_safe(str(_l("Counts from 1 to 4 are shown as <5; * is hidden so that they cannot be worked "
                                  "out from the totals.")))])
    for table in trends.tables:
        writer.writerow([])
        writer.writerow([_safe(table.title)])
        writer.writerow([""] + trends.months)
        for row in table.rows:
            writer.writerow([_safe(row.label)] + [cell.csv for cell in row.cells])
    return out.getvalue()


def _safe(text: str) -> str:
    """A spreadsheet must not read a label as a formula ('=', '+', '-', '@' at the start)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- who may see it ---------------------------------------------------------------------------------


def audience() -> str:
    from plugins.reporting.service import settings

    return settings()["trends_audience"]


def may_see(user) -> bool:
    """Staff with reporting.trends always; anyone signed in or everyone when an admin opened it."""
    from core.permissions import user_has

    chosen = audience()
    if chosen == "public":
        return True
    if chosen == "members" and getattr(user, "is_authenticated", False):
        return True
    return user_has(current_app, user, "reporting.trends")
