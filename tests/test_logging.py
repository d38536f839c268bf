"""Structured logging (issue 2, item 9): one JSON object a line, with the request's method, endpoint
and status, and never its path, query string, form contents, identifiers or free text.

A unique canary is sent in a path, a query string, form fields (a sign-in attempt, the language
form) and JSON, and must appear in no log line of any logger the app configures.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import uuid

import pytest
from helpers import csrf_token, post_form


@contextlib.contextmanager
def captured_log():
    """Everything written through the handler that the newest app's core.logs installed (one
    handler shared by the redumbrella, app, werkzeug, huey and peewee loggers)."""
    handler = logging.getLogger("redumbrella").handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


@pytest.fixture
def log_output(app):
    with captured_log() as buffer:
        yield buffer


def _lines(buffer: io.StringIO) -> list[dict]:
    text = buffer.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is a JSON object, or this fails
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


def test_requests_are_logged_as_json_without_personal_data(app, client, log_output):
    canary = f"canary{uuid.uuid4().hex}"
    phone = "+447700900123"

    assert client.get(f"/?q={canary}&phone={phone}").status_code == 200
    assert client.get(f"/no-such-page/{canary}").status_code == 404
    token = csrf_token(client, "/account/login")
    signin = client.post(
        f"/account/login?next=/{canary}",
        data={"csrf_token": token, "email": f"{canary}@example.org", "password": f"{canary} secret"},
    )
    assert signin.status_code == 400
    post_form(client, "/language", {"locale": canary, "next": f"/{canary}"})
    client.post("/api/v1/openapi.json", json={"note": canary, "phone": phone})
    client.post("/language", data={"locale": "es", "next": canary})  # no CSRF token: refused

    text = log_output.getvalue()
    assert canary not in text and phone not in text and "example.org" not in text
    requests = [entry for entry in _lines(log_output) if entry.get("event") == "request"]
    seen = {(entry["method"], entry["endpoint"], entry["status"]) for entry in requests}
    assert ("GET", "core.index", 200) in seen
    assert ("GET", "-", 404) in seen
    assert ("POST", "auth.login", 400) in seen
    assert ("POST", "core.set_language", 303) in seen
    assert ("POST", "core.set_language", 400) in seen
    for entry in requests:
        assert set(entry) <= {"time", "level", "logger", "message", "event", "method", "endpoint", "status",
                              "duration_ms"}, entry
        assert isinstance(entry["duration_ms"], float)


def test_only_whitelisted_fields_reach_the_log(app, log_output):
    """Extra fields a careless caller passes (a phone number, free text) are dropped."""
    logging.getLogger("redumbrella.test").warning(
        "lookup", extra={"event": "lookup", "phone": "+447700900123", "text": "he had a knife", "count": 2}
    )
    entry = _lines(log_output)[-1]
    assert entry["event"] == "lookup" and entry["count"] == 2 and entry["level"] == "WARNING"
    assert "phone" not in entry and "text" not in entry
    assert "+447700900123" not in log_output.getvalue() and "knife" not in log_output.getvalue()


def test_an_unexpected_error_is_logged_by_type_only(make_app):
    app = make_app({"TESTING": False})
    secret = f"canary{uuid.uuid4().hex}"

    @app.route("/boom")
    def boom():
        raise ValueError(f"this message quotes a report: {secret}")

    boom.required_permission = "public"
    with captured_log() as log_output:
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert secret not in response.get_data(as_text=True), "the page shows a polite message, not the error"
    assert secret not in log_output.getvalue()
    errors = [entry for entry in _lines(log_output) if entry.get("event") == "error"]
    assert errors and errors[-1]["reason"] == "ValueError"
