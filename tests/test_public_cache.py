"""The anonymous home page and /api/v1/regions, kept in memory per worker (core.anonymous_cache,
issue #14), never weaken what they promise, on SQLite and PostgreSQL:

- kept: asked again, the page is not made again, and it is the page as rendered, byte for byte
  but for the CSRF token, which is each visitor's own and works (the language form posts);
- never one person's: a signed-in member, a visitor with a flashed message or a query string gets
  their own page, and what they saw never reaches an anonymous visitor;
- per language: each language its own page, words and direction;
- never outlives a change made through another app on the same database (another worker): a
  settings change on the admin page, a plugin toggle, a local wording edit, each at the very next
  request; the same for the regions list;
- a page whose block failed is not kept.
"""

from __future__ import annotations

import re

import pytest
from helpers import csrf_token, enable, post_form, sign_in
from test_contact_page import BASE, SETTINGS
from test_membership import staff_client
from test_slots import _plugin
from test_wording import change

from core.anonymous_cache import store
from core.db import connection
from core.plugins import get_registry
from core.slots import PageBlock

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
WELCOME = "Welcome. You have the right to be safe."


def home(app, client=None, **headers) -> str:
    response = (client or app.test_client()).get("/", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"  # kept in the worker, never in a browser
    return response.get_data(as_text=True)


def without_token(page: str) -> str:
    return TOKEN.sub('name="csrf_token" value=""', page)


@pytest.fixture
def workers(make_app):
    """Two apps on one database, as two workers: changes go through the first, pages come from the second."""
    first, second = make_app(), make_app()
    enable(first, "reporting")
    return first, second


def test_kept_page_is_the_rendered_page_with_each_visitors_own_working_token(workers):
    _first, app = workers
    one, two = app.test_client(), app.test_client()
    rendered = home(app, one)
    made = store(app).made
    again = home(app, two)
    assert store(app).made == made, "served from memory, not made again"
    assert without_token(again) == without_token(rendered)
    assert TOKEN.findall(rendered) and TOKEN.findall(again) != TOKEN.findall(rendered)

    # Each visitor's token is the one in their session: the language form works for each, and not
    # with the other's token.
    for client in (one, two):
        answer = post_form(client, "/language", {"locale": "es", "next": "/"})
        assert answer.status_code == 303
        assert '<html lang="es"' in home(app, client)
    stranger = app.test_client()
    home(app, stranger)
    refused = stranger.post("/language", data={"csrf_token": csrf_token(one), "locale": "fr"})
    assert refused.status_code == 400


def test_a_signed_in_member_a_flashed_message_and_a_query_get_their_own_page(workers, make_user):
    _first, app = workers
    anonymous = home(app)
    member = app.test_client()
    sign_in(member, make_user("member", email="member.home@example.org"))
    own = home(app, member)
    assert "Sign out" in own and "My account" in own
    assert "Sign out" not in home(app) and without_token(home(app)) == without_token(anonymous)

    # A flashed message is for the browser it was flashed to: signed out, "you have signed out".
    post_form(member, "/account/logout")
    flashed = home(app, member)
    assert 'class="flashes"' in flashed
    assert 'class="flashes"' not in home(app) and 'class="flashes"' not in home(app, member)

    # The language form carries the address back: a query string is not the kept page's.
    with_query = app.test_client().get("/?from=poster").get_data(as_text=True)
    assert 'name="next" value="/?from=poster"' in with_query
    assert "from=poster" not in home(app)


def test_a_visitor_who_opened_get_support_is_served_the_kept_page(workers):
    """Get support gives each browser a random key for its kept receipt: nothing of the home page
    depends on it, so that visitor is served the page every anonymous visitor is."""
    first, app = workers
    enable(first, "casework")
    visitor = app.test_client()
    assert visitor.get("/casework/support").status_code == 200
    with visitor.session_transaction() as session:
        assert set(session) - {"csrf_token", "_fresh"} == {"kept_receipts"}
    made = store(app).made
    assert WELCOME in home(app, visitor) and store(app).made == made + 1  # made for them, and kept
    assert WELCOME in home(app) and store(app).made == made + 1  # the next visitor is served it


def test_each_language_its_own_page(workers):
    _first, app = workers
    english = home(app, **{"Accept-Language": "en"})
    spanish = home(app, **{"Accept-Language": "es"})
    arabic = home(app, **{"Accept-Language": "ar"})
    assert WELCOME in english and '<html lang="en-GB" dir="ltr">' in english
    assert WELCOME not in spanish and '<html lang="es" dir="ltr">' in spanish
    assert '<html lang="ar" dir="rtl">' in arabic
    made = store(app).made
    assert without_token(home(app, **{"Accept-Language": "es"})) == without_token(spanish)
    assert without_token(home(app, **{"Accept-Language": "ar"})) == without_token(arabic)
    assert WELCOME in home(app, **{"Accept-Language": "en"}) and store(app).made == made


def test_a_settings_change_on_another_worker_shows_at_the_next_request(workers, make_user):
    first, app = workers
    assert 'href="/contact"' not in home(app)
    admin = staff_client(first, make_user, "admin")
    lines = "Call 0800 000 0000"
    assert post_form(admin, SETTINGS, {**BASE, "contact": lines}, token_from=SETTINGS).status_code == 303
    assert 'href="/contact"' in home(app)
    assert "Become a member" in home(app)
    closed = {key: value for key, value in BASE.items() if key != "accept_applications"}
    assert post_form(admin, SETTINGS, {**closed, "contact": lines}, token_from=SETTINGS).status_code == 303
    assert "Become a member" not in home(app) and 'href="/contact"' in home(app)


def test_a_plugin_toggle_on_another_worker_shows_at_the_next_request(workers):
    first, app = workers
    assert 'href="/reporting/"' in home(app)
    assert 'href="/training/"' not in home(app)
    regions = app.test_client().get("/api/v1/regions")
    assert regions.status_code == 200
    with first.app_context(), connection():
        get_registry(first).set_enabled("training", True)
    assert 'href="/training/"' in home(app)
    with first.app_context(), connection():
        get_registry(first).set_enabled("training", False)
        get_registry(first).set_enabled("reporting", False)
    page = home(app)
    assert 'href="/training/"' not in page and 'href="/reporting/"' not in page
    assert app.test_client().get("/api/v1/regions").status_code == 404
    enable(first, "reporting")
    assert app.test_client().get("/api/v1/regions").get_json() == regions.get_json()


def test_a_wording_edit_on_another_worker_shows_at_the_next_request(workers, make_user):
    first, app = workers
    assert WELCOME in home(app, **{"Accept-Language": "en"})
    spanish = home(app, **{"Accept-Language": "es"})
    admin = first.test_client()
    sign_in(admin, make_user("admin", email="wording.home@example.org"))
    assert change(admin, "en", "messages", WELCOME, "Welcome, friend.").status_code == 303
    assert "Welcome, friend." in home(app, **{"Accept-Language": "en"})
    assert without_token(home(app, **{"Accept-Language": "es"})) == without_token(spanish), "only its language"

    london = app.test_client().get("/api/v1/regions").get_json()[0]
    assert london == {"code": "london", "name": "London"}
    assert change(admin, "en", "reporting", "London", "Greater London").status_code == 303
    assert app.test_client().get("/api/v1/regions").get_json()[0] == {"code": "london", "name": "Greater London"}


def test_regions_kept_per_language_and_following_the_settings(workers):
    from core.settings import plugin_settings, save_settings

    first, app = workers
    client = app.test_client()
    english = client.get("/api/v1/regions").get_json()
    made = store(app).made
    assert client.get("/api/v1/regions").get_json() == english and store(app).made == made
    spanish = client.get("/api/v1/regions", headers={"Accept-Language": "es"}).get_json()
    assert [row["code"] for row in spanish] == [row["code"] for row in english] and spanish != english
    with first.test_request_context(), connection():
        settings = dict(plugin_settings("reporting"))
        settings["regions"] = ["wales", "north | Up North"]
        save_settings("reporting", settings)
    assert client.get("/api/v1/regions").get_json() == [{"code": "wales", "name": "Wales"},
                                                         {"code": "north", "name": "Up North"}]


def test_a_page_whose_block_failed_is_not_kept(make_app):
    calls = []

    def flaky(slot):
        calls.append(slot)
        if len(calls) == 1:
            raise RuntimeError("a passing fault")
        return PageBlock("FLAKY-BLOCK", "shown") if slot == "home" else None

    app = make_app(extra_plugins=(_plugin("slotflaky", flaky),))
    enable(app, "slotflaky")
    assert "FLAKY-BLOCK" not in home(app)
    made = store(app).made
    assert "FLAKY-BLOCK" in home(app), "the incomplete page was not kept"
    assert store(app).made == made + 1
    assert "FLAKY-BLOCK" in home(app) and store(app).made == made + 1
