"""Aggregate returns for funders (plugins/casework/dashboard.py): counts by month or quarter, by
referral source, stage, closure reason, the client's choice about the police and outcome-measure
change; every count under 5 hidden ("<5"), and a second count hidden ("*") wherever a hidden one
could be worked out from a total; supervisors only; each CSV download audited."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import json
import random

import pytest
from casework_common import in_db
from helpers import enable, sign_in

from plugins.casework.dashboard import PRIMARY, SECONDARY, suppress

JAN, FEB = datetime.datetime(2024, 1, 15, 12), datetime.datetime(2024, 2, 10, 9)


@pytest.fixture
def app(make_app):
    app = make_app()
    enable(app, "casework")
    return app


@pytest.fixture
def supervisor(make_user):
    return make_user("casework_supervisor", email="sup@example.org")


@pytest.fixture
def worker(make_user):
    return make_user("caseworker", email="worker@example.org")


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def referrals(app, month: datetime.datetime, **counts) -> None:
    from plugins.casework.models import Referral

    with in_db(app):
        for source, count in counts.items():
            for _ in range(count):
                Referral.create(source=source, created_at=month)


_numbers = itertools.count(1)


def cases(app, count: int, opened: datetime.datetime, **fields) -> list[int]:
    from plugins.casework.models import Case

    with in_db(app):
        return [Case.create(reference=f"C-T{next(_numbers):05d}", created_at=opened, **fields).id
                for _ in range(count)]


def tables_of(text: str) -> dict[str, list[list[str]]]:
    """The CSV's tables by title: header row first, then the rows, the totals last."""
    found, current = {}, None
    lines = list(csv.reader(io.StringIO(text)))
    for line in lines[2:]:
        if not line:
            current = None
        elif current is None:
            current = found.setdefault(line[0], [])
        else:
            current.append(line)
    return found


def download(client, **args):
    response = client.get("/casework/returns.csv", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return tables_of(response.get_data(as_text=True))


def assert_no_subtraction(table: list[list[str]]) -> None:
    """No row or column (totals included) has exactly one hidden cell: subtraction gives none away."""
    body = [line[1:] for line in table[1:]]
    lines = body + [list(column) for column in zip(*body, strict=True)]
    for line in lines:
        hidden = [cell for cell in line if cell in (PRIMARY, SECONDARY)]
        assert len(hidden) != 1, line


def test_counts_of_0_1_and_4_are_hidden_5_is_shown_and_a_total_gives_none_away(app, supervisor):
    # January: 1 from a report, 0 given later, 7 self-referrals, 4 from partners (12 in all).
    referrals(app, JAN, report=1, self=7, partner=4)
    # February: every count 5 or more.
    referrals(app, FEB, report=6, consent_later=8, self=5, partner=9)
    client = signed_in(app, supervisor)
    table = download(client, period="month", start="2024-01", end="2024-02")["Referrals received, by how they came"]
    assert table[0] == ["", "2024-01", "2024-02", "Total"]
    rows = {line[0]: line[1:] for line in table[1:]}
    assert rows["From a report"][0] == "<5"  # 1
    assert rows["From a report (support asked for later)"][0] == "<5"  # 0
    assert rows["Referred by a partner"][0] == "<5"  # 4
    assert rows["Asked for support themselves"] == ["7", "5", "12"]  # 5 is shown
    # Without a second hidden count, 7 - 6 would give the report row's January count (1) away.
    assert rows["From a report"] != ["<5", "6", "7"]
    assert_no_subtraction(table)
    # What is shown is still true: every shown count is the real one.
    assert_truthful(table, {"From a report": [1, 6, 7], "From a report (support asked for later)": [0, 8, 8],
                            "Asked for support themselves": [7, 5, 12], "Referred by a partner": [4, 9, 13],
                            "All referrals": [12, 28, 40]})


def test_a_period_with_nothing_shows_every_count_hidden(app, supervisor):
    client = signed_in(app, supervisor)
    tables = download(client, period="quarter", start="2023-01", end="2023-06")
    for title, table in tables.items():
        assert table[0][1:] == ["2023 Q1", "2023 Q2", "Total"] or title.startswith("Outcome")
        for line in table[1:]:
            assert all(cell == PRIMARY for cell in line[1:]), (title, line)


def test_quarters_stages_closure_reasons_and_the_justice_path(app, supervisor, make_user):
    from core.settings import save_settings

    with in_db(app):  # an own closure reason whose name a spreadsheet would read as a formula
        save_settings("casework", {"closure_reasons": ["goals_met", "client_ended", "evil | =1+2"]})
    cases(app, 6, JAN, stage="active", justice_path="reported")
    cases(app, 5, FEB, stage="closed", closed_at=datetime.datetime(2024, 4, 2), closure_reason="goals_met",
          justice_path="chose_not_to_report")
    cases(app, 2, FEB, stage="closed", closed_at=datetime.datetime(2024, 5, 2), closure_reason="evil")
    cases(app, 7, datetime.datetime(2024, 5, 1), stage="new")
    client = signed_in(app, supervisor)
    # Quarters: February to June is the whole of the first and second quarters.
    tables = download(client, period="quarter", start="2024-02", end="2024-06")
    assert tables["Cases opened, by their stage now"][0] == ["", "2024 Q1", "2024 Q2", "Total"]
    assert_truthful(tables["Cases opened, by their stage now"], {
        "New": [0, 7, 7], "Assessment": [0, 0, 0], "Plan": [0, 0, 0], "Active support": [6, 0, 6],
        "Closing": [0, 0, 0], "Closed": [7, 0, 7], "All cases opened": [13, 7, 20]})
    assert_truthful(tables["Cases closed, by reason"], {  # by the quarter they closed in
        "The client's goals were met": [0, 5, 5], "The client chose to end support": [0, 0, 0],
        "'=1+2": [0, 2, 2], "All cases closed": [0, 7, 7]})  # the formula is defused
    assert_truthful(tables["Cases opened, by the client's choice about the police"], {
        "Not decided yet": [2, 7, 9], "Chose not to report": [5, 0, 5], "Shared as intelligence only": [0, 0, 0],
        "Reported to the police": [6, 0, 6], "All cases opened": [13, 7, 20]})
    for table in tables.values():
        assert_no_subtraction(table)


def assert_truthful(table: list[list[str]], real: dict[str, list[int]]) -> None:
    """Every row is there, in order, and each cell is the real count, or "<5" for a real count under
    5, or "*" for a real count of 5 or more."""
    assert [line[0] for line in table[1:]] == list(real)
    for line in table[1:]:
        for cell, value in zip(line[1:], real[line[0]], strict=True):
            assert cell == str(value) or (cell == PRIMARY and value < 5) or (cell == SECONDARY and value >= 5), (
                line, real[line[0]])
    assert any(cell not in (PRIMARY, SECONDARY) for line in table[1:] for cell in line[1:])


def test_outcome_measures_compare_the_start_with_closure(app, supervisor):
    from plugins.casework.models import OutcomeMeasure

    closed = dict(stage="closed", closed_at=datetime.datetime(2024, 2, 20), closure_reason="goals_met")
    ids = cases(app, 9, JAN, **closed)
    still_open = cases(app, 1, JAN, stage="active")
    with in_db(app):
        for n, case_id in enumerate(ids + still_open):
            before = {"feels_safer": 2, "able_to_cope": 3, "satisfied": "prefer_not"}
            after = {"feels_safer": 4 if n < 7 else 1, "able_to_cope": 3, "satisfied": 5}
            OutcomeMeasure.create(case=case_id, point="intake", answers=json.dumps(before), created_at=JAN)
            OutcomeMeasure.create(case=case_id, point="review", answers=json.dumps({"feels_safer": 1}),
                                  created_at=JAN + datetime.timedelta(days=2))
            OutcomeMeasure.create(case=case_id, point="closure", answers=json.dumps(after),
                                  created_at=datetime.datetime(2024, 2, 20))
        from plugins.casework.dashboard import outcome_changes
        from plugins.casework.models import Case

        counts = outcome_changes(Case.select(Case.id).where(Case.stage == "closed"))
    # 9 closed cases: feels safer better for 7, worse for 2; coping the same for all 9;
    # "prefer not to say" at the start leaves satisfaction out; the open case is not counted.
    assert dict(counts) == {("feels_safer", "improved"): 7, ("feels_safer", "worse"): 2,
                            ("able_to_cope", "same"): 9}
    client = signed_in(app, supervisor)
    table = download(client, period="month", start="2024-01", end="2024-03")[
        "Outcome measures of cases closed, from the start to closure"]
    assert table[0] == ["", "Better", "The same", "Worse", "Total"]
    rows = {line[0]: line[1:] for line in table[1:]}
    assert rows["I feel safer"][0] in ("7", SECONDARY) and rows["I feel safer"][2] == PRIMARY
    assert rows["I feel able to cope"][1] in ("9", SECONDARY)
    assert all(cell == PRIMARY for cell in rows["I am satisfied with the support"])
    assert_no_subtraction(table)


def test_the_page_shows_the_tables_and_only_supervisors_see_returns(app, supervisor, worker):
    referrals(app, JAN, self=6, partner=2)
    page = signed_in(app, supervisor).get("/casework/returns?period=month&start=2024-01&end=2024-01")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="table-referrals"' in text and "&lt;5" in text and "Download as CSV" in text
    assert "/casework/returns.csv?" in text
    caseworker = signed_in(app, worker)
    assert caseworker.get("/casework/returns").status_code == 403
    assert caseworker.get("/casework/returns.csv").status_code == 403
    assert app.test_client().get("/casework/returns.csv").status_code == 302


@pytest.mark.parametrize("args", [
    {"period": "year"}, {"start": "2024-13"}, {"start": "24-01"}, {"start": "2024-01-01"},
    {"start": "2024-05", "end": "2024-01"}, {"start": "2020-01", "end": "2024-01"},
])
def test_a_bad_choice_is_a_422_with_a_message(app, supervisor, args):
    client = signed_in(app, supervisor)
    page = client.get("/casework/returns", query_string=args)
    assert page.status_code == 422
    assert 'class="error-summary"' in page.get_data(as_text=True)
    assert client.get("/casework/returns.csv", query_string=args).status_code == 422


def test_each_csv_download_is_audited_and_the_page_view_too(app, supervisor):
    from core.audit import AuditEntry

    client = signed_in(app, supervisor)
    download(client, period="month", start="2024-01", end="2024-03")
    download(client, period="quarter", start="2024-01", end="2024-12")
    client.get("/casework/returns?period=month&start=2024-01&end=2024-02")
    with in_db(app):
        entries = [(e.action, e.target, e.actor_id) for e in AuditEntry.select()
                   .where(AuditEntry.action.startswith("casework.returns")).order_by(AuditEntry.id)]
    assert entries == [("casework.returns_exported", "returns:month:2024-01:2024-03", supervisor.id),
                       ("casework.returns_exported", "returns:quarter:2024-01:2024-12", supervisor.id),
                       ("casework.returns_viewed", "returns:month:2024-01:2024-02", supervisor.id)]


# -- the suppression rule itself ------------------------------------------------------------------------------


def with_totals(body: list[list[int]]) -> list[list[int]]:
    body = [line + [sum(line)] for line in body]
    return body + [[sum(line[k] for line in body) for k in range(len(body[0]))]]


def shown(grid) -> list[list]:
    hidden = suppress(grid)
    return [[hidden.get((i, j), value) for j, value in enumerate(line)] for i, line in enumerate(grid)]


def test_nothing_under_5_nothing_hidden():
    assert shown(with_totals([[5, 20], [30, 40]])) == [[5, 20, 25], [30, 40, 70], [35, 60, 95]]


def test_one_small_count_hides_a_cycle_of_four_and_keeps_the_totals():
    assert shown(with_totals([[3, 20], [30, 40]])) == [["<5", "*", 23], ["*", "*", 70], [33, 60, 93]]


def test_a_small_total_is_hidden_and_so_are_its_parts():
    assert shown(with_totals([[1, 0]])) == [["<5", "<5", "<5"], ["<5", "<5", "<5"]]


def test_two_small_counts_summing_to_their_bound_are_not_given_away():
    # Shown as they are, 18 - 10 = 8 and "<5" twice would give 4 and 4.
    grid = with_totals([[4, 4, 10], [6, 7, 9]])
    result = shown(grid)
    assert result[0][:2] == ["<5", "<5"] and result[0][2] == "*"
    assert_cells_not_derivable(grid, result, largest=30)


def fits(cell, value) -> bool:
    if cell == PRIMARY:
        return value < 5
    if cell == SECONDARY:
        return value >= 5
    return value == cell


def assert_cells_not_derivable(grid, result, largest: int) -> None:
    """Brute force, independent of the rule's own reasoning: every table (counts up to `largest`)
    that agrees with everything shown; each hidden cell takes 2+ values among them."""
    rows, cols = len(grid) - 1, len(grid[0]) - 1

    def domain(cell):
        return range(0, 5) if cell == PRIMARY else range(5, largest + 1) if cell == SECONDARY else [cell]

    matching = []

    def fill(body, i):
        if i == rows:
            other = with_totals(body)
            if all(fits(result[rows][j], other[rows][j]) for j in range(cols + 1)):
                matching.append(other)
            return
        for line in itertools.product(*(domain(result[i][j]) for j in range(cols))):
            if fits(result[i][cols], sum(line)):  # prune: the row's total must agree
                fill(body + [list(line)], i + 1)

    fill([], 0)
    assert matching
    for i in range(rows + 1):
        for j in range(cols + 1):
            if result[i][j] in (PRIMARY, SECONDARY):
                assert len({other[i][j] for other in matching}) >= 2, (grid, result, (i, j))


def test_no_hidden_count_can_be_worked_out_in_random_small_tables():
    rng = random.Random(10)
    for shape in [(2, 2)] * 40 + [(2, 3)] * 4:
        grid = with_totals([[rng.choice([0, 1, 2, 4, 5, 6, 9]) for _c in range(shape[1])] for _r in range(shape[0])])
        assert_cells_not_derivable(grid, shown(grid), largest=20)
