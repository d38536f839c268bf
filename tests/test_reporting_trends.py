"""Trends: the page, its CSV and GET /api/v1/trends show monthly counts with no count between 1 and
4, and the hiding cannot be undone from the totals, the neighbouring cells, other regions or other
periods (a property-based test over small random populations, checked by brute force)."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import re

import pytest
from helpers import enable, sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reporting_common import in_db

from core.suppression import PRIMARY, SECONDARY, suppress
from plugins.reporting import trends

REGIONS = ["london", "wales"]


@pytest.fixture
def app(app):
    enable(app, "reporting", "alerts")
    with in_db(app):
        from core.settings import save_settings
        from plugins.reporting.service import settings

        save_settings("reporting", {**settings(), "regions": REGIONS, "trends_audience": "staff"})
    return app


@pytest.fixture
def staff(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("moderator", email="mod@example.org"))
    return client


def add_reports(app, month: str, count: int, region: str | None = "london", types: str = "robbery",
                police: bool = False, support: bool = False, status: str = "verified") -> None:
    from plugins.reporting.models import Consent, Report
    from plugins.reporting.service import new_reference

    when = datetime.datetime.fromisoformat(month + "-10T12:00:00")
    with in_db(app):
        for _ in range(count):
            report = Report.create(reference=new_reference(), status=status, incident_types=types, region=region,
                                   narrative="CANARY-TRENDS-7781", created_at=when, updated_at=when,
                                   status_changed_at=when)
            for purpose, wanted in (("police_report", police), ("wants_support", support)):
                if wanted:
                    Consent.create(report=report, purpose=purpose, given_at=when)


def small(count) -> bool:
    return count is not None and 0 < count < 5


def shown_counts(body: dict) -> list[int | None]:
    return [cell["count"] for table in body["tables"] for row in table["rows"] for cell in row["counts"]]


# -- the page, the CSV and the API -------------------------------------------------------------------


def test_staff_see_charts_and_tables_with_no_count_under_5(app, staff):
    add_reports(app, "2025-01", 12, police=True)
    add_reports(app, "2025-01", 3, region="wales", types="rape", support=True)  # a small group
    add_reports(app, "2025-02", 7, types="robbery,threats")
    add_reports(app, "2025-02", 6, region=None, types="")
    add_reports(app, "2025-02", 2, status="rejected")  # never counted
    page = staff.get("/reporting/trends/?from=2025-01&to=2025-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('role="img"') >= 5 and "<title id=\"chart-reports-title\">" in html
    assert "CANARY-TRENDS" not in html
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert cells and all(text in ("fewer than 5", "not shown") or not small(int(text)) for text in cells)
    # The SVG never draws a hidden count as a bar, nor writes its number.
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        numbers = [int(n) for n in re.findall(r'class="chart-value[^"]*"[^>]*>(\d+)<', svg)]
        assert not any(small(n) for n in numbers)
    body = staff.get("/api/v1/trends?from=2025-01&to=2025-03").get_json()
    assert not any(small(count) for count in shown_counts(body))
    reports = next(t for t in body["tables"] if t["key"] == "reports")["rows"][0]["counts"]
    assert [c["count"] for c in reports] == [15, 13, 0]
    asked = {row["code"]: [c["count"] for c in row["counts"]]
             for row in next(t for t in body["tables"] if t["key"] == "asked")["rows"]}
    police = next(t for t in body["tables"] if t["key"] == "police")["rows"][0]["counts"]
    # 12 asked for police help, 3 for support: the 3 is hidden, and so is the 12, which would give it
    # away (15 - 12); the police line, their sum with 0 for "both", is hidden too.
    assert asked["police"][0] is None and asked["support"][0] is None and asked["both"][0] == 0
    assert asked["total"][0] == 15 and police[0] == {"month": "2025-01", "count": None, "suppressed": "*"}
    csv_body = staff.get("/reporting/trends/trends.csv?from=2025-01&to=2025-03")
    assert csv_body.status_code == 200 and csv_body.mimetype == "text/csv"
    text = csv_body.get_data(as_text=True)
    assert "CANARY-TRENDS" not in text
    values = [cell for line in csv.reader(io.StringIO(text)) if line and re.fullmatch(r"\d{4}-\d{2}", line[0]) is None
              for cell in line[1:] if re.fullmatch(r"\d+|<5|\*", cell)]
    assert values and all(cell in ("<5", "*") or not small(int(cell)) for cell in values)
    # The same numbers as the API, table by table.
    api_cells = [c["suppressed"] or str(c["count"]) for t in body["tables"] for r in t["rows"] for c in r["counts"]]
    assert values == api_cells


def test_a_region_filter_shows_the_same_cells_as_the_whole(app, staff):
    """A region's page shows the cells of the same fixed tables as the whole (its column), so
    comparing regions, or a region with the whole, never gives a hidden count away."""
    add_reports(app, "2025-01", 9, police=True)
    add_reports(app, "2025-01", 6, region="wales")
    add_reports(app, "2025-01", 2, region="wales", police=True)
    add_reports(app, "2025-02", 20, region="wales", police=True)
    whole = staff.get("/api/v1/trends?from=2025-01&to=2025-02").get_json()
    wales = staff.get("/api/v1/trends?from=2025-01&to=2025-02&region=wales").get_json()
    assert wales["region"] == "wales" and "regions" not in [t["key"] for t in wales["tables"]]
    region_row = next(r for r in next(t for t in whole["tables"] if t["key"] == "regions")["rows"]
                      if r["code"] == "wales")
    wales_reports = next(t for t in wales["tables"] if t["key"] == "reports")["rows"][0]["counts"]
    assert wales_reports == region_row["counts"]
    assert wales_reports[1] == {"month": "2025-02", "count": 20, "suppressed": None}
    asked = {r["code"]: r["counts"][0] for r in next(t for t in wales["tables"] if t["key"] == "asked")["rows"]}
    assert asked["police"]["count"] is None and asked["police"]["suppressed"] == PRIMARY  # 2 asked in Wales
    assert asked["neither"]["count"] is None  # 6 did not, hidden so that the 2 cannot be worked out
    assert not any(small(count) for count in shown_counts(wales) + shown_counts(whole))
    # The same cells whatever the period: February alone shows what January-February shows for it.
    february = staff.get("/api/v1/trends?from=2025-02&to=2025-02&region=wales").get_json()
    for table, longer in zip(february["tables"], wales["tables"], strict=True):
        for row, longer_row in zip(table["rows"], longer["rows"], strict=True):
            assert row["counts"] == longer_row["counts"][1:]


def test_other_plugins_add_series_through_the_hook(app, staff):
    from plugins.alerts.models import Alert

    with in_db(app):
        for day in range(6):
            Alert.create(status="published", title="x", published_at=datetime.datetime(2025, 3, day + 1))
        Alert.create(status="published", title="x", published_at=datetime.datetime(2025, 4, 2))
    body = staff.get("/api/v1/trends?from=2025-03&to=2025-04").get_json()
    alerts = next(t for t in body["tables"] if t["key"] == "alerts_published")["rows"][0]["counts"]
    assert [c["count"] for c in alerts] == [6, None] and alerts[1]["suppressed"] == PRIMARY
    assert "checks" in [t["key"] for t in body["tables"]]
    # For one region, checks (which have no region) are left out.
    regional = staff.get("/api/v1/trends?from=2025-03&to=2025-04&region=london").get_json()
    assert "checks" not in [t["key"] for t in regional["tables"]]
    with app.app_context():
        from core.db import connection
        from core.plugins import get_registry

        with connection():
            get_registry(app).set_enabled("alerts", False)
    body = staff.get("/api/v1/trends?from=2025-03&to=2025-04").get_json()
    assert "alerts_published" not in [t["key"] for t in body["tables"]]


def test_who_may_see_the_trends_follows_the_setting(app, client, make_user):
    from core.settings import save_settings
    from plugins.reporting.service import settings

    assert client.get("/reporting/trends/").status_code == 302
    assert client.get("/api/v1/trends").status_code == 401
    member = app.test_client()
    sign_in(member, make_user("member"))
    assert member.get("/reporting/trends/").status_code == 403
    assert member.get("/reporting/trends/trends.csv").status_code == 403
    with in_db(app):
        save_settings("reporting", {**settings(), "trends_audience": "members"})
    assert member.get("/reporting/trends/").status_code == 200
    assert client.get("/api/v1/trends").status_code == 401
    with in_db(app):
        save_settings("reporting", {**settings(), "trends_audience": "public"})
    assert client.get("/reporting/trends/").status_code == 200
    assert client.get("/api/v1/trends").status_code == 200
    from marshmallow import ValidationError

    with in_db(app), pytest.raises(ValidationError):
        save_settings("reporting", {**settings(), "trends_audience": "nobody"})


def test_bad_filters_are_refused_with_a_reason(staff):
    assert staff.get("/api/v1/trends?from=2025-13").status_code == 422
    assert staff.get("/api/v1/trends?from=2025-05&to=2025-01").status_code == 422
    assert staff.get("/api/v1/trends?from=2020-01&to=2025-01").status_code == 422  # more than 36 months
    assert staff.get("/api/v1/trends?region=atlantis").status_code == 422
    page = staff.get("/reporting/trends/?from=soon")
    assert page.status_code == 422 and "year-month" in page.get_data(as_text=True)


def test_trends_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/trends"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "region"}


def test_a_type_named_by_few_reports_is_grouped(app, staff):
    add_reports(app, "2025-01", 12, types="robbery")
    add_reports(app, "2025-01", 6, types="blackmail")  # fewer than RARE_TYPE in all
    body = staff.get("/api/v1/trends?from=2025-01&to=2025-01").get_json()
    codes = [row["code"] for row in next(t for t in body["tables"] if t["key"] == "types")["rows"]]
    assert "robbery" in codes and "blackmail" not in codes and trends.GROUPED in codes


# -- the hiding itself, over small random populations ------------------------------------------------

COLUMNS = 2  # a region and "not given": small enough to check every table by brute force
report = st.tuples(st.integers(0, COLUMNS - 1), st.booleans(), st.booleans(), st.sampled_from(["a", "b", "ab", ""]))


def _grids(population):
    asked, types = {}, {}
    for column, police, support, named in population:
        code = "both" if police and support else "police" if police else "support" if support else "neither"
        asked[(code, column)] = asked.get((code, column), 0) + 1
        for line in (set(named) or {"none"}):
            types[(line, column)] = types.get((line, column), 0) + 1
    columns = list(range(COLUMNS))
    return trends._grid(asked, list(trends.ASKED), columns), trends._grid(types, ["a", "b", "none"], columns)


def _fits(mark, value) -> bool:
    return 0 < value < 5 if mark == PRIMARY else value >= 5 if mark == SECONDARY else value == mark


def _line_checks(grid, hidden) -> None:
    """No count 1-4 shown, no 0 hidden; no line (a row or a column with its total) has exactly one
    hidden cell."""
    for (i, j), mark in hidden.items():
        assert grid[i][j] > 0
    for i, line in enumerate(grid):
        for j, value in enumerate(line):
            assert (i, j) in hidden or not 0 < value < 5
    for i in range(len(grid)):
        assert sum((i, j) in hidden for j in range(len(grid[0]))) != 1
    for j in range(len(grid[0])):
        assert sum((i, j) in hidden for i in range(len(grid))) != 1


def _values_possible(grid, hidden, largest: int) -> dict[tuple[int, int], set[int]]:
    """Brute force, not using core.suppression: every table agreeing with what is shown ("<5" is
    1-4, "*" is 5 or more, a shown count is itself); the values each hidden cell takes among them."""
    rows, cols = len(grid) - 1, len(grid[0]) - 1
    marks = [[hidden.get((i, j), value) for j, value in enumerate(line)] for i, line in enumerate(grid)]

    def domain(mark):
        return range(1, 5) if mark == PRIMARY else range(5, largest + 1) if mark == SECONDARY else [mark]

    per_column = [[cells for cells in itertools.product(*(domain(marks[i][j]) for i in range(rows)))
                   if _fits(marks[rows][j], sum(cells))] for j in range(cols)]
    found: dict[tuple[int, int], set[int]] = {cell: set() for cell in hidden}
    for choice in itertools.product(*per_column):
        sums = [sum(column[i] for column in choice) for i in range(rows)]
        if not all(_fits(marks[i][cols], sums[i]) for i in range(rows)) or not _fits(marks[rows][cols], sum(sums)):
            continue
        table = [[choice[j][i] for j in range(cols)] + [sums[i]] for i in range(rows)]
        table.append([sum(column) for column in choice] + [sum(sums)])
        for (i, j) in hidden:
            found[(i, j)].add(table[i][j])
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(report, min_size=0, max_size=9))
def test_no_hidden_count_can_be_worked_out(population):
    asked, types = _grids(population)
    hidden_asked, (hidden_types,) = trends.linked_suppress(asked, [types])
    for grid, hidden in ((asked, hidden_asked), (types, hidden_types)):
        _line_checks(grid, hidden)
    # The reports in each region: hidden in the types table wherever the first table hides them.
    shared = {j for i, j in hidden_asked if i == len(asked) - 1}
    assert shared <= {j for i, j in hidden_types if i == len(types) - 1}
    for j in shared:
        assert all((i, j) in hidden_types for i in range(len(types)) if types[i][j])
    largest = len(population) + 3
    if any(mark == SECONDARY and asked[i][j] < 5 for (i, j), mark in hidden_asked.items()):
        return  # the whole table is "not shown": nothing but its zeros is said
    for cell, values in _values_possible(asked, hidden_asked, largest).items():
        assert len(values) >= 2, (population, cell, values)


def test_a_cell_another_table_hides_is_hidden_and_protected():
    grid = [[10, 20, 30], [30, 40, 70], [40, 60, 100]]
    hidden = suppress(grid, hidden={(0, 0)})
    assert hidden[(0, 0)] == SECONDARY and len(hidden) >= 4  # a cycle of four, so 10 cannot be worked out
    assert suppress(grid) == {}


def test_with_zeros_shown_a_small_count_beside_zeros_is_still_protected():
    grid = [[3, 0, 3], [6, 7, 13], [9, 7, 16]]
    hidden = suppress(grid, zeros_shown=True)
    assert hidden[(0, 0)] == hidden[(0, 2)] == PRIMARY and (0, 1) not in hidden
    assert all(len(values) >= 2 for values in _values_possible(grid, hidden, 30).values())
    # Without zeros_shown the 0 is hidden too, and so is more.
    assert (0, 1) in suppress(grid)


def test_every_look_by_a_signed_in_person_is_audited_with_what_was_asked(app, staff, client):
    from core.audit import AuditEntry
    from core.settings import save_settings
    from plugins.reporting.service import settings

    add_reports(app, "2025-03", 7)
    assert staff.get("/reporting/trends/?from=2025-01&to=2025-06&region=london").status_code == 200
    assert staff.get("/reporting/trends/trends.csv?from=2025-01&to=2025-06").status_code == 200
    assert staff.get("/api/v1/trends?from=2025-02&to=2025-03").status_code == 200
    assert staff.get("/api/v1/trends?from=2025-13").status_code == 422  # refused: nothing was shown
    with in_db(app):
        entries = [(e.action, e.target, e.actor_id is not None)
                   for e in AuditEntry.select().where(AuditEntry.action.startswith("trends."))
                   .order_by(AuditEntry.id)]
        save_settings("reporting", {**settings(), "trends_audience": "public"})
    assert entries == [("trends.viewed", "trends:2025-01..2025-06 region=london", True),
                       ("trends.downloaded", "trends:2025-01..2025-06", True),
                       ("trends.viewed", "trends:2025-02..2025-03", True)]
    assert client.get("/api/v1/trends").status_code == 200  # a public visitor is not on record
    with in_db(app):
        assert AuditEntry.select().where(AuditEntry.action.startswith("trends.")).count() == 3


def test_the_audience_setting_offers_its_choices_in_words(app, make_user):
    admin = app.test_client()
    sign_in(admin, make_user("admin"))
    page = admin.get("/admin/plugins/reporting/settings").get_data(as_text=True)
    for words in ("Staff only (moderators and administrators)", "Anyone signed in", "Everyone, without signing in"):
        assert words in page
    assert re.search(r'<option value="members"[^>]*>Anyone signed in</option>', page)
