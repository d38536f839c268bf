"""The client's own page, "Your support": by account or by receipt, the ledger, consents, messages."""

from __future__ import annotations

import re

import pytest
from helpers import csrf_token, enable, post_form, sign_in
from test_casework_appointments import make_case, rows, worker_client
from test_casework_referrals_out import _linked_report, _refer

from core.db import connection

PAGE = "/casework/my-support/"


@pytest.fixture
def app(make_app):
    app = make_app()
    enable(app, "reporting", "casework")
    return app


@pytest.fixture
def worker(make_user):
    return make_user("caseworker", email="worker@example.org")


def _main(response) -> str:
    """The page's main content without the per-session CSRF token."""
    text = response.get_data(as_text=True)
    main = text[text.index("<main"):text.index("</main>")]
    return re.sub(r'name="csrf_token" value="[^"]+"', "", main)


def _by_receipt(browser, receipt, **data):
    return browser.post(PAGE, data={"csrf_token": csrf_token(browser, PAGE), "receipt": receipt, **data})


def test_the_client_sees_their_ledger_appointment_and_messages_through_their_account(app, worker, make_user):
    client_user = make_user(email="client@example.org")
    reference = make_case(app, worker, client_user)
    staff = worker_client(app, worker)
    assert _refer(staff, reference, service_name="Safe Homes Trust").status_code == 303
    post_form(staff, f"/casework/cases/{reference}/appointments",
              {"kind": "clinic", "starts_at": "2031-02-03T14:00", "place": "Health centre, room 4"},
              token_from=f"/casework/cases/{reference}/appointments")

    browser = app.test_client()
    sign_in(browser, client_user)
    page = browser.get(PAGE)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<title>Your support" in text
    assert "Who received what about you" in text and "Safe Homes Trust" in text
    assert "Health centre, room 4" in text and "2031" in text
    assert 'class="quick-exit' in text or "quick-exit" in text

    sent = post_form(browser, PAGE, {"action": "message", "body": "Can we meet on Friday?"}, token_from=PAGE)
    assert sent.status_code == 303
    (message,) = rows(app, "plugins.casework.models.CaseMessage")
    assert message.from_client is True and message.author_id == client_user.id
    assert "Can we meet on Friday?" in browser.get(PAGE).get_data(as_text=True)
    assert post_form(browser, PAGE, {"action": "message", "body": "  "}, token_from=PAGE).status_code == 422


def test_a_report_receipt_opens_the_page_and_a_wrong_receipt_gets_the_same_answer_as_none(app, client, worker):
    reference = make_case(app, worker)
    report = _linked_report(app, client, reference, "What happened, in my words.")
    staff = worker_client(app, worker)
    _refer(staff, reference, service_name="Clinic Nine")

    browser = app.test_client()
    opened = _by_receipt(browser, report["receipt"])
    assert opened.status_code == 200
    assert "Clinic Nine" in opened.get_data(as_text=True)

    # A report of theirs with no support request: the same answer as a wrong receipt or none at all.
    other = app.test_client()
    unlinked = other.post("/api/v1/reports", json={"incident_types": ["robbery"], "narrative": "Another one.",
                                                   "consent": {"share_alert": False, "police_intelligence": False,
                                                               "police_report": False, "wants_support": False}})
    answers = []
    for receipt in ("1234 5678 9012 3456", "", "not a receipt", unlinked.get_json()["receipt"]):
        fresh = app.test_client()
        response = _by_receipt(fresh, receipt)
        answers.append((response.status_code, _main(response)))
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 404
    assert "Clinic Nine" not in answers[0][1]
    # Without anything, a visitor gets only the receipt form.
    assert "Clinic Nine" not in app.test_client().get(PAGE).get_data(as_text=True)


def test_wrong_receipts_are_throttled_like_reporting_receipts_and_a_right_one_still_opens(app, client, worker):
    reference = make_case(app, worker)
    report = _linked_report(app, client, reference, "Mine.")
    browser = app.test_client()
    statuses = [_by_receipt(browser, f"0000 0000 0000 {n:04d}").status_code for n in range(7)]
    assert statuses[:5] == [404] * 5 and statuses[-1] == 429
    assert _by_receipt(browser, report["receipt"]).status_code == 200


def test_withdrawing_a_consent_on_the_client_page_changes_what_the_worker_sees(app, client, worker):
    from plugins.casework.models import ClientConsent, ReferralOut

    reference = make_case(app, worker)
    report = _linked_report(app, client, reference, "Mine.")
    staff = worker_client(app, worker)
    evidence = f"/casework/cases/{reference}/evidence-pack"
    post_form(staff, evidence + "/consent", {"client_agreed": "y"}, token_from=evidence)
    _refer(staff, reference, service_name="Law Centre")
    assert "Make the pack for the police" in staff.get(evidence).get_data(as_text=True)

    browser = app.test_client()
    with app.app_context(), connection():
        consent = ClientConsent.get(ClientConsent.purpose == "police_evidence_pack")
        referral = ReferralOut.get()
    done = _by_receipt(browser, report["receipt"], action=f"withdraw_consent:{consent.id}")
    assert done.status_code == 200
    assert "can no longer give the police an evidence pack" in done.get_data(as_text=True)
    done = _by_receipt(browser, report["receipt"], action=f"withdraw_referral:{referral.id}")
    page = done.get_data(as_text=True)
    assert "no longer agree to this referral" in page and "withdrawn on" in page

    assert "has not agreed" in staff.get(evidence).get_data(as_text=True)
    assert post_form(staff, evidence, {}, token_from=evidence).status_code == 409
    listing = staff.get(f"/casework/cases/{reference}/referrals-out").get_data(as_text=True)
    assert "withdrew this consent" in listing
    kinds = [e.kind for e in rows(app, "plugins.casework.models.CaseEvent")]
    assert "client_consent_withdrawn" in kinds and "referral_out_withdrawn" in kinds
    # Somebody else's consent id from this page does nothing.
    assert _by_receipt(browser, report["receipt"], action="withdraw_consent:99999").status_code == 200


def test_reminders_are_chosen_and_stopped_by_the_client(app, worker, make_user):
    from plugins.casework.models import Case

    client_user = make_user(email="client3@example.org")
    reference = make_case(app, worker, client_user)
    browser = app.test_client()
    sign_in(browser, client_user)
    text = browser.get(PAGE).get_data(as_text=True)
    assert "Text message reminders are not available" in text  # alerts is off: said honestly
    post_form(browser, PAGE, {"action": "reminders:email"}, token_from=PAGE)
    with app.app_context(), connection():
        case = Case.get(Case.reference == reference)
        assert case.reminder_channel == "email" and case.reminders_agreed_at is not None
    post_form(browser, PAGE, {"action": "reminders:stop"}, token_from=PAGE)
    with app.app_context(), connection():
        case = Case.get(Case.reference == reference)
        assert case.reminder_channel is None and case.reminders_agreed_at is None
    consents = rows(app, "plugins.casework.models.ClientConsent")
    assert len(consents) == 1 and consents[0].withdrawn_at is not None and consents[0].given_by_client


def test_a_declined_referral_shows_the_neutral_decline_message(app, make_user):
    from plugins.casework.models import Referral

    client_user = make_user(email="client4@example.org")
    with app.app_context(), connection():
        Referral.create(source="self", status="declined", client=client_user.id, decline_reason="outside_area",
                        decline_note="staff only detail")
    browser = app.test_client()
    sign_in(browser, client_user)
    text = browser.get(PAGE).get_data(as_text=True)
    assert "does not cover the area you are in" in text
    assert "staff only detail" not in text


def test_someone_signed_in_without_a_case_sees_only_the_receipt_form(app, worker, make_user):
    make_case(app, worker, make_user(email="client5@example.org"))
    browser = app.test_client()
    sign_in(browser, make_user(email="nobody@example.org"))
    text = browser.get(PAGE).get_data(as_text=True)
    assert 'name="receipt"' in text and "Who received what" not in text
    assert post_form(browser, PAGE, {"action": "message", "body": "hi"}, token_from=PAGE).status_code == 404
    assert rows(app, "plugins.casework.models.CaseMessage") == []
