"""axe-core (bundled by axe-playwright-python, injected by the test) on our pages: no serious or
critical violations, colour contrast included, at desktop and phone widths."""

from __future__ import annotations

import pytest
from helpers import enable

pytestmark = pytest.mark.browser

ALL_PLUGINS = ("reporting", "alerts", "casework", "training")


PUBLIC_PAGES = [("home", "/"), ("sign-in", "/account/login"), ("reporting", "/reporting/"),
                ("training", "/training/"), ("training-verify", "/training/verify"),
                ("casework-support", "/casework/support"), ("not-found", "/no-such-page")]


@pytest.mark.parametrize(("viewport", "pages"), [((360, 640), PUBLIC_PAGES), ((1280, 800), PUBLIC_PAGES[:2])],
                         ids=["phone", "desktop"])
def test_public_pages_have_no_serious_accessibility_violations(app, live_server, browser_page, axe_serious,
                                                               screenshot, viewport, pages):
    """Every public page on a phone (most people come on one); the desktop layout on two of them."""
    enable(app, *ALL_PLUGINS)
    page = browser_page(viewport=viewport)
    width = viewport[0]
    for name, path in pages:
        page.goto(f"{live_server}{path}")
        assert page.locator("main h1").count() == 1, path
        screenshot(page, f"axe-{width}-{name}")
        assert axe_serious(page) == [], path


def test_sign_in_errors_are_accessible(live_server, browser_page, axe_serious, screenshot):
    page = browser_page(viewport=(360, 640))
    page.goto(f"{live_server}/account/login")
    page.get_by_label("Email").fill("not an email")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("main .error").count() >= 1
    screenshot(page, "axe-360-sign-in-errors")
    assert axe_serious(page) == []


def test_signed_in_pages_have_no_serious_accessibility_violations(app, live_server, browser_page, browser_sign_in,
                                                                  make_user, axe_serious, screenshot):
    enable(app, *ALL_PLUGINS)
    viewport = (1280, 800)  # staff mostly work at a desk; the phone layout is covered by the public pages
    page = browser_page(viewport=viewport)
    browser_sign_in(page, live_server, make_user("moderator", "caseworker", "casework_supervisor", "trainer", "admin"))
    width = viewport[0]
    for name, path in [("home-signed-in", "/"), ("alerts", "/alerts/"), ("casework", "/casework/"),
                       ("casework-referrals", "/casework/referrals"), ("casework-dashboard", "/casework/dashboard"),
                       ("casework-returns", "/casework/returns"), ("training-author", "/training/author/"),
                       ("training-author-new", "/training/author/courses/new"),
                       ("training-sessions", "/training/author/sessions/"),
                       ("training-certificates-issued", "/training/certificates/issued"),
                       ("training-reports", "/training/reports"),
                       ("admin-plugins", "/admin/plugins"), ("profile", "/account/profile")]:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        screenshot(page, f"axe-{width}-{name}")
        assert axe_serious(page) == [], path


def test_axe_does_catch_a_contrast_failure(live_server, browser_page, axe_serious):
    """The check itself works offline and would fail on a real problem."""
    page = browser_page()
    page.goto(f"{live_server}/")
    assert axe_serious(page) == []
    page.evaluate("document.querySelector('main h1').style.color = '#cccccc'")
    assert any(line.startswith("color-contrast (serious)") for line in axe_serious(page))


def test_axe_checks_pages_opened_without_javascript(live_server, browser_page, axe_serious):
    """A no-JavaScript page (here the answer to a POST) is checked on a copy of its DOM, and a real
    problem in it is still found."""
    page = browser_page(javascript=False, viewport=(360, 640))
    page.goto(f"{live_server}/account/login")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("main .error").count() >= 1
    assert axe_serious(page) == []
    page.evaluate("document.querySelector('label[for=email]').remove()")
    assert any(line.startswith("label (critical)") for line in axe_serious(page))
