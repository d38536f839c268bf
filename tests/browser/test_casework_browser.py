"""Casework in a real browser with JavaScript switched off, on a 360 px phone: a self-referral
through "Get support", a caseworker accepts it, records a contact, adds a task, moves the stage,
fills in the closure checklist and asks for approval; a supervisor sees the case on the caseload
dashboard, approves the closure, and the case is closed; then the funders' return and its CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser.site_pages import with_casework
from core.db import connection

pytestmark = pytest.mark.browser

PHONE = (360, 740)


casework = with_casework  # every test here: the app with the casework module on


def _submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name).click()


def _fits(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0], page.url  # no sideways scrolling


def test_a_referral_walks_to_closure_at_360px_without_javascript(casework, live_server, browser_page,
                                                                   browser_sign_in, make_user):
    from plugins.casework.models import Case, Contact, Task

    worker = make_user("caseworker", email="worker@example.org")
    supervisor = make_user("casework_supervisor", email="super@example.org")

    # 1. Someone asks for support themselves, anonymously.
    client = browser_page(javascript=False, viewport=PHONE)
    client.goto(f"{live_server}/casework/support")
    _fits(client)
    client.get_by_label("A name we can call you").fill("Robin")
    client.get_by_label("The best way to reach you").select_option("text")
    client.get_by_label("Phone number, email or another way to reach you").fill("07700 900123")
    client.get_by_label("Safe ways and times to contact you").fill("Texts after 6pm")
    client.get_by_role("radio", name="No").check()
    _submit(client, "Ask for support")
    assert client.get_by_role("heading", name="Your request is sent").is_visible()
    assert client.locator(".receipt").inner_text().strip()
    _fits(client)

    # 2. A caseworker accepts it: a case opens.
    page = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(page, live_server, worker)
    page.goto(f"{live_server}/casework/referrals")
    assert "Robin" in page.content() and "Texts after 6pm" in page.content()
    _fits(page)
    _submit(page, "Accept and open a case")
    assert "/casework/cases/C-" in page.url
    reference = page.url.split("/casework/cases/", 1)[1].split("#")[0]
    _fits(page)

    # 3. A contact, then a task.
    page.get_by_label("How", exact=True).select_option("phone")
    page.get_by_label("What happened").select_option("spoke")
    page.get_by_label("Minutes (optional)").fill("20")
    page.get_by_label("Note (optional)").fill("Talked through options")
    _submit(page, "Record the contact")
    assert "The contact is recorded." in page.content()
    page.get_by_label("Task", exact=True).fill("Send the housing leaflet")
    _submit(page, "Add the task")
    assert "The task is added." in page.content() and "Send the housing leaflet" in page.content()

    # 4. The stage moves on.
    page.get_by_label("Move to stage").select_option("assessment")
    _submit(page, "Change the stage")
    assert "The stage is changed." in page.content()

    # 5. The worker sees the case on their own caseload.
    page.goto(f"{live_server}/casework/dashboard")
    assert page.get_by_role("heading", name="Your cases").is_visible()
    _fits(page)

    # 6. The closure checklist, then asking a supervisor to approve it.
    page.goto(f"{live_server}/casework/cases/{reference}/closure")
    page.get_by_label("The client knows the case is closing").check()
    page.get_by_label("Why the case is closing").select_option("goals_met")
    _submit(page, "Save the checklist")
    assert "The closure checklist is saved." in page.content()
    _submit(page, "Ask a supervisor to approve the closure")
    _fits(page)

    # 7. A supervisor sees it on the dashboard, approves the closure: the case closes.
    boss = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(boss, live_server, supervisor)
    boss.goto(f"{live_server}/casework/dashboard")
    assert boss.get_by_role("heading", name="Cases per worker").is_visible()
    _fits(boss)
    boss.goto(f"{live_server}/casework/approvals")
    with boss.expect_navigation():
        boss.get_by_role("link", name=reference).click()
    _fits(boss)
    _submit(boss, "Approve")
    assert "Approved." in boss.content()

    page.goto(f"{live_server}/casework/cases/{reference}")
    assert "Closed on" in page.content()
    with casework.app_context(), connection():
        case = Case.get(Case.reference == reference)
        assert case.stage == "closed" and case.closure_reason == "goals_met" and case.closed_at is not None
        assert case.working_name == "Robin" and case.worker_id == worker.id
        assert Contact.select().where(Contact.case == case.id).count() == 1
        assert Task.select().where(Task.case == case.id).count() == 1

    # 8. The funders' return counts it, with small numbers hidden, on the page and as a CSV.
    boss.goto(f"{live_server}/casework/returns?period=month")
    assert boss.get_by_role("heading", name="Cases closed, by reason").is_visible()
    assert "<5" in boss.locator("#table-closures").inner_text()
    _fits(boss)
    with boss.expect_download() as download:
        boss.get_by_role("link", name="Download as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Cases closed, by reason" in text and "<5" in text and "Robin" not in text
