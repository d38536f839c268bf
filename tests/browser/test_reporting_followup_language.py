"""Changing the language in a real browser with JavaScript off, on a phone, keeps what the person
had typed: the message on "Follow up a report", sent afterwards once, in the new language."""

from __future__ import annotations

import pytest
from helpers import enable
from test_reporting_common import in_db, send_report

pytestmark = pytest.mark.browser

PHONE = (360, 740)
TYPED = "He came back on Friday.\nSame silver car."


@pytest.fixture
def reporting(app):
    enable(app, "reporting")
    return app


def _change_language(page, name: str) -> None:
    page.locator("#language-select").select_option(label=name)
    with page.expect_navigation():
        page.locator("footer").get_by_role("button", name="Change language").click()


def test_the_follow_up_message_survives_a_change_of_language(reporting, live_server, browser_page):
    from plugins.reporting.models import Report, ReportMessage

    reference, receipt = send_report(reporting.test_client())
    page = browser_page(javascript=False, viewport=PHONE)
    page.goto(f"{live_server}/reporting/follow-up")
    page.get_by_label("Receipt").fill(receipt)
    with page.expect_navigation():
        page.get_by_role("button", name="Open my report").click()
    page.get_by_label("Write to our team or add information").fill(TYPED)

    _change_language(page, "Polski")
    assert page.url == f"{live_server}/reporting/follow-up"
    assert page.locator("html").get_attribute("lang") == "pl"
    assert reference in page.locator("h1").inner_text()  # the same report, opened again without the receipt typed
    box = page.get_by_label("Napisz do naszego zespołu lub dodaj informacje")
    assert box.input_value() == TYPED
    assert page.locator(".error, .error-summary").count() == 0
    with in_db(reporting):
        assert ReportMessage.select().join(Report).where(Report.reference == reference).count() == 0

    with page.expect_navigation():
        page.locator('#message-form button[value="message"]').click()
    assert page.locator("html").get_attribute("lang") == "pl"
    assert page.locator('p[role="status"]').is_visible()
    with in_db(reporting):
        bodies = [m.body for m in ReportMessage.select().join(Report).where(Report.reference == reference)]
    assert [b.replace("\r\n", "\n") for b in bodies] == [TYPED]
    assert all(receipt.replace(" ", "") not in url for url in page.requested_urls)

