"""The casework intake and case API: the referral queue, accepting (201 {"case": reference}) and
declining, the caseload, a case (404 for a caseworker it is not assigned to, exactly as for a
missing one), contacts, tasks, stages, and the OpenAPI document."""

from __future__ import annotations

import pytest
from casework_common import bearer, in_db, make_case, raw_database_text, token_for
from helpers import enable


@pytest.fixture
def app(app):
    enable(app, "reporting", "casework")
    return app


@pytest.fixture
def worker(make_user):
    return make_user("caseworker")


def refer(client) -> None:
    made = client.post("/api/v1/reports", json={
        "narrative": "Cnryapinarrative7", "consent": {"share_alert": False, "police_intelligence": False,
                                                      "police_report": False, "wants_support": True},
        "support_contact": "07700 900222", "support_contact_method": "phone"})
    assert made.status_code == 201


def test_the_referral_queue_accept_and_decline(app, client, worker, make_user):
    token = bearer(token_for(app, worker))
    assert client.get("/api/v1/casework/referrals").status_code == 401
    member = bearer(token_for(app, make_user("member")))
    assert client.get("/api/v1/casework/referrals", headers=member).status_code == 403
    refer(client)
    refer(client)
    listed = client.get("/api/v1/casework/referrals", headers=token)
    assert listed.status_code == 200
    first, second = listed.get_json()["referrals"]
    assert first["source"] == "report" and first["contact"] == "07700 900222" and "narrative" not in first
    accepted = client.post(f"/api/v1/casework/referrals/{first['id']}/accept", headers=token)
    assert accepted.status_code == 201
    reference = accepted.get_json()["case"]
    assert reference.startswith("C-")
    again = client.post(f"/api/v1/casework/referrals/{first['id']}/accept", headers=token)
    assert again.status_code == 409 and again.get_json()["error"]["status"] == 409
    assert client.post("/api/v1/casework/referrals/99999/accept", headers=token).status_code == 404
    elsewhere = client.post(f"/api/v1/casework/referrals/{second['id']}/accept", headers=token,
                            json={"worker": 12345})
    assert elsewhere.status_code == 422  # only supervisors choose another worker
    bad = client.post(f"/api/v1/casework/referrals/{second['id']}/decline", headers=token, json={"reason": "nope"})
    assert bad.status_code == 422 and "reason" in bad.get_json()["error"]["fields"]
    declined = client.post(f"/api/v1/casework/referrals/{second['id']}/decline", headers=token,
                           json={"reason": "capacity", "note": "Cnryapinote7"})
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    assert client.get("/api/v1/casework/referrals", headers=token).get_json()["referrals"] == []
    detail = client.get(f"/api/v1/cases/{reference}", headers=token)
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["stage"] == "new" and body["worker"] == worker.id and body["contact"] == "07700 900222"
    assert body["contact_method"] == "phone" and len(body["reports"]) == 1 and body["reports"][0].startswith("R-")
    assert "Cnryapinote7" not in raw_database_text(app)


def test_a_case_that_is_not_yours_answers_exactly_as_a_missing_one(app, client, worker, make_user):
    reference = make_case(app, worker)
    other = bearer(token_for(app, make_user("caseworker")))
    for path in (f"/api/v1/cases/{reference}", f"/api/v1/cases/{reference}/contacts",
                 f"/api/v1/cases/{reference}/tasks"):
        hidden = client.get(path, headers=other)
        missing = client.get(path.replace(reference, "C-ZZZZZZ"), headers=other)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json() == missing.get_json()
    assert client.post(f"/api/v1/cases/{reference}/stage", headers=other,
                       json={"stage": "assessment"}).status_code == 404
    assert client.get("/api/v1/cases", headers=other).get_json()["cases"] == []
    supervisor = bearer(token_for(app, make_user("casework_supervisor")))
    everything = client.get("/api/v1/cases", headers=supervisor).get_json()["cases"]
    assert [c["reference"] for c in everything] == [reference]
    assert client.get(f"/api/v1/cases?worker={worker.id}", headers=supervisor).get_json()["cases"]
    assert client.get("/api/v1/cases?stage=gone", headers=supervisor).status_code == 422
    from core.audit import AuditEntry

    client.get(f"/api/v1/cases/{reference}", headers=supervisor)
    with in_db(app):
        assert AuditEntry.select().where((AuditEntry.action == "case.viewed")
                                         & (AuditEntry.target == f"case:{reference}")).exists()


def test_contacts_tasks_and_stage_through_the_api(app, client, worker):
    reference = make_case(app, worker)
    token = bearer(token_for(app, worker))
    base = f"/api/v1/cases/{reference}"
    made = client.post(f"{base}/contacts", headers=token, json={
        "channel": "phone", "outcome": "unsafe_to_talk", "minutes": 1, "note": "Cnryapicontact7"})
    assert made.status_code == 201 and made.get_json()["outcome"] == "unsafe_to_talk"
    assert client.post(f"{base}/contacts", headers=token, json={"channel": "fax", "outcome": "spoke"}).status_code \
        == 422
    assert client.post(f"{base}/contacts", headers=token, json={"channel": "phone"}).status_code == 422
    listed = client.get(f"{base}/contacts", headers=token).get_json()["contacts"]
    assert [c["note"] for c in listed] == ["Cnryapicontact7"]
    task = client.post(f"{base}/tasks", headers=token, json={"title": "Cnryapitask7", "due_on": "2030-01-02"})
    assert task.status_code == 201
    task_id = task.get_json()["id"]
    assert client.post(f"{base}/tasks", headers=token, json={"title": ""}).status_code == 422
    done = client.patch(f"{base}/tasks/{task_id}", headers=token, json={"done": True})
    assert done.status_code == 200 and done.get_json()["done"] is True
    moved = client.patch(f"{base}/tasks/{task_id}", headers=token, json={"due_on": None, "done": False})
    assert moved.get_json()["due_on"] is None and moved.get_json()["done"] is False
    assert client.patch(f"{base}/tasks/99999", headers=token, json={"done": True}).status_code == 404
    assert client.patch(f"{base}/tasks/{task_id}", headers=token, json={"done": "yes"}).status_code == 422
    stage = client.post(f"{base}/stage", headers=token, json={"stage": "assessment"})
    assert stage.status_code == 200 and stage.get_json()["stage"] == "assessment"
    refused = client.post(f"{base}/stage", headers=token, json={"stage": "closed"})
    assert refused.status_code == 422 and "closing" in refused.get_json()["error"]["fields"]["stage"][0]
    raw = raw_database_text(app)
    assert "Cnryapicontact7" not in raw and "Cnryapitask7" not in raw


def test_the_api_is_in_the_openapi_document(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/casework/referrals", "/casework/referrals/{id}/accept", "/casework/referrals/{id}/decline",
                 "/cases", "/cases/{reference}", "/cases/{reference}/contacts", "/cases/{reference}/tasks",
                 "/cases/{reference}/tasks/{task_id}", "/cases/{reference}/stage", "/reports/consent"):
        assert path in paths, path
    assert "201" in paths["/casework/referrals/{id}/accept"]["post"]["responses"]
