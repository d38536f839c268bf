"""Changing the language in a real browser with JavaScript off, on a phone, keeps what the person
had typed or chosen: the message on "Follow up a report" (sent afterwards once, in the new
language), and pictures chosen on the report form's pictures step but not yet added (a file input
cannot be filled in again by the server, so they are added on the way)."""

from __future__ import annotations

import io

import pytest
from helpers import enable
from PIL import Image
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


def _continue(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()


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


def test_pictures_chosen_on_the_pictures_step_survive_a_change_of_language(reporting, live_server, browser_page,
                                                                          tmp_path):
    from plugins.reporting.models import Attachment

    picture = tmp_path / "screenshot.png"
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(out, format="PNG")
    picture.write_bytes(out.getvalue())

    page = browser_page(javascript=False, viewport=PHONE)
    page.goto(f"{live_server}/reporting/report")
    page.get_by_label("Robbery or theft").check()
    _continue(page)  # to "When and where"
    _continue(page)  # to "The person who did this"
    _continue(page)  # to "What you would like us to do": each choice needs a yes or a no
    for purpose in ("share_alert", "police_intelligence", "police_report", "wants_support", "research"):
        page.locator(f"#f-consent_{purpose}-no").check()
    _continue(page)
    assert page.get_by_role("heading", name="Photos or screenshots").is_visible()

    page.get_by_label("Choose pictures").set_input_files(str(picture))
    _change_language(page, "Polski")
    assert page.url == f"{live_server}/reporting/report"
    assert page.locator("html").get_attribute("lang") == "pl"
    assert page.locator('button[value^="remove_file:"]').count() == 1  # added on the way, still on this step
    with in_db(reporting):
        assert Attachment.select().where(Attachment.draft.is_null(False)).count() == 1
