"""Identifiers read left to right in a right-to-left page (docs/right-to-left.md): every field that
takes a phone number, an e-mail, an online name, a plate, a receipt or a way to reach someone has
dir="ltr", and such a value shown back is in <bdi dir="ltr">. In Arabic without it, "07700 900555"
shows as "900555 07700" and a receipt's four groups in reverse order.

Also here: the site's name is cut at its own end in Arabic (dir="auto"), the join form lets the
browser remember nothing, and a yes to the police on "Follow up" needs a tick first."""

from __future__ import annotations

import re

import pytest
from helpers import enable, post_form, sign_in
from test_reporting_common import FORM, WHAT, WHEN, WHO, WISHES, api_report, fill_in, step

ARABIC = {"Accept-Language": "ar"}


@pytest.fixture
def app(app):
    enable(app, "reporting", "alerts")
    return app


def field(page: str, name: str) -> str:
    """The opening tag of the input or textarea named `name`."""
    match = re.search(rf'<(?:input|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>', page, re.S)
    assert match, name
    return match.group(0)


def test_the_receipt_box_on_follow_up_is_left_to_right(client):
    page = client.get("/reporting/follow-up", headers=ARABIC).get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert 'dir="ltr"' in field(page, "receipt")


def test_the_report_steps_take_identifiers_left_to_right(client):
    client.get(FORM, headers=ARABIC)
    step(client, WHAT, step_code="what", headers=ARABIC)
    who = step(client, WHEN, step_code="when", headers=ARABIC).get_data(as_text=True)
    for name in ("p0-phones", "p0-emails", "p0-handles", "p0-vehicle_plate"):
        assert 'dir="ltr"' in field(who, name), name
    for name in ("p0-names", "p0-features", "p0-vehicle_make"):
        assert "dir=" not in field(who, name), name  # words people write keep the page's direction
    wishes = step(client, WHO, step_code="who", headers=ARABIC).get_data(as_text=True)
    assert 'dir="ltr"' in field(wishes, "support_contact")
    assert "dir=" not in field(wishes, "support_safe_times")


def test_the_check_step_shows_identifiers_and_the_reporters_contact_left_to_right(client):
    page = fill_in(client, wishes={**WISHES, "support_contact": "07700 900555"}).get_data(as_text=True)
    assert '<bdi dir="ltr">07700 900555</bdi>' in page  # "How to reach you"
    for shown in ("dave@example.com", "@dave_x", "AB12 CDE"):
        assert re.search(rf'<bdi dir="ltr">{re.escape(shown)}</bdi>', page, re.I), shown
    assert re.search(r'<bdi dir="ltr">07700 900123</bdi>', page)


def test_the_support_contact_on_follow_up_is_left_to_right_and_the_police_need_a_tick(client):
    receipt = api_report(client).get_json()["receipt"]
    page = post_form(client, "/reporting/follow-up", {"receipt": receipt}, token_from="/reporting/follow-up",
                     headers=ARABIC).get_data(as_text=True)
    assert 'dir="ltr"' in field(page, "support_contact")
    # One form for the page (the language switcher keeps all of it): each yes, with its tick, in its own item.
    for purpose in ("police_intelligence", "police_report"):
        item = re.search(rf'<li>(?:(?!</li>).)*value="give:{purpose}"(?:(?!</li>).)*</li>', page, re.S)
        assert item, purpose
        tick = re.search(r'<input type="checkbox"[^>]*>', item.group(0)).group(0)
        assert f'id="agree-{purpose}"' in tick and f'name="agree" value="{purpose}"' in tick
        assert f'<label for="agree-{purpose}">' in item.group(0)
    share = re.search(r'<li>(?:(?!</li>).)*value="give:research"(?:(?!</li>).)*</li>', page, re.S)
    assert share and 'type="checkbox"' not in share.group(0)  # only the police yes needs the extra step


def test_the_number_check_takes_its_identifier_left_to_right(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("member"))
    page = client.get("/alerts/check", headers=ARABIC).get_data(as_text=True)
    assert 'dir="ltr"' in field(page, "identifier")


def test_the_site_name_keeps_its_own_direction(client):
    page = client.get("/", headers=ARABIC).get_data(as_text=True)
    assert re.search(r'<a class="site-name"[^>]*>.*?<span dir="auto">[^<]+</span>', page, re.S)


def test_the_join_form_lets_the_browser_remember_nothing(client):
    page = client.get("/join").get_data(as_text=True)
    assert re.search(r'<form method="post"[^>]*autocomplete="off"', page)
    for name in ("working_name", "email", "mobile"):
        tag = field(page, name)
        assert 'autocomplete="off"' in tag, name
        assert not re.search(r'autocomplete="(nickname|email|tel)"', tag), name
    assert 'dir="ltr"' in field(page, "email") and 'dir="ltr"' in field(page, "mobile")


def test_the_receipt_on_your_support_and_the_contact_on_get_support_are_left_to_right(app, client):
    enable(app, "casework")
    page = client.get("/casework/support", headers=ARABIC).get_data(as_text=True)
    assert 'dir="ltr"' in field(page, "contact")
    assert 'dir="ltr"' in field(client.get("/casework/my-support/").get_data(as_text=True), "receipt")
