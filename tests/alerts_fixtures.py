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
