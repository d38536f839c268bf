"""Alerts: written from verified, consenting reports only; the allowlist; statuses and history;
the member list, filters, pages and print view; corrections and withdrawal; subscriptions."""

from __future__ import annotations

import datetime

import pytest
from alerts_fixtures import in_app, publish_from_preview
from helpers import enable, post_form, sign_in
from test_alerts_helpers import make_report

from core.db import connection


def _report(app, **kwargs):
    return in_app(app, make_report, **kwargs)


def _draft(app, moderator, reports, **data):
    from plugins.alerts import service
    from plugins.alerts.sources import reports_by_reference

    def make():
        from core.accounts.models import User

        actor = User.get_by_id(moderator.id)
        found = reports_by_reference([r.reference for r in reports])
        return service.create_from_reports(found, {"summary": "Watch out for this caller.", **data}, actor)

    return in_app(app, make)


def _publish(app, moderator, alert):
    """Review the preview, then publish, as a moderator does."""
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    def review_and_publish():
        actor = User.get_by_id(moderator.id)
        service.review(Alert.get_by_id(alert.id), actor)
        return service.publish(Alert.get_by_id(alert.id), actor)

    return in_app(app, review_and_publish)


# -- what an alert may be written from ---------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"status": "new"},
    {"status": "needs_info"},
    {"status": "rejected"},
    {"share_alert": False},
    {"withdrawn": True},
])
def test_an_alert_is_refused_unless_the_report_is_verified_and_consents(on, mod_client, kwargs):
    report = _report(on, **kwargs)
    response = mod_client.post("/api/v1/alerts", json={"reports": [report.reference], "summary": "Take care.",
                                                       "regions": ["london"]},
                               headers={"X-CSRFToken": _csrf(mod_client)})
    assert response.status_code == 422
    assert report.reference in str(response.get_json()["error"]["fields"]["reports"])
    page = post_form(mod_client, "/alerts/manage/new", {"reports": [report.reference], "summary": "Take care."},
                     token_from="/alerts/manage/new")
    assert page.status_code == 422
    from plugins.alerts.models import Alert

    with on.app_context(), connection():
        assert Alert.select().count() == 0


def _csrf(client):
    from helpers import csrf_token

    return csrf_token(client, "/alerts/manage/new")


def test_a_draft_copies_the_allowlist_and_nothing_about_the_reporter(on, moderator, make_user):
    reporter = make_user("member", email="reporter.person@example.org")
    report = _report(
        on, phones=["07700 900123"], emails=["Bad.Man@Example.com"], plates=["AB12 CDE"], handles=["@badman"],
        names=["Dave the Rave"], description={"gender": "man", "age_range": "40-50", "build": "heavy",
                                              "features": "tattoo on left hand"},
        vehicle={"make": "Ford", "model": "Focus", "colour": "silver"},
        narrative="NARRATIVE-CANARY", location="LOCATION-CANARY", reporter=reporter,
        support_contact="CONTACT-CANARY", incident_types=("robbery", "threats"), region="wales",
    )
    alert = _draft(on, moderator, [report])
    from plugins.alerts.models import Alert
    from plugins.alerts.reading import public_dict

    data = in_app(on, lambda: public_dict(Alert.get_by_id(alert.id), staff=True))
    assert data["status"] == "draft"
    assert [item["code"] for item in data["incident_types"]] == ["robbery", "threats"]
    assert [item["code"] for item in data["regions"]] == ["wales"]
    assert sorted((i["kind"], i["value"]) for i in data["identifiers"]) == [
        ("email", "bad.man@example.com"), ("handle", "badman"), ("phone", "+447700900123"), ("plate", "AB12CDE")]
    # The description and vehicle are the reporter's own words: a moderator writes them, if at all.
    assert data["perpetrators"] == []
    text = str(data)
    for canary in ("NARRATIVE-CANARY", "LOCATION-CANARY", "CONTACT-CANARY", "Dave the Rave", "reporter.person",
                   "tattoo on left hand", "heavy", "Focus", "silver"):
        assert canary not in text
    assert data["reports"] == [report.reference]  # staff see which report it came from


def test_a_draft_without_perpetrator_details_when_asked(on, moderator):
    report = _report(on, phones=["07700 900123"], description={"build": "slim"})
    alert = _draft(on, moderator, [report], include_perpetrators=False)
    from plugins.alerts.models import Alert
    from plugins.alerts.reading import public_dict

    data = in_app(on, lambda: public_dict(Alert.get_by_id(alert.id)))
    assert data["identifiers"] == [] and data["perpetrators"] == []


# -- publishing, the list and the alert page ----------------------------------------------------


def test_drafts_are_hidden_and_published_alerts_listed_for_members_and_partners(on, moderator, make_user):
    report = _report(on, phones=["07700 900123"])
    alert = _draft(on, moderator, [report], title="Caller who robs")
    member = on.test_client()
    sign_in(member, make_user("member"))
    partner = on.test_client()
    sign_in(partner, make_user("partner"))
    assert "Caller who robs" not in member.get("/alerts/").get_data(as_text=True)
    assert member.get(f"/alerts/{alert.id}").status_code == 404
    _publish(on, moderator, alert)
    for client in (member, partner):
        page = client.get("/alerts/").get_data(as_text=True)
        assert "Caller who robs" in page
        detail = client.get(f"/alerts/{alert.id}")
        assert detail.status_code == 200
        assert "07700 900123" in detail.get_data(as_text=True)


def test_people_without_a_vetted_role_cannot_read_or_check(on, make_user):
    stranger = on.test_client()
    assert stranger.get("/alerts/").status_code == 302  # sign in first
    learner = on.test_client()
    sign_in(learner, make_user("learner"))
    assert learner.get("/alerts/").status_code == 403
    assert learner.get("/alerts/check").status_code == 403
    assert learner.post("/api/v1/check", json={"identifier": "07700 900123"},
                        headers={"X-CSRFToken": "x"}).status_code in (400, 403)


def test_the_list_filters_by_region_type_date_and_words(on, moderator, member_client):
    london = _draft(on, moderator, [_report(on, region="london", incident_types=("robbery",))],
                    title="Robbery near the station", summary="A man with a knife.")
    wales = _draft(on, moderator, [_report(on, region="wales", incident_types=("threats",))],
                   title="Threats online", summary="Messages from a burner phone.")
    for alert in (london, wales):
        _publish(on, moderator, alert)

    def titles(query):
        return member_client.get("/alerts/" + query).get_data(as_text=True)

    assert "Robbery near" in titles("?region=london") and "Threats online" not in titles("?region=london")
    assert "Threats online" in titles("?type=threats") and "Robbery near" not in titles("?type=threats")
    assert "Threats online" in titles("?q=burner") and "Robbery near" not in titles("?q=burner")
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    assert "Robbery near" not in titles(f"?since={tomorrow}")
    assert "Robbery near" in titles(f"?until={tomorrow}")
    everything = titles("")
    assert everything.index("Threats online") < everything.index("Robbery near")  # newest first
    api = member_client.get("/api/v1/alerts?region=wales").get_json()
    assert [a["title"] for a in api["alerts"]] == ["Threats online"]


def test_printable_version_is_a_clean_page(on, moderator, member_client):
    alert = _draft(on, moderator, [_report(on, phones=["07700 900123"])], title="Printable")
    _publish(on, moderator, alert)
    page = member_client.get(f"/alerts/{alert.id}/print").get_data(as_text=True)
    assert "Printable" in page and "07700 900123" in page
    assert "print.css" in page and "main-nav" not in page  # no navigation, its own print layout


def test_a_correction_shows_as_updated_and_history_is_kept_for_staff(on, moderator, mod_client, member_client):
    alert = _draft(on, moderator, [_report(on)], title="First wording")
    _publish(on, moderator, alert)
    response = mod_client.patch(f"/api/v1/alerts/{alert.id}", json={"title": "Corrected wording"},
                                headers={"X-CSRFToken": _csrf(mod_client)})
    assert response.status_code == 200
    assert response.get_json()["status"] == "updated"
    page = member_client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Corrected wording" in page and "Updated" in page
    staff = mod_client.get(f"/alerts/manage/{alert.id}").get_data(as_text=True)
    assert "First wording" in staff  # the earlier version, in the history
    assert "Corrected" in staff and "Published" in staff and "Created" in staff  # the history, in words


def test_withdrawal_hides_the_alert_everywhere_and_keeps_history(on, moderator, mod_client, member_client):
    alert = _draft(on, moderator, [_report(on, phones=["07700 900555"])], title="To withdraw")
    _publish(on, moderator, alert)
    assert member_client.post("/api/v1/check", json={"identifier": "07700 900555"},
                              headers={"X-CSRFToken": _csrf_member(member_client)}).get_json()["result"] == "caution"
    response = post_form(mod_client, f"/alerts/manage/{alert.id}/withdraw", {"reason": "Wrong person"},
                         token_from=f"/alerts/manage/{alert.id}")
    assert response.status_code == 303
    assert "To withdraw" not in member_client.get("/alerts/").get_data(as_text=True)
    assert member_client.get(f"/alerts/{alert.id}").status_code == 410  # gone, calmly (test_alerts_pages)
    assert member_client.get(f"/api/v1/alerts/{alert.id}").status_code == 404
    # Out of checks at once: neither the alert nor the report behind it answers "caution" now.
    answer = member_client.post("/api/v1/check", json={"identifier": "+44 7700 900555"},
                                headers={"X-CSRFToken": _csrf_member(member_client)}).get_json()
    assert answer == {"result": "no_record", "message": answer["message"]}
    staff = mod_client.get(f"/alerts/manage/{alert.id}").get_data(as_text=True)
    assert "To withdraw" in staff and "Wrong person" in staff and "withdrawn" in staff


def _csrf_member(client):
    from helpers import csrf_token

    return csrf_token(client, "/alerts/check")


def test_a_withdrawn_alert_cannot_be_edited_or_published_again(on, moderator, mod_client):
    alert = _draft(on, moderator, [_report(on)])
    _publish(on, moderator, alert)
    token = _csrf(mod_client)
    assert mod_client.post(f"/api/v1/alerts/{alert.id}/publish", headers={"X-CSRFToken": token}).status_code == 409
    assert mod_client.post(f"/api/v1/alerts/{alert.id}/withdraw", json={"reason": "done"},
                           headers={"X-CSRFToken": token}).status_code == 200
    assert mod_client.patch(f"/api/v1/alerts/{alert.id}", json={"title": "again"},
                            headers={"X-CSRFToken": token}).status_code == 409
    assert mod_client.post(f"/api/v1/alerts/{alert.id}/withdraw", headers={"X-CSRFToken": token}).status_code == 409


def test_publishing_needs_a_summary_and_a_region(on, moderator, mod_client):
    alert = _draft(on, moderator, [_report(on, region=None)])
    token = _csrf(mod_client)
    response = mod_client.post(f"/api/v1/alerts/{alert.id}/publish", headers={"X-CSRFToken": token})
    assert response.status_code == 422 and "regions" in response.get_json()["error"]["fields"]


def test_moderator_pages_write_edit_and_publish_through_forms(on, moderator, mod_client, member_client):
    report = _report(on, phones=["07700 900321"], description={"hair": "red"})
    response = post_form(mod_client, "/alerts/manage/new",
                         {"reports": [report.reference], "summary": "A man who follows people home.",
                          "include_perpetrators": "y"}, token_from="/alerts/manage/new")
    assert response.status_code == 303
    edit_url = response.headers["Location"]
    form = mod_client.get(edit_url).get_data(as_text=True)
    assert "+447700900321" in form
    # The reporter's description is beside the form to write from (staff only), not in its fields.
    assert "What the reporter wrote (for you only)" in form and "<dd>red</dd>" in form
    assert 'name="p0_hair" maxlength="1000" value=""' in form
    response = post_form(mod_client, edit_url, {
        "title": "Follows people home", "summary": "A man who follows people home.", "severity": "high",
        "incident_types": ["harassment"], "regions": ["london", "wales"],
        "identifiers": "phone: 07700 900321\n@follower",
        "p0_hair": "red", "p0_build": "tall", "p0_make": "Vauxhall",
    }, token_from=edit_url)
    assert response.status_code == 303, response.get_data(as_text=True)
    staff_url = response.headers["Location"]
    alert_id = int(staff_url.rstrip("/").rsplit("/", 1)[1])
    response = publish_from_preview(mod_client, alert_id)
    assert response.status_code == 303 and response.headers["Location"].endswith(staff_url)
    page = member_client.get("/alerts/").get_data(as_text=True)
    assert "Follows people home" in page
    detail = member_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "follower" in detail and "Vauxhall" in detail and "tall" in detail and "Serious danger" in detail


def test_moderator_api_creates_patches_publishes_and_withdraws(on, moderator, member_client):
    from helpers import enrol_two_factor

    from core.accounts import tokens
    from core.accounts.models import User

    enrol_two_factor(on, moderator)
    _record, token = in_app(on, lambda: tokens.create_token(User.get_by_id(moderator.id), "api"))
    auth = {"Authorization": f"Bearer {token}"}
    client = on.test_client()
    report = _report(on, phones=["07700 900777"], vehicle={"make": "Seat", "colour": "red"})
    response = client.post("/api/v1/alerts", json={"reports": [report.reference], "summary": "Be careful.",
                                                   "regions": ["london"]}, headers=auth)
    assert response.status_code == 201, response.get_json()
    alert_id = response.get_json()["id"]
    body = response.get_json()
    assert body["status"] == "draft" and body["identifiers"] == [{"kind": "phone", "value": "+447700900777"}]
    assert body["perpetrators"] == []  # the reporter's words about the vehicle are not copied
    bad = client.patch(f"/api/v1/alerts/{alert_id}", json={"severity": "apocalyptic", "nonsense": 1}, headers=auth)
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"severity", "nonsense"}
    assert client.patch(f"/api/v1/alerts/{alert_id}", json={"severity": "high"}, headers=auth).status_code == 200
    assert client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth).status_code == 409  # not reviewed
    assert client.post(f"/api/v1/alerts/{alert_id}/review", headers=auth).status_code == 200
    assert client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth).get_json()["status"] == "published"
    assert member_client.get(f"/api/v1/alerts/{alert_id}").get_json()["severity"] == "high"
    assert client.post(f"/api/v1/alerts/{alert_id}/withdraw", json={"reason": "resolved"},
                       headers=auth).get_json()["status"] == "withdrawn"
    # members cannot use moderator actions
    assert member_client.post("/api/v1/alerts", json={"reports": [report.reference], "summary": "x"},
                              headers={"X-CSRFToken": _csrf_member(member_client)}).status_code == 403


def test_the_openapi_document_lists_every_alerts_operation(on):
    spec = on.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/alerts"]) == {"get", "post"}
    assert set(paths["/alerts/{id}"]) == {"get", "patch"}
    assert "post" in paths["/alerts/{id}/publish"] and "post" in paths["/alerts/{id}/withdraw"]
    assert "post" in paths["/alerts/{id}/review"]
    assert "post" in paths["/check"] and "put" in paths["/me/subscriptions"]
    assert "429" in paths["/check"]["post"]["responses"]
    assert "identifier" in spec["components"]["schemas"]["CheckRequest"]["properties"]


def test_a_disabled_alerts_plugin_answers_404(app, make_user):
    enable(app, "reporting")
    client = app.test_client()
    sign_in(client, make_user("member"))
    assert client.get("/alerts/").status_code == 404
    assert client.post("/api/v1/check", json={"identifier": "07700 900123"}).status_code == 404


def test_report_verified_puts_a_consenting_report_on_the_moderators_list(on, mod_client):
    from core.plugins import get_registry

    consenting = _report(on)
    not_consenting = _report(on, share_alert=False)

    def verify():
        for report in (consenting, not_consenting):
            get_registry(on).call("report_verified", app=on, report=report)

    in_app(on, verify)
    page = mod_client.get("/alerts/manage/").get_data(as_text=True)
    assert consenting.reference in page and not_consenting.reference not in page


def test_the_demo_alerts_fit_their_reports_and_the_demo_member_sees_one(app):
    from core import demo
    from plugins.alerts.models import Alert, Subscription
    from plugins.alerts.reading import regions_of
    from plugins.alerts.sources import source_report_ids
    from plugins.reporting.models import Report

    password = "demo passphrase long enough"
    with app.test_request_context(), connection():
        accounts, _password = demo.fill(app, password)
        demo.fill(app, password)  # twice: nothing is made again
        alerts = {}
        for alert in Alert.select().order_by(Alert.id):
            assert alert.status == "published" and alert.title.startswith("DEMO: made-up")
            assert alert.summary.startswith("DEMO: made-up")  # clearly fake, as everything in the demo
            if alert.is_notice:  # the demo's safety notice cites no report: the group's own knowledge
                assert source_report_ids(alert) == [] and alert.category == "fake_advertiser"
                assert regions_of(alert) == ["london"]
                continue
            (report,) = [Report.get_by_id(report_id) for report_id in source_report_ids(alert)]
            alerts[alert.title] = (alert.severity, report.incident_type_codes, regions_of(alert))
        robbery = alerts.pop("DEMO: made-up sample, a client who takes the money back")
        no_show = alerts.pop("DEMO: made-up sample, a client who books and never arrives")
        assert not alerts
        # Each title and severity sits on the report about that: the robbery is serious danger,
        # the fake client who never arrives is "be aware".
        assert robbery[0] == "high" and "robbery" in robbery[1] and "fake_client" not in robbery[1]
        assert no_show[0] == "low" and no_show[1] == ["fake_client"]
        subscription = Subscription.get(Subscription.user == accounts["member"].id)
        assert subscription.channels == "email,web"
        member_regions = [row.region for row in subscription.region_rows]
        assert member_regions == robbery[2] == ["london"]
    # The demo member's Alerts page opens on their region, and has something in it.
    client = app.test_client()
    sign_in(client, accounts["member"].email, password)
    page = client.get("/alerts/").get_data(as_text=True)
    assert "Showing alerts for London." in page
    assert "a client who takes the money back" in page and "never arrives" not in page
