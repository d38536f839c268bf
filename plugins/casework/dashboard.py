"""The caseload dashboard (supervision) and the aggregate returns for funders.

/casework/dashboard                 cases per worker (open, by stage), overdue tasks, risk reviews due
                                    or overdue, high-risk cases, referrals waiting and for how long;
                                    supervisors see every worker and the break-glass entries no
                                    supervisor has seen yet (and mark them seen); a caseworker sees
                                    their own caseload only
/casework/returns                   counts by period (month or quarter), for supervisors only
/casework/returns.csv               the same as a CSV file (each download is audited)

Every count is made by the database (GROUP BY), a fixed handful of queries whatever the number of
cases: no query per case or per worker.

Small numbers in the returns: every count under 5 is shown as "<5". Totals are exact, so a hidden
count could be worked out by subtraction from its row or column total; where it could, a second
count in that row or column is hidden as well (shown as "*", always 5 or more). The rule is
checked exactly, not by a rule of thumb: a hidden count is safe when the table, its totals and
what "<5" and "*" tell (0-4, 5 or more) still allow at least one other value for it (a cycle of
hidden cells along which counts can move, see `suppress`). Nothing is rounded.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from peewee import SQL, fn
from peewee import Case as SqlCase

from core.accounts.models import User
from core.audit import record
from core.db import db, is_sqlite, utcnow
from core.numbers import whole_number
from core.permissions import requires
from core.suppression import PRIMARY, SECONDARY, suppress  # noqa: F401 - PRIMARY, SECONDARY: also read from here
from plugins.casework import _, _l
from plugins.casework.access import CASES, SUPERVISE, is_supervisor
from plugins.casework.models import (
    JUSTICE_PATHS,
    OPEN_STAGES,
    REFERRAL_SOURCES,
    STAGES,
    BreakGlass,
    Case,
    OutcomeMeasure,
    Referral,
    Task,
)

bp = Blueprint("casework_dashboard", __name__, url_prefix="/casework")

THRESHOLD = 5  # counts under this are never shown
REVIEW_SOON_DAYS = 7  # a risk review due within this many days is listed as "due"
LIST_LIMIT = 25  # rows in each list on the dashboard (the counts are always complete)
MAX_MONTHS = 36  # the longest range a return covers
CHANGES = ("improved", "same", "worse")


def _user():
    return current_user._get_current_object()


def _settings() -> dict:
    from core.settings import plugin_settings

    return plugin_settings("casework")


# -- the caseload dashboard --------------------------------------------------------------------------------


@dataclass
class WorkerLoad:
    worker_id: int | None
    name: str = ""
    stages: dict = field(default_factory=dict)
    overdue_tasks: int = 0
    reviews_overdue: int = 0
    reviews_due: int = 0
    high_risk: int = 0
    warning: bool = False

    @property
    def open(self) -> int:
        return sum(self.stages.values())


def caseload(user, today: datetime.date | None = None) -> dict:
    """What the dashboard shows to `user`: every worker for a supervisor, else their own cases only."""
    today = today or datetime.date.today()
    soon = today + datetime.timedelta(days=REVIEW_SOON_DAYS)
    supervisor = is_supervisor(user)
    # Supervisors see every open case; a caseworker their own only.
    is_open = Case.stage.in_(OPEN_STAGES) if supervisor else Case.stage.in_(OPEN_STAGES) & (Case.worker == user.id)

    loads: dict[int | None, WorkerLoad] = {}

    def load(worker_id):
        return loads.setdefault(worker_id, WorkerLoad(worker_id))

    # 1. open cases per worker and stage
    for worker_id, stage, count in (Case.select(Case.worker, Case.stage, fn.COUNT(Case.id))
                                    .where(is_open).group_by(Case.worker, Case.stage).tuples()):
        load(worker_id).stages[stage] = count
    # 2. risk: reviews overdue, due soon, high-risk cases, per worker
    overdue = fn.SUM(SqlCase(None, [(Case.risk_review_on < today, 1)], 0))
    due = fn.SUM(SqlCase(None, [((Case.risk_review_on >= today) & (Case.risk_review_on <= soon), 1)], 0))
    high = fn.SUM(SqlCase(None, [(Case.risk_level == "high", 1)], 0))
    for worker_id, n_overdue, n_due, n_high in (
            Case.select(Case.worker, overdue, due, high).where(is_open).group_by(Case.worker).tuples()):
        row = load(worker_id)
        row.reviews_overdue, row.reviews_due, row.high_risk = int(n_overdue or 0), int(n_due or 0), int(n_high or 0)
    # 3. overdue tasks per worker (of the case)
    overdue_tasks = (Task.select(Case.worker, fn.COUNT(Task.id)).join(Case)
                     .where(Task.done_at.is_null() & (Task.due_on < today) & is_open).group_by(Case.worker))
    for worker_id, count in overdue_tasks.tuples():
        load(worker_id).overdue_tasks = count
    if not supervisor:
        load(user.id)  # a worker with no open cases still sees their own (empty) row

    limit = int(_settings().get("caseload_warning") or 20)
    names = _names(w for w in loads if w is not None)
    for row in loads.values():
        row.name = names.get(row.worker_id, "")
        row.warning = row.worker_id is not None and row.open > limit
    rows = sorted(loads.values(), key=lambda r: (r.worker_id is None, r.name.lower(), r.worker_id or 0))
    totals = WorkerLoad(None)
    for row in rows:
        for stage, count in row.stages.items():
            totals.stages[stage] = totals.stages.get(stage, 0) + count
        totals.overdue_tasks += row.overdue_tasks
        totals.reviews_overdue += row.reviews_overdue
        totals.reviews_due += row.reviews_due
        totals.high_risk += row.high_risk

    # 4. the lists behind the counts (bounded; codes, dates and references only)
    task_list = list(Task.select(Task.id, Task.due_on, Case.reference, Case.worker).join(Case)
                     .where(Task.done_at.is_null() & (Task.due_on < today) & is_open)
                     .order_by(Task.due_on, Task.id).limit(LIST_LIMIT).dicts())
    review_list = list(Case.select(Case.reference, Case.worker, Case.risk_level, Case.risk_review_on)
                       .where(is_open & (Case.risk_review_on <= soon))
                       .order_by(Case.risk_review_on, Case.id).limit(LIST_LIMIT).dicts())
    high_list = list(Case.select(Case.reference, Case.worker, Case.risk_review_on, Case.stage)
                     .where(is_open & (Case.risk_level == "high"))
                     .order_by(Case.risk_review_on.asc(nulls="FIRST"), Case.id).limit(LIST_LIMIT).dicts())

    # 5. referrals waiting (not anyone's yet: every caseworker sees the queue)
    waiting_count, oldest = (Referral.select(fn.COUNT(Referral.id), fn.MIN(Referral.created_at))
                             .where(Referral.status == "open").tuples().get())
    referrals = list(Referral.select(Referral.id, Referral.source, Referral.created_at)
                     .where(Referral.status == "open").order_by(Referral.created_at, Referral.id)
                     .limit(LIST_LIMIT).dicts())
    now = utcnow()
    for item in referrals:
        item["days"] = (now - item["created_at"]).days

    # 6. break-glass entries no supervisor has seen yet (supervisors only)
    glass, glass_count = [], 0
    if supervisor:
        unseen = BreakGlass.seen_by_supervisor_at.is_null()
        glass_count = BreakGlass.select().where(unseen).count()
        glass = list(BreakGlass.select(BreakGlass, Case.reference).join(Case).where(unseen)
                     .order_by(BreakGlass.created_at, BreakGlass.id).limit(LIST_LIMIT))
        names.update(_names(g.user_id for g in glass if g.user_id not in names))
    return {
        "supervisor": supervisor, "today": today, "limit": limit, "rows": rows, "totals": totals,
        "stages": OPEN_STAGES, "tasks": task_list, "reviews": review_list, "high": high_list,
        "waiting": waiting_count, "oldest_days": (now - oldest).days if oldest else None,
        "referrals": referrals, "glass": glass, "glass_count": glass_count, "names": names,
    }


def _names(ids) -> dict[int, str]:
    """Staff accounts' display names by id (workers and whoever broke the glass; never clients)."""
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    return {user.id: user.display_name() for user in User.select().where(User.id.in_(ids))}


def mark_glass_seen(ids: list[int], supervisor) -> int:
    """Mark break-glass entries seen by a supervisor; each one marked is audited. Returns how many."""
    with db.atomic():
        found = [row_id for (row_id,) in BreakGlass.select(BreakGlass.id).where(
            BreakGlass.id.in_(ids) & BreakGlass.seen_by_supervisor_at.is_null()).tuples()]
        if found:
            BreakGlass.update(seen_by_supervisor_at=utcnow()).where(BreakGlass.id.in_(found)).execute()
        for row_id in found:
            record("casework.break_glass_seen", target=f"break_glass:{row_id}", actor_id=supervisor.id)
    return len(found)


@bp.route("/dashboard")
@requires(CASES)
def dashboard():
    user = _user()
    from plugins.casework.plans import RISK_LABELS

    data = caseload(user)
    record("casework.dashboard_viewed", target="casework:dashboard", actor_id=user.id)
    return render_template("casework/dashboard/dashboard.html", risk_labels=RISK_LABELS, **data)


@bp.route("/dashboard/break-glass/seen", methods=["POST"])
@requires(SUPERVISE)
def glass_seen():
    ids = [n for n in (whole_number(v, max_digits=11) for v in request.form.getlist("entry")) if n is not None]
    ids = ids[:LIST_LIMIT * 4]
    count = mark_glass_seen(ids, _user()) if ids else 0
    if count:
        flash(_("Marked as seen."), "info")
    else:
        flash(_("Choose at least one entry that is not marked as seen yet."), "error")
    return redirect(url_for("casework_dashboard.dashboard") + "#break-glass", code=303)


# -- the returns ---------------------------------------------------------------------------------------------


class ReturnsError(ValueError):
    """A choice of period the returns cannot be made for; the message is translated."""


@dataclass
class Table:
    """One table of a return: counts by row (a category) and column (a period, or a change), with totals."""

    key: str
    title: str
    rows: list[tuple[str, str]]  # (code, label)
    columns: list[tuple[str, str]]
    counts: dict  # (row code, column code) -> count
    total_label: str = ""

    def grid(self) -> list[list[int]]:
        body = [[self.counts.get((r, c), 0) for c, _l in self.columns] for r, _label in self.rows]
        body = [line + [sum(line)] for line in body]
        return body + [[sum(line[k] for line in body) for k in range(len(self.columns) + 1)]]

    def shown(self) -> list[list[str]]:
        """The table as shown (labels, cells and totals as text), small numbers hidden."""
        grid = self.grid()
        hidden = suppress(grid)
        labels = [label for _code, label in self.rows] + [self.total_label or str(_l("Total"))]
        return [[labels[i]] + [hidden.get((i, j), str(value)) for j, value in enumerate(line)]
                for i, line in enumerate(grid)]

    def header(self) -> list[str]:
        return [""] + [label for _code, label in self.columns] + [str(_l("Total"))]


def periods(kind: str, start: datetime.date, end: datetime.date) -> list[tuple[str, str, list[str]]]:
    """(code, label, months it covers) for each period from the one holding `start` to the one holding `end`."""
    found: list[tuple[str, str, list[str]]] = []
    month = start.replace(day=1)
    if kind == "quarter":
        month = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    while month <= end:
        step = 3 if kind == "quarter" else 1
        covered = []
        for k in range(step):
            m = month.month - 1 + k
            covered.append(f"{month.year + m // 12:04d}-{m % 12 + 1:02d}")
        if kind == "quarter":
            code = f"{month.year}-Q{(month.month - 1) // 3 + 1}"
            label = f"{month.year} Q{(month.month - 1) // 3 + 1}"
        else:
            code = label = f"{month.year:04d}-{month.month:02d}"
        found.append((code, label, covered))
        m = month.month - 1 + step
        month = datetime.date(month.year + m // 12, m % 12 + 1, 1)
    return found


def parse_choice(args) -> tuple[str, datetime.date, datetime.date]:
    """The period kind and range from a query string: period=month|quarter, start=YYYY-MM, end=YYYY-MM.

    Defaults: quarters, from the quarter a year before this one to this one.
    """
    today = datetime.date.today()
    kind = args.get("period") or "quarter"
    if kind not in ("month", "quarter"):
        raise ReturnsError(_("Please choose months or quarters."))

    def month(name: str, default: datetime.date) -> datetime.date:
        text = (args.get(name) or "").strip()
        if not text:
            return default
        try:
            if len(text) != 7:
                raise ValueError(text)
            return datetime.date.fromisoformat(text + "-01")
        except ValueError:
            raise ReturnsError(_("Please give months as year-month, e.g. 2025-03.")) from None

    end = month("end", today.replace(day=1))
    start = month("start", datetime.date(end.year - 1, end.month, 1))
    if start > end:
        raise ReturnsError(_("The first month must not be after the last."))
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        raise ReturnsError(_("Please choose at most %(count)d months.", count=MAX_MONTHS))
    return kind, start, end


def _month_of(column):
    """The column's month as 'YYYY-MM', computed by the database (so counting stays a GROUP BY)."""
    if is_sqlite():
        return fn.strftime("%Y-%m", column)
    return fn.to_char(column, "YYYY-MM")


def _range(found) -> tuple[datetime.datetime, datetime.datetime]:
    first = found[0][2][0]
    last = found[-1][2][-1]
    year, month = int(last[:4]), int(last[5:])
    return (datetime.datetime.fromisoformat(first + "-01"),
            datetime.datetime(year + month // 12, month % 12 + 1, 1))


def _by_period(query, category, when, found, since, until) -> dict:
    """{(category, period code): count} from one GROUP BY query over category and month."""
    period_of = {m: code for code, _label, months in found for m in months}
    counts: dict = defaultdict(int)
    month = _month_of(when)
    for code, month_code, count in (query.select(category, month, fn.COUNT(SQL("*")))
                                    .where((when >= since) & (when < until)).group_by(category, month).tuples()):
        counts[(code or "", period_of.get(month_code, ""))] += count
    return counts


def _rows(known: dict, counts: dict, unknown_label) -> list[tuple[str, str]]:
    """Every known category (even with no count, so a missing row tells nothing), then any other code."""
    rows = [(code, str(label)) for code, label in known.items()]
    for code in sorted({code for code, _period in counts} - set(known)):
        rows.append((code, code if code else str(unknown_label)))
    return rows


def outcome_changes(case_ids_query) -> dict:
    """{(question, "improved"|"same"|"worse"): count}: first answer at intake against last at closure."""
    from plugins.casework.plans import PREFER_NOT

    first: dict[int, dict] = {}
    last: dict[int, dict] = {}
    for case_id, point, answers in (OutcomeMeasure.select(OutcomeMeasure.case, OutcomeMeasure.point,
                                                          OutcomeMeasure.answers)
                                    .where(OutcomeMeasure.case.in_(case_ids_query)
                                           & OutcomeMeasure.point.in_(("intake", "closure")))
                                    .order_by(OutcomeMeasure.created_at, OutcomeMeasure.id).tuples()):
        parsed = json.loads(answers or "{}")
        if point == "intake":
            first.setdefault(case_id, parsed)
        else:
            last[case_id] = parsed
    counts: dict = defaultdict(int)
    for case_id, before in first.items():
        after = last.get(case_id)
        if after is None:
            continue
        for question, was in before.items():
            now = after.get(question)
            if was in (None, PREFER_NOT) or now in (None, PREFER_NOT):
                continue
            change = "improved" if now > was else "worse" if now < was else "same"
            counts[(question, change)] += 1
    return counts


def returns(kind: str, start: datetime.date, end: datetime.date) -> list[Table]:
    """The funders' return for the periods from `start` to `end`: every table, counts not yet hidden."""
    from plugins.casework import plans, service

    found = periods(kind, start, end)
    columns = [(code, label) for code, label, _months in found]
    since, until = _range(found)
    no_code = _l("Not recorded")

    tables = []
    counts = _by_period(Referral.select(), Referral.source, Referral.created_at, found, since, until)
    tables.append(Table("referrals", str(_l("Referrals received, by how they came")),
                        _rows({s: service.source_labels()[s] for s in REFERRAL_SOURCES}, counts, no_code),
                        columns, counts, str(_l("All referrals"))))
    counts = _by_period(Case.select(), Case.stage, Case.created_at, found, since, until)
    tables.append(Table("stages", str(_l("Cases opened, by their stage now")),
                        _rows({s: service.stage_labels()[s] for s in STAGES}, counts, no_code),
                        columns, counts, str(_l("All cases opened"))))
    closed = Case.select().where(Case.stage == "closed")
    counts = _by_period(closed, Case.closure_reason, Case.closed_at, found, since, until)
    tables.append(Table("closures", str(_l("Cases closed, by reason")),
                        _rows(dict(plans.choices("closure_reasons")), counts, no_code),
                        columns, counts, str(_l("All cases closed"))))
    counts = _by_period(Case.select(), Case.justice_path, Case.created_at, found, since, until)
    tables.append(Table("justice", str(_l("Cases opened, by the client's choice about the police")),
                        _rows({p: plans.JUSTICE_PATH_LABELS[p] for p in JUSTICE_PATHS}, counts, no_code),
                        columns, counts, str(_l("All cases opened"))))
    closed_ids = Case.select(Case.id).where((Case.stage == "closed") & (Case.closed_at >= since)
                                            & (Case.closed_at < until))
    counts = outcome_changes(closed_ids)
    change_labels = {"improved": _l("Better"), "same": _l("The same"), "worse": _l("Worse")}
    tables.append(Table("outcomes", str(_l("Outcome measures of cases closed, from the start to closure")),
                        [(q, str(label)) for q, label in plans.OUTCOME_QUESTIONS.items()],
                        [(c, str(change_labels[c])) for c in CHANGES], dict(counts),
                        str(_l("All answers"))))
    return tables


def returns_csv(tables: list[Table], kind: str, start: datetime.date, end: datetime.date) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_safe(str(_l("Red Umbrella casework return"))), kind, f"{start:%Y-%m}", f"{end:%Y-%m}"])
    writer.writerow([_safe(str(_l("Counts under 5 are shown as <5; * is hidden so that they cannot be worked out "
                                  "from the totals.")))])
    for table in tables:
        writer.writerow([])
        writer.writerow([_safe(table.title)])
        writer.writerow([_safe(cell) for cell in table.header()])
        for line in table.shown():
            writer.writerow([_safe(cell) for cell in line])
    return out.getvalue()


def _safe(text: str) -> str:
    """A spreadsheet must not read a label as a formula ('=', '+', '-', '@' at the start)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/returns")
@requires(SUPERVISE)
def returns_page():
    try:
        kind, start, end = parse_choice(request.args)
    except ReturnsError as exc:
        return render_template("casework/dashboard/returns.html", error=str(exc), tables=[],
                               values=request.args), 422
    tables = returns(kind, start, end)
    record("casework.returns_viewed", target=f"returns:{kind}:{start:%Y-%m}:{end:%Y-%m}", actor_id=_user().id)
    return render_template("casework/dashboard/returns.html", error=None, tables=tables, kind=kind,
                           values={"period": kind, "start": f"{start:%Y-%m}", "end": f"{end:%Y-%m}"})


@bp.route("/returns.csv")
@requires(SUPERVISE)
def returns_download():
    try:
        kind, start, end = parse_choice(request.args)
    except ReturnsError as exc:
        abort(422, str(exc))
    body = returns_csv(returns(kind, start, end), kind, start, end)
    record("casework.returns_exported", target=f"returns:{kind}:{start:%Y-%m}:{end:%Y-%m}", actor_id=_user().id)
    name = f"casework-return-{kind}-{start:%Y-%m}-{end:%Y-%m}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

