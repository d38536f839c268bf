"""Digits outside ASCII: never a 500, and a person's own digits work where a person types numbers.

"²".isdigit() is True but int("²") fails, and int() takes "١٢" and numbers too large for any
column. Every place that reads an id or a count from a form or an address is sent "²" and a
30-digit number here and must answer as it answers any other garbage (the app runs with TESTING
on, so an exception in a view fails the test with its traceback). Receipts and two-factor codes
typed in Arabic-Indic, Persian or fullwidth digits are read as the same numbers.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from helpers import TEST_PASSWORD, enable, enrol_two_factor, next_two_factor_code, post_form, sign_in
from test_reporting_common import FORM, WHAT, WHEN, WHO, in_db, send_report, step

from core.numbers import ascii_digits, whole_number

HUGE = "9" * 30  # far past 2**63
BAD = ("²", HUGE)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture
def on(make_app):
    # Generous sign-in limits: several wrong codes in a row are sent on purpose.
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 100, "LOGIN_MAX_FAILURES_PER_ADDRESS": 100,
                    "MAIL_BACKEND": "file"})
    enable(app, "reporting", "casework", "training")
    return app


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def answers_like_garbage(send, garbage: str = "abc") -> int:
    """send(value) for plain garbage, "²" and a 30-digit number: all get the same status, not a 5xx."""
    expected = send(garbage).status_code
    assert expected < 500
    for value in BAD:
        assert send(value).status_code == expected, value
    return expected


# -- the shared helpers ----------------------------------------------------------------------------


def test_whole_number_takes_ascii_digits_only_and_ascii_digits_converts_decimal_digits():
    assert whole_number("42") == 42 and whole_number("0") == 0
    for text in ("", "²", "١٢", "１２", " 12", "-1", "1.0", HUGE, None):
        assert whole_number(text) is None, text
    assert whole_number("9" * 18) == 10**18 - 1 and whole_number("9" * 19) is None
    assert whole_number("12345", max_digits=4) is None
    assert ascii_digits("٠١٢٣ ۴۵۶۷-８９") == "0123 4567-89"
    assert ascii_digits("²³x") == "²³x"


# -- signing in: the two-factor code ----------------------------------------------------------------


def _password_step(client, user):
    response = post_form(client, "/account/login", {"email": user.email, "password": TEST_PASSWORD},
                         token_from="/account/login")
    assert response.location.split("?")[0].endswith("/account/login/code")


def test_two_factor_codes_that_are_not_ascii_digits_are_wrong_codes_and_counted(on, make_user):
    from core.audit import AuditEntry

    user = make_user("moderator", email="mod@example.org")
    enrol_two_factor(on, user)
    client = on.test_client()
    _password_step(client, user)
    for code in ("²²²²²²", "²", HUGE, "١²٣٤٥٦"):
        answer = post_form(client, "/account/login/code", {"code": code}, token_from="/account/login/code")
        assert answer.status_code == 400, code
        assert "That code did not work" in answer.get_data(as_text=True)
    with in_db(on):
        assert AuditEntry.select().where(AuditEntry.action == "auth.two_factor_failed").count() == 4


@pytest.mark.parametrize("digits", [ARABIC_INDIC, FULLWIDTH], ids=["arabic-indic", "fullwidth"])
def test_a_right_two_factor_code_in_other_digits_signs_in(on, make_user, digits):
    user = make_user("moderator", email="mod@example.org")
    enrol_two_factor(on, user)
    client = on.test_client()
    _password_step(client, user)
    code = next_two_factor_code(on, user).translate(digits)
    answer = post_form(client, "/account/login/code", {"code": code}, token_from="/account/login/code")
    assert answer.status_code == 302 and "/account/login" not in answer.location
    assert client.get("/reporting/moderate/").status_code == 200


def test_confirming_two_factor_set_up_with_other_digits(on, make_user):
    user = make_user("member", email="member@example.org")
    client = signed_in(on, user)
    assert post_form(client, "/account/two-factor/begin", {"password": TEST_PASSWORD},
                     token_from="/account/two-factor").status_code == 303
    for code in ("²²²²²²", HUGE):
        refused = post_form(client, "/account/two-factor/confirm", {"code": code}, token_from="/account/two-factor")
        assert refused.status_code == 303 and refused.location.endswith("/account/two-factor")
        assert "That code did not match" in client.get("/account/two-factor").get_data(as_text=True)
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    code = pyotp.TOTP(secret).now().translate(ARABIC_INDIC)
    done = post_form(client, "/account/two-factor/confirm", {"code": code}, token_from="/account/two-factor")
    assert done.status_code == 200 and "<li><code>" in done.get_data(as_text=True)


def test_a_session_cookie_with_other_digits_is_signed_out_not_an_error(on, make_user):
    user = make_user("member", email="member@example.org")
    client = signed_in(on, user)
    for value in (f"²:{1}", f"{user.id}:²", f"{HUGE}:1", "١:١"):
        with client.session_transaction() as session:
            session["_user_id"] = value
        page = client.get("/account/security")
        assert page.status_code == 302 and "/account/login" in page.location, value


# -- receipts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [ARABIC_INDIC, PERSIAN, FULLWIDTH], ids=["arabic-indic", "persian", "fullwidth"])
def test_a_receipt_typed_in_other_digits_opens_the_report(on, digits):
    client = on.test_client()
    reference, receipt = send_report(client)
    opened = post_form(client, "/reporting/follow-up", {"receipt": receipt.translate(digits)},
                       token_from="/reporting/follow-up")
    assert opened.status_code == 200
    assert reference in opened.get_data(as_text=True)
    # "²" is not a digit of any script: a receipt with one is a wrong receipt.
    wrong = post_form(client, "/reporting/follow-up", {"receipt": receipt[:-1] + "²"},
                      token_from="/reporting/follow-up")
    assert wrong.status_code == 404


# -- reporting ----------------------------------------------------------------------------------------


def test_the_report_form_ignores_other_digits_in_remove_actions(on):
    client = on.test_client()
    client.get(FORM)
    step(client, WHAT, step_code="what")
    step(client, WHEN, step_code="when")
    assert answers_like_garbage(lambda v: step(client, WHO, action=f"remove_person:{v}", step_code="who")) == 200
    assert answers_like_garbage(lambda v: step(client, {}, action=f"remove_file:{v}", step_code="files")) == 200


def test_moderation_page_and_urgency(on, make_user):
    from plugins.reporting.models import Report

    reference, _receipt = send_report(on.test_client())
    with in_db(on):
        urgency = Report.get(Report.reference == reference).urgency
    client = signed_in(on, make_user("moderator", email="mod@example.org"))
    assert answers_like_garbage(lambda v: client.get(f"/reporting/moderate/?page={v}")) == 200
    path = f"/reporting/moderate/{reference}"
    assert answers_like_garbage(lambda v: post_form(client, f"{path}/urgency", {"urgency": v}, token_from=path)) == 303
    assert "Please choose one of the listed options" in client.get(path).get_data(as_text=True)
    with in_db(on):
        assert Report.get(Report.reference == reference).urgency == urgency


# -- administrators -----------------------------------------------------------------------------------


def test_erasing_finds_no_account_for_other_digits(on, make_user):
    client = signed_in(on, make_user("admin", email="admin@example.org"))
    page = "/admin/members/erase"
    assert answers_like_garbage(lambda v: post_form(client, page, {"account": f"#{v}"}, token_from=page)) == 404
    assert answers_like_garbage(lambda v: post_form(client, page, {"account": v}, token_from=page)) == 404


def test_removing_an_organisation_member_with_other_digits_is_not_found(on, make_user):
    from core.organisations import Organisation

    client = signed_in(on, make_user("admin", email="admin@example.org"))
    with in_db(on):
        organisation_id = Organisation.create(name="Example Police", kind="police").id
    edit = f"/admin/organisations/{organisation_id}"
    assert answers_like_garbage(
        lambda v: post_form(client, edit, {"action": "remove_member", "user": v}, token_from=edit)) == 404


# -- training -----------------------------------------------------------------------------------------


def _manager_in_an_organisation(app, make_user):
    from core.organisations import Organisation, set_organisation

    manager = make_user("organisation_manager", email="manager@example.org")
    with in_db(app):
        set_organisation(manager, Organisation.create(name="Example Police", kind="police"))
    return manager


def test_training_reports_ignore_a_course_in_other_digits(on, make_user):
    client = signed_in(on, make_user("admin", email="admin@example.org"))
    assert answers_like_garbage(lambda v: client.get(f"/training/reports?course={v}")) == 200
    assert answers_like_garbage(lambda v: client.get(f"/training/reports.csv?course={v}")) == 200


def test_training_approvals_and_enrolment_by_a_manager(on, make_user):
    client = signed_in(on, _manager_in_an_organisation(on, make_user))
    page = "/training/sessions/approvals"
    assert answers_like_garbage(
        lambda v: post_form(client, page, {"booking": v, "decision": "approve"}, token_from=page)) == 404
    assert answers_like_garbage(lambda v: post_form(client, "/training/organisation/enrol",
                                                    {"person": v, "course": "1"},
                                                    token_from="/training/organisation")) == 404


# -- casework ------------------------------------------------------------------------------------------


def _case(app, worker) -> str:
    from test_casework_appointments import make_case

    return make_case(app, worker)


def test_casework_list_and_reassigning_with_other_digits(on, make_user):
    worker = make_user("caseworker", email="worker@example.org")
    reference = _case(on, worker)
    client = signed_in(on, make_user("casework_supervisor", email="super@example.org"))
    assert answers_like_garbage(lambda v: client.get(f"/casework/?worker={v}")) == 200
    path = f"/casework/cases/{reference}"
    answers_like_garbage(lambda v: post_form(client, f"{path}/worker", {"worker": v}, token_from=path))
    from plugins.casework.models import Case

    with in_db(on):
        assert Case.get(Case.reference == reference).worker_id == worker.id


def test_casework_minutes_in_other_digits_are_refused(on, make_user):
    from test_casework_appointments import _new

    from plugins.casework.models import Appointment, Contact

    worker = make_user("caseworker", email="worker@example.org")
    reference = _case(on, worker)
    client = signed_in(on, worker)
    path = f"/casework/cases/{reference}"
    answers_like_garbage(lambda v: post_form(client, f"{path}/contacts",
                                             {"channel": "phone", "outcome": "spoke", "minutes": v}, token_from=path))
    with in_db(on):
        assert Contact.select().count() == 0
    assert _new(client, reference, starts_at="2020-01-02T10:00").status_code == 303
    with in_db(on):
        appointment = Appointment.get()
    page = f"{path}/appointments/{appointment.id}"
    assert answers_like_garbage(lambda v: post_form(client, f"{page}/attendance",
                                                    {"attended": "yes", "minutes_spent": v}, token_from=path)) == 422


def test_marking_break_glass_seen_with_other_digits_marks_nothing(on, make_user):
    client = signed_in(on, make_user("casework_supervisor", email="super@example.org"))
    page = "/casework/dashboard"
    assert answers_like_garbage(
        lambda v: post_form(client, f"{page}/break-glass/seen", {"entry": [v]}, token_from=page)) == 303
    assert "Choose at least one entry" in client.get(page).get_data(as_text=True)


def test_the_client_page_ignores_withdrawals_in_other_digits(on, make_user):
    from helpers import csrf_token
    from test_casework_referrals_out import _linked_report

    worker = make_user("caseworker", email="worker@example.org")
    reference = _case(on, worker)
    report = _linked_report(on, on.test_client(), reference, "Mine.")
    browser = on.test_client()
    page = "/casework/my-support/"

    def withdraw(kind):
        return lambda v: browser.post(page, data={"csrf_token": csrf_token(browser, page),
                                                  "receipt": report["receipt"], "action": f"{kind}:{v}"})

    assert answers_like_garbage(withdraw("withdraw_consent")) == 200
    assert answers_like_garbage(withdraw("withdraw_referral")) == 200
    # The receipt in Arabic-Indic digits opens the same page.
    opened = browser.post(page, data={"csrf_token": csrf_token(browser, page),
                                      "receipt": report["receipt"].translate(ARABIC_INDIC)})
    assert opened.status_code == 200


# -- alerts: ids read with request.form.get(type=int), which takes numbers of any size ---------------


@pytest.mark.parametrize("path, field, action", [
    ("/alerts/manage/warnings", "warning", None),
    ("/alerts/manage/feeds", "revoke", None),
    ("/alerts/manage/peer-checks", "entry", "remove"),
    ("/alerts/manage/peer-checks", "warning", "resolve"),
])
def test_alerts_oversight_ids_in_other_digits_or_too_large_are_not_found(on, make_user, path, field, action):
    enable(on, "alerts")
    client = signed_in(on, make_user("admin"))

    def send(value):
        data = {field: value, **({"action": action} if action else {})}
        return post_form(client, path, data, token_from=path)

    answers_like_garbage(send)
