""""Get support" in a real browser on a phone: changing the language in the footer, JavaScript off,
keeps what was typed and sends nothing (the switcher belongs to the form: its form= attribute); a
double tap on "Ask for support" (the first answer held up on the way, as by a slow network) makes
one request and the second answer, the one the browser draws, shows its receipt, until "I have
kept my receipt"; Quick exit (JavaScript on) deletes the receipt
kept for this browser on the way out."""

from __future__ import annotations

import contextlib
import re

import pytest

from browser.site_pages import with_casework
from core.db import connection

pytestmark = pytest.mark.browser

PHONE = (360, 740)


casework = with_casework  # every test here: the app with the casework module on


def _count(app, model_name: str) -> int:
    """Rows of a casework model, or of core's KeptReceipt (where Get support keeps its receipt)."""
    from core import models as core_models
    from plugins.casework import models

    model = getattr(models, model_name, None) or getattr(core_models, model_name)
    with app.app_context(), connection():
        return model.select().count()


def _change_language(page, code: str) -> None:
    page.locator("#language-select").select_option(code)
    with page.expect_navigation():
        page.locator("#language button[type=submit]").click()


def test_changing_language_keeps_the_answers_and_a_double_tap_still_shows_the_receipt(
        casework, live_server, browser_page):
    page = browser_page(javascript=False, viewport=PHONE)
    page.goto(f"{live_server}/casework/support")
    page.get_by_label("A name we can call you").fill("Robin")
    page.get_by_label("The best way to reach you").select_option("signal")
    page.get_by_label("Safe ways and times to contact you").fill("Texts after 6pm")
    page.get_by_role("radio", name="No").check()
    page.get_by_label("What would help?").fill("Somewhere safe to stay")

    _change_language(page, "pl")  # the way to reach them is not typed yet
    assert page.locator("html").get_attribute("lang") == "pl"
    assert page.locator("#f-working_name").input_value() == "Robin"
    assert page.locator("#f-contact_method").input_value() == "signal"
    assert page.locator("#f-safe_times").input_value() == "Texts after 6pm"
    assert page.locator("#f-needs").input_value() == "Somewhere safe to stay"
    assert page.locator("input[name=may_leave_message][value=no]").is_checked()
    assert page.locator(".error-summary").count() == 0 and page.locator("[aria-invalid]").count() == 0
    assert _count(casework, "Referral") == 0

    _change_language(page, "en")
    assert page.locator("html").get_attribute("lang").startswith("en")
    assert page.locator("#f-working_name").input_value() == "Robin"
    page.get_by_label("Phone number, email or another way to reach you").fill("07700 900123")

    # A double tap on a slow connection: the first send reaches the server and is made, but its
    # answer is still on its way when the second tap sends the form again, and the browser draws
    # the second answer only. (The first answer is held here, as a slow network would hold it.)
    held, first_answers = [], []

    def slow_first_answer(route):
        if route.request.method == "POST" and not held:
            first_answers.append(route.fetch().text())
            held.append(route)
        else:
            route.fallback()

    page.route("**/casework/support", slow_first_answer)
    button = page.get_by_role("button", name="Ask for support")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    tap = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(*tap)
    for _ in range(100):
        if first_answers:
            break
        page.wait_for_timeout(50)
    assert _count(casework, "Referral") == 1
    first_receipt = re.search(r'<strong>(\d{4} \d{4} \d{4} \d{4})</strong>', first_answers[0]).group(1)
    page.mouse.click(*tap)  # the second tap, on the same page: the first answer is held
    # The browser gave up on the first answer: it draws the second.
    page.get_by_role("heading", name="Your request is sent").wait_for()
    with contextlib.suppress(Exception):
        held[0].abort()
    assert page.locator("#receipt").count() == 1, page.inner_text("main")[:800]
    assert page.locator("#receipt").inner_text().strip() == first_receipt
    assert "We already have this request" not in page.inner_text("main")
    assert _count(casework, "Referral") == 1

    with page.expect_navigation():
        page.get_by_role("button", name="I have kept my receipt").click()
    assert "This phone or computer no longer shows your receipt." in page.inner_text("main")
    assert first_receipt not in page.content()
    assert _count(casework, "KeptReceipt") == 0


def test_quick_exit_deletes_the_receipt_kept_for_this_browser(casework, live_server, neutral_site, browser_page):
    page = browser_page(javascript=True, viewport=PHONE)
    page.goto(f"{live_server}/casework/support")
    page.get_by_label("Phone number, email or another way to reach you").fill("07700 900123")
    with page.expect_navigation():
        page.get_by_role("button", name="Ask for support").click()
    assert page.locator("#receipt").count() == 1
    assert _count(casework, "KeptReceipt") == 1
    with page.expect_navigation(url=neutral_site):
        page.get_by_role("link", name="Quick exit").click()
    for _ in range(50):  # the beacon arrives on its own, the page does not wait for it
        if _count(casework, "KeptReceipt") == 0:
            break
        page.wait_for_timeout(100)
    assert _count(casework, "KeptReceipt") == 0
