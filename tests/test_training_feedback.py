"""Training questionnaires (anonymous, results from 5 answers in fives, never per person) and the
reports for funders (completions by sector, organisation and period, what changed; small cells
suppressed and not recoverable from the totals).

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import json

import pytest
from casework_common import in_db
from helpers import enable, post_form, sign_in

STATEMENTS = "I would know how to respond to a sex worker reporting a crime\nI feel confident asking about safety"


@pytest.fixture
def training(app):
    enable(app, "training")
    return app


def make_course(app, title="Working without judgement"):
    from plugins.training.models import Course

    with in_db(app):
        return Course.create(title=title, status="published").id


def enrol(app, user, course_id, completed_at=None):
    from plugins.training.models import Enrolment

    with in_db(app):
        return Enrolment.create(course=course_id, user=user.id, status="completed" if completed_at else "active",
                                completed_at=completed_at).id


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def set_statements(client, course_id, text=STATEMENTS):
    path = f"/training/feedback/courses/{course_id}"
    return post_form(client, path, {"statements": text}, token_from=path)


def answer(client, course_id, kind, scores):
    path = f"/training/feedback/courses/{course_id}/{kind}"
    data = {f"s{i}": str(score) for i, score in enumerate(scores)}
    return post_form(client, path, data, token_from=path)


def test_questionnaire_answers_are_anonymous_and_once(training, make_user):
    from plugins.training.models import QuestionnaireAnswer, QuestionnaireDone

    trainer, learner = make_user("trainer"), make_user("learner")
    course_id = make_course(training)
    trainer_client = signed_in(training, trainer)
    assert set_statements(trainer_client, course_id).status_code == 303
    enrol(training, learner, course_id)
    client = signed_in(training, learner)
    page = client.get(f"/training/feedback/courses/{course_id}/before").get_data(as_text=True)
    assert "reporting a crime" in page and 'type="radio"' in page
    assert client.get(f"/training/feedback/courses/{course_id}/after").status_code == 404  # not completed yet
    assert answer(client, course_id, "before", ["skip", "skip"]).status_code == 422  # nothing answered
    assert answer(client, course_id, "before", [7, 1]).status_code == 422
    assert answer(client, course_id, "before", [2, "skip"]).status_code == 303
    again = answer(client, course_id, "before", [5, 5])
    assert again.status_code == 200 and "You have answered this questionnaire" in again.get_data(as_text=True)
    with in_db(training):
        rows = list(QuestionnaireAnswer.select().dicts())
        assert len(rows) == 1 and QuestionnaireDone.select().count() == 1
        row = rows[0]
        assert set(row) == {"id", "questionnaire", "month", "scores"}  # no person, no time finer than the month
        assert json.loads(row["scores"]) == [2, None] and row["month"].day == 1
    # statements are fixed once someone answered
    assert set_statements(trainer_client, course_id, "Something else").status_code == 422


def test_answer_ids_do_not_follow_the_order_people_answered(training, make_user):
    from plugins.training import questionnaires
    from plugins.training.models import Course, QuestionnaireAnswer

    course_id = make_course(training)
    trainer = make_user("trainer")
    with in_db(training):
        course = Course.get_by_id(course_id)
        questionnaires.save_statements(course, ["One"], trainer.id)
        row = questionnaires.questionnaire(course, "before")
        users = [make_user("learner") for _ in range(6)]
        for user in users:
            questionnaires.submit(row, user.id, [3])
        ids = [answer.id for answer in QuestionnaireAnswer.select().order_by(QuestionnaireAnswer.id)]
    assert ids != list(range(1, 7))


def test_results_hidden_under_five_then_shown_in_fives_never_per_person(training, make_user):
    trainer = make_user("trainer")
    course_id = make_course(training)
    trainer_client = signed_in(training, trainer)
    set_statements(trainer_client, course_id)
    path = f"/training/feedback/courses/{course_id}"
    scores = [(1, 2), (2, 2), (3, 4), (4, 4), (5, 5), (5, 5)]
    for count, pair in enumerate(scores, start=1):
        learner = make_user("learner")
        enrol(training, learner, course_id)
        assert answer(signed_in(training, learner), course_id, "before", list(pair)).status_code == 303
        page = trainer_client.get(path).get_data(as_text=True)
        if count < 5:
            assert "Fewer than 5 people have answered" in page and "Average (1 to 5)" not in page
    # six answers: the results count five of them (whole fives), so the sixth changes nothing shown
    page = trainer_client.get(path).get_data(as_text=True)
    assert "Results from 5 answers" in page
    from plugins.training import questionnaires
    from plugins.training.models import Course

    with in_db(training):
        result = questionnaires.results(Course.get_by_id(course_id), "before")
    assert result.answered == 6 and result.counted == 5
    first = result.statements[0]
    assert sum(first.distribution.values()) == 5 and first.answers == 5
    # what the page shows for five: the averages of the five counted, never one person's row
    assert f"{first.average:.2f}" in page


def test_learners_cannot_see_results_or_answer_other_courses(training, make_user):
    trainer, learner = make_user("trainer"), make_user("learner")
    course_id = make_course(training)
    set_statements(signed_in(training, trainer), course_id)
    client = signed_in(training, learner)
    assert client.get(f"/training/feedback/courses/{course_id}").status_code == 403
    assert client.get(f"/training/feedback/courses/{course_id}/before").status_code == 404  # not enrolled
    assert client.get("/training/reports").status_code == 403


def test_before_and_after_change(training, make_user):
    from plugins.training import questionnaires
    from plugins.training.models import Course

    trainer = make_user("trainer")
    course_id = make_course(training)
    set_statements(signed_in(training, trainer), course_id)
    done = datetime.datetime(2026, 2, 1, 12, 0)
    for before, after in [((1, 2), (4, 4)), ((2, 2), (4, 5)), ((2, 3), (5, 5)), ((1, 1), (3, 4)), ((2, 2), (4, 4))]:
        learner = make_user("learner")
        enrolment_id = enrol(training, learner, course_id)
        client = signed_in(training, learner)
        answer(client, course_id, "before", list(before))
        from plugins.training.models import Enrolment

        with in_db(training):
            Enrolment.update(status="completed", completed_at=done).where(Enrolment.id == enrolment_id).execute()
        assert answer(client, course_id, "after", list(after)).status_code == 303
        assert client.get(f"/training/feedback/courses/{course_id}/before").status_code == 404  # too late now
    with in_db(training):
        course = Course.get_by_id(course_id)
        rows = questionnaires.change(questionnaires.results(course, "before"), questionnaires.results(course, "after"))
    assert rows[0][1:] == (1.6, 4.0, 2.4)
    page = signed_in(training, make_user("admin")).get("/training/reports?period=month&start=2026-01&end=2026-03")
    assert page.status_code == 200
    assert "+2.40" in page.get_data(as_text=True)


# -- reports for funders --------------------------------------------------------------------------------


def _organisation(app, name, kind):
    from core.organisations import Organisation

    with in_db(app):
        return Organisation.create(name=name, kind=kind)


def _member(app, user, organisation):
    from core.organisations import set_organisation

    with in_db(app):
        set_organisation(user, organisation)


def consistent_values(grid: list[list[str]]) -> list[dict]:
    """Every table of whole numbers that agrees with what is shown (cells and exact totals).

    A brute-force check that does not use core.suppression. `grid` is the table as shown, without
    labels: its last column and last row are totals. "<5" is 0-4, "*" is 5 up to the grand total
    (or 60 if that is hidden too), numbers are themselves; rows and columns must add up."""
    rows, cols = len(grid), len(grid[0])
    top = int(grid[-1][-1]) if grid[-1][-1].isdigit() else 60
    hidden = [(i, j) for i in range(rows) for j in range(cols) if not grid[i][j].isdigit()]
    ranges = [range(0, 5) if grid[i][j] == "<5" else range(5, top + 1) for i, j in hidden]
    found = []
    for values in itertools.product(*ranges):
        table = [[int(c) if c.isdigit() else 0 for c in line] for line in grid]
        for (i, j), value in zip(hidden, values, strict=True):
            table[i][j] = value
        if all(sum(line[:-1]) == line[-1] for line in table) and all(
                sum(table[i][j] for i in range(rows - 1)) == table[-1][j] for j in range(cols)):
            found.append(dict(zip(hidden, values, strict=True)))
    return found


def assert_not_recoverable(grid: list[list[str]]) -> None:
    options = consistent_values(grid)
    assert options, "the shown table must agree with the real one"
    for cell in options[0]:
        assert len({option[cell] for option in options}) > 1, (grid, cell)


def assert_jointly_not_recoverable(sectors: list[list[str]], orgs: list[list[str]], org_sector: dict) -> None:
    """Both tables together: every hidden organisation count has more than one value consistent with
    everything either table shows. The unknowns are the organisations' counts (they decide all)."""
    periods = len(orgs[0]) - 1
    inner = [(i, j) for i in range(len(orgs) - 1) for j in range(periods)]
    top = int(orgs[-1][-1])

    def options(cell):
        text = orgs[cell[0]][cell[1]]
        return [int(text)] if text.isdigit() else list(range(0, 5)) if text == "<5" else list(range(5, top + 1))

    def fits(text, value):
        return str(value) == text if text.isdigit() else value < 5 if text == "<5" else value >= 5

    # Each organisation's row on its own first (its cells against its shown total), then the rows together.
    row_options = []
    for i in range(len(orgs) - 1):
        cells = [options((i, j)) for j in range(periods)]
        row_options.append([row for row in itertools.product(*cells) if fits(orgs[i][periods], sum(row))])
    found = []
    for rows in itertools.product(*row_options):
        table = {(i, j): rows[i][j] for i, j in inner}
        org_rows = [list(row) + [sum(row)] for row in rows]
        totals = [sum(row[j] for row in org_rows) for j in range(periods + 1)]
        sector_rows = [[0] * (periods + 1) for _ in range(len(sectors) - 1)]
        for i, row in enumerate(org_rows):
            sector_rows[org_sector[i]] = [a + b for a, b in zip(sector_rows[org_sector[i]], row, strict=True)]
        if all(fits(orgs[-1][j], v) for j, v in enumerate(totals)) and all(
                fits(sectors[i][j], v) for i, row in enumerate(sector_rows + [totals]) for j, v in enumerate(row)):
            found.append(table)
    assert found, "the shown tables must agree with the real ones"
    for cell in inner:
        if not orgs[cell[0]][cell[1]].isdigit():
            assert len({option[cell] for option in found}) > 1, (orgs, sectors, cell)


def test_completions_by_sector_and_organisation_suppress_small_cells(training, make_user):
    course_id = make_course(training)
    police = _organisation(training, "Northshire Police", "police")
    trust = _organisation(training, "=Trust for health", "health")
    plan = [(police, datetime.datetime(2026, 1, 10), 7), (police, datetime.datetime(2026, 4, 10), 6),
            (trust, datetime.datetime(2026, 1, 12), 2), (trust, datetime.datetime(2026, 4, 12), 8)]
    for organisation, when, count in plan:
        for _ in range(count):
            learner = make_user("learner")
            _member(training, learner, organisation)
            enrol(training, learner, course_id, completed_at=when)
    client = signed_in(training, make_user("trainer"))
    page = client.get("/training/reports?period=quarter&start=2026-01&end=2026-06")
    assert page.status_code == 200
    assert f"/training/feedback/courses/{course_id}" in page.get_data(as_text=True)  # trainers: the questionnaires
    from plugins.training import reports

    with in_db(training):
        tables = reports.completions("quarter", datetime.date(2026, 1, 1), datetime.date(2026, 6, 1))
    sector = {line[0]: line[1:] for line in tables[0].shown()}
    assert sector["Police"][0] in ("7", "*") and sector["Police"][1] in ("6", "*") and sector["Police"][2] == "13"
    assert sector["Health"][0] == "<5" and "2" not in sector["Health"]
    labelled = {line[0]: line[1:] for line in tables[1].shown()}
    assert labelled["=Trust for health"][0] == "<5"  # the trust's 2 in the first quarter
    # Both tables together (a sector's row is the sum of its organisations' rows; what holds for
    # both together holds for each alone) leave every hidden count more than one possible value.
    assert [line[0] for line in tables[0].shown()][:3] == ["Police", "Health", "No organisation"]
    assert [line[0] for line in tables[1].shown()][:3] == ["Northshire Police", "=Trust for health",
                                                          "No organisation"]
    assert_jointly_not_recoverable([line[1:] for line in tables[0].shown()],
                                   [line[1:] for line in tables[1].shown()], {0: 0, 1: 1, 2: 2})

    download = client.get("/training/reports.csv?period=quarter&start=2026-01&end=2026-06")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    health = [line for line in lines if line and line[0] == "Health"][0]
    assert health[1] == "<5"
    assert any(line and line[0] == "'=Trust for health" for line in lines)  # never a formula


def test_reports_refuse_bad_months_with_422(training, make_user):
    client = signed_in(training, make_user("admin"))
    assert client.get("/training/reports?start=2026-13").status_code == 422
    assert client.get("/training/reports?start=2020-01&end=2026-01").status_code == 422
    assert client.get("/training/reports.csv?period=year").status_code == 422


def test_suppression_is_shared_with_casework():
    from core import suppression
    from plugins.casework import dashboard
    from plugins.training import reports

    assert dashboard.suppress is suppression.suppress and reports.suppress is suppression.suppress
    for grid in ([[2, 9, 11], [7, 8, 15], [9, 17, 26]], [[0, 6, 3, 9], [7, 8, 1, 16], [7, 14, 4, 25]],
                 [[12, 1, 13], [6, 9, 15], [18, 10, 28]]):
        shown = suppression.shown(grid)
        assert any("<5" in line for line in shown)
        assert_not_recoverable(shown)
        # the check has teeth: hiding only the small counts would give them away through the totals
        naive = [["<5" if value < 5 else str(value) for value in line] for line in grid]
        with pytest.raises(AssertionError):
            assert_not_recoverable(naive)


def test_certificate_page_offers_the_after_questionnaire(training, make_user):
    from core.db import connection
    from plugins.training import certificates
    from plugins.training.models import Enrolment

    trainer, learner = make_user("trainer"), make_user("learner")
    course_id = make_course(training)
    set_statements(signed_in(training, trainer), course_id)
    enrolment_id = enrol(training, learner, course_id, completed_at=datetime.datetime(2026, 2, 1))
    with training.test_request_context(), connection():
        certificate = certificates.issue_for(Enrolment.get_by_id(enrolment_id))
    client = signed_in(training, learner)
    path = f"/training/certificates/{certificate.id}"
    link = f"/training/feedback/courses/{course_id}/after"
    assert link in client.get(path).get_data(as_text=True)
    answer(client, course_id, "after", [4, 4])
    assert link not in client.get(path).get_data(as_text=True)  # answered: no longer offered


def test_sector_and_organisation_tables_are_suppressed_together(training):
    """Suppressed one at a time, the two tables together give a hidden count away; decided together
    (reports.link_sectors), they do not. A sector's row is the sum of its organisations' rows."""
    from plugins.training.reports import Table, link_sectors

    columns = [("2026-Q1", "2026-Q1"), ("2026-Q2", "2026-Q2")]
    by_org = {("1", "2026-Q1"): 9, ("1", "2026-Q2"): 6, ("2", "2026-Q1"): 3, ("2", "2026-Q2"): 3,
              ("3", "2026-Q1"): 9, ("3", "2026-Q2"): 9}
    sector_of = {"1": "police", "2": "health", "3": "health", "-": "-"}
    by_sector = {}
    for (org, period), count in by_org.items():
        by_sector[(sector_of[org], period)] = by_sector.get((sector_of[org], period), 0) + count
    sector_rows = [("police", "Police"), ("health", "Health"), ("-", "No organisation")]
    org_rows = [("1", "A"), ("2", "B"), ("3", "C"), ("-", "No organisation")]
    row_to_sector = {0: 0, 1: 1, 2: 1, 3: 2}

    def shown(table):
        return [line[1:] for line in table.shown()]

    with training.test_request_context():
        alone = (Table("sector", "", sector_rows, columns, by_sector),
                 Table("organisation", "", org_rows, columns, by_org))
        with pytest.raises(AssertionError):
            assert_jointly_not_recoverable(shown(alone[0]), shown(alone[1]), row_to_sector)
        together = (Table("sector", "", sector_rows, columns, by_sector),
                    Table("organisation", "", org_rows, columns, by_org))
        link_sectors(*together, sector_of)
        assert shown(together[1])[1][0] == "<5"
        assert_jointly_not_recoverable(shown(together[0]), shown(together[1]), row_to_sector)


def test_the_course_page_offers_the_before_questionnaire_until_it_is_answered(training, make_user):
    trainer, learner = make_user("trainer"), make_user("learner")
    course_id = make_course(training)
    set_statements(signed_in(training, trainer), course_id)
    enrol(training, learner, course_id)
    client = signed_in(training, learner)
    page, link = f"/training/learn/courses/{course_id}", f"/training/feedback/courses/{course_id}/before"
    assert link in client.get(page).get_data(as_text=True)
    answer(client, course_id, "before", [2, 3])
    assert link not in client.get(page).get_data(as_text=True)
