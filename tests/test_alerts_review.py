"""Issue 9 item 8: an alert never carries the reporter's own words unless a moderator wrote them,
and nothing is published before a moderator reviewed a preview of exactly its current content
(the alert as members will see it, and how many people will be told), on the web and the API."""

from __future__ import annotations

import secrets

import pytest
from alerts_fixtures import in_app, preview_form, publish_from_preview
from helpers import csrf_token, enrol_two_factor, post_form
from test_alerts_helpers import make_report, make_subscribers

from core.db import connection


@pytest.fixture
def api(on, moderator):
    """A test client and the headers of a moderator's personal access token."""
    from core.accounts import tokens
    from core.accounts.models import User

    enrol_two_factor(on, moderator)
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(moderator.id), "alerts"))
    return on.test_client(), {"Authorization": f"Bearer {token}"}


def _draft(app, moderator, **report_kwargs):
    from core.accounts.models import User
    from plugins.alerts import service

    def make():
        report = make_report(**report_kwargs)
        return service.create_from_reports([report], {"summary": "Take care with this caller."},
                                           User.get_by_id(moderator.id)).id

    return in_app(app, make)


def _deliveries(app, alert_id: int) -> list[tuple[int, str, str]]:
    from plugins.alerts.models import Delivery

    with app.app_context(), connection():
        return list(Delivery.select(Delivery.user, Delivery.channel, Delivery.kind)
                    .where(Delivery.alert == alert_id).tuples())


def _everything_stored_about_alerts(app) -> str:
    """Every column of every alerts table, decrypted, as one text to search."""
    from plugins.alerts import models

    with app.app_context(), connection():
        rows = []
        for model in (models.Alert, models.AlertRegion, models.AlertSource, models.AlertPerpetrator,
                      models.AlertIdentifier, models.AlertRevision, models.Candidate, models.Delivery):
            for row in model.select():
                rows.append(repr(row.__data__))
        return "\n".join(rows)


# -- what a draft takes from a verified report --------------------------------------------------


def test_a_verified_reports_own_words_never_reach_the_draft(on, moderator, mod_client, member_client, api):
    """A report made through the API, verified by a moderator (report_verified puts it on the
    alerts list), then turned into drafts through the API and the web form with the default
    include_perpetrators: the draft holds the structured facts and none of the reporter's text."""
    canary = f"CANARY-{secrets.token_hex(5)}"
    client, auth = api
    sent = on.test_client().post("/api/v1/reports", json={
        "incident_types": ["robbery"], "region": "london", "narrative": f"narrative {canary}",
        "perpetrators": [{"phones": ["07912 345678"], "names": [f"name {canary}"],
                          "description": {"features": f"a tattoo that says {canary}", "hair": f"hair {canary}",
                                          "build": f"build {canary}", "age_range": f"age {canary}"},
                          "vehicle": {"make": f"make {canary}", "colour": f"colour {canary}", "plate": "KX19 ABC"}}],
        "consent": {"share_alert": True, "police_intelligence": False, "police_report": False,
                    "wants_support": False},
    })
    assert sent.status_code == 201, sent.get_json()
    reference = sent.get_json()["reference"]
    verified = client.post(f"/api/v1/reports/{reference}/status", json={"status": "verified"}, headers=auth)
    assert verified.status_code == 200, verified.get_json()
    manage = mod_client.get("/alerts/manage/").get_data(as_text=True)
    assert reference in manage  # the report_verified hook put it before the moderators

    by_api = client.post("/api/v1/alerts", json={"reports": [reference], "summary": "Take care."}, headers=auth)
    assert by_api.status_code == 201, by_api.get_json()
    body = by_api.get_json()
    assert canary not in by_api.get_data(as_text=True)
    assert [item["code"] for item in body["incident_types"]] == ["robbery"]
    assert [item["code"] for item in body["regions"]] == ["london"]
    assert sorted((item["kind"], item["value"]) for item in body["identifiers"]) == [
        ("phone", "+447912345678"), ("plate", "KX19ABC")]
    assert body["perpetrators"] == []

    by_web = post_form(mod_client, "/alerts/manage/new", {"reports": [reference], "summary": "Take care.",
                                                           "include_perpetrators": "y"},
                       token_from="/alerts/manage/new")
    assert by_web.status_code == 303
    web_id = int(by_web.headers["Location"].rstrip("/").split("/")[-2])
    assert canary not in _everything_stored_about_alerts(on)
    reviewed = client.post(f"/api/v1/alerts/{web_id}/review", headers=auth)
    assert reviewed.status_code == 200 and canary not in reviewed.get_data(as_text=True)
    preview_page, _fields = preview_form(mod_client, body["id"])
    assert canary not in preview_page

    # The moderator may read the reporter's words beside the form, to write from; members never.
    edit_page = mod_client.get(by_web.headers["Location"]).get_data(as_text=True)
    assert f"a tattoo that says {canary}" in edit_page and "What the reporter wrote (for you only)" in edit_page
    assert f'value="a tattoo that says {canary}"' not in edit_page  # beside the form, not in its fields
    assert client.post(f"/api/v1/alerts/{web_id}/publish", headers=auth).status_code == 200
    for path in ("/alerts/", f"/alerts/{web_id}", f"/api/v1/alerts/{web_id}", f"/alerts/{web_id}/print"):
        assert canary not in member_client.get(path).get_data(as_text=True)
    assert canary not in _everything_stored_about_alerts(on)


# -- the API: review, then publish ---------------------------------------------------------------


def test_publishing_through_the_api_without_a_review_is_refused(on, moderator, api):
    client, auth = api
    alert_id = _draft(on, moderator, phones=["07912 345001"])
    in_app(on, make_subscribers, 2)
    refused = client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth)
    assert refused.status_code == 409
    assert "Nobody has reviewed this alert yet" in refused.get_json()["error"]["message"]
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=auth).get_json()["status"] == "draft"
    assert _deliveries(on, alert_id) == []


def test_an_edit_after_the_review_clears_it(on, moderator, api):
    client, auth = api
    alert_id = _draft(on, moderator, phones=["07912 345002"])
    assert client.post(f"/api/v1/alerts/{alert_id}/review", headers=auth).status_code == 200
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=auth).get_json()["reviewed"] is True
    edited = client.patch(f"/api/v1/alerts/{alert_id}", json={"summary": "Changed after the review."}, headers=auth)
    assert edited.status_code == 200 and edited.get_json()["reviewed"] is False
    refused = client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth)
    assert refused.status_code == 409
    assert "changed after its preview was reviewed" in refused.get_json()["error"]["message"]
    assert _deliveries(on, alert_id) == []
    # Reviewed again, as it now reads: it can go.
    assert client.post(f"/api/v1/alerts/{alert_id}/review", headers=auth).get_json()["alert"]["summary"] == \
        "Changed after the review."
    assert client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth).status_code == 200


def test_content_changed_under_a_review_without_a_new_version_is_refused(on, moderator, api):
    """The review is of the content itself (a digest), not only of a version number."""
    from plugins.alerts.models import AlertIdentifier

    client, auth = api
    alert_id = _draft(on, moderator, phones=["07912 345003"])
    assert client.post(f"/api/v1/alerts/{alert_id}/review", headers=auth).status_code == 200
    with on.app_context(), connection():
        AlertIdentifier.update(display="+447912999999").where(AlertIdentifier.alert == alert_id).execute()
    assert client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth).status_code == 409


def test_review_then_publish_tells_the_subscribers_counted_in_the_preview(on, moderator, api):
    client, auth = api
    alert_id = _draft(on, moderator, phones=["07912 345004"], region="london")
    emailed = in_app(on, make_subscribers, 3)
    on_site = in_app(on, make_subscribers, 1, channels="web", start=100)
    in_app(on, make_subscribers, 2, region="wales", start=200)  # another region: not told
    daily = in_app(on, make_subscribers, 1, frequency="daily", start=300)
    reviewed = client.post(f"/api/v1/alerts/{alert_id}/review", headers=auth)
    assert reviewed.status_code == 200, reviewed.get_json()
    preview = reviewed.get_json()
    assert preview["recipients"] == {"people": 4, "channels": {"email": 4}, "daily": 1, "on_site_only": 1}
    assert preview["message"].startswith("4 people will be told.")
    assert preview["alert"]["summary"] == "Take care with this caller."
    assert "reports" not in preview["alert"]  # exactly what members see: no staff fields
    published = client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    told = _deliveries(on, alert_id)
    assert sorted(user for user, _channel, _kind in told) == sorted(emailed + daily)
    assert {(channel, kind) for _user, channel, kind in told} == {("email", "alert")}
    assert not set(on_site) & {user for user, _channel, _kind in told}
    # A second publish of the same alert is refused: it is no longer a draft.
    assert client.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth).status_code == 409


def test_only_moderators_review(on, moderator, member_client):
    alert_id = _draft(on, moderator)
    token = csrf_token(member_client, "/alerts/check")
    assert member_client.post(f"/api/v1/alerts/{alert_id}/review", headers={"X-CSRFToken": token}).status_code == 403
    assert member_client.get(f"/alerts/manage/{alert_id}/preview").status_code == 403


def test_a_draft_that_cannot_go_out_is_not_reviewed(on, moderator, api):
    client, auth = api
    alert_id = _draft(on, moderator, region=None)
    refused = client.post(f"/api/v1/alerts/{alert_id}/review", headers=auth)
    assert refused.status_code == 422 and "regions" in refused.get_json()["error"]["fields"]


# -- the web: a preview page, then Publish ---------------------------------------------------------


def test_the_web_preview_shows_the_alert_and_how_many_people_will_be_told(on, moderator, mod_client):
    alert_id = _draft(on, moderator, phones=["07912 345005"])
    in_app(on, make_subscribers, 3)
    staff_page = mod_client.get(f"/alerts/manage/{alert_id}").get_data(as_text=True)
    assert f"/alerts/manage/{alert_id}/preview" in staff_page
    assert f'action="/alerts/manage/{alert_id}/publish"' not in staff_page  # no publishing without the preview
    page, fields = preview_form(mod_client, alert_id)
    assert "3 people will be told." in page and "Take care with this caller." in page and "07912 345005" in page
    assert set(fields) == {"csrf_token", "version", "digest"}
    published = mod_client.post(f"/alerts/manage/{alert_id}/publish", data=fields)
    assert published.status_code == 303 and published.headers["Location"].endswith(f"/alerts/manage/{alert_id}")
    assert len(_deliveries(on, alert_id)) == 3
    from plugins.alerts.models import Alert

    with on.app_context(), connection():
        alert = Alert.get_by_id(alert_id)
        assert alert.status == "published" and alert.reviewed_by_id == moderator.id


def test_the_web_publishes_only_the_version_that_was_previewed(on, moderator, mod_client):
    from plugins.alerts.models import Alert

    alert_id = _draft(on, moderator, phones=["07912 345006"])
    in_app(on, make_subscribers, 2)
    _page, fields = preview_form(mod_client, alert_id)
    edit_url = f"/alerts/manage/{alert_id}/edit"
    saved = post_form(mod_client, edit_url, {"summary": "Changed in another window.", "severity": "medium",
                                             "regions": ["london"]}, token_from=edit_url)
    assert saved.status_code == 303
    stale = mod_client.post(f"/alerts/manage/{alert_id}/publish", data=fields)
    assert stale.status_code == 303 and stale.headers["Location"].endswith(f"/alerts/manage/{alert_id}/preview")
    page = mod_client.get(stale.headers["Location"]).get_data(as_text=True)
    assert "This alert was changed after you opened its preview" in page and "Changed in another window." in page
    with on.app_context(), connection():
        assert Alert.get_by_id(alert_id).status == "draft"
    assert _deliveries(on, alert_id) == []
    assert publish_from_preview(mod_client, alert_id).status_code == 303
    with on.app_context(), connection():
        assert Alert.get_by_id(alert_id).status == "published"
    assert len(_deliveries(on, alert_id)) == 2


def test_the_publish_button_needs_its_csrf_token(on, moderator, mod_client):
    alert_id = _draft(on, moderator)
    _page, fields = preview_form(mod_client, alert_id)
    fields.pop("csrf_token")
    assert mod_client.post(f"/alerts/manage/{alert_id}/publish", data=fields).status_code == 400
    assert _deliveries(on, alert_id) == []
