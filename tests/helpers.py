"""Helpers for tests: act on the app the way a browser or an operator would."""

from __future__ import annotations

import re

from core.db import db

TEST_PASSWORD = "a long test passphrase"  # noqa: S105


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token of the client's session, read from a real page like a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict | None = None, token_from: str = "/", **kwargs):
    """POST a form the way a browser does: with the token from a page of the same session."""
    payload = {"csrf_token": csrf_token(client, token_from), **(data or {})}
    return client.post(path, data=payload, **kwargs)


def sign_in(client, user_or_email, password: str = TEST_PASSWORD):
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    response = post_form(client, "/account/login", {"email": email, "password": password}, token_from="/account/login")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def enable(app, *names: str) -> None:
    from core.plugins import get_registry

    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            for name in names:
                get_registry(app).set_enabled(name, True)
        finally:
            db.close()
