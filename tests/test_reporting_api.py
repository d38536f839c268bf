"""The reporting JSON API: reports in, 422 with a message for every kind of bad input, receipts,
the lists of codes, moderator actions with a bearer token, and the OpenAPI document."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from helpers import enable, enrol_two_factor, sign_in
from test_reporting_common import api_report, in_db

GOOD = {
    "incident_types": ["robbery"],
    "occurred_on": "2024-05-01",
    "occurred_time": "night",
    "region": "london",
    "location": "hotel near the ring road",
    "work_setting": "outcall",
    "contact_method": "online_ad",
    "narrative": "Took the money back.",
    "perpetrators": [{
        "names": ["Dave"], "phones": ["07700 900123"], "emails": ["dave@example.com"], "handles": ["@dave_x"],
        "vehicle": {"make": "Ford", "model": "Focus", "colour": "silver", "plate": "AB12 CDE"},
        "description": {"gender": "man", "age_range": "40-50", "features": "scar"},
    }],
    "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": True},
    "support_contact": "text 07700 900999",
    "support_safe_times": "after 6pm",
}


@pytest.fixture
def app(app):
    enable(app, "reporting")
    return app


def _token(app, user) -> str:
    from core.accounts.tokens import create_token
    from core.permissions import staff_roles

    if staff_roles(app) & set(user.role_names):  # staff tokens work once two-factor sign-in is set up
        enrol_two_factor(app, user)
    with in_db(app):
        _record, token = create_token(user, "tests")
    return token


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_an_anonymous_report_gets_a_reference_and_a_receipt(app, client):
    response = api_report(client, GOOD)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"reference", "receipt", "status"} and body["status"] == "new"
    assert len(body["receipt"].replace(" ", "")) == 16
    from plugins.reporting.models import PerpetratorIdentifier, Report

    with in_db(app):
        report = Report.get(Report.reference == body["reference"])
        assert report.source == "api" and report.narrative == "Took the money back." and report.urgency == 2
        assert report.perpetrators.get().vehicle_dict == {"make": "Ford", "model": "Focus", "colour": "silver"}
        assert sorted(i.kind for i in PerpetratorIdentifier.select()) == ["email", "handle", "phone", "plate"]
    status = client.post("/api/v1/reports/status", json={"receipt": body["receipt"]})
    assert status.status_code == 200
    state = status.get_json()
    assert state["reference"] == body["reference"] and state["status"] == "new" and state["messages"] == []
    assert {c["purpose"]: c["given"] for c in state["consents"]} == {
        "share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": True,
        "research": False}


BAD_INPUT = [
    # (what is wrong, body changes, where the message must be)
    ("unknown top-level field", {"name_of_reporter": "x"}, ["name_of_reporter"]),
    ("list given as text", {"incident_types": "robbery"}, ["incident_types"]),
    ("unknown incident code", {"incident_types": ["robbery", "nonsense"]}, ["incident_types", "1"]),
    ("too many codes", {"incident_types": ["robbery"] * 21}, ["incident_types"]),
    ("date in another format", {"occurred_on": "01/05/2024"}, ["occurred_on"]),
    ("date in the future", {"occurred_on": "2999-01-01"}, ["occurred_on"]),
    ("date as a number", {"occurred_on": 20240501}, ["occurred_on"]),
    ("unknown time of day", {"occurred_time": "teatime"}, ["occurred_time"]),
    ("unknown region", {"region": "atlantis"}, ["region"]),
    ("region as a number", {"region": 7}, ["region"]),
    ("location too long", {"location": "x" * 201}, ["location"]),
    ("narrative too long", {"narrative": "x" * 20_001}, ["narrative"]),
    ("narrative not text", {"narrative": ["a", "b"]}, ["narrative"]),
    ("control characters", {"narrative": "bad\x00byte"}, ["narrative"]),
    ("unknown work setting", {"work_setting": "moon"}, ["work_setting"]),
    ("unknown contact method", {"contact_method": "pigeon"}, ["contact_method"]),
    ("perpetrators not a list", {"perpetrators": {"names": ["x"]}}, ["perpetrators"]),
    ("perpetrator not an object", {"perpetrators": ["Dave"]}, ["perpetrators", "0"]),
    ("too many perpetrators", {"perpetrators": [{"names": ["x"]}] * 11}, ["perpetrators"]),
    ("unknown perpetrator field", {"perpetrators": [{"address": "1 High St"}]}, ["perpetrators", "0", "address"]),
    ("bad phone", {"perpetrators": [{"phones": ["07700 900123", "12"]}]}, ["perpetrators", "0", "phones", "1"]),
    ("bad email", {"perpetrators": [{"emails": ["not-an-email"]}]}, ["perpetrators", "0", "emails", "0"]),
    ("bad plate", {"perpetrators": [{"vehicle": {"plate": "!"}}]}, ["perpetrators", "0", "vehicle", "plate"]),
    ("name too long", {"perpetrators": [{"names": ["x" * 201]}]}, ["perpetrators", "0", "names", "0"]),
    ("too many names", {"perpetrators": [{"names": [f"n{i}" for i in range(11)]}]}, ["perpetrators", "0", "names"]),
    ("unknown vehicle field", {"perpetrators": [{"vehicle": {"wheels": 4}}]},
     ["perpetrators", "0", "vehicle", "wheels"]),
    ("description not an object", {"perpetrators": [{"description": "tall"}]},
     ["perpetrators", "0", "description"]),
    ("consent not boolean", {"consent": {"share_alert": "yes"}}, ["consent", "share_alert"]),
    ("consent as 1", {"consent": {"police_report": 1}}, ["consent", "police_report"]),
    ("unknown consent purpose", {"consent": {"tell_my_mum": True}}, ["consent", "tell_my_mum"]),
    ("consent not an object", {"consent": True}, ["consent"]),
    ("support contact too long", {"support_contact": "x" * 201}, ["support_contact"]),
    ("on behalf without the right", {"on_behalf": True, "on_behalf_consent": True}, ["on_behalf"]),
    ("on behalf not boolean", {"on_behalf": "no"}, ["on_behalf"]),
    ("null inside a list", {"incident_types": [None]}, ["incident_types", "0"]),
    ("null where an object is needed", {"perpetrators": [None]}, ["perpetrators", "0"]),
    ("empty report", {"__replace__": {}}, ["_schema"]),
]


@pytest.mark.parametrize("what, changes, where", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_of_every_kind_is_answered_422_with_a_message(app, client, what, changes, where):
    body = changes.get("__replace__", {**GOOD, **changes})
    response = api_report(client, body)
    assert response.status_code == 422, (what, response.get_json())
    error = response.get_json()["error"]
    assert error["status"] == 422 and error["message"] == "Some of what was sent is not valid."
    found = error["fields"]
    for key in where:
        assert key in found, (what, found)
        found = found[key]
    messages = found if isinstance(found, list) else [m for v in found.values() for m in (v if isinstance(v, list)
                                                                                           else [v])]
    assert messages and all(isinstance(m, str) and len(m) > 5 for m in messages), (what, messages)
    from plugins.reporting.models import Report

    with in_db(app):
        assert Report.select().count() == 0


def test_messages_of_bad_input_are_translated(app, client):
    response = api_report(client, {**GOOD, "region": "atlantis", "colour": "x"},
                          headers={"Accept-Language": "es"})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    with app.test_request_context(headers={"Accept-Language": "es"}):
        from plugins.reporting import _

        enable_domain = app.extensions["redumbrella.domains"]["reporting"]
        enable_domain.as_default()
        with force_locale("es"):
            assert fields["region"] == [_("Please choose one of the listed options.")]


def test_non_json_and_malformed_json_are_refused(app, client):
    assert client.post("/api/v1/reports", data="incident_types=robbery").status_code == 415
    broken = client.post("/api/v1/reports", data="{not json", content_type="application/json")
    assert broken.status_code == 422 and broken.get_json()["error"]["fields"]["_schema"]
    listed = client.post("/api/v1/reports", json=["robbery"])
    assert listed.status_code == 422


def test_unknown_and_expired_receipts_look_the_same(app, client):
    receipt = api_report(client, GOOD).get_json()["receipt"]
    from plugins.reporting.models import Report

    wrong = client.post("/api/v1/reports/status", json={"receipt": "1234 5678 9012 3456"})
    with in_db(app):
        Report.update(receipt_expires_at=db_now_minus_a_day()).execute()
    expired = client.post("/api/v1/reports/status", json={"receipt": receipt})
    assert wrong.status_code == expired.status_code == 404
    assert wrong.get_json() == expired.get_json()
    assert client.post("/api/v1/reports/status", json={"receipt": ""}).status_code == 422
    assert client.post("/api/v1/reports/status", json={}).status_code == 422


def db_now_minus_a_day():
    import datetime

    from core.db import utcnow

    return utcnow() - datetime.timedelta(days=1)


def test_a_right_receipt_always_gets_in_after_others_used_up_the_wrong_receipt_budget(app, client):
    """Guessers from anywhere cannot lock reporters out: once the budget of wrong receipts for
    everyone is used up, wrong ones get 429, but the right one still reads the status, sends a
    message and withdraws a consent."""
    from core.settings import save_settings
    from core.throttle import ThrottleCount
    from plugins.reporting.service import GLOBAL_BUCKET, WRONG_RECEIPTS

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"receipt_attempts_global": 3})
    receipt = api_report(client, GOOD).get_json()["receipt"]
    guessers = [app.test_client() for _ in range(3)]  # several places, no shared cookie
    answers = [guesser.post("/api/v1/reports/status", json={"receipt": f"0000 0000 0000 000{n}"}).status_code
               for n, guesser in enumerate(guessers * 2)]
    assert answers == [404, 404, 404, 429, 429, 429]
    refused = guessers[0].post("/api/v1/reports/status", json={"receipt": "0000 0000 0000 0009"})
    assert refused.status_code == 429
    assert "the right receipt always works" in refused.get_json()["error"]["message"]

    holder = app.test_client()
    status = holder.post("/api/v1/reports/status", json={"receipt": receipt})
    assert status.status_code == 200 and status.get_json()["status"] == "new"
    written = holder.post("/api/v1/reports/messages", json={"receipt": receipt, "body": "He came back."})
    assert written.status_code == 201 and written.get_json()["messages"][-1]["body"] == "He came back."
    withdrawn = holder.post("/api/v1/reports/consent/withdraw", json={"receipt": receipt, "purpose": "share_alert"})
    assert withdrawn.status_code == 200
    assert {c["purpose"]: c for c in withdrawn.get_json()["consents"]}["share_alert"]["given"] is False
    with in_db(app):
        # A flood adds counts, not rows: one row for everyone per minute of the window.
        counted = ThrottleCount.select().where((ThrottleCount.scope == WRONG_RECEIPTS.scope)
                                               & (ThrottleCount.key == GLOBAL_BUCKET))
        assert sum(row.count for row in counted) == 7 and counted.count() <= 2  # two if a minute began meanwhile


def test_wrong_receipts_past_the_limit_are_logged_for_operators_without_the_receipt(app, client, caplog):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"receipt_attempts_global": 2})
    with caplog.at_level("WARNING", logger="redumbrella.reporting"):
        for n in range(4):
            client.post("/api/v1/reports/status", json={"receipt": f"1234 5678 9012 345{n}"})
    warnings = [r for r in caplog.records if getattr(r, "event", None) == "receipt_guessing"]
    assert len(warnings) == 1 and warnings[0].count == 2  # once, when the limit is reached
    assert "5678" not in caplog.text


def test_receipt_holders_can_write_and_withdraw_consent(app, client):
    receipt = api_report(client, GOOD).get_json()["receipt"]
    written = client.post("/api/v1/reports/messages", json={"receipt": receipt, "body": "I remembered his car."})
    assert written.status_code == 201
    assert written.get_json()["messages"][0] == {**written.get_json()["messages"][0], "sender": "reporter",
                                                 "body": "I remembered his car."}
    withdrawn = client.post("/api/v1/reports/consent/withdraw", json={"receipt": receipt, "purpose": "share_alert"})
    assert withdrawn.status_code == 200
    states = {c["purpose"]: c for c in withdrawn.get_json()["consents"]}
    assert states["share_alert"]["given"] is False and states["share_alert"]["withdrawn_at"]
    bad = client.post("/api/v1/reports/consent/withdraw", json={"receipt": receipt, "purpose": "everything"})
    assert bad.status_code == 422


def test_regions_and_incident_types_list_the_configured_codes_translated(app, client):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"regions": ["wales", "cardiff | Cardiff and the Vale"]})
    regions = client.get("/api/v1/regions").get_json()
    assert regions == [{"code": "wales", "name": "Wales"}, {"code": "cardiff", "name": "Cardiff and the Vale"}]
    types_en = client.get("/api/v1/incident-types").get_json()
    assert {"code": "condom_refusal", "name": "Condom refusal or stealthing"} in types_en
    assert len(types_en) == 12
    types_es = client.get("/api/v1/incident-types", headers={"Accept-Language": "es"}).get_json()
    from plugins.reporting.options import INCIDENT_TYPES

    with app.test_request_context(headers={"Accept-Language": "es"}):
        app.extensions["redumbrella.domains"]["reporting"].as_default()
        with force_locale("es"):
            expected = [{"code": code, "name": str(label)} for code, label in INCIDENT_TYPES.items()]
    assert types_es == expected
    assert client.get("/api/v1/work-settings").status_code == 200
    assert client.get("/api/v1/contact-methods").status_code == 200


def test_anonymous_reports_can_be_turned_off_for_the_api(app, client, make_user):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"allow_anonymous": False})
    assert api_report(client, GOOD).status_code == 401
    member = make_user("member")
    response = api_report(client, GOOD, headers=_bearer(_token(app, member)))
    assert response.status_code == 201 and "receipt" not in response.get_json()


def test_a_caseworker_reports_for_someone_with_their_agreement(app, client, make_user):
    token = _token(app, make_user("caseworker"))
    missing = api_report(client, {**GOOD, "on_behalf": True}, headers=_bearer(token))
    assert missing.status_code == 422 and "on_behalf_consent" in missing.get_json()["error"]["fields"]
    made = api_report(client, {**GOOD, "on_behalf": True, "on_behalf_consent": True}, headers=_bearer(token))
    assert made.status_code == 201


def test_moderators_work_the_queue_with_a_token(app, client, make_user):
    moderator = make_user("moderator")
    token = _token(app, moderator)
    first = api_report(client, {**GOOD, "perpetrators": [{"phones": ["+44 7700 900123"]}]}).get_json()["reference"]
    second = api_report(client, GOOD).get_json()["reference"]
    listed = client.get("/api/v1/reports", headers=_bearer(token))
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == 2 and {r["reference"] for r in body["reports"]} == {first, second}
    assert all(r["linked"] == 1 for r in body["reports"])
    assert client.get("/api/v1/reports?status=nonsense", headers=_bearer(token)).status_code == 422
    assert client.get("/api/v1/reports?colour=red", headers=_bearer(token)).status_code == 422

    detail = client.get(f"/api/v1/reports/{second}", headers=_bearer(token))
    assert detail.status_code == 200
    report = detail.get_json()
    assert report["narrative"] == "Took the money back." and report["anonymous"] is True
    assert report["links"][0]["reference"] == first
    assert report["links"][0]["shared"] == [{"kind": "phone", "value": "+447700900123"}]
    from core.audit import AuditEntry

    with in_db(app):
        viewed = AuditEntry.get(AuditEntry.action == "report.viewed")
        assert viewed.target == f"report:{second}" and viewed.actor_id == moderator.id

    note = client.post(f"/api/v1/reports/{second}/notes", json={"body": "Checked with the Leeds project."},
                       headers=_bearer(token))
    message = client.post(f"/api/v1/reports/{second}/messages", json={"body": "Thank you. Are you safe now?"},
                          headers=_bearer(token))
    assert note.status_code == message.status_code == 201
    verified = client.post(f"/api/v1/reports/{second}/status", json={"status": "verified"}, headers=_bearer(token))
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"
    bad = client.post(f"/api/v1/reports/{second}/status", json={"status": "deleted"}, headers=_bearer(token))
    assert bad.status_code == 422 and "status" in bad.get_json()["error"]["fields"]
    duplicate = client.post(f"/api/v1/reports/{first}/status", json={"status": "duplicate", "duplicate_of": "R-ZZZZZZ"},
                            headers=_bearer(token))
    assert duplicate.status_code == 422 and "duplicate_of" in duplicate.get_json()["error"]["fields"]
    assert client.post("/api/v1/reports/R-ZZZZZZ/status", json={"status": "verified"},
                       headers=_bearer(token)).status_code == 404
    withdrawn = client.post(f"/api/v1/reports/{second}/consent/share_alert/withdraw", headers=_bearer(token))
    assert withdrawn.status_code == 200

    from plugins.reporting.models import Report

    with in_db(app):
        saved = Report.get(Report.reference == second)
        assert saved.status == "verified" and saved.verified_at is not None
        assert not saved.has_consent("share_alert")


def test_moderator_api_refuses_other_tokens_and_no_token(app, client, make_user):
    reference = api_report(client, GOOD).get_json()["reference"]
    member_token = _token(app, make_user("member"))
    assert client.get(f"/api/v1/reports/{reference}", headers=_bearer(member_token)).status_code == 403
    assert client.post(f"/api/v1/reports/{reference}/status", json={"status": "verified"},
                       headers=_bearer(member_token)).status_code == 403
    assert client.post(f"/api/v1/reports/{reference}/status", json={"status": "verified"}).status_code == 401
    assert client.get(f"/api/v1/reports/{reference}", headers=_bearer("ru_not-a-real-token")).status_code == 401


def test_a_signed_in_browser_needs_its_csrf_token_for_api_posts(app, make_user):
    browser = app.test_client()
    sign_in(browser, make_user("member"))
    assert api_report(browser, GOOD).status_code == 400  # cookies without the token: refused


def test_the_openapi_document_describes_the_enabled_plugins(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in ("/reports", "/reports/status", "/regions", "/incident-types", "/reports/{reference}/status"):
        assert path in document["paths"], path
    report = document["components"]["schemas"]["ReportingReport"]
    assert report["additionalProperties"] is False
    assert report["properties"]["narrative"]["maxLength"] == 20_000
    assert set(report["properties"]) >= {"incident_types", "occurred_on", "region", "narrative", "perpetrators",
                                         "consent"}
    perpetrator = document["components"]["schemas"]["ReportingPerpetrator"]
    assert set(perpetrator["properties"]) == {"names", "phones", "emails", "handles", "vehicle", "description"}
    consent = document["components"]["schemas"]["ReportingConsent"]["properties"]
    assert {name: prop["type"] for name, prop in consent.items()} == {
        "share_alert": "boolean", "police_intelligence": "boolean", "police_report": "boolean",
        "wants_support": "boolean", "research": "boolean"}
    status_op = document["paths"]["/reports/{reference}/status"]["post"]
    assert status_op["security"] == [{"bearerAuth": []}]
    assert status_op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReportingModerationStatus"}
    assert "422" in document["paths"]["/reports"]["post"]["responses"]


def test_a_disabled_plugin_is_absent_from_the_document_and_its_api_answers_404(app, client):
    from core.plugins import get_registry

    with app.app_context(), in_db(app):
        get_registry(app).set_enabled("reporting", False)
    document = client.get("/api/v1/openapi.json").get_json()
    assert "/openapi.json" in document["paths"]
    assert not any(path.startswith("/reports") or path == "/regions" for path in document["paths"])
    assert "ReportingReport" not in document.get("components", {}).get("schemas", {})
    assert api_report(client, GOOD).status_code == 404
    assert client.get("/api/v1/regions").status_code == 404
