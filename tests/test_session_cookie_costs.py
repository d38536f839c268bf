"""Two costs taken off every browser request (issue #14) keep what they saved, on SQLite and
PostgreSQL (core/accounts/auth/login_session.py):

- the cookie's signing serializer is made once per set of keys: a cookie signed with a key that
  is gone is refused at once, one signed with a key moved to SECRET_KEY_FALLBACKS still works;
- session protection is skipped for an empty session only: a signed-in session opened from
  another browser is still marked not fresh.
"""

from __future__ import annotations

from flask import session
from helpers import sign_in


def _signed_in(app, client) -> bool:
    page = client.get("/").get_data(as_text=True)
    return "Sign out" in page


def test_a_new_secret_key_refuses_old_cookies_unless_the_old_key_is_a_fallback(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("member", email="keys@example.org"))
    assert _signed_in(app, client)

    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    app.secret_key = app.config["SECRET_KEY"] = "a-brand-new-secret-key-that-is-long-enough-9876543210"
    assert _signed_in(app, client), "the old key is a fallback: the cookie still works"

    app.config["SECRET_KEY_FALLBACKS"] = []
    assert not _signed_in(app, client), "the old key is gone: its cookie is refused at once"


def test_session_protection_still_marks_a_session_from_another_browser(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("member", email="browser@example.org"))
    with client:
        client.get("/", headers={"User-Agent": "the same browser"})
        assert "_user_id" in session
    with client:
        client.get("/", headers={"User-Agent": "another browser altogether"})
        assert session.get("_fresh") is False

    anonymous = app.test_client()
    with anonymous:
        assert anonymous.get("/").status_code == 200
        assert "_fresh" not in session and "_user_id" not in session
