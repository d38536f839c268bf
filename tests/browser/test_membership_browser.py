"""Applying for membership on a 360px phone with JavaScript off, then a moderator approving it,
and the member's profile page: all in a real browser. axe runs in pages with JavaScript on (it is
a script), at the same sizes and in the same states."""

from __future__ import annotations

import pytest
from helpers import browser_sign_in_two_factor

from core.db import connection

pytestmark = pytest.mark.browser


def test_apply_on_a_phone_without_javascript_then_staff_approve(app, live_server, make_user, browser_page, axe_serious):
    page = browser_page(javascript=False, viewport=(360, 740))
    page.goto(f"{live_server}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Become a member").first.click()
    assert page.url.endswith("/join")

    with page.expect_navigation():
        page.get_by_role("button", name="Send application").click()  # nothing filled in
    assert page.get_by_role("alert").count() == 1
    assert page.get_by_text("Please tell us what to call you.").is_visible()
    assert page.get_by_text("email address or a mobile number").is_visible()

    page.get_by_label("Your working name").fill("Velvet")
    page.get_by_label("Mobile number").fill("07911 123456")
    page.get_by_label("Online or webcam").check()
    page.get_by_label("Where do you mostly work?").select_option("Scotland")
    page.get_by_label("Anything else you would like us to know (optional)").fill("Evenings are best.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send application").click()
    assert page.url.endswith("/join/thanks")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling

    moderator = make_user("moderator", email="mod@example.org")
    staff = browser_page()
    browser_sign_in_two_factor(staff, live_server, app, moderator)
    staff.goto(f"{live_server}/admin/members")
    with staff.expect_navigation():
        staff.get_by_role("link", name="Velvet").click()
    assert staff.get_by_text("07911 123456").is_visible()
    assert axe_serious(staff) == []  # the staff page (JavaScript on)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Approve").click()
    link = staff.get_by_label("Set-password link").input_value()
    assert "/account/set-password/" in link

    page.goto(link)
    page.get_by_label("Email address to sign in with").fill("velvet@example.org")
    page.get_by_label("New password", exact=True).fill("moss lantern river quiet")
    page.get_by_label("The same password again").fill("moss lantern river quiet")
    with page.expect_navigation():
        page.get_by_role("button", name="Set password").click()
    assert "/account/login" in page.url
    with app.app_context(), connection():
        from core.accounts.models import User

        assert User.by_email("velvet@example.org").role_names == {"member"}


def test_the_profile_page_on_a_phone(app, live_server, make_user, browser_page):
    member = make_user("member", email="member@example.org")
    page = browser_page(javascript=False, viewport=(360, 740))
    browser_sign_in_two_factor(page, live_server, app, member)
    page.get_by_role("navigation", name="Main").get_by_text("Menu").click()  # collapsed on a phone
    with page.expect_navigation():
        page.get_by_role("link", name="My account").click()
    assert page.url.endswith("/account/profile")
    page.get_by_label("Text message (SMS)").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Please add a mobile number, or untick text messages.").is_visible()
    page.get_by_label("Mobile number").fill("07911 123456")
    page.get_by_label("How to contact you safely (optional)").fill("Text only")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Your settings are saved.").is_visible()
    assert page.get_by_label("Text message (SMS)").is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_forms_pass_axe_with_and_without_errors(app, live_server, make_user, browser_page, axe_serious):
    page = browser_page(viewport=(360, 740))
    page.goto(f"{live_server}/join")
    assert axe_serious(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="Send application").click()
    assert page.get_by_role("alert").count() == 1 and axe_serious(page) == []

    browser_sign_in_two_factor(page, live_server, app, make_user("member", email="member@example.org"))
    page.goto(f"{live_server}/account/profile")
    assert axe_serious(page) == []
    page.get_by_label("Text message (SMS)").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert page.get_by_role("alert").count() == 1 and axe_serious(page) == []
    page.goto(f"{live_server}/account/delete")
    assert axe_serious(page) == []
