"""The caseload dashboard (plugins/casework/dashboard.py): cases per worker by stage, overdue tasks,
risk reviews due and overdue, high-risk cases, referrals waiting, the caseload warning, break-glass
entries a supervisor has not seen (and marking them seen); a caseworker sees their own caseload
only; the counts come from a fixed number of queries whatever the number of cases."""

from __future__ import annotations

import datetime
import logging
import re

import pytest
from casework_common import in_db
from helpers import enable, post_form, sign_in

from core.db import utcnow

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def app(make_app):
    app = make_app()
    enable(app, "casework")
    return app


@pytest.fixture
def people(app, make_user):
    return {"ana": make_user("caseworker", email="ana@example.org"),
            "ben": make_user("caseworker", email="ben@example.org"),
            "sup": make_user("casework_supervisor", email="sup@example.org")}


def names(app, people) -> dict:
    from core.accounts.models import User

    with in_db(app):
        return {key: User.get_by_id(user.id).display_name() for key, user in people.items()}


def new_case(reference: str, worker, stage: str = "active", **extra):
    from plugins.casework.models import Case

    return Case.create(reference=reference, worker=worker.id if worker else None, stage=stage, **extra)


def fill(app, people) -> None:
    """Ana: 3 open cases (new, plan, active) and a closed one; Ben: 1 active, high risk; one unassigned."""
    from plugins.casework.models import Referral, Task

    with in_db(app):
        a1 = new_case("C-AAAAA1", people["ana"], "new", risk_level="high", risk_review_on=TODAY - 3 * DAY)
        new_case("C-AAAAA2", people["ana"], "plan", risk_level="medium", risk_review_on=TODAY + 2 * DAY)
        a3 = new_case("C-AAAAA3", people["ana"], "active", risk_review_on=TODAY + 30 * DAY)
        closed = new_case("C-AAAAA4", people["ana"], "closed", risk_level="high", risk_review_on=TODAY - 9 * DAY)
        b1 = new_case("C-BBBBB1", people["ben"], "active", risk_level="high", risk_review_on=TODAY - 1 * DAY)
        new_case("C-NOBODY", None, "assessment")
        Task.create(case=a1, title="Call back", due_on=TODAY - 2 * DAY)
        Task.create(case=a3, title="Housing form", due_on=TODAY - 5 * DAY)
        Task.create(case=a3, title="Done one", due_on=TODAY - 5 * DAY, done_at=utcnow())
        Task.create(case=a3, title="Later", due_on=TODAY + 5 * DAY)
        Task.create(case=closed, title="On a closed case", due_on=TODAY - 5 * DAY)
        Task.create(case=b1, title="Court letter", due_on=TODAY - 1 * DAY)
        Referral.create(source="self", created_at=utcnow() - datetime.timedelta(days=6))
        Referral.create(source="partner")
        Referral.create(source="self", status="declined")


def rows_by_worker(page: str) -> dict[str, list[str]]:
    """The "cases per worker" table: worker name -> cells (open, each open stage, tasks, overdue, due, high)."""
    table = page.split('id="h-workers"', 1)[1].split("</table>", 1)[0]
    found = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table, re.S):
        name = re.sub(r"<[^>]+>", "", row.split("</th>", 1)[0]).split("Over the caseload limit")[0].strip()
        found[name] = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
    return found


def test_a_supervisor_sees_every_worker_by_stage_with_tasks_reviews_and_risk(app, people):
    fill(app, people)
    who = names(app, people)
    client = app.test_client()
    sign_in(client, people["sup"])
    response = client.get("/casework/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = rows_by_worker(page)
    # open, new, assessment, plan, active, closing, overdue tasks, reviews overdue, due this week, high risk
    assert rows[who["ana"]] == ["3", "1", "0", "1", "1", "0", "2", "1", "1", "1"]
    assert rows[who["ben"]] == ["1", "0", "0", "0", "1", "0", "1", "1", "0", "1"]
    assert rows["Not assigned"] == ["1", "0", "1", "0", "0", "0", "0", "0", "0", "0"]
    assert rows["Everyone"] == ["5", "1", "1", "1", "2", "0", "3", "2", "1", "2"]
    # The lists behind the counts: closed cases are left out, done and future tasks too.
    assert "C-AAAAA4" not in page and "C-AAAAA3" in page.split('id="h-tasks"')[1].split("</section>")[0]
    reviews = page.split('id="h-reviews"')[1].split("</section>")[0]
    assert "C-AAAAA1" in reviews and "C-AAAAA2" in reviews and "C-BBBBB1" in reviews and "C-AAAAA3" not in reviews
    assert "overdue since" in reviews
    high = page.split('id="h-high"')[1].split("</section>")[0]
    assert "C-AAAAA1" in high and "C-BBBBB1" in high and "C-AAAAA2" not in high
    # Referrals waiting: two open ones, the oldest for 6 days; the declined one is not counted.
    referrals = page.split('id="h-referrals"')[1].split("</section>")[0]
    assert "2 referrals are waiting." in referrals and "The oldest has waited 6 days." in referrals
    assert "Caseload warning:" not in page  # the default limit is 20


def test_a_caseworker_sees_only_their_own_caseload(app, people):
    fill(app, people)
    who = names(app, people)
    client = app.test_client()
    sign_in(client, people["ben"])
    page = client.get("/casework/dashboard").get_data(as_text=True)
    rows = rows_by_worker(page)
    assert list(rows) == [who["ben"]]
    assert rows[who["ben"]] == ["1", "0", "0", "0", "1", "0", "1", "1", "0", "1"]
    for other in ("C-AAAAA1", "C-AAAAA2", "C-AAAAA3", "C-NOBODY", who["ana"]):
        assert other not in page
    assert "C-BBBBB1" in page
    assert 'id="break-glass"' not in page and "Returns for funders" not in page
    # The referral queue is everyone's: a worker sees how many wait.
    assert "2 referrals are waiting." in page


def test_a_worker_without_cases_sees_an_empty_row(app, people):
    who = names(app, people)
    client = app.test_client()
    sign_in(client, people["ana"])
    page = client.get("/casework/dashboard").get_data(as_text=True)
    assert rows_by_worker(page) == {who["ana"]: ["0", "0", "0", "0", "0", "0", "0", "0", "0", "0"]}
    assert "No task is overdue." in page and "No referral is waiting." in page


def test_the_caseload_warning_follows_the_setting(app, people):
    from core.settings import save_settings

    fill(app, people)
    who = names(app, people)
    with in_db(app):
        save_settings("casework", {"caseload_warning": 2})
    client = app.test_client()
    sign_in(client, people["sup"])
    page = client.get("/casework/dashboard").get_data(as_text=True)
    assert f"{who['ana']} has 3 open cases, more than the 2 your service set." in page
    assert who["ben"] + " has" not in page
    assert "Over the caseload limit" in page.split(who["ana"], 2)[1] or "Over the caseload limit" in page
    # Ana sees the warning about herself; at 3 the limit is not passed.
    with in_db(app):
        save_settings("casework", {"caseload_warning": 3})
    assert "Caseload warning:" not in client.get("/casework/dashboard").get_data(as_text=True)


def test_people_without_casework_access_are_refused(app, people, make_user):
    member = make_user("member", email="member@example.org")
    client = app.test_client()
    sign_in(client, member)
    assert client.get("/casework/dashboard").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/casework/dashboard").status_code == 302


def test_viewing_the_dashboard_is_audited(app, people):
    from core.audit import AuditEntry

    client = app.test_client()
    sign_in(client, people["ana"])
    client.get("/casework/dashboard")
    with in_db(app):
        entries = [(e.action, e.target, e.actor_id) for e in AuditEntry.select()
                   .where(AuditEntry.action == "casework.dashboard_viewed")]
    assert entries == [("casework.dashboard_viewed", "casework:dashboard", people["ana"].id)]


def break_glass(app, people, reference: str, reason: str) -> None:
    from plugins.casework.access import break_glass as open_glass

    with app.test_request_context(), in_db(app):
        assert open_glass(reference, people["ben"], reason) is not None


def test_break_glass_entries_wait_for_a_supervisor_and_are_marked_seen(app, people):
    from core.audit import AuditEntry
    from plugins.casework.models import BreakGlass

    fill(app, people)
    break_glass(app, people, "C-AAAAA1", "Covering while Ana is away")
    break_glass(app, people, "C-AAAAA2", "Client called the office")
    client = app.test_client()
    sign_in(client, people["sup"])
    page = client.get("/casework/dashboard").get_data(as_text=True)
    section = page.split('id="break-glass"')[1].split("</section>")[0]
    assert "2 times someone opened a case that is not theirs" in section
    assert "Covering while Ana is away" in section and "C-AAAAA2" in section
    with in_db(app):
        first, second = [row.id for row in BreakGlass.select().order_by(BreakGlass.id)]
    # Only the one ticked is marked; marking it again changes nothing.
    done = post_form(client, "/casework/dashboard/break-glass/seen", {"entry": [str(first)]},
                     token_from="/casework/dashboard")
    assert done.status_code == 303
    post_form(client, "/casework/dashboard/break-glass/seen", {"entry": [str(first)]},
              token_from="/casework/dashboard")
    with in_db(app):
        seen = {row.id: row.seen_by_supervisor_at for row in BreakGlass.select()}
        audited = [e.target for e in AuditEntry.select().where(AuditEntry.action == "casework.break_glass_seen")]
    assert seen[first] is not None and seen[second] is None
    assert audited == [f"break_glass:{first}"]
    page = client.get("/casework/dashboard").get_data(as_text=True)
    section = page.split('id="break-glass"')[1].split("</section>")[0]
    assert "Client called the office" in section and "Covering while Ana is away" not in section
    post_form(client, "/casework/dashboard/break-glass/seen", {"entry": [str(second)]},
              token_from="/casework/dashboard")
    page = client.get("/casework/dashboard").get_data(as_text=True)
    assert "every break-glass entry has been seen" in page


def test_a_caseworker_cannot_mark_break_glass_seen(app, people):
    from plugins.casework.models import BreakGlass

    fill(app, people)
    break_glass(app, people, "C-AAAAA1", "Covering")
    client = app.test_client()
    sign_in(client, people["ana"])
    with in_db(app):
        entry = BreakGlass.select().first().id
    refused = post_form(client, "/casework/dashboard/break-glass/seen", {"entry": [str(entry)]},
                        token_from="/casework/dashboard")
    assert refused.status_code == 403
    with in_db(app):
        assert BreakGlass.get_by_id(entry).seen_by_supervisor_at is None


class Statements(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if record.name == "peewee":  # statements, not the pool's messages
            self.count += 1


def statements_for_caseload(app, user) -> int:
    from plugins.casework.dashboard import caseload

    logger = logging.getLogger("peewee")
    handler, level = Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with app.test_request_context(), in_db(app):
            caseload(user)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.count


def test_the_dashboard_makes_the_same_number_of_queries_for_3_cases_as_for_60(app, people, make_user):
    from plugins.casework.models import Task

    fill(app, people)
    supervisor = people["sup"]
    statements_for_caseload(app, supervisor)  # once to warm what core caches per process (roles)
    few = statements_for_caseload(app, supervisor)
    extra = [make_user("caseworker", email=f"extra{i}@example.org") for i in range(4)]
    with in_db(app):
        for i in range(60):
            case = new_case(f"C-X{i:05d}", extra[i % 4], ("new", "plan", "active")[i % 3], risk_level="high",
                            risk_review_on=TODAY - DAY)
            Task.create(case=case, title="t", due_on=TODAY - DAY)
    many = statements_for_caseload(app, supervisor)
    assert few == many
    assert many <= 16
