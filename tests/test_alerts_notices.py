"""Issue 16, first part: safety notices, warnings about a condition rather than one person.

A notice is an alert whose kind is "notice": it may cite reports or none, carries a category from
the module's settings, and goes through the same review, delivery, check and pages as an alert
about a person. Members tell the two apart in the list and in messages, while the lock-screen
wording stays neutral. Real SMTP server (aiosmtpd), real database (SQLite, or PostgreSQL with
REDUMBRELLA_TEST_DATABASE_URL)."""

from __future__ import annotations

import secrets

import pytest
from alerts_fixtures import in_app, preview_form, publish_from_preview
from helpers import csrf_token, enrol_two_factor, post_form, sign_in
from test_alerts_helpers import make_report, make_subscribers, message_ids

from core.db import connection, db


def token_headers(app, user) -> dict:
    from core.accounts import tokens
    from core.accounts.models import User

    enrol_two_factor(app, user)
    _row, token = in_app(app, lambda: tokens.create_token(User.get_by_id(user.id), "notices"))
    return {"Authorization": f"Bearer {token}"}


def new_notice(client, headers, **fields) -> dict:
    body = {"category": "scam", "summary": "Someone is posting fake adverts and asking for a deposit.",
            "regions": ["london"], **fields}
    made = client.post("/api/v1/notices", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def review_and_publish(client, headers, alert_id: int):
    reviewed = client.post(f"/api/v1/alerts/{alert_id}/review", headers=headers)
    assert reviewed.status_code == 200, reviewed.get_json()
    published = client.post(f"/api/v1/alerts/{alert_id}/publish", headers=headers)
    assert published.status_code == 200, published.get_json()
    return reviewed.get_json()


def check(client, identifier: str) -> dict:
    """POST /api/v1/check from a signed-in browser session (so with its CSRF token)."""
    token = csrf_token(client, "/alerts/check")
    answer = client.post("/api/v1/check", json={"identifier": identifier}, headers={"X-CSRFToken": token})
    assert answer.status_code == 200, (identifier, answer.get_json())
    return answer.get_json()


def person_alert(app, moderator, **report_kwargs) -> int:
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    def make():
        actor = User.get_by_id(moderator.id)
        report = make_report(**report_kwargs)
        alert = service.create_from_reports([report], {"summary": "Take care with this caller."}, actor)
        service.review(Alert.get_by_id(alert.id), actor)
        service.publish(Alert.get_by_id(alert.id), actor)
        return alert.id

    return in_app(app, make)


# -- delivery --------------------------------------------------------------------------------------


def test_a_notice_without_reports_reaches_subscribers_by_email_exactly_once(mailing, moderator, smtp):
    london = in_app(mailing, make_subscribers, 4, region="london", start=0)
    in_app(mailing, make_subscribers, 2, region="wales", start=100)
    client, headers = mailing.test_client(), token_headers(mailing, moderator)
    notice = new_notice(client, headers, title="TITLE-TEXT", summary="SUMMARY-TEXT: fake adverts.")
    assert notice["kind"] == "notice" and notice["reports"] == [] and notice["category"]["code"] == "scam"
    preview = review_and_publish(client, headers, notice["id"])
    assert preview["recipients"]["people"] == 4 and preview["message"].startswith("4 people will be told.")

    assert len(smtp.messages) == 4
    assert sorted(envelope.rcpt_tos[0] for envelope in smtp.inbox.envelopes) == sorted(
        f"subscriber{n}@example.org" for n in range(4))
    assert len(set(message_ids(smtp))) == 4
    from plugins.alerts import delivery
    from plugins.alerts.models import Delivery

    in_app(mailing, delivery.sweep)  # nothing left to send, nothing sent twice
    assert len(smtp.messages) == 4
    with mailing.app_context(), connection():
        rows = list(Delivery.select().where(Delivery.alert == notice["id"]))
    assert {row.user_id for row in rows} == set(london) and {row.status for row in rows} == {"sent"}
    # Neutral on the lock screen: the subject and the first lines are those of any alert.
    message = smtp.messages[0]
    body = message.get_content()
    assert message["Subject"] == "A new update"
    first_lines = body.replace("\r\n", "\n").split("\n\n")[0].lower()
    for word in ("notice", "safety", "scam", "title-text", "summary-text", "london"):
        assert word not in first_lines and word not in message["Subject"].lower(), word
    assert f"https://notes.example.org/n/{notice['id']}" in body


# -- the identifier check --------------------------------------------------------------------------


def test_a_number_on_a_notice_answers_caution_and_says_it_is_a_notice(on, moderator, member_client):
    client, headers = on.test_client(), token_headers(on, moderator)
    notice = new_notice(client, headers, identifiers=[
        {"kind": "phone", "value": "07700 900777"}, {"kind": "website", "value": "https://www.Fake-Agency.example/"}])
    assert {(item["kind"], item["value"]) for item in notice["identifiers"]} == {
        ("phone", "+447700900777"), ("website", "fake-agency.example")}
    review_and_publish(client, headers, notice["id"])

    for written in ("07700 900777", "+44 7700 900777", "https://wa.me/447700900777",
                    "https://book.fake-agency.example/deposit?ref=ad", "fake-agency.example"):
        body = check(member_client, written)
        assert body["result"] == "caution", written
        assert body["kinds"] == ["notice"], written
        assert [alert["kind"] for alert in body["alerts"]] == ["notice"]
        assert "safety notice" in body["message"]
    assert check(member_client, "other-agency.example")["result"] == "no_record"
    # The page says it too: the answer in words, and the notice's mark.
    page = post_form(member_client, "/alerts/check", {"identifier": "07700 900777", "kind": ""},
                     token_from="/alerts/check").get_data(as_text=True)
    assert "This matches a safety notice we published" in page
    assert "kind-badge-notice" in page and "Safety notice" in page
    # The moderator's entry is audited: who entered the identifiers, on which notice (never them).
    from core.audit import AuditEntry

    with on.app_context(), connection():
        entries = list(AuditEntry.select().where(AuditEntry.action == "alerts.identifiers_entered"))
    assert [(entry.actor_id, entry.target) for entry in entries] == [(moderator.id, f"alert:{notice['id']}")]


def test_when_a_person_alert_and_a_notice_match_the_answer_names_both(on, moderator, member_client):
    person_alert(on, moderator, phones=["07700 900778"])
    client, headers = on.test_client(), token_headers(on, moderator)
    notice = new_notice(client, headers, identifiers=[{"kind": "phone", "value": "07700900778"}])
    review_and_publish(client, headers, notice["id"])
    body = check(member_client, "07700 900778")
    assert body["result"] == "caution" and body["kinds"] == ["person", "notice"]
    assert sorted(alert["kind"] for alert in body["alerts"]) == ["notice", "person"]
    assert "an alert about a person and a safety notice" in body["message"]


def test_withdrawing_a_notice_that_cites_a_report_does_not_silence_the_report(on, moderator, member_client):
    report = in_app(on, make_report, phones=["07700 900779"])
    client, headers = on.test_client(), token_headers(on, moderator)
    notice = new_notice(client, headers, reports=[report.reference], category="pattern")
    assert notice["reports"] == [report.reference]
    review_and_publish(client, headers, notice["id"])
    assert client.post(f"/api/v1/alerts/{notice['id']}/withdraw", json={}, headers=headers).status_code == 200
    body = check(member_client, "07700 900779")
    assert body["result"] == "caution" and body["kinds"] == []  # the consenting report still warns


# -- review ------------------------------------------------------------------------------------------


def test_a_notice_needs_review_before_publishing(on, moderator, member):
    client, headers = on.test_client(), token_headers(on, moderator)
    in_app(on, make_subscribers, 3, region="london", start=0)
    notice = new_notice(client, headers)
    refused = client.post(f"/api/v1/alerts/{notice['id']}/publish", headers=headers)
    assert refused.status_code == 409
    assert "Nobody has reviewed this alert yet" in refused.get_json()["error"]["message"]
    reviewed = client.post(f"/api/v1/alerts/{notice['id']}/review", headers=headers).get_json()
    assert reviewed["alert"]["kind"] == "notice" and reviewed["recipients"]["people"] == 3
    assert reviewed["message"].startswith("3 people will be told.")
    changed = client.patch(f"/api/v1/alerts/{notice['id']}", json={"category": "fake_advertiser"}, headers=headers)
    assert changed.status_code == 200 and changed.get_json()["reviewed"] is False
    assert client.post(f"/api/v1/alerts/{notice['id']}/publish", headers=headers).status_code == 409
    review_and_publish(client, headers, notice["id"])
    shown = client.get(f"/api/v1/alerts/{notice['id']}", headers=headers).get_json()
    assert shown["status"] == "published" and shown["category"]["code"] == "fake_advertiser"


def test_the_web_pages_write_review_and_publish_a_notice(on, moderator, mod_client):
    in_app(on, make_subscribers, 2, region="london", start=0)
    made = post_form(mod_client, "/alerts/manage/notices/new", {
        "category": "unsafe_venue", "summary": "The club on the corner is not safe after midnight.",
        "regions": ["london"]}, token_from="/alerts/manage/notices/new")
    assert made.status_code == 303, made.get_data(as_text=True)[:2000]
    alert_id = int(made.headers["Location"].rstrip("/").split("/")[-2])
    edit_page = mod_client.get(f"/alerts/manage/{alert_id}/edit").get_data(as_text=True)
    assert "Edit draft safety notice" in edit_page and "p0_gender" not in edit_page  # no person fields
    page, _fields = preview_form(mod_client, alert_id)
    assert "2 people will be told." in page and "kind-badge-notice" in page
    assert publish_from_preview(mod_client, alert_id).status_code == 303
    from plugins.alerts.models import Alert

    with on.app_context(), connection():
        alert = Alert.get_by_id(alert_id)
        assert (alert.kind, alert.status, alert.category) == ("notice", "published", "unsafe_venue")


def test_a_notice_refuses_what_it_cannot_carry(on, moderator):
    client, headers = on.test_client(), token_headers(on, moderator)
    no_category = client.post("/api/v1/notices", json={"summary": "Take care."}, headers=headers)
    assert no_category.status_code == 422 and "category" in no_category.get_json()["error"]["fields"]
    unknown = client.post("/api/v1/notices", json={"summary": "Take care.", "category": "nope"}, headers=headers)
    assert unknown.status_code == 422
    withdrawn_consent = in_app(on, make_report, withdrawn=True)
    refused = client.post("/api/v1/notices", json={"summary": "Take care.", "category": "scam",
                                                   "reports": [withdrawn_consent.reference]}, headers=headers)
    assert refused.status_code == 422 and "cannot be used" in str(refused.get_json())
    notice = new_notice(client, headers)
    described = client.patch(f"/api/v1/alerts/{notice['id']}", headers=headers, json={
        "perpetrators": [{"description": {"hair": "dark"}}]})
    assert described.status_code == 422 and "perpetrators" in described.get_json()["error"]["fields"]
    person = person_alert(on, moderator)
    categorised = client.patch(f"/api/v1/alerts/{person}", json={"category": "scam"}, headers=headers)
    assert categorised.status_code == 422


def test_categories_are_a_setting_with_translated_defaults_and_own_entries(on, moderator, mod_client):
    from core.settings import save_settings
    from plugins.alerts.labels import notice_category_labels

    assert in_app(on, notice_category_labels)["operation"] == "Police or immigration operation"
    in_app(on, save_settings, "alerts", {"notice_categories": ["scam", "spiking | Drink spiking"]})
    assert in_app(on, notice_category_labels) == {"scam": "Scam or fraud", "spiking": "Drink spiking"}
    page = mod_client.get("/alerts/manage/notices/new").get_data(as_text=True)
    assert "Drink spiking" in page and "Police or immigration operation" not in page
    from marshmallow import ValidationError

    from plugins.alerts.schemas import AlertsSettings

    with pytest.raises(ValidationError):
        in_app(on, lambda: AlertsSettings().load({"notice_categories": ["Not A Code!"]}))


# -- telling them apart ------------------------------------------------------------------------------


def test_the_list_and_the_email_mark_a_notice_differently_from_a_person_alert(mailing, moderator, smtp, make_user):
    member_account = make_user("member", email="reader@example.org")
    in_app(mailing, make_subscribers, 1, region="london", start=0)
    person = person_alert(mailing, moderator)
    client, headers = mailing.test_client(), token_headers(mailing, moderator)
    notice = new_notice(client, headers)
    review_and_publish(client, headers, notice["id"])

    assert len(smtp.messages) == 2
    by_link = {}
    for message in smtp.messages:
        body = message.get_content()
        alert_id = int(body.split("https://notes.example.org/n/")[1].split()[0])
        by_link[alert_id] = (message["Subject"], body)
    assert by_link[person][0] == by_link[notice["id"]][0] == "A new update"  # the lock screen cannot tell
    assert "● About a person" in by_link[person][1] and "Safety notice" not in by_link[person][1]
    assert "▲ Safety notice" in by_link[notice["id"]][1] and "About a person" not in by_link[notice["id"]][1]
    for _subject, body in by_link.values():  # the mark comes after the neutral opening and the link
        assert body.index("https://notes.example.org/n/") < max(body.find("●"), body.find("▲"))

    member = mailing.test_client()
    sign_in(member, member_account)
    page = member.get("/alerts/").get_data(as_text=True)
    assert page.count("kind-badge-notice") == 1 and page.count("kind-badge-person") == 1
    assert "Safety notice" in page and "About a person" in page
    assert 'class="alert-card kind-notice' in page and 'class="alert-card kind-person' in page
    assert 'aria-hidden="true">▲' in page and 'aria-hidden="true">●' in page  # shapes, not colour alone
    only_notices = member.get("/alerts/?kind=notice&region=").get_data(as_text=True)
    assert only_notices.count("kind-badge-notice") == 1 and "kind-badge-person" not in only_notices
    listed = member.get("/api/v1/alerts?kind=person").get_json()["alerts"]
    assert [alert["id"] for alert in listed] == [person]
    printable = member.get(f"/alerts/{notice['id']}/print").get_data(as_text=True)
    assert "kind-badge-notice" in printable and "Scam or fraud" in printable


def test_a_digest_says_how_many_of_its_things_are_notices(mailing, moderator, smtp):
    from plugins.alerts import delivery

    in_app(mailing, make_subscribers, 1, region="london", start=0, frequency="daily")
    person_alert(mailing, moderator)
    client, headers = mailing.test_client(), token_headers(mailing, moderator)
    review_and_publish(client, headers, new_notice(client, headers)["id"])
    assert smtp.messages == []
    import datetime

    in_app(mailing, delivery.build_digests, datetime.datetime(2030, 1, 1, 23, 0))
    in_app(mailing, delivery.sweep)
    assert len(smtp.messages) == 1
    body = smtp.messages[0].get_content()
    assert "There are 2 new things" in body and "Of them, 1 is a safety notice" in body


# -- what is stored ------------------------------------------------------------------------------------


def _raw_alert_values(app) -> dict[tuple[str, str], list[str]]:
    """Every value of every alerts table as the database holds it (not decrypted), by table and column."""
    from plugins.alerts.models import MODELS

    found: dict[tuple[str, str], list[str]] = {}
    with app.app_context(), connection():
        for model in MODELS:
            table = model._meta.table_name
            cursor = db.execute_sql(f'SELECT * FROM "{table}"')  # noqa: S608  # nosec B608  # a model's table name
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    found.setdefault((table, column), []).append(str(value))
    return found


def test_canary_text_in_a_notice_is_encrypted_where_alerts_encrypt_it(on, moderator):
    """Alerts encrypt at rest what is not published to every member or staff-only: identifiers, the
    withdrawal reason and the history. A notice's canaries must be found nowhere in the raw tables
    but in the title and summary, which alerts keep in clear on purpose (they go to every vetted
    member and partner feed; see STORED_IN_CLEAR in test_canary.py)."""
    canary = f"cnry{secrets.token_hex(6)}"
    client, headers = on.test_client(), token_headers(on, moderator)
    notice = new_notice(client, headers, title=f"Title {canary}", summary=f"Summary {canary}", identifiers=[
        {"kind": "handle", "value": f"{canary}_agency"}, {"kind": "website", "value": f"https://{canary}.example"}])
    review_and_publish(client, headers, notice["id"])
    changed = client.patch(f"/api/v1/alerts/{notice['id']}", json={"summary": f"Corrected {canary}"},
                           headers=headers)
    assert changed.status_code == 200
    withdrawn = client.post(f"/api/v1/alerts/{notice['id']}/withdraw", json={"reason": f"Reason {canary}"},
                            headers=headers)
    assert withdrawn.status_code == 200
    holding = {where for where, values in _raw_alert_values(on).items() if any(canary in value for value in values)}
    assert holding == {("alerts_alert", "title"), ("alerts_alert", "summary")}
    # ...and it reads back, decrypted, for staff.
    from plugins.alerts.models import Alert
    from plugins.alerts.reading import history

    with on.test_request_context(), connection():
        alert = Alert.get_by_id(notice["id"])
        assert alert.withdrawn_reason == f"Reason {canary}"
        assert any(canary in revision.snapshot for revision in history(alert))


def test_partner_feeds_carry_a_notice_with_its_kind_and_category(on, moderator):
    from xml.etree import ElementTree  # nosec B405  # parses the platform's own answer

    from plugins.alerts import feeds

    client, headers = on.test_client(), token_headers(on, moderator)
    notice = new_notice(client, headers, category="operation")
    review_and_publish(client, headers, notice["id"])
    _row, token = in_app(on, feeds.create_token, "Outreach partner", None)
    partner = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/feeds/alerts.json", headers=partner).get_json()["alerts"]
    assert [(alert["kind"], alert["category"]["code"]) for alert in listed] == [("notice", "operation")]
    atom = ElementTree.fromstring(client.get("/api/v1/feeds/alerts.atom", headers=partner).get_data())
    names = {"atom": "http://www.w3.org/2005/Atom"}
    terms = {(category.get("term"), category.get("label"))
             for category in atom.find("atom:entry", names).findall("atom:category", names)}
    assert {("notice", "Safety notice"), ("operation", "Police or immigration operation")} <= terms


def test_a_text_message_names_the_kind_only_after_its_neutral_words(on, make_app, moderator, tmp_path):
    import json

    app = make_app({"SMS_BACKEND": "file", "BASE_URL": "https://notes.example.org"})
    in_app(app, make_subscribers, 1, channels="sms", sms_number="+447700900222")
    person = person_alert(app, moderator)
    client, headers = app.test_client(), token_headers(app, moderator)
    notice = new_notice(client, headers)
    review_and_publish(client, headers, notice["id"])
    sent = [json.loads(line)["body"] for line in
            (tmp_path / "instance" / "sms" / "outbox.jsonl").read_text().splitlines()]
    assert len(sent) == 2
    by_alert = {int(body.split("/n/")[1].split()[0]): body for body in sent}
    assert by_alert[person].endswith("(About a person)")
    assert by_alert[notice["id"]].endswith("(Safety notice)")
    for body in sent:
        assert body.startswith("There is something new for you to read.")
        assert body.isascii()  # no shape in a text message: it would make it a costlier Unicode one


def test_the_edit_page_of_a_notice_shows_no_reporters_description(on, moderator, mod_client):
    canary = f"cnry{secrets.token_hex(6)}"
    report = in_app(on, make_report, description={"features": f"a tattoo {canary}"})
    made = post_form(mod_client, "/alerts/manage/notices/new", {
        "category": "pattern", "summary": "Several robberies near the station this month.", "regions": ["london"],
        "reports": [report.reference]}, token_from="/alerts/manage/notices/new")
    assert made.status_code == 303, made.get_data(as_text=True)[:2000]
    page = mod_client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Edit draft safety notice" in page and canary not in page
    assert "What the reporter wrote" not in page
