"""Casework closure (plans.py): the checklist and reason, the supervisor's approval that closing
needs, client feedback through a one-time link that names no case, reopening; and canary strings
typed into every free-text field of the plans module absent in clear from the database.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
from conftest import using_postgres
from helpers import enable, post_form
from test_casework_plans import events, get_case, load, make_case, signed_in, token_for

from core.db import connection, db


@pytest.fixture
def app(app):
    enable(app, "casework")
    return app


@pytest.fixture
def people(app, make_user):
    return {"worker": make_user("caseworker"), "supervisor": make_user("casework_supervisor"),
            "member": make_user("member")}


CLOSURE = "/casework/cases/C-TEST01/closure"


def prepare(client):
    return post_form(client, CLOSURE, {"checklist": ["client_told", "outcomes_recorded"], "reason": "goals_met",
                                       "note": "Ended well"}, token_from=CLOSURE)


def test_closure_is_refused_until_a_supervisor_approves_it(app, people):
    from plugins.casework import plans
    from plugins.casework.models import Approval

    make_case(app, people["worker"], stage="active")
    worker = signed_in(app, people["worker"])
    # Asking before the checklist and reason: refused.
    early = post_form(worker, "/casework/cases/C-TEST01/approval/closure", token_from=CLOSURE)
    assert early.status_code == 302 and load(app, Approval) == []
    assert prepare(worker).status_code == 302
    case = get_case(app)
    assert case.stage == "closing" and case.closure_reason == "goals_met"
    assert case.checklist == ["client_told", "outcomes_recorded"] and case.closure_note == "Ended well"
    # Closing straight away: refused, with the reason shown, and the case stays open.
    refused = post_form(worker, "/casework/cases/C-TEST01/close", token_from=CLOSURE, follow_redirects=True)
    assert "A supervisor needs to approve the closure first." in refused.get_data(as_text=True)
    assert get_case(app).stage == "closing" and get_case(app).closed_at is None
    headers = token_for(app, people["worker"])
    api_refused = worker.post("/api/v1/cases/C-TEST01/closure/close", headers=headers)
    assert api_refused.status_code == 409 and get_case(app).stage == "closing"
    with app.test_request_context(), connection():
        assert not plans.closure_allowed(get_case(app))
    # Asked for, sent back with a comment the worker sees on the closure section.
    assert post_form(worker, "/casework/cases/C-TEST01/approval/closure", token_from=CLOSURE).status_code == 302
    supervisor = signed_in(app, people["supervisor"])
    queue = supervisor.get("/casework/approvals").get_data(as_text=True)
    approval_id = int(re.search(r"/casework/approvals/(\d+)", queue).group(1))
    page = supervisor.get(f"/casework/approvals/{approval_id}").get_data(as_text=True)
    assert "Ended well" in page and "Not done:" in page  # the checklist as the worker left it
    post_form(supervisor, f"/casework/approvals/{approval_id}", {"decision": "send_back",
                                                                  "comment": "Please review the safety plan"},
              token_from=f"/casework/approvals/{approval_id}")
    case = get_case(app)
    with app.test_request_context(), connection():
        from flask import render_template

        data = plans.closure_section(case, people["worker"])
        html = render_template("casework/sections/closure.html", case=case, user=people["worker"], data=data)
        assert not plans.closure_allowed(case)
    assert "Please review the safety plan" in html
    assert worker.post("/api/v1/cases/C-TEST01/closure/close", headers=headers).status_code == 409
    # Asked again and approved: the case is closed.
    post_form(worker, "/casework/cases/C-TEST01/approval/closure", token_from=CLOSURE)
    pending = worker.get("/api/v1/cases/C-TEST01/approvals", headers=headers).get_json()[0]
    approved = post_form(supervisor, f"/casework/approvals/{pending['id']}", {"decision": "approve"},
                         token_from=f"/casework/approvals/{pending['id']}")
    assert approved.status_code == 302
    case = get_case(app)
    assert case.stage == "closed" and case.closed_at is not None
    closure = worker.get("/api/v1/cases/C-TEST01/closure", headers=headers).get_json()
    assert closure["stage"] == "closed" and closure["closure_allowed"] is True
    kinds = [kind for kind, _d in events(app, "C-TEST01")]
    assert kinds[-2:] == ["stage", "closed"] and "approval_sent_back" in kinds
    # A closed case takes no more changes.
    assert worker.post("/api/v1/cases/C-TEST01/goals", headers=headers,
                       json={"domain": "housing", "text": "x"}).status_code == 409
    assert post_form(worker, "/casework/cases/C-TEST01/goals", {"domain": "housing", "text": "x"},
                     token_from="/casework/cases/C-TEST01/goals").status_code == 409


def test_reopening_counts_and_old_approvals_no_longer_count(app, people):
    from plugins.casework import plans

    make_case(app, people["worker"], stage="active")
    headers = token_for(app, people["worker"])
    boss = token_for(app, people["supervisor"])
    client = app.test_client()
    assert client.post("/api/v1/cases/C-TEST01/closure/reopen", headers=headers).status_code == 409  # not closed
    assert client.put("/api/v1/cases/C-TEST01/closure", headers=headers,
                      json={"reason": "nonsense"}).status_code == 422
    assert client.put("/api/v1/cases/C-TEST01/closure", headers=headers,
                      json={"reason": "client_ended", "checklist": ["client_told", "bogus"]}).status_code == 422
    put = client.put("/api/v1/cases/C-TEST01/closure", headers=headers,
                     json={"reason": "client_ended", "checklist": ["client_told"]})
    assert put.status_code == 200 and put.get_json()["stage"] == "closing"
    asked = client.post("/api/v1/cases/C-TEST01/approvals", headers=headers, json={"kind": "closure"}).get_json()
    assert client.post("/api/v1/cases/C-TEST01/approvals", headers=headers,
                       json={"kind": "closure"}).status_code == 409  # already waiting
    client.post(f"/api/v1/cases/C-TEST01/approvals/{asked['id']}/decision", headers=boss, json={"decision": "approved"})
    assert get_case(app).stage == "closed"
    reopened = client.post("/api/v1/cases/C-TEST01/closure/reopen", headers=headers)
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert body["stage"] == "assessment" and body["reopened_count"] == 1 and body["closed_at"] is None
    case = get_case(app)
    assert case.reopened_count == 1 and case.stage == "assessment"
    with app.test_request_context(), connection():
        assert not plans.closure_allowed(case)  # the earlier approval was for the earlier closure
    assert client.post("/api/v1/cases/C-TEST01/closure/close", headers=headers).status_code == 409
    assert ("reopened", "1") in events(app, "C-TEST01")
    # Through the page, a second time.
    with app.test_request_context(), connection():
        plans.prepare_closure(case, people["worker"].id, [], "other")
        approval = plans.request_approval(case, people["worker"].id, "closure")
        plans.decide(approval.id, people["supervisor"].id, "approved")
    worker = signed_in(app, people["worker"])
    assert post_form(worker, "/casework/cases/C-TEST01/reopen", token_from=CLOSURE).status_code == 302
    assert get_case(app).reopened_count == 2


def test_feedback_is_stored_with_only_the_month_and_no_link_to_the_case(app, people):
    from plugins.casework.models import Feedback, FeedbackToken

    make_case(app, people["worker"], stage="closing")
    worker = signed_in(app, people["worker"])
    made = post_form(worker, "/casework/cases/C-TEST01/feedback-link", token_from=CLOSURE)
    assert made.status_code == 200
    link = re.search(r'<code class="token">([^<]+)</code>', made.get_data(as_text=True)).group(1)
    path = "/" + link.split("/", 3)[3]
    assert path.startswith("/casework/feedback/")
    token = path.rsplit("/", 1)[1]
    # The stored token names nothing and is only a hash.
    stored = load(app, FeedbackToken)
    assert len(stored) == 1 and stored[0].token_hash != token
    assert set(FeedbackToken._meta.fields) == {"id", "token_hash", "expires_at", "created_at"}
    assert set(Feedback._meta.fields) == {"id", "month", "answers", "comment"}
    # The client, not signed in, opens it and answers.
    client = app.test_client()
    form = client.get(path)
    assert form.status_code == 200 and "cannot see which answers are yours" in form.get_data(as_text=True)
    sent = post_form(client, path, {"feels_safer": "4", "satisfied": "prefer_not", "comment": "Thank you Jo"},
                     token_from=path)
    assert sent.status_code == 200 and "Thank you" in sent.get_data(as_text=True)
    feedback = load(app, Feedback)
    assert len(feedback) == 1
    assert feedback[0].month.day == 1 and json.loads(feedback[0].answers) == {"feels_safer": 4,
                                                                             "satisfied": "prefer_not"}
    assert feedback[0].comment == "Thank you Jo"
    # Used once: the token is gone, the link no longer works.
    assert load(app, FeedbackToken) == []
    assert client.get(path).status_code == 404
    assert post_form(app.test_client(), path, {"feels_safer": "1"}, token_from="/").status_code == 404
    assert len(load(app, Feedback)) == 1
    assert app.test_client().get("/casework/feedback/not-a-token").status_code == 404
    # The case's timeline says only that a link was given.
    assert [kind for kind, _d in events(app, "C-TEST01")] == ["feedback_link"]
    # Bad answers: 422, nothing stored, the link still works.
    headers = token_for(app, people["worker"])
    other = worker.post("/api/v1/cases/C-TEST01/feedback-link", headers=headers)
    assert other.status_code == 201
    other_path = "/" + other.get_json()["url"].split("/", 3)[3]
    bad = post_form(client, other_path, {"feels_safer": "7"}, token_from=other_path)
    assert bad.status_code == 422 and len(load(app, Feedback)) == 1 and len(load(app, FeedbackToken)) == 1


def test_canaries_typed_into_plans_fields_are_not_in_the_database_in_clear(app, people):
    from plugins.casework import plans

    make_case(app, people["worker"], stage="active")
    needles = []

    def canary() -> str:
        word = "cnry" + secrets.token_hex(6)
        needles.append(word)
        return f"{word.capitalize()} said"

    worker = signed_in(app, people["worker"])
    supervisor = signed_in(app, people["supervisor"])
    case = "/casework/cases/C-TEST01"
    post_form(worker, f"{case}/assessment", {"risk_level": "high", "note_housing": canary(), "level_housing": "high",
                                             "summary": canary()}, token_from=f"{case}/assessment")
    post_form(worker, f"{case}/safety-plan", {"content": canary()}, token_from=f"{case}/safety-plan")
    post_form(worker, f"{case}/goals", {"domain": "safety", "text": canary()}, token_from=f"{case}/goals")
    post_form(worker, f"{case}/justice", {"path": "reported"}, token_from=f"{case}/justice")
    post_form(worker, f"{case}/justice/steps", {"stage": "reported", "crime_reference": canary(), "note": canary()},
              token_from=f"{case}/justice")
    post_form(worker, f"{case}/compensation", {"status": "applied", "outcome": canary()},
              token_from=f"{case}/compensation")
    post_form(worker, CLOSURE, {"reason": "goals_met", "note": canary()}, token_from=CLOSURE)
    post_form(worker, f"{case}/approval/closure", token_from=CLOSURE)
    with app.test_request_context(), connection():
        from plugins.casework.models import Approval

        approval_id = Approval.select().order_by(Approval.id.desc()).first().id
    post_form(supervisor, f"/casework/approvals/{approval_id}", {"decision": "send_back", "comment": canary()},
              token_from=f"/casework/approvals/{approval_id}")
    path = f"/casework/supervision/{people['worker'].id}"
    post_form(supervisor, path, {"note": canary()}, token_from=path)
    with app.test_request_context(), connection():
        token = plans.issue_feedback_link(get_case(app), people["worker"].id)
    post_form(app.test_client(), f"/casework/feedback/{token}", {"comment": canary()},
              token_from=f"/casework/feedback/{token}")
    headers = token_for(app, people["worker"])
    client = app.test_client()
    client.post("/api/v1/cases/C-TEST01/assessments", headers=headers,
                json={"risk_level": "medium", "summary": canary(),
                      "needs": [{"domain": "money", "level": "some", "note": canary()}]})
    client.post("/api/v1/cases/C-TEST01/safety-plan", headers=headers, json={"content": canary()})
    client.post("/api/v1/cases/C-TEST01/goals", headers=headers, json={"domain": "money", "text": canary()})
    client.post("/api/v1/cases/C-TEST01/justice/steps", headers=headers,
                json={"stage": "charge", "crime_reference": canary(), "note": canary()})
    client.post("/api/v1/cases/C-TEST01/compensation", headers=headers, json={"status": "paid", "outcome": canary()})
    assert len(needles) == 18
    with app.app_context(), connection():
        # Every needle reached the database (read back decrypted)...
        from plugins.casework.models import (
            Assessment,
            AssessmentNeed,
            CompensationClaim,
            Feedback,
            Goal,
            JusticeStep,
            SafetyPlan,
            SupervisionNote,
        )

        readable = " ".join(str(value) for model in (Assessment, AssessmentNeed, CompensationClaim, Feedback, Goal,
                                                     JusticeStep, SafetyPlan, SupervisionNote, Approval)
                            for row in model.select() for value in row.__data__.values())
        readable += " " + str(get_case(app).closure_note)
        assert all(needle in readable.lower() for needle in needles), [n for n in needles if n not in readable.lower()]
        # ...and none is stored in clear.
        if using_postgres():
            chunks = []
            for table in db.get_tables():
                for row in db.execute_sql(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608
                    chunks.append(" ".join(str(value) for value in row))
            stored = "\n".join(chunks).encode()
        else:
            db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
            path = Path(db.database)
            stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    text = stored.decode("latin-1").lower()
    assert "c-test01" in text  # the data is there...
    assert [needle for needle in needles if needle in text] == []  # ...without what was typed
