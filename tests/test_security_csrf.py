"""Cross-site request forgery: a forged POST is refused (400) and changes nothing, on one form of
each kind (the public language switcher, the sign-in form, an administrator's plugin switch, a
JSON API call made with a session), while the same form sent by our own page goes through,
over plain HTTP and over HTTPS with the browser sending no Referer (our referrer policy)."""

from __future__ import annotations

import re

import pytest
from helpers import TEST_PASSWORD, csrf_token, sign_in
from test_route_permissions import enable_everything
from test_security_headers import https

from core.db import db
from core.plugins import get_registry

EVIL = "https://evil.example"
# What a browser sends when another site's page submits a form to us.
CROSS_SITE = {"Origin": EVIL, "Referer": EVIL + "/trap.html", "Sec-Fetch-Site": "cross-site"}
# What an older browser without Fetch Metadata sends: no Sec-Fetch-Site.
OLD_BROWSER = {"Origin": EVIL, "Referer": EVIL + "/trap.html"}
# What a browser sends for our own page's form, given Referrer-Policy: no-referrer.
SAME_ORIGIN = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}


def html_lang(client) -> str:
    return re.search(r'<html lang="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


def enabled(app, name: str) -> bool:
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            return get_registry(app).is_enabled(name)
        finally:
            db.close()


@pytest.fixture
def visitor(app):
    client = app.test_client()
    assert client.get("/").status_code == 200  # has a session, as a real visitor would
    return client


# -- language switcher (public form) ------------------------------------------------------------


@pytest.mark.parametrize("headers", [CROSS_SITE, OLD_BROWSER, {}], ids=["cross-site", "old-browser", "no-headers"])
def test_forged_language_change_is_refused(visitor, headers):
    response = visitor.post("/language", data={"locale": "es", "next": "/"}, headers=headers)
    assert response.status_code == 400
    assert html_lang(visitor) == "en-GB"


def test_a_token_from_another_session_is_refused(app, visitor):
    attacker = app.test_client()
    stolen = csrf_token(attacker)  # the attacker's own, valid for the attacker's session only
    response = visitor.post("/language", data={"locale": "es", "csrf_token": stolen}, headers=OLD_BROWSER)
    assert response.status_code == 400 and html_lang(visitor) == "en-GB"


def test_a_valid_token_sent_from_another_site_is_still_refused(visitor):
    """Fetch Metadata refuses it even if the token leaked (defence in depth)."""
    token = csrf_token(visitor)
    response = visitor.post("/language", data={"locale": "es", "csrf_token": token}, headers=CROSS_SITE)
    assert response.status_code == 400 and html_lang(visitor) == "en-GB"


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https"])
def test_our_own_form_goes_through(app, secure):
    """The same request with the page's token works, over HTTPS too where no Referer is sent."""
    client = https(app) if secure else app.test_client()
    token = csrf_token(client)
    response = client.post("/language", data={"locale": "es", "next": "/", "csrf_token": token},
                           headers=SAME_ORIGIN)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert html_lang(client) == "es"


# -- sign-in form ----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [CROSS_SITE, OLD_BROWSER], ids=["cross-site", "old-browser"])
def test_forged_sign_in_is_refused(app, make_user, visitor, headers):
    """Login CSRF: another site must not sign a visitor into an account it controls."""
    user = make_user("member")
    response = visitor.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD},
                            headers=headers)
    assert response.status_code == 400
    assert visitor.get("/account/security").status_code == 302  # still signed out


def test_sign_in_over_https_without_referer_works(app, make_user):
    client = https(app)
    sign_in(client, make_user("member"))
    assert client.get("/account/security").status_code == 200


# -- administrator's plugin switch ------------------------------------------------------------------


@pytest.fixture
def admin(app, make_user):
    enable_everything(app)
    client = https(app)
    sign_in(client, make_user("admin"))
    return client


@pytest.mark.parametrize("headers", [CROSS_SITE, OLD_BROWSER, {}], ids=["cross-site", "old-browser", "no-headers"])
def test_forged_plugin_switch_is_refused(app, admin, headers):
    assert enabled(app, "training")
    response = admin.post("/admin/plugins/training", data={"enabled": "0"}, headers=headers)
    assert response.status_code == 400
    assert enabled(app, "training")


def test_the_administrators_own_switch_goes_through(app, admin):
    token = csrf_token(admin, "/admin/plugins")
    response = admin.post("/admin/plugins/training", data={"enabled": "0", "csrf_token": token}, headers=SAME_ORIGIN)
    assert response.status_code == 303
    assert not enabled(app, "training")


# -- a JSON API call riding on a session -------------------------------------------------------------


def test_api_call_with_a_session_needs_the_token(app, admin):
    """With cookies, an API POST needs the X-CSRFToken header; the same call with it gets past CSRF
    to the view (which then answers about the made-up receipt, not about the token)."""
    path = "/api/v1/reports/status"
    body = {"receipt": "NOT-A-REAL-RECEIPT"}
    expired = "This form has expired"
    for headers in (CROSS_SITE, OLD_BROWSER, {}):
        forged = admin.post(path, json=body, headers=headers)
        assert forged.status_code == 400 and forged.is_json and expired in forged.get_json()["error"]["message"]
    token = csrf_token(admin, "/admin/plugins")
    own = admin.post(path, json=body, headers={**SAME_ORIGIN, "X-CSRFToken": token})
    assert own.is_json and expired not in own.get_data(as_text=True)
    assert own.status_code in (404, 422), own.get_data(as_text=True)[:300]
