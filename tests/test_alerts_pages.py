"""Alerts pages as members and staff see them: titles that never carry a headline, the printable
page's quick exit, withdrawn alerts behind old links, translated codes on staff pages, the edit
form's rules, the list's region notice and the link to the report form."""

from __future__ import annotations

import re

from alerts_fixtures import in_app
from helpers import post_form, sign_in
from test_alerts_helpers import make_report


def published(app, moderator, title="Man who robs after booking", publish=True, **data):
    """An alert from a fresh verified report, published unless asked not to."""
    from core.accounts.models import User
    from plugins.alerts import service

    def make():
        actor = User.get_by_id(moderator.id)
        report = make_report(phones=["07700 900123"], region=data.pop("region", "london"))
        alert = service.create_from_reports([report], {"title": title, "summary": "Take care with him.", **data},
                                            actor)
        if publish:
            service.review(alert, actor)
            service.publish(alert, actor)
        return alert

    return in_app(app, make)


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


# -- titles and the printable page -----------------------------------------------------------------


def test_alert_pages_never_put_the_headline_in_the_title(on, moderator, mod_client, member_client):
    alert = published(on, moderator)
    for client, path in ((member_client, f"/alerts/{alert.id}"), (member_client, f"/alerts/{alert.id}/print"),
                         (mod_client, f"/alerts/manage/{alert.id}")):
        page = client.get(path).get_data(as_text=True)
        assert "Man who robs after booking" in page, path  # on the page itself
        assert title_of(page) == "Alert · Red Umbrella", path


def test_alert_titles_are_translated(on, moderator, member_client):
    alert = published(on, moderator)
    page = member_client.get(f"/alerts/{alert.id}/print", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert title_of(page) == "Alerta · Red Umbrella"


def test_the_printable_page_keeps_a_neutral_title_and_has_the_quick_exit(on, make_app, moderator, member):
    alert = published(on, moderator)
    neutral = make_app({"NEUTRAL_TITLE": "Notes", "QUICK_EXIT_URL": "https://weather.example/today"})
    client = neutral.test_client()
    sign_in(client, member)
    page = client.get(f"/alerts/{alert.id}/print").get_data(as_text=True)
    assert title_of(page) == "Notes"
    assert "Red Umbrella" not in page and "umbrella.svg" not in page and "neutral.svg" in page
    exit_link = re.search(r'<a class="quick-exit" href="([^"]+)"[^>]*data-quick-exit', page)
    assert exit_link and exit_link.group(1) == "https://weather.example/today"
    assert "/static/js/quick-exit.js" in page  # Esc leaves, as on every other page


# -- partner feeds ---------------------------------------------------------------------------------


def test_the_feeds_page_shows_how_to_send_the_token(on, mod_client):
    page = mod_client.get("/alerts/manage/feeds").get_data(as_text=True)
    assert "<code>Authorization: Bearer &lt;token&gt;</code>" in page
    assert "<code>?token=&lt;token&gt;</code>" in page
    assert "<token>" not in page  # never as a tag the browser would swallow
    translated = mod_client.get("/alerts/manage/feeds", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<code>Authorization: Bearer &lt;token&gt;</code>" in translated and "<token>" not in translated


# -- old links to alerts that are no longer shown --------------------------------------------------


def withdraw(app, moderator, alert, reason="REASON-CANARY: wrong man"):
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    in_app(app, lambda: service.withdraw(Alert.get_by_id(alert.id), User.get_by_id(moderator.id), reason))


def test_an_old_link_to_a_withdrawn_alert_says_so_calmly_with_410(on, moderator, member_client):
    alert = published(on, moderator, title="TITLE-CANARY robs after booking")
    withdraw(on, moderator, alert)
    for path in (f"/alerts/{alert.id}", f"/alerts/{alert.id}/print", f"/n/{alert.id}"):
        response = member_client.get(path)
        assert response.status_code == 410, path
        page = response.get_data(as_text=True)
        assert "This alert was withdrawn" in page and "Please do not pass it on" in page, path
        assert 'href="/alerts/"' in page, path  # to the current alerts
        for canary in ("TITLE-CANARY", "REASON-CANARY", "Take care with him", "+447700900123", "London"):
            assert canary not in page, (path, canary)
        assert title_of(page) == "Alert withdrawn · Red Umbrella"
        assert "this alert's history" not in page  # the staff link is for staff only


def test_moderators_reach_the_history_from_a_withdrawn_alerts_old_link(on, moderator, mod_client):
    alert = published(on, moderator)
    withdraw(on, moderator, alert)
    response = mod_client.get(f"/n/{alert.id}")
    assert response.status_code == 410
    assert f'href="/alerts/manage/{alert.id}"' in response.get_data(as_text=True)


def test_an_old_link_to_an_alert_past_its_end_date_says_it_ended(on, moderator, member_client):
    import datetime

    from plugins.alerts.models import Alert

    alert = published(on, moderator, title="TITLE-CANARY")
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    in_app(on, lambda: Alert.update(expires_on=yesterday).where(Alert.id == alert.id).execute())
    response = member_client.get(f"/n/{alert.id}")
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "This alert has ended" in page and "TITLE-CANARY" not in page


def test_drafts_and_unknown_ids_stay_404_so_nobody_learns_a_draft_exists(on, moderator, member_client):
    draft = published(on, moderator, title="DRAFT-CANARY", publish=False)
    withdrawn_draft = published(on, moderator, title="DRAFT-CANARY", publish=False)
    withdraw(on, moderator, withdrawn_draft)
    unknown = withdrawn_draft.id + 100
    for alert_id in (draft.id, withdrawn_draft.id, unknown):
        for path in (f"/alerts/{alert_id}", f"/alerts/{alert_id}/print", f"/n/{alert_id}"):
            response = member_client.get(path, follow_redirects=True)
            assert response.status_code == 404, path
            assert "DRAFT-CANARY" not in response.get_data(as_text=True)
    # Identical answers: a draft's 404 cannot be told from an id that never existed.
    def answer(alert_id):
        page = member_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
        return page.replace(f"/alerts/{alert_id}", "/alerts/ID")

    assert answer(draft.id) == answer(unknown)


def test_the_withdrawn_page_is_translated(on, moderator, member_client):
    alert = published(on, moderator)
    withdraw(on, moderator, alert)
    page = member_client.get(f"/alerts/{alert.id}", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert 'lang="pt-BR"' in page and "This alert was withdrawn" not in page


# -- staff pages say what codes mean, in the reader's language ----------------------------------------


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", html, re.S)]


def test_history_and_messages_show_translated_words_not_codes(on, moderator, mod_client, member):
    from plugins.alerts.models import DELIVERY_STATES, Delivery

    alert = published(on, moderator)
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    in_app(on, lambda: service.update(Alert.get_by_id(alert.id), {"summary": "Better wording."},
                                      User.get_by_id(moderator.id)))
    withdraw(on, moderator, alert)

    def outbox():
        Delivery.delete().execute()
        for number, status in enumerate(DELIVERY_STATES):
            for kind in ("alert", "update", "withdraw", "digest"):
                for channel in ("email", "sms"):
                    Delivery.create(key=f"test:{number}:{kind}:{channel}", kind=kind, user=member.id, channel=channel,
                                    status=status, alert=None if kind == "digest" else alert.id,
                                    attempts=1 if status == "pending" else 0, last_error="TestError")

    in_app(on, outbox)
    codes = {"created", "edited", "published", "corrected", "withdrawn", "email", "sms", "alert", "update",
             "withdraw", "digest", *DELIVERY_STATES}
    staff = mod_client.get(f"/alerts/manage/{alert.id}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    deliveries = mod_client.get("/alerts/manage/deliveries", headers={"Accept-Language": "es"}).get_data(as_text=True)
    for page in (staff, deliveries):
        cells = _cells(page)
        assert not codes & {cell.split(":")[0].split(" (")[0] for cell in cells}, cells
    history = _cells(staff)
    for word in ("Creada", "Publicada", "Corregida", "Retirada"):
        assert any(cell.startswith(word) for cell in history), (word, history)
    for word in ("Correo electrónico", "Enviado", "Retenido para el resumen diario", "Incluido en un resumen diario"):
        assert word in staff and word in deliveries, word
    for word in ("Alerta nueva", "Corrección", "Retirada", "Resumen diario", "Fallido"):
        assert word in _cells(deliveries), word
    english = mod_client.get("/alerts/manage/deliveries").get_data(as_text=True)
    assert "Held for the daily digest" in english and "Text message (SMS)" in english and "Withdrawal" in english


# -- the edit form's rules (and the API's) -------------------------------------------------------------


def _field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def _edit_form(days_expire=30, occurred_days_ago=2, identifiers="phone: 07700 900123"):
    import datetime

    today = datetime.date.today()
    return {
        "title": "Man who robs after booking", "summary": "Take care with him.", "severity": "high",
        "incident_types": ["robbery"], "regions": ["london"],
        "occurred_on": (today - datetime.timedelta(days=occurred_days_ago)).isoformat(),
        "expires_on": (today + datetime.timedelta(days=days_expire)).isoformat(),
        "review_on": "", "identifiers": identifiers,
    }


def _state(app, alert):
    from plugins.alerts.models import Alert, AlertIdentifier, AlertRevision, Delivery

    def read():
        row = Alert.get_by_id(alert.id)
        return {"status": row.status, "version": row.version, "expires_on": row.expires_on,
                "occurred_on": row.occurred_on, "revisions": AlertRevision.select().where(
                    AlertRevision.alert == alert.id).count(),
                "identifiers": AlertIdentifier.select().where(AlertIdentifier.alert == alert.id).count(),
                "updates": Delivery.select().where(Delivery.kind == "update").count()}

    return in_app(app, read)


def test_a_past_end_date_is_refused_with_a_pointer_to_withdraw(on, moderator, mod_client, make_user):
    from plugins.alerts import subscriptions

    subscriber = make_user("member", email="subscriber@example.org")
    in_app(on, lambda: subscriptions.save(subscriber, {"channels": ["email"], "regions": ["london"]}, False))
    alert = published(on, moderator)
    before = _state(on, alert)
    url = f"/alerts/manage/{alert.id}/edit"
    response = post_form(mod_client, url, _edit_form(days_expire=-1), token_from=url)
    assert response.status_code == 422
    message = _field_error(response.get_data(as_text=True), "expires_on")
    assert "has passed" in message and "Withdraw" in message
    assert _state(on, alert) == before  # nothing saved, nobody told it was "updated"
    assert before["status"] == "published"
    # Today is still a day it shows: accepted.
    response = post_form(mod_client, url, _edit_form(days_expire=0), token_from=url)
    assert response.status_code == 303


def test_a_future_incident_date_is_refused(on, moderator, mod_client):
    alert = published(on, moderator, publish=False)
    before = _state(on, alert)
    url = f"/alerts/manage/{alert.id}/edit"
    response = post_form(mod_client, url, _edit_form(occurred_days_ago=-3), token_from=url)
    assert response.status_code == 422
    assert "cannot be in the future" in _field_error(response.get_data(as_text=True), "occurred_on")
    assert _state(on, alert) == before


def test_more_than_30_identifiers_are_refused_not_cut_short(on, moderator, mod_client):
    alert = published(on, moderator, publish=False)
    url = f"/alerts/manage/{alert.id}/edit"
    lines = [f"phone: 07700 900{100 + number}" for number in range(31)]
    response = post_form(mod_client, url, _edit_form(identifiers="\n".join(lines)), token_from=url)
    assert response.status_code == 422
    message = _field_error(response.get_data(as_text=True), "identifiers")
    assert "at most 30" in message and "this has 31" in message
    assert _state(on, alert)["identifiers"] == 1  # as it was
    response = post_form(mod_client, url, _edit_form(identifiers="\n".join(lines[:30]) + "\n\n"), token_from=url)
    assert response.status_code == 303
    assert _state(on, alert)["identifiers"] == 30


def test_the_form_shows_every_refused_field_at_once_in_the_readers_language(on, moderator, mod_client):
    alert = published(on, moderator)
    url = f"/alerts/manage/{alert.id}/edit"
    lines = "\n".join(f"phone: 07700 900{100 + number}" for number in range(40))
    response = post_form(mod_client, url, _edit_form(days_expire=-5, occurred_days_ago=-5, identifiers=lines),
                         token_from=url, headers={"Accept-Language": "es"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert all(_field_error(page, name) for name in ("expires_on", "occurred_on", "identifiers"))
    assert "has passed" not in page and "cannot be in the future" not in page  # translated


def test_the_api_refuses_the_same_with_field_messages(on, moderator):
    import datetime

    from helpers import enrol_two_factor

    from core.accounts import tokens
    from core.accounts.models import User

    enrol_two_factor(on, moderator)
    _record, token = in_app(on, lambda: tokens.create_token(User.get_by_id(moderator.id), "api"))
    client, auth = on.test_client(), {"Authorization": f"Bearer {token}"}
    alert = published(on, moderator)
    before = _state(on, alert)
    today = datetime.date.today()
    cases = [
        ({"expires_on": (today - datetime.timedelta(days=1)).isoformat()}, "expires_on", "Withdraw"),
        ({"occurred_on": (today + datetime.timedelta(days=1)).isoformat()}, "occurred_on", "future"),
        ({"identifiers": [{"kind": "phone", "value": f"07700 900{100 + n}"} for n in range(31)]}, "identifiers",
         "30"),
    ]
    for body, field, words in cases:
        response = client.patch(f"/api/v1/alerts/{alert.id}", json=body, headers=auth)
        assert response.status_code == 422, (body, response.get_json())
        fields = response.get_json()["error"]["fields"]
        assert list(fields) == [field] and words in " ".join(fields[field]), fields
    assert _state(on, alert) == before
    report = in_app(on, lambda: make_report(region="london"))
    created = client.post("/api/v1/alerts", json={"reports": [report.reference], "summary": "Take care.",
                                                  "expires_on": (today - datetime.timedelta(days=1)).isoformat()},
                          headers=auth)
    assert created.status_code == 422 and "expires_on" in created.get_json()["error"]["fields"]
    assert client.patch(f"/api/v1/alerts/{alert.id}", json={"expires_on": today.isoformat()},
                        headers=auth).status_code == 200


# -- the list says which region it shows -----------------------------------------------------------


def _subscribe(app, user, channels=("web",), regions=("london",)):
    from plugins.alerts import subscriptions

    in_app(app, lambda: subscriptions.save(user, {"channels": list(channels), "regions": list(regions)}, False))


def test_the_list_opened_on_my_region_says_so_and_links_to_every_region(on, moderator, member, member_client):
    published(on, moderator, title="Far away in Wales", region="wales")
    _subscribe(on, member)
    page = member_client.get("/alerts/").get_data(as_text=True)
    assert "Showing alerts for London." in page
    assert "No alerts for London right now." in page
    assert "There are no alerts that match right now" not in page
    assert "Far away in Wales" not in page
    link = re.search(r'<a href="([^"]+)">Show all regions</a>', page)
    assert link and link.group(1) == "/alerts/?region="
    everywhere = member_client.get(link.group(1)).get_data(as_text=True)  # a plain link: no script needed
    assert "Far away in Wales" in everywhere and "Showing alerts for" not in everywhere


def test_the_region_notice_shows_beside_alerts_and_keeps_other_filters(on, moderator, member, member_client):
    published(on, moderator, title="Robbery in London", region="london")
    _subscribe(on, member)
    page = member_client.get("/alerts/?q=Robbery&page=1").get_data(as_text=True)
    assert "Robbery in London" in page and "Showing alerts for London." in page
    link = re.search(r'<a href="([^"]+)">Show all regions</a>', page).group(1).replace("&amp;", "&")
    assert link.startswith("/alerts/?") and "q=Robbery" in link and "region=" in link and "page" not in link
    nothing = member_client.get("/alerts/?q=nomatch").get_data(as_text=True)
    # Other words chosen too: the empty list does not blame the region alone.
    assert "There are no alerts that match right now." in nothing and "Showing alerts for London." in nothing


def test_the_region_notice_is_translated(on, moderator, member, member_client):
    _subscribe(on, member)
    page = member_client.get("/alerts/", headers={"Accept-Language": "ro"}).get_data(as_text=True)
    assert 'lang="ro"' in page and "Showing alerts for" not in page and "Show all regions" not in page


# -- the alert page links to the report form ---------------------------------------------------------


def test_the_alert_page_links_to_the_report_form(on, moderator, member_client):
    alert = published(on, moderator)
    page = member_client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Tell us what happened</a>', page)
    assert link and link.group(1) == "/reporting/report"
    form = member_client.get(link.group(1))
    assert form.status_code == 200 and 'name="csrf_token"' in form.get_data(as_text=True)
