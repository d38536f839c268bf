"""Casework: the substance of a case (plans.py): needs and risk assessments, outcome measures,
the versioned safety plan, the action plan, the criminal-justice journey the client chooses,
compensation, supervisors' approvals and supervision notes; pages, JSON API and service.

Cases are made directly with the models (the intake flow is tested in its own file).
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from helpers import enable, enrol_two_factor, post_form, sign_in

from core.db import connection


@pytest.fixture
def app(app):
    enable(app, "casework")
    return app


@pytest.fixture
def people(app, make_user):
    return {"worker": make_user("caseworker"), "other": make_user("caseworker"),
            "supervisor": make_user("casework_supervisor"), "supervisor2": make_user("casework_supervisor"),
            "member": make_user("member")}


def make_case(app, worker, reference="C-TEST01", stage="assessment"):
    from plugins.casework.models import Case

    with app.app_context(), connection():
        return Case.create(reference=reference, worker=worker.id, stage=stage, working_name="Sam")


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def token_for(app, user) -> dict:
    """A bearer token; staff tokens need two-factor sign-in, so the account is enrolled first."""
    from core.accounts import totp
    from core.accounts.tokens import create_token

    with app.app_context(), connection():
        needed = totp.needs_enrolment(user)
    if needed:
        enrol_two_factor(app, user)
    with app.app_context(), connection():
        return {"Authorization": f"Bearer {create_token(user, 'test')[1]}"}


def load(app, model, **where):
    with app.app_context(), connection():
        query = model.select()
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(query.order_by(model.id))


def events(app, reference):
    from plugins.casework.models import Case, CaseEvent

    with app.app_context(), connection():
        case = Case.get(Case.reference == reference)
        return [(e.kind, e.detail) for e in CaseEvent.select().where(CaseEvent.case == case.id).order_by(CaseEvent.id)]


def get_case(app, reference="C-TEST01"):
    from plugins.casework.models import Case

    with app.app_context(), connection():
        return Case.get(Case.reference == reference)


# -- assessments and outcome measures ----------------------------------------------------------------------


def test_an_assessment_by_domain_sets_the_case_risk_and_review_date(app, people):
    from plugins.casework.models import Assessment, AssessmentNeed

    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    page = client.get("/casework/cases/C-TEST01/assessment")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Housing" in text and "Safety at work" in text  # the configured domains
    response = post_form(client, "/casework/cases/C-TEST01/assessment", {
        "risk_level": "high", "review_on": "2030-01-15", "level_housing": "high", "note_housing": "Sofa surfing",
        "level_safety": "some", "summary": "Needs a safe place"}, token_from="/casework/cases/C-TEST01/assessment")
    assert response.status_code == 302
    case = get_case(app)
    assert case.risk_level == "high" and case.risk_review_on == datetime.date(2030, 1, 15)
    needs = {n.domain: (n.level, n.note) for n in load(app, AssessmentNeed)}
    assert needs == {"housing": ("high", "Sofa surfing"), "safety": ("some", None)}
    # A newer assessment takes over.
    post_form(client, "/casework/cases/C-TEST01/assessment", {"risk_level": "standard"},
              token_from="/casework/cases/C-TEST01/assessment")
    case = get_case(app)
    assert case.risk_level == "standard" and case.risk_review_on is None
    assert len(load(app, Assessment)) == 2
    assert [kind for kind, _d in events(app, "C-TEST01")] == ["assessment", "assessment"]
    # No risk level: 422 with a message, nothing stored.
    bad = post_form(client, "/casework/cases/C-TEST01/assessment", {"level_housing": "some"},
                    token_from="/casework/cases/C-TEST01/assessment")
    assert bad.status_code == 422 and "Please choose a risk level." in bad.get_data(as_text=True)
    assert len(load(app, Assessment)) == 2


def test_domains_come_from_the_settings(app, people):
    from core.settings import save_settings
    from plugins.casework import plans

    with app.test_request_context(), connection():
        save_settings("casework", {"needs_domains": ["safety", "visa | Visa and residence"]})
    with app.test_request_context(), connection():
        assert plans.choices("needs_domains") == [("safety", "Safety"), ("visa", "Visa and residence")]
    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    text = client.get("/casework/cases/C-TEST01/assessment").get_data(as_text=True)
    assert "Visa and residence" in text and "Housing" not in text


def test_outcome_measures_take_1_to_5_or_prefer_not_to_say(app, people):
    from plugins.casework.models import OutcomeMeasure

    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    path = "/casework/cases/C-TEST01/outcomes"
    assert "Prefer not to say" in client.get(path).get_data(as_text=True)
    response = post_form(client, path, {"point": "intake", "feels_safer": "2", "satisfied": "prefer_not"},
                         token_from=path)
    assert response.status_code == 302
    stored = load(app, OutcomeMeasure)
    assert [(m.point, json.loads(m.answers)) for m in stored] == [
        ("intake", {"feels_safer": 2, "satisfied": "prefer_not"})]
    bad = post_form(client, path, {"point": "review", "feels_safer": "9"}, token_from=path)
    assert bad.status_code == 422 and len(load(app, OutcomeMeasure)) == 1
    headers = token_for(app, people["worker"])
    made = client.post("/api/v1/cases/C-TEST01/outcomes", headers=headers,
                       json={"point": "closure", "answers": {"able_to_cope": 5, "knows_options": "prefer_not"}})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["answers"] == {"able_to_cope": 5, "knows_options": "prefer_not"}
    assert client.post("/api/v1/cases/C-TEST01/outcomes", headers=headers,
                       json={"point": "closure", "answers": {"able_to_cope": 6}}).status_code == 422
    assert client.post("/api/v1/cases/C-TEST01/outcomes", headers=headers,
                       json={"point": "closure", "answers": {"mood": 3}}).status_code == 422
    listed = client.get("/api/v1/cases/C-TEST01/outcomes", headers=headers).get_json()
    assert [m["point"] for m in listed] == ["intake", "closure"]


# -- safety plan and action plan ------------------------------------------------------------------------------


def test_safety_plan_versions_are_kept_and_the_client_sees_only_the_newest_shared(app, people):
    from plugins.casework import plans
    from plugins.casework.models import SafetyPlan

    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    path = "/casework/cases/C-TEST01/safety-plan"
    post_form(client, path, {"content": "First plan: call Alex", "shared_with_client": "y"}, token_from=path)
    post_form(client, path, {"content": "Second plan: new number"}, token_from=path)
    stored = load(app, SafetyPlan)
    assert [(p.version, p.content, p.shared_with_client) for p in stored] == [
        (1, "First plan: call Alex", True), (2, "Second plan: new number", False)]
    # The form opens on the newest version; every earlier one is still readable.
    assert "Second plan: new number" in client.get(path).get_data(as_text=True)
    assert "First plan: call Alex" in client.get(f"{path}/1").get_data(as_text=True)
    assert client.get(f"{path}/9").status_code == 404
    case = get_case(app)
    with app.test_request_context(), connection():
        assert plans.shared_safety_plan(case).version == 1
    # Sharing version 2 makes it the one the client sees; stopping it goes back to version 1.
    post_form(client, f"{path}/2/share", {"shared": "yes"}, token_from=f"{path}/2")
    with app.test_request_context(), connection():
        assert plans.shared_safety_plan(case).version == 2
    post_form(client, f"{path}/2/share", {"shared": "no"}, token_from=f"{path}/2")
    post_form(client, f"{path}/1/share", {"shared": "no"}, token_from=f"{path}/1")
    with app.test_request_context(), connection():
        assert plans.shared_safety_plan(case) is None
    kinds = [kind for kind, _d in events(app, "C-TEST01")]
    assert kinds == ["safety_plan", "safety_plan_shared", "safety_plan", "safety_plan_shared",
                     "safety_plan_unshared", "safety_plan_unshared"]
    empty = post_form(client, path, {"content": "  "}, token_from=path)
    assert empty.status_code == 422 and len(load(app, SafetyPlan)) == 2


def test_goals_per_domain_are_marked_met_not_met_or_not_applicable(app, people):
    from plugins.casework.models import Goal

    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    path = "/casework/cases/C-TEST01/goals"
    added = post_form(client, path, {"domain": "housing", "text": "Find a safe flat"}, token_from=path)
    assert added.status_code == 302
    assert post_form(client, path, {"domain": "nowhere", "text": "x"}, token_from=path).status_code == 422
    goal = load(app, Goal)[0]
    assert (goal.domain, goal.text, goal.status) == ("housing", "Find a safe flat", "open")
    for status in ("met", "not_met", "not_applicable"):
        assert post_form(client, f"{path}/{goal.id}", {"status": status}, token_from=path).status_code == 302
        assert load(app, Goal)[0].status == status
    assert post_form(client, f"{path}/{goal.id}", {"status": "done"}, token_from=path).status_code == 422
    assert post_form(client, f"{path}/99999", {"status": "met"}, token_from=path).status_code == 404
    headers = token_for(app, people["worker"])
    made = client.post("/api/v1/cases/C-TEST01/goals", headers=headers, json={"domain": "money", "text": "Benefits"})
    assert made.status_code == 201
    patched = client.patch(f"/api/v1/cases/C-TEST01/goals/{made.get_json()['id']}", headers=headers,
                           json={"status": "met"})
    assert patched.status_code == 200 and patched.get_json()["status"] == "met"
    assert [g["domain"] for g in client.get("/api/v1/cases/C-TEST01/goals", headers=headers).get_json()] == [
        "housing", "money"]


# -- justice journey and compensation ---------------------------------------------------------------------------


def test_chose_not_to_report_is_a_complete_path_with_no_steps(app, people):
    from plugins.casework.models import JusticeStep

    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    path = "/casework/cases/C-TEST01/justice"
    assert post_form(client, path, {"path": "chose_not_to_report"}, token_from=path).status_code == 302
    assert get_case(app).justice_path == "chose_not_to_report"
    page = client.get(path).get_data(as_text=True)
    assert "we support in the same way" in page and "Add a step" not in page
    refused = post_form(client, f"{path}/steps", {"stage": "arrest"}, token_from=path)
    assert refused.status_code == 422 and load(app, JusticeStep) == []
    headers = token_for(app, people["worker"])
    body = client.get("/api/v1/cases/C-TEST01/justice", headers=headers).get_json()
    assert body == {"path": "chose_not_to_report", "steps": [], "deadlines": []}
    assert client.post("/api/v1/cases/C-TEST01/justice/steps", headers=headers,
                       json={"stage": "arrest"}).status_code == 409
    intelligence = client.put("/api/v1/cases/C-TEST01/justice", headers=headers, json={"path": "intelligence_only"})
    assert intelligence.status_code == 200 and intelligence.get_json()["path"] == "intelligence_only"
    assert client.put("/api/v1/cases/C-TEST01/justice", headers=headers, json={"path": "maybe"}).status_code == 422
    assert ("justice_path", "chose_not_to_report") in events(app, "C-TEST01")


def test_a_reported_journey_keeps_steps_deadlines_and_an_encrypted_crime_reference(app, people):
    from plugins.casework.models import JusticeStep

    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    path = "/casework/cases/C-TEST01/justice"
    post_form(client, path, {"path": "reported"}, token_from=path)
    assert post_form(client, f"{path}/steps", {"stage": "reported", "happened_on": "2030-02-01",
                                               "crime_reference": "CR/123/30"}, token_from=path).status_code == 302
    assert post_form(client, f"{path}/steps", {"stage": "no_further_action", "happened_on": "2030-03-01"},
                     token_from=path).status_code == 302
    assert post_form(client, f"{path}/steps", {"stage": "not_a_stage"}, token_from=path).status_code == 422
    steps = load(app, JusticeStep)
    assert [(s.stage, s.crime_reference) for s in steps] == [("reported", "CR/123/30"), ("no_further_action", None)]
    # No further action: the deadline for a victims' right to review, 90 days by default.
    assert steps[1].deadline_on == datetime.date(2030, 3, 1) + datetime.timedelta(days=90)
    page = client.get(path).get_data(as_text=True)
    assert "CR/123/30" in page and "Coming deadlines" in page
    with app.app_context(), connection():
        from core.db import db

        raw = db.execute_sql("SELECT crime_reference FROM casework_justice_step WHERE stage = 'reported'").fetchone()[0]
    assert "CR/123/30" not in raw


def test_compensation_claim_with_deadline_status_and_outcome(app, people):
    from plugins.casework.models import CompensationClaim

    make_case(app, people["worker"])
    client = signed_in(app, people["worker"])
    path = "/casework/cases/C-TEST01/compensation"
    assert "CICA" in client.get(path).get_data(as_text=True)
    started = post_form(client, path, {"status": "applied", "deadline_on": "2031-01-01"}, token_from=path)
    assert started.status_code == 302
    claim = load(app, CompensationClaim)[0]
    assert (claim.status, claim.deadline_on) == ("applied", datetime.date(2031, 1, 1))
    response = post_form(client, f"{path}/{claim.id}", {f"c{claim.id}-status": "offered",
                                                        f"c{claim.id}-outcome": "Award offered, thinking"},
                         token_from=path)
    assert response.status_code == 302
    claim = load(app, CompensationClaim)[0]
    assert (claim.status, claim.outcome) == ("offered", "Award offered, thinking")
    assert post_form(client, path, {"status": "imaginary"}, token_from=path).status_code == 422
    headers = token_for(app, people["worker"])
    body = client.get("/api/v1/cases/C-TEST01/compensation", headers=headers).get_json()
    assert body["scheme"] == "CICA" and body["claims"][0]["status"] == "offered"
    assert client.patch(f"/api/v1/cases/C-TEST01/compensation/{claim.id}", headers=headers,
                        json={"status": "paid"}).get_json()["status"] == "paid"
    assert client.patch("/api/v1/cases/C-TEST01/compensation/99999", headers=headers,
                        json={"status": "paid"}).status_code == 404


# -- approvals and supervision ---------------------------------------------------------------------------------


def test_plan_approval_sent_back_shows_the_comment_then_approval_makes_the_case_active(app, people):
    from plugins.casework import plans

    make_case(app, people["worker"], stage="plan")
    worker = signed_in(app, people["worker"])
    supervisor = signed_in(app, people["supervisor"])
    case_page = "/casework/cases/C-TEST01/goals"
    assert post_form(worker, "/casework/cases/C-TEST01/approval/plan", token_from=case_page).status_code == 302
    # Asking twice while it waits is refused.
    post_form(worker, "/casework/cases/C-TEST01/approval/plan", token_from=case_page)
    queue = supervisor.get("/casework/approvals")
    assert queue.status_code == 200 and "C-TEST01" in queue.get_data(as_text=True)
    assert worker.get("/casework/approvals").status_code == 403  # supervisors only
    approval_id = int(re.search(r"/casework/approvals/(\d+)", queue.get_data(as_text=True)).group(1))
    decision = f"/casework/approvals/{approval_id}"
    no_comment = post_form(supervisor, decision, {"decision": "send_back"}, token_from=decision)
    assert no_comment.status_code == 422
    sent_back = post_form(supervisor, decision, {"decision": "send_back", "comment": "Add a housing goal please"},
                          token_from=decision)
    assert sent_back.status_code == 302
    case = get_case(app)
    with app.test_request_context(), connection():
        assert not plans.plan_approved(case)
        section = plans.plans_section(case, people["worker"])
    assert section["plan_approval"].comment == "Add a housing goal please"
    # The worker sees the comment (on the plans section of the case page).
    with app.test_request_context():
        from flask import render_template

        with connection():
            html = render_template("casework/sections/plans.html", case=case, user=people["worker"], data=section)
    assert "Add a housing goal please" in html
    assert case.stage == "plan"
    # Asked again, approved: the case is active.
    post_form(worker, "/casework/cases/C-TEST01/approval/plan", token_from=case_page)
    headers = token_for(app, people["supervisor"])
    pending = supervisor.get("/api/v1/cases/C-TEST01/approvals", headers=headers).get_json()[0]
    assert pending["decision"] is None
    approved = supervisor.post(f"/api/v1/cases/C-TEST01/approvals/{pending['id']}/decision", headers=headers,
                               json={"decision": "approved"})
    assert approved.status_code == 200 and approved.get_json()["decision"] == "approved"
    case = get_case(app)
    assert case.stage == "active"
    with app.test_request_context(), connection():
        assert plans.plan_approved(case)
    again = supervisor.post(f"/api/v1/cases/C-TEST01/approvals/{pending['id']}/decision", headers=headers,
                            json={"decision": "sent_back", "comment": "late"})
    assert again.status_code == 409
    kinds = [kind for kind, _d in events(app, "C-TEST01")]
    assert kinds.count("approval_requested") == 2 and "approval_sent_back" in kinds and "approval_approved" in kinds


def test_a_worker_cannot_decide_and_a_supervisor_cannot_approve_their_own_request(app, people):
    make_case(app, people["supervisor"], stage="plan")
    make_case(app, people["worker"], reference="C-TEST02", stage="plan")
    supervisor = token_for(app, people["supervisor"])
    worker = token_for(app, people["worker"])
    client = app.test_client()
    own = client.post("/api/v1/cases/C-TEST01/approvals", headers=supervisor, json={"kind": "plan"}).get_json()
    refused = client.post(f"/api/v1/cases/C-TEST01/approvals/{own['id']}/decision", headers=supervisor,
                          json={"decision": "approved"})
    assert refused.status_code == 409
    other = client.post("/api/v1/cases/C-TEST02/approvals", headers=worker, json={"kind": "plan"}).get_json()
    assert client.post(f"/api/v1/cases/C-TEST02/approvals/{other['id']}/decision", headers=worker,
                       json={"decision": "approved"}).status_code == 403
    # An approval id must belong to the case in the address.
    assert client.post(f"/api/v1/cases/C-TEST01/approvals/{other['id']}/decision", headers=supervisor,
                       json={"decision": "approved"}).status_code == 404
    holiday = client.post("/api/v1/cases/C-TEST01/approvals", headers=supervisor, json={"kind": "holiday"})
    assert holiday.status_code == 422


def test_supervision_notes_are_for_supervisors_only_and_never_on_the_case(app, people):
    from plugins.casework import plans
    from plugins.casework.models import SupervisionNote

    make_case(app, people["worker"])
    supervisor = signed_in(app, people["supervisor"])
    worker = signed_in(app, people["worker"])
    path = f"/casework/supervision/{people['worker'].id}"
    assert worker.get(path).status_code == 403 and worker.get("/casework/supervision").status_code == 403
    assert people["worker"].email in supervisor.get("/casework/supervision").get_data(as_text=True)
    saved = post_form(supervisor, path, {"note": "Caseload feels heavy", "case_reference": "c-test01"},
                      token_from=path)
    assert saved.status_code == 302
    assert "Caseload feels heavy" in supervisor.get(path).get_data(as_text=True)
    unknown = post_form(supervisor, path, {"note": "x", "case_reference": "C-NOPE"}, token_from=path)
    assert unknown.status_code == 422 and len(load(app, SupervisionNote)) == 1
    assert supervisor.get(f"/casework/supervision/{people['member'].id}").status_code == 404
    # Nothing of it reaches the case: no timeline event, no section shows it.
    assert events(app, "C-TEST01") == []
    case = get_case(app)
    with app.test_request_context(), connection():
        loaded = [plans.assessment_section(case, people["worker"]), plans.plans_section(case, people["worker"]),
                  plans.justice_section(case, people["worker"]), plans.closure_section(case, people["worker"])]
    assert "Caseload feels heavy" not in repr(loaded)


# -- access -------------------------------------------------------------------------------------------------------


def test_another_caseworker_gets_404_on_every_page_and_endpoint(app, people):
    make_case(app, people["worker"])
    other = signed_in(app, people["other"])
    for path in ("assessment", "outcomes", "safety-plan", "goals", "justice", "compensation", "closure"):
        assert other.get(f"/casework/cases/C-TEST01/{path}").status_code == 404, path
        assert other.get(f"/casework/cases/C-NOCASE/{path}").status_code == 404, path
    headers = token_for(app, people["other"])
    for path in ("assessments", "outcomes", "safety-plan", "goals", "justice", "compensation", "approvals", "closure"):
        assert other.get(f"/api/v1/cases/C-TEST01/{path}", headers=headers).status_code == 404, path
    assert other.post("/api/v1/cases/C-TEST01/safety-plan", headers=headers,
                      json={"content": "x"}).status_code == 404
    member = signed_in(app, people["member"])
    assert member.get("/casework/cases/C-TEST01/assessment").status_code == 403
    # The supervisor sees it; the view is audited.
    supervisor = signed_in(app, people["supervisor"])
    assert supervisor.get("/casework/cases/C-TEST01/assessment").status_code == 200


def test_api_assessment_and_safety_plan_round_trip(app, people):
    make_case(app, people["worker"])
    headers = token_for(app, people["worker"])
    client = app.test_client()
    made = client.post("/api/v1/cases/C-TEST01/assessments", headers=headers, json={
        "risk_level": "medium", "review_on": "2030-05-01",
        "needs": [{"domain": "immigration", "level": "high", "note": "Visa expires"}]})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["needs"] == [{"domain": "immigration", "level": "high", "note": "Visa expires"}]
    assert get_case(app).risk_level == "medium"
    bad = client.post("/api/v1/cases/C-TEST01/assessments", headers=headers,
                      json={"risk_level": "medium", "needs": [{"domain": "moon", "level": "high"}]})
    assert bad.status_code == 422 and "fields" in bad.get_json()["error"]
    assert client.post("/api/v1/cases/C-TEST01/assessments", headers=headers,
                       json={"risk_level": "extreme"}).status_code == 422
    listed = client.get("/api/v1/cases/C-TEST01/assessments", headers=headers).get_json()
    assert listed[0]["needs"][0]["note"] == "Visa expires"
    first = client.post("/api/v1/cases/C-TEST01/safety-plan", headers=headers, json={"content": "Plan A"})
    second = client.post("/api/v1/cases/C-TEST01/safety-plan", headers=headers,
                         json={"content": "Plan B", "shared_with_client": True})
    assert (first.get_json()["version"], second.get_json()["version"]) == (1, 2)
    assert client.post("/api/v1/cases/C-TEST01/safety-plan", headers=headers,
                       json={"content": "x", "shared_with_client": "yes"}).status_code == 422
    shared = client.post("/api/v1/cases/C-TEST01/safety-plan/1/share", headers=headers, json={"shared": True})
    assert shared.status_code == 200 and shared.get_json()["shared_with_client"] is True
    versions = client.get("/api/v1/cases/C-TEST01/safety-plan", headers=headers).get_json()
    assert [(v["version"], v["content"]) for v in versions] == [(2, "Plan B"), (1, "Plan A")]


def test_the_openapi_document_describes_the_plans_endpoints(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/cases/{reference}/assessments", "/cases/{reference}/safety-plan", "/cases/{reference}/goals",
                 "/cases/{reference}/justice", "/cases/{reference}/compensation", "/cases/{reference}/outcomes",
                 "/cases/{reference}/approvals", "/cases/{reference}/closure",
                 "/cases/{reference}/closure/close"):
        assert path in document["paths"], path
    close = document["paths"]["/cases/{reference}/closure/close"]["post"]
    assert "409" in close["responses"] and close["security"] == [{"bearerAuth": []}]


def test_the_case_page_shows_the_plans_sections_with_their_content(app, people):
    from plugins.casework import plans

    make_case(app, people["worker"], stage="plan")
    case = get_case(app)
    with app.test_request_context(), connection():
        plans.add_assessment(case, people["worker"].id, "high", None, {"housing": ("high", None)})
        plans.save_safety_plan(case, people["worker"].id, "Call Alex first\nThen the hostel", True)
        plans.add_goal(case, people["worker"].id, "housing", "Find a safe flat")
        plans.set_justice_path(case, people["worker"].id, "chose_not_to_report")
        plans.prepare_closure(case, people["worker"].id, ["client_told"], "goals_met")
    client = signed_in(app, people["worker"])
    page = client.get("/casework/cases/C-TEST01")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for heading in ("Needs and risk", "Safety plan and action plan", "Justice and compensation", "Closure"):
        assert heading in text, heading
    assert text.index("Needs and risk") < text.index("Safety plan and action plan") < text.index(
        "Justice and compensation") < text.index('id="section-closure"')
    assert "Call Alex first<br>Then the hostel" in text and "Find a safe flat" in text
    assert "Chose not to report" in text and "This is a complete choice" in text
    assert "Ask a supervisor to approve the closure" in text
    # The timeline labels this module's events.
    timeline = client.get("/casework/cases/C-TEST01/timeline").get_data(as_text=True)
    assert "Needs and risk assessment" in timeline and "Closure checklist" in timeline
