"""Changing the language in a real browser with JavaScript off, on a phone, keeps what the person
had typed or chosen: on "Follow up a report", the message (sent afterwards once, in the new
language) and every other part of the page's one form (the contact details for support, the tick
before a yes to the police; pictures chosen but not added are named and asked for again, never sent
by the switch), and pictures chosen on the report form's pictures step but not yet added (a file
input cannot be filled in again by the server, so they are added on the way, to a draft)."""

from __future__ import annotations

import io

import pytest
from helpers import enable
from PIL import Image
from test_reporting_common import WISHES, in_db, send_report

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
        page.locator('#message-box button[value="message"]').click()
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


def _open(page, base: str, receipt: str) -> None:
    page.goto(f"{base}/reporting/follow-up")
    page.get_by_label("Receipt").fill(receipt)
    with page.expect_navigation():
        page.get_by_role("button", name="Open my report").click()


def _picture(tmp_path, name: str = "IMG_2041.png"):
    path = tmp_path / name
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 30, 200)).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return str(path)


def test_every_part_of_the_follow_up_page_survives_a_change_of_language(reporting, live_server, browser_page,
                                                                      tmp_path, axe_serious):
    from plugins.reporting.models import Attachment, Consent, Report, ReportMessage

    wishes = {**WISHES, "consent_wants_support": "no", "support_contact": "", "support_safe_times": ""}
    reference, receipt = send_report(reporting.test_client(), wishes=wishes)

    def stored():
        with in_db(reporting):
            report = Report.get(Report.reference == reference)
            return (ReportMessage.select().where(ReportMessage.report == report).count(),
                    Attachment.select().where(Attachment.report == report).count(),
                    sorted(c.purpose for c in Consent.select().where(Consent.report == report)),
                    report.support_contact)

    page = browser_page(javascript=False, viewport=PHONE)
    _open(page, live_server, receipt)
    assert axe_serious(page) == []
    before = stored()
    page.get_by_label("Write to our team or add information").fill(TYPED)
    page.get_by_label("The best way to reach you").select_option("text")
    page.get_by_label("Phone number, email or another way to reach you").fill("07700 900555")
    page.get_by_label("Safe ways and times to contact you").fill("After 6pm")
    page.locator("#f-support_may_leave_message-no").check()
    page.locator("#agree-police_report").check()
    page.get_by_label("Add pictures").set_input_files(_picture(tmp_path))

    # Enter in a field sends nothing (the form's first button is a disabled one): no page is loaded.
    contact = page.get_by_label("Phone number, email or another way to reach you")
    asked = len(page.requested_urls)
    contact.press("Enter")
    page.wait_for_timeout(500)
    assert len(page.requested_urls) == asked and contact.input_value() == "07700 900555"
    assert stored() == before

    _change_language(page, "Français")
    assert page.url == f"{live_server}/reporting/follow-up"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert reference in page.locator("h1").inner_text()
    assert page.get_by_label("Écrire à notre équipe ou ajouter des informations").input_value() == TYPED
    assert page.get_by_label("Le meilleur moyen de vous joindre").input_value() == "text"
    assert page.locator("#f-support_contact").input_value() == "07700 900555"
    assert page.get_by_label("Moyens et moments sûrs pour vous contacter").input_value() == "After 6pm"
    assert page.locator("#f-support_may_leave_message-no").is_checked()
    assert page.locator("#agree-police_report").is_checked()
    assert not page.locator("#agree-police_intelligence").is_checked()
    # The picture was not sent: the browser posted its name only, and the page asks for it again.
    notice = page.locator('p[role="status"]').inner_text()
    assert "IMG_2041.png" in notice and "Ajouter ces images" in notice
    assert page.get_by_label("Ajouter des images").input_value() == ""
    assert page.locator(".error, .error-summary").count() == 0
    assert stored() == before  # nothing sent, given or added
    assert axe_serious(page) == []

    # Saying yes now gives it once, with the details kept through the change.
    with page.expect_navigation():
        page.locator('button[value="give:wants_support"]').click()
    assert page.locator("html").get_attribute("lang") == "fr"
    after = stored()
    assert after[2] == sorted([*before[2], "wants_support"]) and after[3] == "07700 900555"
    assert after[:2] == before[:2]  # the message and the picture only go with their own buttons
    assert all(receipt.replace(" ", "") not in url for url in page.requested_urls)


def test_add_these_pictures_sends_the_pictures_from_the_one_form(reporting, live_server, browser_page, tmp_path):
    from plugins.reporting.models import Attachment, Report

    _reference, receipt = send_report(reporting.test_client())
    page = browser_page(javascript=False, viewport=PHONE)
    _open(page, live_server, receipt)
    page.get_by_label("Add pictures").set_input_files(_picture(tmp_path))
    with page.expect_navigation():
        page.get_by_role("button", name="Add these pictures").click()
    assert page.get_by_text("Thank you. Your photos are added to your report.").is_visible()
    with in_db(reporting):
        assert Attachment.select().join(Report).where(Report.id == Attachment.report).count() == 1
