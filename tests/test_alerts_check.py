"""The identifier check: normalised matching by blind index against published alerts and verified,
consenting reports; answers that reveal nothing else; quotas (429, translated); the audit trail
without the identifier; staff warned about sequential checks; partner feeds with a token."""

from __future__ import annotations

import datetime
import logging

import pytest
from alerts_fixtures import in_app, publish_from_preview
from helpers import csrf_token, post_form, sign_in
from test_alerts_helpers import make_report

from core.db import connection


def published(app, moderator, *, title="Alert", expires_on=None, **report_kwargs):
    from core.accounts.models import User
    from plugins.alerts import service

    def make():
        report = make_report(**report_kwargs)
        actor = User.get_by_id(moderator.id)
        alert = service.create_from_reports([report], {"summary": "Take care.", "title": title}, actor)
        service.review(alert, actor)
        service.publish(alert, actor)
        if expires_on is not None:
            alert.expires_on = expires_on
            alert.save()
        return alert

    return in_app(app, make)


def settings(app, **values):
    from core.settings import save_settings

    in_app(app, save_settings, "alerts", values)


def check(client, identifier, **extra):
    token = csrf_token(client, "/alerts/check")
    return client.post("/api/v1/check", json={"identifier": identifier, **extra}, headers={"X-CSRFToken": token})


# -- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["07700 900123", "+44 7700 900123", "447700900123", "(07700) 900-123"])
def test_every_way_of_writing_a_uk_mobile_matches(on, moderator, member_client, written):
    alert = published(on, moderator, title="Robs after booking", phones=["07700 900123"])
    answer = check(member_client, written).get_json()
    assert answer["result"] == "caution"
    assert [a["id"] for a in answer["alerts"]] == [alert.id]
    assert answer["alerts"][0]["title"] == "Robs after booking"


@pytest.mark.parametrize("stored, written", [
    ({"emails": ["Bad.Man@Example.com"]}, " bad.man@example.COM "),
    ({"plates": ["AB12 CDE"]}, "ab12-cde"),
    ({"handles": ["@dangerdan"]}, "https://www.dangerdan/"),
    ({"handles": ["bob123"]}, "bob123"),  # looks like a plate too: every reading is tried
])
def test_emails_plates_and_handles_match_however_written(on, moderator, member_client, stored, written):
    published(on, moderator, **stored)
    assert check(member_client, written).get_json()["result"] == "caution"


def test_the_check_page_answers_without_showing_the_identifier_back(on, moderator, member_client):
    published(on, moderator, title="Fake client", phones=["07700 900124"])
    response = post_form(member_client, "/alerts/check", {"identifier": "07700 900124"}, token_from="/alerts/check")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Caution" in page and "Fake client" in page
    assert "07700 900124" not in page
    response = post_form(member_client, "/alerts/check", {"identifier": "07700 900999"}, token_from="/alerts/check")
    assert "No record" in response.get_data(as_text=True)


@pytest.mark.parametrize(("written", "kind", "said"), [
    ("07700 900124", "", "Checked as a phone number ending 0124."),
    ("https://wa.me/447700900124", "", "Checked as a phone number ending 0124."),
    ("someone@example.net", "", "Checked as an e-mail address."),
    ("AB12 CDE", "", "Checked as a number plate and as an online name."),
    ("AB12 CDE", "plate", "Checked as a number plate."),
    ("instagram.com/someone", "", "Checked as an online name."),
])
def test_the_check_page_says_how_it_read_the_input_without_repeating_it(on, member_client, written, kind, said):
    page = post_form(member_client, "/alerts/check", {"identifier": written, "kind": kind},
                     token_from="/alerts/check").get_data(as_text=True)
    assert "No record" in page and said in page
    for whole in ("900124", "someone", "example.net", "AB12", "wa.me"):
        assert whole not in page.split("<form")[0]  # nothing more of it above the (emptied) form
    # Only the page says it: the API's answer is unchanged.
    assert set(check(member_client, written, **({"kind": kind} if kind else {})).get_json()) == {"result", "message"}


def test_how_the_input_was_read_is_translated(on, make_user):
    client = on.test_client()
    sign_in(client, make_user("member", email="lee@example.org"))
    post_form(client, "/language", {"locale": "pt_BR", "next": "/"})
    page = post_form(client, "/alerts/check", {"identifier": "07700 900125"}, token_from="/alerts/check")
    assert "Consultado como número de telefone terminado em 0125." in page.get_data(as_text=True)


def test_a_verified_consenting_report_without_an_alert_still_answers_caution(on, member_client):
    in_app(on, make_report, phones=["07700 900200"])
    answer = check(member_client, "07700900200").get_json()
    assert answer["result"] == "caution" and answer["alerts"] == []


def test_a_miss_looks_the_same_whatever_the_reason(on, moderator, member_client):
    in_app(on, make_report, status="new", phones=["07700 900301"])
    in_app(on, make_report, share_alert=False, phones=["07700 900302"])
    in_app(on, make_report, withdrawn=True, phones=["07700 900303"])
    in_app(on, make_report, status="rejected", phones=["07700 900304"])
    published(on, moderator, phones=["07700 900305"], expires_on=datetime.date.today() - datetime.timedelta(days=1),
              share_alert=True, status="verified")
    answers = {number: check(member_client, number).get_data() for number in
               ("07700 900301", "07700 900302", "07700 900303", "07700 900304", "07700 900399")}
    assert len(set(answers.values())) == 1, answers
    assert b'"no_record"' in answers["07700 900399"]
    # An expired alert is not offered any more (its report may still warn on its own).
    expired = check(member_client, "07700 900305").get_json()
    assert expired["alerts"] == []


def test_an_answer_never_says_who_reported_or_how_many(on, moderator, member_client, make_user):
    reporter = make_user("member", email="the.reporter@example.org")
    for _n in range(3):
        in_app(on, make_report, phones=["07700 900400"], reporter=reporter, narrative="He hit me", location="Flat 3")
    published(on, moderator, phones=["07700 900400"])
    answer = check(member_client, "07700 900400").get_json()
    assert set(answer) == {"result", "alerts", "kinds", "message"}
    assert len(answer["alerts"]) == 1
    text = str(answer)
    for secret in ("the.reporter", "He hit me", "Flat 3", "R-", "reports", "3 "):
        assert secret not in text


def test_checks_are_for_vetted_accounts_and_partner_tokens(on, make_user):
    from core.accounts import tokens
    from core.accounts.models import User

    in_app(on, make_report, phones=["07700 900500"])
    partner = make_user("partner", email="partner@example.org")
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(partner.id), "checks"))
    client = on.test_client()
    answer = client.post("/api/v1/check", json={"identifier": "07700 900500"},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.get_json()["result"] == "caution"
    assert client.post("/api/v1/check", json={"identifier": "07700 900500"}).status_code == 401
    learner = make_user("learner", email="learner@example.org")
    _row, learner_token = in_app(on, lambda: tokens.create_token(User.get_by_id(learner.id), "x"))
    assert client.post("/api/v1/check", json={"identifier": "07700 900500"},
                       headers={"Authorization": f"Bearer {learner_token}"}).status_code == 403


def test_bad_input_is_answered_422_with_a_message(on, member_client):
    for body in ({}, {"identifier": ""}, {"identifier": "x" * 300}, {"identifier": "07700 900123", "extra": 1},
                 {"identifier": "07700 900123", "kind": "shoe size"}, {"identifier": "12", "kind": "phone"}):
        response = member_client.post("/api/v1/check", json=body,
                                      headers={"X-CSRFToken": csrf_token(member_client, "/alerts/check")})
        assert response.status_code == 422, body
        assert response.get_json()["error"]["fields"], body


# -- links, as numbers and names are copied from adverts ------------------------------------------


@pytest.mark.parametrize("written", [
    "https://wa.me/447700900123", "wa.me/447700900123?text=Hi", "https://api.whatsapp.com/send?phone=447700900123",
    "whatsapp://send?phone=447700900123", "tel:+447700900123", "tel:07700900123", "sms:07700900123?body=Hi",
])
def test_a_number_pasted_as_a_link_matches(on, moderator, member_client, written):
    alert = published(on, moderator, phones=["07700 900123"])
    answer = check(member_client, written).get_json()
    assert answer["result"] == "caution" and [a["id"] for a in answer["alerts"]] == [alert.id]


@pytest.mark.parametrize("written", [
    "instagram.com/demo_timewaster", "https://www.instagram.com/demo_timewaster/", "https://twitter.com/@demo_timewaster",
    "x.com/demo_timewaster?ref=abc", "onlyfans.com/demo_timewaster", "t.me/demo_timewaster",
])
def test_a_name_pasted_as_a_profile_address_matches(on, moderator, member_client, written):
    alert = published(on, moderator, handles=["demo_timewaster"])
    answer = check(member_client, written).get_json()
    assert answer["result"] == "caution" and [a["id"] for a in answer["alerts"]] == [alert.id]
    page = post_form(member_client, "/alerts/check", {"identifier": written}, token_from="/alerts/check")
    assert page.status_code == 200 and "Caution" in page.get_data(as_text=True)


def test_a_report_written_with_links_and_a_check_written_plainly_meet(on, moderator, member_client):
    """The reporting plugin stores identifiers through the same normalisers: a link in a report and
    the plain form in a check (or the other way round) give one blind index."""
    from test_reporting_common import api_report

    from core.accounts.models import User
    from plugins.reporting import service as reporting
    from plugins.reporting.models import Report

    body = {
        "incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london", "narrative": "Took it back.",
        "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": False},
    }
    anonymous = on.test_client()
    references = []
    for person in (
        {"phones": ["https://wa.me/447700900131"],
         "handles": ["https://www.instagram.com/linked_name/", "https://api.whatsapp.com/send?phone=447700900132"]},
        {"phones": ["07700 900133"], "handles": ["@plain_name"]},
    ):
        response = api_report(anonymous, {**body, "perpetrators": [person]})
        assert response.status_code == 201, response.get_json()
        references.append(response.get_json()["reference"])
    for reference in references:
        in_app(on, lambda ref=reference: reporting.set_status(Report.get(Report.reference == ref), "verified",
                                                             User.get_by_id(moderator.id)))
    for written in ("07700 900131", "+44 7700 900131", "@linked_name", "linked_name", "07700 900132",
                    "tel:07700900133", "https://wa.me/447700900133", "instagram.com/plain_name",
                    "https://x.com/plain_name?ref=ad"):
        assert check(member_client, written).get_json()["result"] == "caution", written
    assert check(member_client, "07700 900134").get_json()["result"] == "no_record"
    assert check(member_client, "@other_name").get_json()["result"] == "no_record"


def test_an_alert_written_with_links_matches_a_plain_check(on, moderator, member_client):
    staff = on.test_client()
    sign_in(staff, moderator)
    report = in_app(on, make_report, phones=["07700 900140"])
    response = post_form(staff, "/alerts/manage/new", {"reports": [report.reference], "summary": "Take care."},
                         token_from="/alerts/manage/new")
    edit_url = response.headers["Location"]
    response = post_form(staff, edit_url, {
        "summary": "Take care.", "severity": "medium", "regions": ["london"],
        "identifiers": "https://wa.me/447700900141\ninstagram.com/alert_name/\nhandle: https://x.com/@second_name",
    }, token_from=edit_url)
    assert response.status_code == 303, response.get_data(as_text=True)
    staff_url = response.headers["Location"]
    alert_id = int(staff_url.rstrip("/").rsplit("/", 1)[1])
    assert publish_from_preview(staff, alert_id).status_code == 303
    shown = member_client.get(f"/api/v1/alerts/{alert_id}").get_json()["identifiers"]
    assert {(item["kind"], item["value"]) for item in shown} == {
        ("phone", "+447700900141"), ("handle", "alert_name"), ("handle", "second_name")}
    for written in ("07700 900141", "@alert_name", "second_name", "https://twitter.com/second_name"):
        answer = check(member_client, written).get_json()
        assert answer["result"] == "caution" and [a["id"] for a in answer["alerts"]] == [alert_id], written


def test_a_handle_stored_whole_before_links_were_read_still_matches(on, member_client):
    from core.crypto import keyring
    from plugins.reporting.models import PerpetratorIdentifier

    def stored_the_old_way():
        report = make_report()
        PerpetratorIdentifier.create(perpetrator=report.perpetrators.get(), report=report, kind="handle",
                                     blind_index=keyring().blind_index("handle", "instagram.com/old_style"),
                                     display="instagram.com/old_style")

    in_app(on, stored_the_old_way)
    assert check(member_client, "https://www.instagram.com/old_style/").get_json()["result"] == "caution"
    assert check(member_client, "instagram.com/someone_else").get_json()["result"] == "no_record"


# -- what cannot be read is said so, and costs no check -------------------------------------------

UNREADABLE = "We could not read that as a phone number, e-mail, number plate or online name"


def unreadable_and_not_counted(on, member, member_client, written, **extra):
    from core import throttle
    from plugins.alerts.check import CHECKS
    from plugins.alerts.models import CheckEvent

    api = check(member_client, written, **extra)
    assert api.status_code == 422, (written, api.get_json())
    assert api.get_json()["error"]["fields"]["identifier"][0].startswith(UNREADABLE)
    page = post_form(member_client, "/alerts/check", {"identifier": written, **extra}, token_from="/alerts/check")
    assert page.status_code == 422 and UNREADABLE in page.get_data(as_text=True)
    with on.app_context(), connection():
        assert throttle.count(CHECKS, f"user:{member.id}") == 0
        assert CheckEvent.select().count() == 0


@pytest.mark.parametrize("written", ["!!!! ???", "!!!", "@@", "@ @", "¿?", "https://x.com/@!!"])
def test_punctuation_is_not_an_online_name(on, member, member_client, written):
    unreadable_and_not_counted(on, member, member_client, written)
    unreadable_and_not_counted(on, member, member_client, written, kind="handle")


def test_moderators_cannot_publish_punctuation_as_an_online_name(on, moderator):
    from helpers import enrol_two_factor

    from core.accounts import tokens
    from core.accounts.models import User

    staff = on.test_client()
    sign_in(staff, moderator)
    report = in_app(on, make_report, phones=["07700 900150"])
    response = post_form(staff, "/alerts/manage/new", {"reports": [report.reference], "summary": "Take care.",
                                                       "include_perpetrators": "y"}, token_from="/alerts/manage/new")
    edit_url = response.headers["Location"]
    refused = post_form(staff, edit_url, {"summary": "Take care.", "severity": "medium", "regions": ["london"],
                                          "identifiers": "phone: 07700 900150\n!!!! ???"}, token_from=edit_url)
    assert refused.status_code == 422
    assert "“!!!! ???” is not a phone number, e-mail, plate or online name." in refused.get_data(as_text=True)
    enrol_two_factor(on, moderator)
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(moderator.id), "api"))
    alert_id = int(edit_url.rstrip("/").split("/")[-2])
    patched = on.test_client().patch(f"/api/v1/alerts/{alert_id}", json={"identifiers": [
        {"kind": "handle", "value": "@@"}]}, headers={"Authorization": f"Bearer {token}"})
    assert patched.status_code == 422, patched.get_json()
    from plugins.alerts.models import Alert
    from plugins.alerts.reading import public_dict

    shown = in_app(on, lambda: public_dict(Alert.get_by_id(alert_id), staff=True))
    assert shown["identifiers"] == [{"kind": "phone", "value": "+447700900150"}]  # nothing else was saved


@pytest.mark.parametrize("written", [
    "07700 90012",                     # a digit missing: 9 digits is a UK length, but not for a number starting 07
    "0770090012",
    "+44 7700 90012",
    "07700 9001234",                   # a digit too many
    "https://wa.me/44770090012",
    "tel:0770090012",
    "123456",                          # a local number without its area code
])
def test_a_mistyped_number_is_not_read_and_costs_no_check(on, member, member_client, written):
    unreadable_and_not_counted(on, member, member_client, written)


def test_mistyped_numbers_are_refused_in_reports_too(on, moderator, member_client):
    """Reports and checks read numbers with the same normaliser, so what a check refuses was never
    stored either; and a number from an unassigned range (07700 900xxx) is still stored and found."""
    from test_reporting_common import api_report

    body = {
        "incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london", "narrative": "Took it back.",
        "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": False},
    }
    anonymous = on.test_client()
    refused = api_report(anonymous, {**body, "perpetrators": [{"phones": ["07700 90012"], "handles": ["!!!"]}]})
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]["perpetrators"]["0"]) == {"phones", "handles"}
    published(on, moderator, phones=["07700 900160"])
    assert check(member_client, "07700 900160").get_json()["result"] == "caution"


def test_choosing_the_kind_reads_digits_as_a_plate(on, member_client):
    in_app(on, make_report, plates=["123456"])
    assert check(member_client, "123456", kind="plate").get_json()["result"] == "caution"


# -- quotas, audit and enumeration warnings ---------------------------------------------------------


def test_the_daily_quota_answers_429_with_a_translated_message(on, make_user):
    settings(on, check_limit_account=3)
    spanish = make_user("member", email="es@example.org")
    client = on.test_client()
    sign_in(client, spanish)
    post_form(client, "/language", {"locale": "es", "next": "/"})
    for _n in range(3):
        assert check(client, "07700 900600").status_code == 200
    refused = check(client, "07700 900600")
    assert refused.status_code == 429
    message = refused.get_json()["error"]["message"]
    assert message.startswith("Has hecho el número máximo de comprobaciones"), message
    page = post_form(client, "/alerts/check", {"identifier": "07700 900600"}, token_from="/alerts/check")
    assert page.status_code == 429 and "Has hecho el número máximo" in page.get_data(as_text=True)
    # Another account is not affected by this one's quota...
    other = on.test_client()
    sign_in(other, make_user("member", email="other@example.org"))
    assert check(other, "07700 900600").status_code == 200


def test_the_quota_per_address_covers_several_accounts(on, make_user):
    settings(on, check_limit_address=4)
    clients = []
    for number in range(3):
        client = on.test_client()
        sign_in(client, make_user("member", email=f"same-place{number}@example.org"))
        clients.append(client)
    statuses = [check(client, "07700 900700").status_code for client in clients for _n in range(2)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_every_check_is_audited_without_the_identifier(on, member, member_client, caplog):
    from core.audit import AuditEntry
    from core.throttle import ThrottleCount
    from plugins.alerts.models import CheckEvent

    caplog.set_level(logging.DEBUG)
    check(member_client, "07700 900812")
    post_form(member_client, "/alerts/check", {"identifier": "someone@example.net"}, token_from="/alerts/check")
    with on.app_context(), connection():
        entries = list(AuditEntry.select().where(AuditEntry.action == "alerts.check"))
        stored = [str(list(row.__data__.values())) for model in (AuditEntry, CheckEvent, ThrottleCount)
                  for row in model.select()]
    assert len(entries) == 2 and all(entry.actor_id == member.id for entry in entries)
    everything = "\n".join(stored) + caplog.text
    for clear in ("900812", "7700900812", "someone", "example.net", "127.0.0.1"):
        assert clear not in everything


def test_staff_are_warned_about_sequential_checks(on, member, member_client, moderator):
    settings(on, similar_warning=5)
    for last in range(5):
        check(member_client, f"07700 90011{last}")
    staff = on.test_client()
    sign_in(staff, moderator)
    page = staff.get("/alerts/manage/warnings").get_data(as_text=True)
    assert f"#{member.id}" in page
    from plugins.alerts.models import CheckWarning

    with on.app_context(), connection():
        warning = CheckWarning.get()
    assert warning.account_id == member.id and warning.count == 5
    post_form(staff, "/alerts/manage/warnings", {"warning": warning.id}, token_from="/alerts/manage/warnings")
    assert "Looked at" in staff.get("/alerts/manage/warnings").get_data(as_text=True)


def test_different_numbers_do_not_raise_a_warning(on, member_client):
    settings(on, similar_warning=3)
    for number in ("07700 900123", "07911 123456", "07400 555222", "bob@example.com"):
        check(member_client, number)
    from plugins.alerts.models import CheckWarning

    with on.app_context(), connection():
        assert CheckWarning.select().count() == 0


def test_withdrawal_removes_an_alert_from_checks_immediately(on, moderator, member_client):
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    alert = published(on, moderator, phones=["07700 900900"])
    assert check(member_client, "07700 900900").get_json()["result"] == "caution"
    in_app(on, lambda: service.withdraw(Alert.get_by_id(alert.id), User.get_by_id(moderator.id), "mistake"))
    assert check(member_client, "07700 900900").get_json()["result"] == "no_record"


# -- partner feeds ---------------------------------------------------------------------------------


def test_partner_feeds_need_a_token_and_carry_published_alerts(on, moderator, make_user):
    published(on, moderator, title="In the feed", phones=["07700 900950"], narrative="SECRET-NARRATIVE")
    staff = on.test_client()
    sign_in(staff, moderator)
    page = post_form(staff, "/alerts/manage/feeds", {"label": "Outreach project"}, token_from="/alerts/manage/feeds")
    token = page.get_data(as_text=True).split('<code class="token">')[1].split("<")[0]
    assert token.startswith("ruf_")
    client = on.test_client()
    assert client.get("/api/v1/feeds/alerts.json").status_code == 401
    assert client.get("/api/v1/feeds/alerts.atom", headers={"Authorization": "Bearer ruf_wrong"}).status_code == 401
    body = client.get("/api/v1/feeds/alerts.json", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [alert["title"] for alert in body["alerts"]] == ["In the feed"]
    atom = client.get(f"/api/v1/feeds/alerts.atom?token={token}")
    assert atom.status_code == 200 and atom.mimetype == "application/atom+xml"
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(atom.get_data())
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    assert [entry.find("atom:title", ns).text for entry in root.findall("atom:entry", ns)] == ["In the feed"]
    assert "phone: 07700 900950" in atom.get_data(as_text=True)
    assert "SECRET-NARRATIVE" not in atom.get_data(as_text=True)
    from plugins.alerts.models import FeedToken

    with on.app_context(), connection():
        row = FeedToken.get()
    post_form(staff, "/alerts/manage/feeds", {"revoke": row.id}, token_from="/alerts/manage/feeds")
    assert client.get("/api/v1/feeds/alerts.json", headers={"Authorization": f"Bearer {token}"}).status_code == 401
