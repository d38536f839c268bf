"""Issue #12 in a real browser, JavaScript off, on a 360 px phone: choosing how to be told about
alerts is one choice, and the report form's first step and its consent questions say what must be
answered, with each error in the summary naming its question and taking you to it. Checked with
axe-core too."""

from __future__ import annotations

import pytest
from helpers import enable

pytestmark = pytest.mark.browser

PHONE = (360, 740)


def _no_sideways_scrolling(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0], page.url


def test_choosing_how_to_be_told_on_a_phone_without_javascript(app, live_server, make_user, browser_page,
                                                               browser_sign_in, axe_serious):
    enable(app, "reporting", "alerts")
    member = make_user("member", email="phone@example.org")
    page = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(page, live_server, member)
    page.goto(f"{live_server}/alerts/")
    with page.expect_navigation():
        page.get_by_role("link", name="Get alerts by e-mail", exact=True).click()
    assert page.url == f"{live_server}/alerts/subscription"
    group = page.get_by_role("group", name="How should we tell you about a new alert?")
    radios = group.get_by_role("radio")
    assert radios.count() == 2 and not any(radios.nth(i).is_checked() for i in range(2))
    _no_sideways_scrolling(page)
    assert axe_serious(page) == []

    # Nothing chosen: the summary names the question and its link goes to it.
    page.get_by_label("London").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    link = page.locator(".error-summary a", has_text="How should we tell you about a new alert?")
    assert link.is_visible() and link.get_attribute("href") == "#channels"
    assert page.get_by_label("London").is_checked()  # what was chosen is still there
    assert axe_serious(page) == []
    _no_sideways_scrolling(page)

    page.get_by_label("By e-mail").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Your choices are saved.").is_visible()
    assert page.get_by_label("By e-mail").is_checked()
    assert not page.get_by_label("No messages: I will look at the alerts on this site").is_checked()


def test_report_step_one_and_the_consent_questions_on_a_phone_without_javascript(app, live_server, browser_page,
                                                                                axe_serious):
    enable(app, "reporting")
    page = browser_page(javascript=False, viewport=PHONE)
    page.goto(f"{live_server}/reporting/report")
    lead = page.locator("p.lead").inner_text()
    assert "You can skip any question on this page." in lead and "marked" not in lead
    _no_sideways_scrolling(page)
    assert axe_serious(page) == []

    page.get_by_label("Robbery or theft").check()
    for _step in range(3):  # what, when, who
        with page.expect_navigation():
            page.get_by_role("button", name="Save and continue").click()
    assert page.get_by_role("heading", name="What you would like us to do").is_visible()
    share = page.get_by_role("radiogroup", name="Share a warning with other sex workers")
    assert "(needed)" in share.inner_text() and share.get_attribute("aria-required") == "true"
    page.locator("#f-consent_share_alert-yes").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    entries = page.locator(".error-summary li").all_inner_texts()
    assert entries == [
        "Share anonymous information with the police (nothing that identifies you): Please choose yes or no.",
        "Help you to make a full report to the police: Please choose yes or no.",
        "Support from a caseworker: Please choose yes or no.",
        "Include your report in research about harm against sex workers (counts only, never your words or "
        "anything that could identify you): Please choose yes or no.",
    ]
    assert page.locator("#f-consent_share_alert-yes").is_checked()  # the answer given is kept
    _no_sideways_scrolling(page)
    assert axe_serious(page) == []
    page.locator(".error-summary a", has_text="Support from a caseworker").click()
    assert page.url.endswith("#f-consent_wants_support-yes")
    assert page.evaluate("document.activeElement.id") == "f-consent_wants_support-yes"
