"""The report form in a real browser with JavaScript switched off, on a 360 px phone: an anonymous
report from start to receipt, at one address, keeping answers through a mistake; following it up
with the receipt; and a moderator reading it. Also checked with axe-core (JavaScript on, for axe)."""

from __future__ import annotations

import re

import pytest

from browser.site_pages import save_and_continue, with_reporting
from core.db import connection

pytestmark = pytest.mark.browser

PHONE = (360, 740)


reporting = with_reporting  # every test here: the app with the reporting module on


def _fill_report(page, base: str, expect_same_address: bool = True) -> None:
    form = f"{base}/reporting/report"
    page.goto(f"{base}/reporting/")
    with page.expect_navigation():
        page.get_by_role("link", name="Start a report").click()
    assert page.url == form

    page.get_by_label("Robbery or theft").check()
    page.get_by_label("Physical assault").check()
    page.get_by_label("In your own words, what happened?").fill("He grabbed my bag at the door and ran.")
    save_and_continue(page)
    assert page.url == form and page.get_by_role("heading", name="When and where").is_visible()

    # A mistake: a date in the future. The page says so, next to the field, and keeps the rest.
    page.get_by_label("Date it happened").fill("2999-01-01")
    page.get_by_label("Which area?").select_option("london")
    page.get_by_label("Where, roughly?").fill("by the canal")
    save_and_continue(page)
    assert page.url == form
    assert page.get_by_text("This date is in the future. Please check it.").first.is_visible()
    assert page.get_by_label("Where, roughly?").input_value() == "by the canal"
    assert page.get_by_label("Which area?").input_value() == "london"
    page.get_by_label("Date it happened").fill("2024-05-01")
    page.get_by_label("Roughly what time?").select_option("night")
    save_and_continue(page)

    assert page.get_by_role("heading", name="The person who did this").is_visible()
    page.get_by_label("Names or nicknames they used").fill("Dave")
    page.get_by_label("Phone numbers").fill("07700 900123")
    page.get_by_label("Number plate").fill("AB12 CDE")
    save_and_continue(page)

    assert page.get_by_role("heading", name="What you would like us to do").is_visible()
    page.locator("#f-consent_share_alert-yes").check()
    page.locator("#f-consent_police_intelligence-no").check()
    page.locator("#f-consent_police_report-no").check()
    page.locator("#f-consent_wants_support-no").check()
    page.locator("#f-consent_research-no").check()
    save_and_continue(page)

    assert page.get_by_role("heading", name="Photos or screenshots").is_visible()
    save_and_continue(page)
    assert page.url == form
    assert page.get_by_role("heading", name="Check and send").is_visible()


def test_anonymous_report_without_javascript_on_a_phone(reporting, live_server, browser_page):
    page = browser_page(javascript=False, viewport=PHONE)
    _fill_report(page, live_server)
    summary = page.locator("section.consents").inner_text()
    assert "Yes: Share a warning with other sex workers" in summary
    assert "No: Support from a caseworker" in summary
    assert "He grabbed my bag at the door and ran." in page.locator("main").inner_text()

    with page.expect_navigation():
        page.get_by_role("button", name="Send my report").click()
    assert page.url == f"{live_server}/reporting/report"
    assert page.get_by_role("heading", name="Thank you. Your report is sent.").is_visible()
    receipt = page.locator("#receipt").inner_text().strip()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt)
    reference = page.locator(".reference").inner_text()
    # Every address the browser visited was one of ours, and none carried the receipt.
    digits = receipt.replace(" ", "")
    assert all(digits not in url for url in page.requested_urls)

    from plugins.reporting.models import PerpetratorIdentifier, Report

    with reporting.app_context(), connection():
        report = Report.get(Report.reference == reference)
        assert report.narrative == "He grabbed my bag at the door and ran."
        assert report.location == "by the canal" and str(report.occurred_on) == "2024-05-01"
        assert report.reporter_id is None and report.has_consent("share_alert")
        assert not report.has_consent("wants_support")
        assert {(i.kind, i.display) for i in PerpetratorIdentifier.select()} == {
            ("phone", "+447700900123"), ("plate", "AB12CDE")}

    # Following it up later with the receipt: typed in, sent in a form, never in the address.
    follow = browser_page(javascript=False, viewport=PHONE)
    follow.goto(f"{live_server}/reporting/follow-up")
    follow.get_by_label("Receipt").fill(receipt)
    with follow.expect_navigation():
        follow.get_by_role("button", name="Open my report").click()
    assert follow.url == f"{live_server}/reporting/follow-up"
    assert follow.get_by_role("heading", name=f"Your report {reference}").is_visible()
    follow.get_by_label("Write to our team or add information").fill("It was a red car.")
    with follow.expect_navigation():
        follow.get_by_role("button", name="Send", exact=True).click()
    assert follow.get_by_text("Thank you. Your message is sent").is_visible()
    assert follow.get_by_text("It was a red car.").is_visible()
    assert all(digits not in url for url in follow.requested_urls)


def test_a_moderator_reads_the_report_without_javascript(reporting, live_server, browser_page, browser_sign_in,
                                                          make_user):
    reporter = browser_page(javascript=False, viewport=PHONE)
    _fill_report(reporter, live_server)
    with reporter.expect_navigation():
        reporter.get_by_role("button", name="Send my report").click()
    reference = reporter.locator(".reference").inner_text()

    page = browser_page(javascript=False)
    browser_sign_in(page, live_server, make_user("moderator"))
    page.goto(f"{live_server}/reporting/moderate/")
    with page.expect_navigation():
        page.get_by_role("link", name=reference).click()
    assert page.get_by_text("He grabbed my bag at the door and ran.").is_visible()
    page.get_by_label("Verified").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save status").click()
    assert page.get_by_text("Status changed to: Verified.").is_visible()


def test_report_pages_have_no_serious_accessibility_problems(reporting, live_server, browser_page, axe_serious):
    page = browser_page(javascript=True, viewport=PHONE)
    page.goto(f"{live_server}/reporting/report")
    problems = axe_serious(page)
    headings = []
    for _step in range(3):  # what, when, who: nothing is needed, so each answers the next step
        save_and_continue(page)
        headings.append(page.locator("h1").inner_text())
    save_and_continue(page)  # the consent choices are explicit: the page answers with its errors
    assert page.locator("#error-summary").is_visible()
    problems += axe_serious(page)
    for purpose in ("share_alert", "police_intelligence", "police_report", "wants_support", "research"):
        page.locator(f"#f-consent_{purpose}-no").check()
    save_and_continue(page)
    save_and_continue(page)
    headings.append(page.locator("h1").inner_text())
    problems += axe_serious(page)
    assert headings == ["When and where", "The person who did this", "What you would like us to do", "Check and send"]
    # Every step fits a 360 px phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    assert problems == []
