"""Deleting an account and its data in a real browser, on a 360px phone with JavaScript off: the
member's page (password and two-factor code), the confirmation, and the administrator's pages.
axe checks each page as it stands."""

from __future__ import annotations

import pytest
from helpers import TEST_PASSWORD, browser_sign_in_two_factor, enrol_two_factor, next_two_factor_code

pytestmark = pytest.mark.browser


def test_a_member_deletes_their_account_on_a_phone_without_javascript(app, live_server, make_user, browser_page,
                                                                      axe_serious):
    member = make_user("member", email="leaving@example.org")
    enrol_two_factor(app, member)
    page = browser_page(javascript=False, viewport=(360, 740))
    browser_sign_in_two_factor(page, live_server, app, member)
    page.goto(f"{live_server}/account/profile")
    with page.expect_navigation():
        page.get_by_role("link", name="Delete my account and my data").click()
    assert page.get_by_role("heading", name="What is deleted").is_visible()
    assert page.get_by_role("heading", name="What is kept, with nothing that links it to you").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_serious(page) == []

    page.get_by_label("Your password").fill("not the password at all")
    page.get_by_label("Code from your authenticator app").fill("000000")
    with page.expect_navigation():
        page.get_by_role("button", name="Delete my account and my data").click()
    assert page.get_by_role("alert").count() == 1 and page.get_by_text("That password is not right.").count() >= 1
    assert axe_serious(page) == []

    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(next_two_factor_code(app, member))
    with page.expect_navigation():
        page.get_by_role("button", name="Delete my account and my data").click()
    assert page.url.endswith("/account/deleted")
    assert page.get_by_role("heading", name="Your account is deleted").is_visible()
    assert axe_serious(page) == []


def test_an_administrator_erases_an_account_on_a_phone_without_javascript(app, live_server, make_user,
                                                                          browser_page, axe_serious):
    admin = make_user("admin")
    member = make_user("member", email="asked@example.org")
    page = browser_page(javascript=False, viewport=(360, 740))
    browser_sign_in_two_factor(page, live_server, app, admin)
    page.goto(f"{live_server}/admin/members")
    with page.expect_navigation():
        page.get_by_role("link", name="Erase an account and its data").click()
    page.get_by_label("Email address or account number").fill("asked@example.org")
    with page.expect_navigation():
        page.get_by_role("button", name="Find the account").click()
    assert page.get_by_role("heading", name=f"Account #{member.id}").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_serious(page) == []

    erase = page.get_by_role("button", name=f"Erase account #{member.id} and its data")
    page.get_by_label("Your own password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        erase.click()  # the box is not ticked
    assert page.get_by_role("alert").count() == 1
    assert axe_serious(page) == []
    page.get_by_label(f"I understand that account #{member.id} and its data will be erased for good.").check()
    page.get_by_label("Your own password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=f"Erase account #{member.id} and its data").click()
    assert page.get_by_text(f"Account #{member.id} and its data are erased.").is_visible()
    assert axe_serious(page) == []
