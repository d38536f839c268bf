"""An unexpected error (issue 9, item 2): the log says where it happened and nothing of what was
sent; the page says only what is true.

A real bug is stood in for by the test plugin "failing" (tests/fixtures/failing_plugin.py), whose
hooks raise when told to, with an error message and a local variable quoting the request.
"""

from __future__ import annotations

import json
import uuid

import pytest
from fixtures import failing_plugin
from helpers import csrf_token, enable
from test_logging import captured_log
from test_reporting_common import FORM, WHAT, fill_in, in_db, step

FALSE_CLAIM = "has been lost"


@pytest.fixture
def failing_app(make_app):
    app = make_app({"TESTING": False}, extra_plugins=[failing_plugin])
    enable(app, "reporting", "failing")
    failing_plugin.FAIL_ON.clear()
    yield app
    failing_plugin.FAIL_ON.clear()


def _errors(text: str) -> list[dict]:
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [entry for entry in entries if entry.get("event") == "error"]


def test_the_log_says_where_an_error_happened_and_never_what_was_sent(failing_app):
    canary = f"canary{uuid.uuid4().hex}"
    client = failing_app.test_client()
    token = csrf_token(client, FORM)
    failing_plugin.FAIL_ON.add("nav_items")
    with captured_log() as log_output:  # a page drawn in answer to a POST (the report form redirects)
        response = client.post(
            f"/reporting/follow-up?q={canary}",
            data={"csrf_token": token, "receipt": f"he said {canary}"},
            headers={"X-Note": canary, "User-Agent": canary},
        )
    assert response.status_code == 500
    text = log_output.getvalue()
    assert canary not in text, "the request, the error's message and its locals stay out of the log"
    (entry,) = _errors(text)
    assert entry["exception"] == "PluginBug" and entry["reason"] == "PluginBug"
    assert entry["endpoint"] == "reporting.follow_up"
    stack = entry["stack"]
    # Where it happened: file, line and function of each frame, the innermost last.
    assert stack[-1].startswith("tests/fixtures/failing_plugin.py:") and stack[-1].endswith(" in _maybe_fail")
    assert any(frame.startswith("plugins/reporting/views.py:") for frame in stack), stack
    assert all(" in " in frame and ":" in frame for frame in stack)
    assert not any("/home/" in frame or "/root/" in frame for frame in stack)


def test_an_api_error_never_claims_nothing_was_lost(failing_app, make_user):
    from core.accounts.tokens import create_token

    enable(failing_app, "alerts")
    with in_db(failing_app):
        token = create_token(make_user("member"), "tests")[1]
    canary = f"canary{uuid.uuid4().hex}"
    failing_plugin.FAIL_ON.add("access_paused")
    with captured_log() as log_output:
        response = failing_app.test_client().post("/api/v1/check", json={"identifier": f"{canary}@example.org"},
                                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    message = response.get_json()["error"]["message"]
    assert FALSE_CLAIM not in message and "still here" not in message
    assert canary not in log_output.getvalue()
    assert _errors(log_output.getvalue())[0]["stack"][-1].endswith(" in _maybe_fail")


def test_a_module_failing_after_a_report_is_kept_is_logged_without_what_was_sent(failing_app):
    """The report is kept and its receipt given (core.plugins.PluginRegistry.notify); the failure is
    logged by type and place, never with the narrative the failing code quoted."""
    canary = f"canary{uuid.uuid4().hex}"
    failing_plugin.FAIL_ON.add("report_submitted")
    with captured_log() as log_output:
        response = failing_app.test_client().post("/api/v1/reports", json={"narrative": f"he said {canary}"})
    assert response.status_code == 201 and response.get_json()["receipt"]
    assert canary not in log_output.getvalue()
    [failure] = [json.loads(line) for line in log_output.getvalue().splitlines()
                 if '"hook_failed"' in line]
    assert (failure["plugin"], failure["reason"], failure["exception"]) == ("failing", "report_submitted", "PluginBug")
    assert failure["stack"][-1].endswith(" in _maybe_fail")


def test_the_report_form_says_answers_are_kept_only_when_they_are(failing_app, monkeypatch):
    from plugins.reporting import views

    client = failing_app.test_client()
    client.get(FORM)
    real_render = views.render_template

    def broken_page(*args, **kwargs):
        raise failing_plugin.PluginBug("the page could not be drawn")

    # The first step's answers are stored in the draft (the POST), then the page after the redirect
    # fails: they are still there.
    monkeypatch.setattr(views, "render_template", broken_page)
    kept = step(client, WHAT, step_code="what")
    assert kept.status_code == 500
    page = kept.get_data(as_text=True)
    assert "What you typed is still here" in page and FALSE_CLAIM not in page
    from plugins.reporting.models import Draft

    with in_db(failing_app):
        assert Draft.select().count() == 1

    # Sending deletes the draft (the report is stored); a failure after that must not say the
    # answers are still here, since they are not.
    monkeypatch.setattr(views, "render_template", real_render)
    fill_in(client)
    monkeypatch.setattr(views, "render_template", broken_page)
    sent = step(client, action="send", step_code="check")
    assert sent.status_code == 500
    page = sent.get_data(as_text=True)
    assert "still here" not in page and FALSE_CLAIM not in page
    with in_db(failing_app):
        assert not any(WHAT["narrative"] in (row.data or "") for row in Draft.select())  # only "sent"
    # and the receipt was not lost with the page that failed: the next one shows it
    monkeypatch.setattr(views, "render_template", real_render)
    assert 'id="receipt"' in client.get(FORM).get_data(as_text=True)


def test_a_page_error_without_a_draft_claims_nothing(failing_app):
    client = failing_app.test_client()
    failing_plugin.FAIL_ON.add("nav_items")
    response = client.post("/account/login", data={"csrf_token": csrf_token(client, "/account/login"),
                                                    "email": "nobody@example.org", "password": "wrong"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "still here" not in page and FALSE_CLAIM not in page


def test_a_405_keeps_its_allow_header(app, client):
    enable(app, "reporting")
    for response in (client.delete("/api/v1/openapi.json"), client.get("/api/v1/reports/status"),
                     client.put("/reporting/report")):
        assert response.status_code == 405
        assert response.headers.get("Allow"), response.headers
    assert set(client.get("/api/v1/reports/status").headers["Allow"].replace(" ", "").split(",")) == {
        "POST", "OPTIONS"}
