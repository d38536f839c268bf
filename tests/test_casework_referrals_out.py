"""Casework referrals out (one consent each, a ledger row each, printable) and the evidence pack."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from conftest import using_postgres
from helpers import enable, post_form
from test_casework_appointments import _token, make_case, rows, worker_client
from test_reporting_common import api_report

from core.db import connection


@pytest.fixture
def app(make_app):
    app = make_app()
    enable(app, "reporting", "casework")
    return app


@pytest.fixture
def worker(make_user):
    return make_user("caseworker", email="worker@example.org")


def _refer(browser, reference, **values):
    data = {"service_kind": "housing", "service_name": "Safe Homes Trust",
            "shared": "Needs a safe place to stay; call on the work phone.", "client_agreed": "y", **values}
    return post_form(browser, f"/casework/cases/{reference}/referrals-out", data,
                     token_from=f"/casework/cases/{reference}/referrals-out")


def test_a_referral_needs_consent_and_goes_on_the_ledger(app, worker):
    reference = make_case(app, worker, legal_name="Samantha Legalname", contact="07700 900111")
    browser = worker_client(app, worker)
    refused = _refer(browser, reference, client_agreed="")
    assert refused.status_code == 422
    assert "agreement" in refused.get_data(as_text=True)
    assert rows(app, "plugins.casework.models.ReferralOut") == []

    assert _refer(browser, reference).status_code == 303
    (referral,) = rows(app, "plugins.casework.models.ReferralOut")
    assert referral.consent_at is not None and referral.consent_withdrawn_at is None
    (disclosure,) = rows(app, "plugins.casework.models.Disclosure")
    assert disclosure.referral_out_id == referral.id and disclosure.consent == "referral_out"
    assert disclosure.recipient == "Safe Homes Trust" and disclosure.what == referral.shared
    assert [e.kind for e in rows(app, "plugins.casework.models.CaseEvent")] == ["referral_out"]

    printed = browser.get(f"/casework/cases/{reference}/referrals-out/{referral.id}/print")
    page = printed.get_data(as_text=True)
    assert printed.status_code == 200
    assert "Safe Homes Trust" in page and "work phone" in page and reference in page
    assert "Samantha" not in page and "Legalname" not in page and "07700 900111" not in page and "Sam" not in page

    outcome = post_form(browser, f"/casework/cases/{reference}/referrals-out/{referral.id}/outcome",
                        {"outcome": "waiting_list"}, token_from=f"/casework/cases/{reference}/referrals-out")
    assert outcome.status_code == 303
    assert rows(app, "plugins.casework.models.ReferralOut")[0].outcome == "waiting_list"
    assert post_form(browser, f"/casework/cases/{reference}/referrals-out/{referral.id}/outcome",
                     {"outcome": "lost"}, token_from=f"/casework/cases/{reference}/referrals-out").status_code == 422

    withdrawn = post_form(browser, f"/casework/cases/{reference}/referrals-out/{referral.id}/withdraw", {},
                          token_from=f"/casework/cases/{reference}/referrals-out")
    assert withdrawn.status_code == 303
    assert rows(app, "plugins.casework.models.ReferralOut")[0].consent_withdrawn_at is not None
    assert browser.get(f"/casework/cases/{reference}/referrals-out/{referral.id}/print").status_code == 410
    listing = browser.get(f"/casework/cases/{reference}/referrals-out").get_data(as_text=True)
    assert "withdrew this consent" in listing and "consent withdrawn" in listing


def test_the_api_records_referrals_and_lists_the_ledger(app, client, worker, make_user):
    reference = make_case(app, worker)
    bearer = {"Authorization": f"Bearer {_token(app, worker)}"}
    base = f"/api/v1/cases/{reference}"
    body = {"service_kind": "legal", "service_name": "Law Centre", "shared": "Working name and the dates."}
    refused = client.post(f"{base}/referrals-out", json={**body, "client_agreed": False}, headers=bearer)
    assert refused.status_code == 422
    assert client.post(f"{base}/referrals-out", json=body, headers=bearer).status_code == 422
    created = client.post(f"{base}/referrals-out", json={**body, "client_agreed": True}, headers=bearer)
    assert created.status_code == 201
    referral_id = created.get_json()["id"]
    outcome = client.post(f"{base}/referrals-out/{referral_id}/outcome", json={"outcome": "accepted"}, headers=bearer)
    assert outcome.status_code == 200 and outcome.get_json()["outcome"] == "accepted"
    gone = client.post(f"{base}/referrals-out/{referral_id}/withdraw", headers=bearer)
    assert gone.get_json()["consent_withdrawn_at"] is not None
    ledger = client.get(f"{base}/disclosures", headers=bearer).get_json()
    assert [(d["recipient"], d["consent"], d["referral_out"]) for d in ledger] == \
        [("Law Centre", "referral_out", referral_id)]
    assert ledger[0]["consent_withdrawn_at"] is not None
    stranger = {"Authorization": f"Bearer {_token(app, make_user('caseworker'))}"}
    assert client.get(f"{base}/disclosures", headers=stranger).status_code == 404
    assert client.post(f"{base}/referrals-out/999/outcome", json={"outcome": "accepted"},
                       headers=bearer).status_code == 404


def _linked_report(app, client, reference, narrative):
    from plugins.casework.models import Case, CaseReport
    from plugins.reporting.models import Report

    response = api_report(client, {"incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london",
                                   "narrative": narrative, "location": "the hotel bar",
                                   "consent": {"share_alert": False, "police_intelligence": False,
                                               "police_report": True, "wants_support": False}})
    assert response.status_code == 201
    body = response.get_json()
    with app.app_context(), connection():
        report = Report.get(Report.reference == body["reference"])
        CaseReport.create(case=Case.get(Case.reference == reference), report_id=report.id,
                          report_reference=report.reference)
    return body


def test_the_evidence_pack_needs_consent_and_holds_only_the_clients_reports_and_timeline(app, client, worker):
    from plugins.casework.models import Case, Contact

    reference = make_case(app, worker, legal_name="Legal Person")
    report = _linked_report(app, client, reference, "He took the money and pushed me.")
    with app.app_context(), connection():
        Contact.create(case=Case.get(Case.reference == reference), happened_at=Case.get().created_at,
                       channel="phone", outcome="spoke", note="Private contact note")
    browser = worker_client(app, worker)
    page = f"/casework/cases/{reference}/evidence-pack"
    assert "has not agreed" in browser.get(page).get_data(as_text=True)
    refused = post_form(browser, page, {}, token_from=page)
    assert refused.status_code == 409
    assert rows(app, "plugins.casework.models.Disclosure") == []

    assert post_form(browser, page + "/consent", {"client_agreed": "y"}, token_from=page).status_code == 303
    post_form(browser, f"/casework/cases/{reference}/appointments",
              {"kind": "police", "starts_at": "2030-01-01T10:00"}, token_from=page)
    _refer(browser, reference, service_name="Housing Place")
    pack = post_form(browser, page, {}, token_from=page)
    assert pack.status_code == 200
    text = pack.get_data(as_text=True)
    assert "He took the money and pushed me." in text and report["reference"] in text and "the hotel bar" in text
    assert "Appointment arranged" in text
    assert "Housing Place" not in text and "Referral to another service" not in text
    assert "Private contact note" not in text and "Legal Person" not in text and "Sam" not in text
    disclosure = [d for d in rows(app, "plugins.casework.models.Disclosure") if d.consent != "referral_out"][0]
    assert disclosure.recipient == "police" and disclosure.consent == "police_evidence_pack"
    assert report["reference"] in disclosure.what
    actions = [entry.action for entry in rows(app, "core.audit.AuditEntry")]
    assert "case.evidence_pack" in actions and "case.consent_recorded" in actions


def test_service_name_and_what_was_shared_are_not_in_clear_in_the_database(app, worker):
    reference = make_case(app, worker)
    name, shared = "cnry" + secrets.token_hex(6), "cnry" + secrets.token_hex(6)
    assert _refer(worker_client(app, worker), reference, service_name=name, shared=shared).status_code == 303
    if using_postgres():
        from core.db import db

        with app.app_context(), connection():
            stored = db.execute_sql("SELECT service_name, shared FROM casework_referral_out UNION ALL "
                                    "SELECT recipient, what FROM casework_disclosure").fetchall()
        assert stored and all(name not in str(v) and shared not in str(v) for row in stored for v in row)
    else:
        for path in Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.glob("*.sqlite3*"):
            data = path.read_bytes()
            assert name.encode() not in data and shared.encode() not in data
