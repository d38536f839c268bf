"""Fixtures shared by the alerts tests (registered in conftest.py): the reporting and alerts
plugins switched on, a moderator and a member, each with a signed-in client, a real SMTP server and
the app sending to it. A test file may still define its own fixture of the same name, which then
wins for that file (a file that overrides ``on`` gets the others on its own app).

Helpers to import: ``in_app``, ``draft`` and ``publish`` (an alert made and published by the
service, as a moderator would), ``preview_form`` and ``publish_from_preview`` (the same on the web)."""

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


@pytest.fixture
def smtp():
    from smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailing(on, make_app, smtp):
    """The app, sending to the real SMTP server, with links to a neutral address."""
    from test_alerts_helpers import mail_settings

    return make_app(mail_settings(smtp))


def in_app(app, function, *args, **kwargs):
    """Run function inside a request context with a database connection; return what it returns."""
    with app.test_request_context(), connection():
        return function(*args, **kwargs)


def draft(app, moderator, region="london", title="TITLE-TEXT", **report_kwargs):
    """A draft alert about one verified report (made with test_alerts_helpers.make_report and
    report_kwargs), written by the moderator."""
    from test_alerts_helpers import make_report

    from core.accounts.models import User
    from plugins.alerts import service

    def make():
        report = make_report(region=region, **report_kwargs)
        return service.create_from_reports([report], {"summary": "SUMMARY-TEXT about a man.", "title": title},
                                           User.get_by_id(moderator.id))

    return in_app(app, make)


def publish(app, moderator, alert):
    """Review and publish a draft alert as the moderator; returns the published alert."""
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    def review_and_publish():
        actor = User.get_by_id(moderator.id)
        service.review(Alert.get_by_id(alert.id), actor)
        return service.publish(Alert.get_by_id(alert.id), actor)

    return in_app(app, review_and_publish)


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
