"""The dropins plugin through real pages and real requests, as a person or a client uses it."""

import re

from core.accounts.service import create_account
from core.db import connection
from core.plugins import get_registry

from redumbrella_dropins.models import DropIn

PASSPHRASE = "a long test passphrase"  # noqa: S105  # a test account's, on a throwaway database


def form_token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def sign_in(client, email):
    token = form_token(client, "/account/login")
    response = client.post("/account/login", data={"csrf_token": token, "email": email, "password": PASSPHRASE})
    assert response.status_code == 302


def volunteer(app, email="volunteer@example.org"):
    with app.app_context(), connection():
        return create_account(email, PASSPHRASE, ["dropins_volunteer"])


def test_page_and_menu_follow_enable_and_disable(app):
    client = app.test_client()
    assert client.get("/dropins/").status_code == 200
    assert 'href="/dropins/"' in client.get("/").get_data(as_text=True)  # the menu item
    with app.app_context(), connection():
        get_registry(app).set_enabled("dropins", False)
    assert client.get("/dropins/").status_code == 404
    assert client.get("/api/v1/dropins").status_code == 404
    assert 'href="/dropins/"' not in client.get("/").get_data(as_text=True)


def test_a_volunteer_lists_a_dropin_and_the_api_shows_it(app):
    volunteer(app)
    client = app.test_client()
    assert client.get("/dropins/new").status_code == 302  # signed out: to the sign-in page
    sign_in(client, "volunteer@example.org")
    token = form_token(client, "/dropins/new")
    response = client.post("/dropins/new", data={"csrf_token": token, "name": "Harbour Project", "area": "Leeds"})
    assert response.status_code == 303
    assert "Harbour Project" in client.get("/dropins/").get_data(as_text=True)
    assert client.get("/api/v1/dropins").get_json()["dropins"][0]["name"] == "Harbour Project"
    assert "/dropins" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_a_member_without_the_role_is_refused(app):
    with app.app_context(), connection():
        create_account("member@example.org", PASSPHRASE, ["member"])
    client = app.test_client()
    sign_in(client, "member@example.org")
    assert client.get("/dropins/new").status_code == 403


def test_missing_name_is_answered_in_spanish(app):
    volunteer(app)
    client = app.test_client()
    sign_in(client, "volunteer@example.org")
    token = form_token(client, "/dropins/new")
    response = client.post("/dropins/new", data={"csrf_token": token, "area": "Leeds"},
                           headers={"Accept-Language": "es"})
    assert response.status_code == 422
    assert "Escriba un nombre." in response.get_data(as_text=True)
    with app.app_context(), connection():
        assert DropIn.select().count() == 0


def test_api_lists_a_dropin_with_a_token_and_refuses_bad_input(app):
    from core.accounts.tokens import create_token

    with app.app_context(), connection():
        _record, token = create_token(volunteer(app), "test")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    response = client.post("/api/v1/dropins", json={"name": "Harbour Project", "area": "Leeds"}, headers=auth)
    assert response.status_code == 201 and response.get_json()["name"] == "Harbour Project"

    response = client.post("/api/v1/dropins", json={"name": "", "area": "Leeds", "colour": "red"}, headers=auth)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"name", "colour"}

    assert client.post("/api/v1/dropins", json={"name": "X", "area": "Y"}).status_code == 401  # no token
