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
from helpers import enable, post_form, sign_in

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
    from core.accounts.tokens import create_token

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
