"""The app starts on the configured database and serves its home page and health check."""

import datetime

from helpers import post_form

from core import health
from core.db import connection, utcnow
from core.models import Heartbeat


def test_home_page_renders_with_quick_exit(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-quick-exit' in page
    assert '<html lang="en-GB" dir="ltr">' in page


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok" and body["queue"] == "ok" and body["status"] == "ok"


def test_healthz_tells_a_live_worker_from_a_stale_one_and_from_none(app, client):
    """The worker's heartbeat is read in /healthz's one statement, with the migration history."""
    assert client.get("/healthz").get_json()["worker"] == "unknown"
    with app.app_context(), connection():
        Heartbeat.insert(name=health.HEARTBEAT, seen_at=utcnow() - datetime.timedelta(minutes=6)).execute()
    body = client.get("/healthz").get_json()
    assert body["worker"] == "stale" and body["database"] == "ok" and body["pending_migrations"] == 0
    with app.app_context(), connection():
        health.beat()
    assert client.get("/healthz").get_json()["worker"] == "ok"


def test_language_switcher_changes_language_without_javascript(client):
    response = post_form(client, "/language", {"locale": "es", "next": "/"})
    assert response.status_code == 303
    assert '<html lang="es" dir="ltr">' in client.get("/").get_data(as_text=True)
