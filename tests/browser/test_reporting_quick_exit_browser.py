"""The report form in a real browser on a phone: Quick exit (JavaScript on) deletes the half-written
report on the way out; the phone's Back button never meets "Confirm form resubmission" (JavaScript
off); reloading "Report sent" does not send again and does not say "start again"."""

from __future__ import annotations

import pytest

from browser.site_pages import save_and_continue, with_reporting
from core.db import connection

pytestmark = pytest.mark.browser

PHONE = (360, 640)


reporting = with_reporting  # every test here: the app with the reporting module on


def _drafts(app) -> int:
    from plugins.reporting.models import Draft

    with app.app_context(), connection():
        return Draft.select().count()


@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_deletes_the_draft_before_leaving(reporting, live_server, neutral_site, browser_page, how):
    page = browser_page(javascript=True, viewport=PHONE)
    page.goto(f"{live_server}/reporting/report")
    page.get_by_label("In your own words, what happened?").fill("He found out where I live")
    save_and_continue(page)
    page.get_by_label("Where, roughly?").fill("secret place")
    assert _drafts(reporting) == 1
    with page.expect_navigation(url=neutral_site):
        if how == "button":
            page.get_by_role("link", name="Quick exit").click()
        else:
            page.keyboard.press("Escape")
    page.wait_for_function("true")
    for _ in range(50):  # the beacon arrives on its own, the page does not wait for it
        if _drafts(reporting) == 0:
            break
        page.wait_for_timeout(100)
    assert _drafts(reporting) == 0

    # Someone else opens the address in this browser: an empty form, nothing of the report.
    other = page.context.new_page()
    other.goto(f"{live_server}/reporting/report")
    assert other.get_by_text("Step 1 of").is_visible()
    assert other.get_by_label("In your own words, what happened?").input_value() == ""
    assert "secret place" not in other.content() and "where I live" not in other.content()


def test_back_and_reload_without_javascript_never_resubmit_and_never_show_answers_unasked(
        reporting, live_server, browser_page):
    page = browser_page(javascript=False, viewport=PHONE)
    form = f"{live_server}/reporting/report"
    page.goto(f"{live_server}/reporting/")
    page.goto(form)
    page.get_by_label("In your own words, what happened?").fill("abc")
    save_and_continue(page)
    page.get_by_label("Where, roughly?").fill("town")
    save_and_continue(page)
    assert page.get_by_role("heading", name="The person who did this").is_visible()

    page.go_back()
    assert page.url == form  # not chrome-error://: every step is a GET of the same address
    assert page.get_by_role("heading", name="You have a report that is not sent yet").is_visible()
    assert "town" not in page.content() and "abc" not in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue my report").click()
    assert page.get_by_role("heading", name="The person who did this").is_visible()
    page.reload()
    assert page.url == form and page.get_by_role("heading", name="You have a report that is not sent yet").is_visible()


def test_reloading_report_sent_shows_the_same_receipt_until_kept(reporting, live_server, browser_page):
    from plugins.reporting.models import Report

    page = browser_page(javascript=False, viewport=PHONE)
    page.goto(f"{live_server}/reporting/report")
    page.get_by_label("In your own words, what happened?").fill("He would not pay.")
    save_and_continue(page)
    save_and_continue(page)
    save_and_continue(page)
    for question in ("share_alert", "police_intelligence", "police_report", "wants_support", "research"):
        page.locator(f"#f-consent_{question}-no").check()
    save_and_continue(page)
    save_and_continue(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Send my report").click()
    assert page.locator("#receipt").count() == 1, page.inner_text("main")[:1500]
    receipt = page.locator("#receipt").inner_text().strip()
    assert page.locator("#receipt").get_attribute("dir") == "ltr"
    reference = page.locator(".reference").inner_text().strip()
    page.reload()  # the same report and receipt again, for a few minutes: a reload loses nothing
    assert page.locator("#receipt").inner_text().strip() == receipt
    assert reference in page.content() and "Please start again" not in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name="I have kept my receipt").click()
    page.goto(f"{live_server}/reporting/report")
    assert receipt not in page.content() and reference not in page.content()
    with reporting.app_context(), connection():
        assert Report.select().count() == 1
