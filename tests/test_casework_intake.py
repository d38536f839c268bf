"""Casework intake: referrals from reports (with only what the support consent covers), consent
given later (by receipt, by account, by the API), self-referral with a receipt, and a partner's
referral with the person's recorded agreement."""

from __future__ import annotations

import pytest
from casework_common import bearer, casework_values, in_db, raw_database_text, token_for
from helpers import enable, post_form, sign_in
from test_reporting_common import fill_in, step

from core.db import connection

NARRATIVE = "Cnrynarrative7 took the money back"
PERP = "Cnryperpname7"
LOCATION = "Cnrylocation7 station"
REPORT = {
    "incident_types": ["robbery"],
    "narrative": NARRATIVE,
    "location": LOCATION,
    "region": "london",
    "perpetrators": [{"names": [PERP], "phones": ["07700 900123"]}],
    "consent": {"share_alert": False, "police_intelligence": False, "police_report": False, "wants_support": True},
    "support_contact": "07700 900999",
    "support_safe_times": "text only after 6pm",
    "support_contact_method": "text",
    "support_may_leave_message": False,
}


@pytest.fixture
def app(app):
    enable(app, "reporting", "casework")
    return app


def referrals(app):
    from plugins.casework.models import Referral

    with in_db(app):
        return list(Referral.select().order_by(Referral.id))


def test_a_report_asking_for_support_becomes_a_referral_with_only_what_that_consent_covers(app, client):
    made = client.post("/api/v1/reports", json=REPORT)
    assert made.status_code == 201, made.get_json()
    [referral] = referrals(app)
    assert referral.source == "report" and referral.status == "open"
    assert referral.report_reference == made.get_json()["reference"]
    assert referral.contact == "07700 900999" and referral.safe_times == "text only after 6pm"
    assert referral.contact_method == "text" and referral.may_leave_message is False
    assert referral.region == "london"
    values = "\n".join(casework_values(app))
    for secret in (NARRATIVE, PERP, LOCATION, "Cnry", "+447700900123"):
        assert secret not in values
    assert "07700 900999" not in raw_database_text(app)  # the copied contact is encrypted too


def test_a_report_without_the_support_consent_makes_no_referral(app, client):
    made = client.post("/api/v1/reports", json={**REPORT, "consent": {**REPORT["consent"], "wants_support": False}})
    assert made.status_code == 201
    assert referrals(app) == []


def test_without_casework_the_request_stays_with_the_moderators(app, client, make_user):
    from core.plugins import get_registry

    with in_db(app):
        get_registry(app).set_enabled("casework", False)
    made = client.post("/api/v1/reports", json=REPORT)
    assert made.status_code == 201
    assert referrals(app) == []
    from plugins.reporting.models import Report

    with in_db(app):
        assert Report.get(Report.reference == made.get_json()["reference"]).has_consent("wants_support")


def test_the_wishes_step_asks_how_and_whether_a_message_may_be_left(app, client):
    wishes = {"consent_share_alert": "no", "consent_police_intelligence": "no", "consent_police_report": "no",
              "consent_wants_support": "yes", "support_contact": "07700 900888", "support_safe_times": "evenings",
              "support_contact_method": "signal", "support_may_leave_message": "yes", "consent_research": "no"}
    page = fill_in(client, wishes=wishes).get_data(as_text=True)
    assert "May we leave a message?" in page
    sent = step(client, action="send", step_code="check")
    assert sent.status_code == 200
    [referral] = referrals(app)
    assert referral.contact_method == "signal" and referral.may_leave_message is True
    assert referral.contact == "07700 900888"


def test_support_asked_for_later_by_receipt_makes_a_referral(app, client):
    made = client.post("/api/v1/reports", json={**REPORT, "consent": {**REPORT["consent"], "wants_support": False}})
    receipt = made.get_json()["receipt"]
    assert referrals(app) == []
    given = client.post("/api/v1/reports/consent", json={
        "receipt": receipt, "purpose": "wants_support", "given": True, "support_contact": "someone@example.org",
        "support_contact_method": "email", "support_may_leave_message": True})
    assert given.status_code == 200, given.get_json()
    states = {c["purpose"]: c for c in given.get_json()["consents"]}
    assert states["wants_support"]["given"] is True
    [referral] = referrals(app)
    assert referral.source == "consent_later" and referral.contact == "someone@example.org"
    assert referral.contact_method == "email" and referral.may_leave_message is True
    assert NARRATIVE not in "\n".join(casework_values(app))
    # Given again while given: nothing new. Withdrawn, then given again: the history keeps each.
    assert client.post("/api/v1/reports/consent", json={"receipt": receipt, "purpose": "wants_support",
                                                        "given": True}).status_code == 200
    assert len(referrals(app)) == 1
    withdrawn = client.post("/api/v1/reports/consent", json={"receipt": receipt, "purpose": "share_alert",
                                                             "given": True})
    assert withdrawn.status_code == 200
    client.post("/api/v1/reports/consent", json={"receipt": receipt, "purpose": "share_alert", "given": False})
    client.post("/api/v1/reports/consent", json={"receipt": receipt, "purpose": "share_alert", "given": True})
    from plugins.reporting.models import Consent

    with in_db(app):
        rows = list(Consent.select().where(Consent.purpose == "share_alert").order_by(Consent.id))
    assert [row.withdrawn_at is not None for row in rows] == [True, False]
    from core.audit import AuditEntry

    with in_db(app):
        assert AuditEntry.select().where(AuditEntry.action == "report.consent_given").count() == 3


def test_consent_api_refuses_bad_input_and_wrong_receipts(app, client):
    assert client.post("/api/v1/reports/consent", json={"purpose": "wants_support", "given": True}).status_code == 422
    assert client.post("/api/v1/reports/consent", json={"receipt": "1234 5678 9012 3456", "purpose": "wants_support",
                                                        "given": "yes"}).status_code == 422
    assert client.post("/api/v1/reports/consent", json={"receipt": "1234 5678 9012 3456", "purpose": "wants_support",
                                                        "given": True}).status_code == 404
    assert client.post("/api/v1/reports/consent", json={"reference": "R-AAAAAA", "purpose": "wants_support",
                                                        "given": True}).status_code == 401


def test_a_signed_in_reporter_gives_support_consent_later_with_a_token(app, client, make_user):
    member = make_user("member")
    token = token_for(app, member)
    made = client.post("/api/v1/reports", headers=bearer(token),
                       json={**REPORT, "consent": {**REPORT["consent"], "wants_support": False}})
    reference = made.get_json()["reference"]
    other = token_for(app, make_user("member"))
    assert client.post("/api/v1/reports/consent", headers=bearer(other), json={
        "reference": reference, "purpose": "wants_support", "given": True}).status_code == 404
    given = client.post("/api/v1/reports/consent", headers=bearer(token), json={
        "reference": reference, "purpose": "wants_support", "given": True, "support_contact": "07700 900777"})
    assert given.status_code == 200
    [referral] = referrals(app)
    assert referral.client_id == member.id and referral.contact == "07700 900777"


def test_support_asked_for_later_on_the_follow_up_page(app, client):
    made = client.post("/api/v1/reports", json={**REPORT, "consent": {**REPORT["consent"], "wants_support": False}})
    receipt = made.get_json()["receipt"]
    page = post_form(client, "/reporting/follow-up", {"receipt": receipt}, token_from="/reporting/follow-up")
    assert "Say yes to this now" in page.get_data(as_text=True)
    bad = post_form(client, "/reporting/follow-up", {"receipt": receipt, "action": "give:wants_support",
                                                      "support_contact_method": "carrier-pigeon"},
                    token_from="/reporting/follow-up")
    assert bad.status_code == 422 and referrals(app) == []
    done = post_form(client, "/reporting/follow-up", {
        "receipt": receipt, "action": "give:wants_support", "support_contact_method": "phone",
        "support_contact": "07700 900666", "support_safe_times": "mornings", "support_may_leave_message": "no"},
        token_from="/reporting/follow-up")
    assert done.status_code == 200
    [referral] = referrals(app)
    assert referral.source == "consent_later" and referral.contact == "07700 900666"
    assert referral.may_leave_message is False


def test_support_asked_for_later_on_my_reports(app, client, make_user):
    member = make_user("member")
    sign_in(client, member)
    made = client.post("/api/v1/reports", headers=bearer(token_for(app, member)),
                       json={**REPORT, "consent": {**REPORT["consent"], "wants_support": False}})
    reference = made.get_json()["reference"]
    path = f"/reporting/mine/{reference}"
    done = post_form(client, path, {"action": "give:wants_support", "support_contact": "07700 900555"},
                     token_from=path)
    assert done.status_code == 200 and "Done. You said yes to" in done.get_data(as_text=True)
    [referral] = referrals(app)
    assert referral.client_id == member.id and referral.source == "consent_later"


def test_anyone_asks_for_support_and_an_anonymous_person_gets_a_receipt(app, client):
    page = client.get("/casework/support")
    assert page.status_code == 200 and "Get support" in page.get_data(as_text=True)
    empty = post_form(client, "/casework/support", {"action": "send"}, token_from="/casework/support")
    assert empty.status_code == 422 and referrals(app) == []
    sent = post_form(client, "/casework/support", {
        "action": "send", "working_name": "Cnryworking7", "contact_method": "text", "contact": "07700 900444",
        "safe_times": "after 6", "may_leave_message": "no", "language": "es", "needs": "Cnryneeds7 housing"},
        token_from="/casework/support")
    assert sent.status_code == 200
    import re

    receipt = re.search(r"<strong>([\d ]{19})</strong>", sent.get_data(as_text=True)).group(1)
    [referral] = referrals(app)
    assert referral.source == "self" and referral.client_id is None and referral.language == "es"
    assert referral.working_name == "Cnryworking7" and referral.needs == "Cnryneeds7 housing"
    assert receipt.replace(" ", "") not in (referral.receipt_hash or "")
    with app.test_request_context(), in_db(app):
        from plugins.casework.service import referral_for_receipt
        from plugins.reporting.service import report_for_receipt

        assert referral_for_receipt(receipt).id == referral.id
        assert referral_for_receipt("0000 0000 0000 0000") is None
        assert report_for_receipt(receipt) is None  # a support receipt opens no report
    raw = raw_database_text(app)
    for secret in ("Cnryworking7", "Cnryneeds7", "07700 900444", receipt):
        assert secret not in raw


def test_a_partner_refers_someone_only_with_their_recorded_agreement(app, client, make_user):
    partner = make_user("partner")
    assert client.get("/casework/refer").status_code == 302  # sign-in first
    sign_in(client, partner)
    form = {"working_name": "Sam", "contact_method": "phone", "contact": "07700 900333"}
    refused = post_form(client, "/casework/refer", form, token_from="/casework/refer")
    assert refused.status_code == 422 and "agreed" in refused.get_data(as_text=True)
    assert referrals(app) == []
    sent = post_form(client, "/casework/refer", {**form, "client_agreed": "y"}, token_from="/casework/refer")
    assert sent.status_code == 303
    [referral] = referrals(app)
    assert referral.source == "partner" and referral.referred_by_id == partner.id
    assert referral.client_agreed_at is not None


def test_changing_language_on_the_referral_form_keeps_what_was_typed_and_sends_nothing(app, client, make_user):
    sign_in(client, make_user("partner"))
    page = client.get("/casework/refer").get_data(as_text=True)
    assert 'form="refer-form" name="action" value="language"' in page  # the switcher posts the form
    form = {"working_name": "Sam", "contact_method": "phone", "contact": "07700 900333", "client_agreed": "y",
            "action": "language", "locale": "fr"}
    switched = post_form(client, "/casework/refer", form, token_from="/casework/refer")
    text = switched.get_data(as_text=True)
    assert switched.status_code == 200 and '<html lang="fr"' in text
    assert 'value="Sam"' in text and 'value="07700 900333"' in text
    assert "error-summary" not in text
    assert referrals(app) == []


def test_a_member_cannot_refer_for_someone_else(app, client, make_user):
    sign_in(client, make_user("member"))
    assert client.get("/casework/refer").status_code == 403


def test_withdrawing_support_withdraws_the_referral_nobody_has_taken_up(app, client, make_user):
    from core.audit import AuditEntry
    from plugins.casework import service

    made = client.post("/api/v1/reports", json=REPORT)
    receipt = made.get_json()["receipt"]
    [referral] = referrals(app)
    assert referral.status == "open"
    off = client.post("/api/v1/reports/consent", json={"receipt": receipt, "purpose": "wants_support", "given": False})
    assert off.status_code == 200
    [referral] = referrals(app)
    assert referral.status == "withdrawn" and referral.decided_at is not None
    with in_db(app):
        assert AuditEntry.select().where(AuditEntry.action == "referral.withdrawn").count() == 1
    # Asked again: a new referral. Taken up by a caseworker, then withdrawn: the case stays.
    client.post("/api/v1/reports/consent", json={"receipt": receipt, "purpose": "wants_support", "given": True})
    fresh = [r for r in referrals(app) if r.status == "open"]
    assert len(fresh) == 1
    worker = make_user("caseworker")
    with app.test_request_context(), connection():
        service.accept_referral(fresh[0], worker)
    client.post("/api/v1/reports/consent", json={"receipt": receipt, "purpose": "wants_support", "given": False})
    assert sorted(r.status for r in referrals(app)) == ["accepted", "withdrawn"]
