"""Alerts in a real browser: a member on a 360px phone with JavaScript off reads, filters, prints
and checks; chooses how to be told; a moderator writes, corrects and publishes an alert from a
verified report. Every page is checked with axe. With REDUMBRELLA_DOCS_SCREENSHOTS=1 the pages
are also saved, small, as the screenshots of docs/modules/alerts.md."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from helpers import browser_sign_in_two_factor, enable

from core.db import connection

pytestmark = pytest.mark.browser
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "modules" / "img"


@pytest.fixture
def shoot(screenshot):
    """Save a screenshot for the docs when asked to (small PNG), else as a test artifact."""

    def take(page, name: str) -> None:
        if os.environ.get("REDUMBRELLA_DOCS_SCREENSHOTS") != "1":
            screenshot(page, f"alerts-{name}")
            return
        from PIL import Image

        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        image = Image.open(io.BytesIO(page.screenshot(full_page=True)))
        image = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        image.save(DOCS_IMAGES / f"alerts-{name}.png", optimize=True)

    return take


def _setup(app):
    from test_alerts_helpers import make_report

    from core.accounts.models import User
    from plugins.alerts import service

    enable(app, "reporting", "alerts")
    with app.test_request_context(), connection():
        moderator = User.by_email("mod@example.org")
        first = make_report(phones=["07700 900123"], region="london", incident_types=("robbery", "threats"),
                            description={"gender": "man", "age_range": "40-50", "build": "heavy",
                                         "features": "a scar above the left eye"},
                            vehicle={"make": "Ford", "model": "Focus", "colour": "silver"})
        alert = service.create_from_reports([first], {
            "title": "Man who robs after booking",
            "summary": "He books by phone, pays at the door, then takes the money back with threats.\n\n"
                       "If he calls, do not see him alone.",
            "severity": "high", "regions": ["london", "south_east"],
            # written by the moderator: a report's own words are never copied into an alert
            "perpetrators": [{"description": {"gender": "man", "age_range": "40-50", "build": "heavy",
                                              "features": "a scar above the left eye"},
                              "vehicle": {"make": "Ford", "model": "Focus", "colour": "silver"}}]}, moderator)
        service.review(alert, moderator)
        service.publish(alert, moderator)
        other = make_report(handles=["@quickcash"], region="wales", incident_types=("fake_client",))
        second = service.create_from_reports([other], {"title": "Time-waster with fake deposits",
                                                       "summary": "Sends fake payment screenshots.",
                                                       "severity": "low"}, moderator)
        service.review(second, moderator)
        service.publish(second, moderator)
        waiting = make_report(plates=["KX19 ABC"], region="london", incident_types=("physical_assault",))
        from core.plugins import get_registry

        get_registry(app).call("report_verified", app=app, report=waiting)  # as the reporting plugin does
        return alert


def test_a_member_reads_prints_and_checks_on_a_phone_without_javascript(app, live_server, make_user, browser_page,
                                                                        axe_serious, shoot):
    make_user("moderator", email="mod@example.org")
    alert = _setup(app)
    member = make_user("member", email="member@example.org")
    page = browser_page(javascript=False, viewport=(360, 740))
    browser_sign_in_two_factor(page, live_server, app, member)
    page.get_by_role("navigation", name="Main").get_by_text("Menu").click()  # collapsed on a phone
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts", exact=True).click()
    assert page.get_by_role("link", name="Man who robs after booking").is_visible()
    assert page.get_by_role("link", name="Time-waster with fake deposits").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_serious(page) == []
    shoot(page, "list")

    page.get_by_text("Search and filter").click()
    page.get_by_label("Region").select_option("wales")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert page.get_by_role("link", name="Time-waster with fake deposits").is_visible()
    assert page.get_by_role("link", name="Man who robs after booking").count() == 0

    page.goto(f"{live_server}/alerts/{alert.id}")
    assert page.get_by_text("07700 900123").is_visible()  # as people write it (core/display.py)
    assert page.get_by_text("a scar above the left eye").is_visible()
    assert axe_serious(page) == []
    shoot(page, "alert")
    with page.expect_navigation():
        page.get_by_role("link", name="Printable version").click()
    assert page.locator("nav").count() == 0 and page.get_by_text("Do not post it online").is_visible()
    assert axe_serious(page) == []

    page.goto(f"{live_server}/alerts/check")
    page.get_by_label("Phone number, e-mail, number plate or online name").fill("+44 7700 900123")
    with page.expect_navigation():
        page.get_by_role("button", name="Check").click()
    assert page.get_by_role("heading", name="Caution").is_visible()
    assert page.get_by_role("link", name="Man who robs after booking").is_visible()
    assert page.get_by_label("Phone number, e-mail, number plate or online name").input_value() == ""
    assert axe_serious(page) == []
    shoot(page, "check-caution")
    page.get_by_label("Phone number, e-mail, number plate or online name").fill("07911 123456")
    with page.expect_navigation():
        page.get_by_role("button", name="Check").click()
    assert page.get_by_role("heading", name="No record").is_visible()
    shoot(page, "check-no-record")

    page.goto(f"{live_server}/alerts/subscription")
    page.get_by_label("E-mail").check()
    page.get_by_label("London").check()
    page.get_by_label("Once a day, in one message").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_text("Your choices are saved.").is_visible()
    assert page.get_by_label("London").is_checked() and page.get_by_label("Once a day, in one message").is_checked()
    assert axe_serious(page) == []
    shoot(page, "subscription")


def test_a_moderator_writes_corrects_and_publishes_an_alert(app, live_server, make_user, browser_page, axe_serious,
                                                           shoot):
    moderator = make_user("moderator", email="mod@example.org")
    _setup(app)
    member = browser_page(javascript=False, viewport=(360, 740))
    page = browser_page(javascript=False, viewport=(1100, 800))
    browser_sign_in_two_factor(page, live_server, app, moderator)
    page.goto(f"{live_server}/alerts/manage/")
    assert page.get_by_role("heading", name="Verified reports that may become alerts").is_visible()
    assert axe_serious(page) == []
    shoot(page, "manage")
    with page.expect_navigation():
        page.get_by_role("link", name="Write an alert").nth(1).click()  # the row of the waiting report
    page.get_by_label("Summary for members").fill("A man who became violent when asked to leave. "
                                                   "He drives a dark blue van.")
    assert axe_serious(page) == []
    shoot(page, "new")
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    assert "/edit" in page.url
    assert page.get_by_label("Phone numbers, e-mails, plates, online names and websites to publish").input_value() == \
        "plate: KX19ABC"
    page.get_by_label("Headline").fill("Violent when asked to leave")
    page.get_by_label("Serious danger").check()
    page.locator("#p0_make").fill("Ford")
    page.locator("#p0_colour").fill("dark blue")
    assert axe_serious(page) == []
    shoot(page, "edit")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("link", name="Preview and publish").click()
    assert "will be told" in page.locator("#audience").inner_text()
    assert axe_serious(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="Publish and notify subscribers").click()
    assert page.get_by_text("Published. Subscribers are being told now.").is_visible()
    assert page.get_by_text("Status: published").is_visible()
    assert axe_serious(page) == []
    shoot(page, "staff-view")

    reader = make_user("member", email="reader@example.org")
    browser_sign_in_two_factor(member, live_server, app, reader)
    member.goto(f"{live_server}/alerts/")
    assert member.get_by_role("link", name="Violent when asked to leave").is_visible()


def test_the_printable_page_has_the_quick_exit_wraps_long_words_and_prints_without_it(
        app, live_server, neutral_site, make_user, browser_page, axe_serious, screenshot):
    from core.accounts.models import User
    from plugins.alerts import service

    make_user("moderator", email="mod@example.org")
    alert = _setup(app)
    long_word = "F" * 300
    with app.test_request_context(), connection():
        service.update(alert, {"perpetrators": [{"description": {"features": long_word}, "vehicle": {}}],
                               "summary": "See https://example.invalid/" + "x" * 300},
                       User.by_email("mod@example.org"))
    member = make_user("member", email="member@example.org")
    page = browser_page(viewport=(360, 740))
    browser_sign_in_two_factor(page, live_server, app, member)
    before = f"{neutral_site}?visited-before"
    page.goto(before)
    page.goto(f"{live_server}/alerts/{alert.id}/print")
    assert page.title() == "Alert · Red Umbrella"
    assert page.get_by_text(long_word).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.get_by_role("link", name="Quick exit").is_visible()
    assert axe_serious(page) == []
    screenshot(page, "alerts-print-phone")
    page.emulate_media(media="print")
    assert page.locator(".quick-exit").evaluate("el => getComputedStyle(el).display") == "none"
    assert page.get_by_text("Do not post it online").is_visible()
    page.emulate_media(media="screen")
    with page.expect_navigation(url=neutral_site):
        page.keyboard.press("Escape")
    page.go_back()
    assert page.url == before  # the printable page left the history


def test_a_member_whose_region_has_nothing_sees_why_and_reaches_every_region_without_javascript(
        app, live_server, make_user, browser_page, axe_serious, screenshot):
    from plugins.alerts import subscriptions

    make_user("moderator", email="mod@example.org")
    _setup(app)
    member = make_user("member", email="member@example.org")
    with app.test_request_context(), connection():
        subscriptions.save(member, {"channels": ["web"], "regions": ["north_west"]}, sms_available=False)
    page = browser_page(javascript=False, viewport=(360, 740))
    browser_sign_in_two_factor(page, live_server, app, member)
    page.goto(f"{live_server}/alerts/")
    assert page.get_by_text("Showing alerts for North West England.").is_visible()
    assert page.get_by_text("No alerts for North West England right now.").is_visible()
    assert page.get_by_role("link", name="Man who robs after booking").count() == 0
    assert axe_serious(page) == []
    screenshot(page, "alerts-list-own-region-empty")
    with page.expect_navigation():
        page.get_by_role("link", name="Show all regions").click()
    assert page.get_by_role("link", name="Man who robs after booking").is_visible()
    assert page.get_by_role("link", name="Time-waster with fake deposits").is_visible()
