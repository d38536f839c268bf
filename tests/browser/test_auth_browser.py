"""Two-factor sign-in in a real browser: setup with the server-drawn QR code, then the code step."""

from __future__ import annotations

import re

import pyotp
import pytest
from helpers import TEST_PASSWORD, browser_sign_in_two_factor

pytestmark = pytest.mark.browser


def test_staff_set_up_two_factor_on_a_phone_without_javascript(app, live_server, make_user, browser_page):
    admin = make_user("admin", email="admin@example.org")
    page = browser_page(javascript=False, viewport=(360, 740))
    browser_sign_in_two_factor(page, live_server, app, admin, enrol=False)
    assert page.url.endswith("/account/two-factor")  # nothing else opens before setup
    page.goto(f"{live_server}/admin/plugins")
    assert page.url.endswith("/account/two-factor")

    page.get_by_label("Your password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Set up two-factor sign-in").click()
    qr = page.locator("main img")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")  # drawn, and allowed by the CSP
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.goto(f"{live_server}/admin/plugins")
    assert page.url.endswith("/admin/plugins")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling


def test_two_factor_sign_in_in_the_browser(app, live_server, make_user, browser_page):
    moderator = make_user("moderator", email="mod@example.org")
    page = browser_page()
    browser_sign_in_two_factor(page, live_server, app, moderator)
    page.goto(f"{live_server}/account/security")
    assert page.locator("h1").inner_text() == "Signing in and security"
