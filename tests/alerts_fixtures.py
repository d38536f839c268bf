"""Fixtures shared by the alerts tests (registered in conftest.py): the reporting and alerts
plugins switched on, a moderator and a member, each with a signed-in client. A test file may still
define its own fixture of the same name, which then wins for that file."""

from __future__ import annotations

import pytest
from helpers import enable, sign_in

from core.db import connection


@pytest.fixture
def on(app):
    enable(app, "reporting", "alerts")
    return app


@pytest.fixture
def moderator(on, make_user):
    return make_user("moderator", email="mod@example.org")


@pytest.fixture
def mod_client(on, moderator):
    client = on.test_client()
    sign_in(client, moderator)
    return client


@pytest.fixture
def member(on, make_user):
    return make_user("member", email="member@example.org")


@pytest.fixture
def member_client(on, member):
    client = on.test_client()
    sign_in(client, member)
    return client


def in_app(app, function, *args, **kwargs):
    """Run function inside a request context with a database connection; return what it returns."""
    with app.test_request_context(), connection():
        return function(*args, **kwargs)


def preview_form(client, alert_id: int) -> tuple[str, dict]:
    """The moderator's preview page of an alert, and the fields of its Publish form (csrf_token,
    version, digest), as a browser would send them back."""
    import re

    page = client.get(f"/alerts/manage/{alert_id}/preview").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|version|digest)"[^>]*value="([^"]*)"', page))
    return page, fields


def publish_from_preview(client, alert_id: int):
    """Open the preview and press Publish, as a moderator does on the web."""
    _page, fields = preview_form(client, alert_id)
    assert set(fields) == {"csrf_token", "version", "digest"}, _page[:2000]
    return client.post(f"/alerts/manage/{alert_id}/publish", data=fields)
