"""The web channel: the alert list marks what is new or updated since the reader's last visit, and
the navigation counts it; the first visit marks nothing."""

from __future__ import annotations

from alerts_fixtures import in_app
from helpers import sign_in
from test_alerts import _csrf, _draft, _publish, _report

from core.db import connection


def _nav_alerts_link(page: str) -> str:
    start = page.index('href="/alerts/"')
    return page[start:page.index("</a>", start)]


def test_first_visit_marks_nothing_then_new_alerts_are_marked_once(on, moderator, member_client):
    old = _draft(on, moderator, [_report(on)], title="Older warning")
    _publish(on, moderator, old)
    first = member_client.get("/alerts/").get_data(as_text=True)
    assert "Older warning" in first and 'class="badge"' not in first

    fresh = _draft(on, moderator, [_report(on)], title="Fresh warning")
    _publish(on, moderator, fresh)
    elsewhere = member_client.get("/alerts/check").get_data(as_text=True)
    assert "Alerts (1 new)" in _nav_alerts_link(elsewhere)

    listed = member_client.get("/alerts/").get_data(as_text=True)
    fresh_heading = listed[listed.index(f'id="alert-{fresh.id}-title"'):listed.index("Fresh warning")]
    assert '<span class="badge">New</span>' in fresh_heading
    old_heading = listed[listed.index(f'id="alert-{old.id}-title"'):listed.index("Older warning")]
    assert "badge" not in old_heading
    assert "1 alert is new or updated since your last visit." in listed

    again = member_client.get("/alerts/").get_data(as_text=True)
    assert 'class="badge"' not in again
    assert "(1 new)" not in _nav_alerts_link(member_client.get("/alerts/check").get_data(as_text=True))


def test_a_correction_is_marked_updated(on, moderator, mod_client, member_client):
    alert = _draft(on, moderator, [_report(on)], title="First wording")
    _publish(on, moderator, alert)
    member_client.get("/alerts/")
    response = mod_client.patch(f"/api/v1/alerts/{alert.id}", json={"title": "Corrected wording"},
                                headers={"X-CSRFToken": _csrf(mod_client)})
    assert response.status_code == 200
    listed = member_client.get("/alerts/").get_data(as_text=True)
    heading = listed[listed.index(f'id="alert-{alert.id}-title"'):listed.index("Corrected wording")]
    assert '<span class="badge">Updated</span>' in heading


def test_the_count_keeps_to_the_readers_regions_and_ignores_withdrawn_alerts(on, moderator, make_user):
    from plugins.alerts import service, subscriptions
    from plugins.alerts.models import Alert

    reader = make_user("member", email="leeds-reader@example.org")
    in_app(on, lambda: subscriptions.save(reader, {"regions": ["leeds"], "channels": ["web"]}, sms_available=False))
    client = on.test_client()
    sign_in(client, reader)
    client.get("/alerts/")
    london = _draft(on, moderator, [_report(on, region="london")], title="London only", regions=["london"])
    _publish(on, moderator, london)
    leeds = _draft(on, moderator, [_report(on, region="leeds")], title="Leeds one", regions=["leeds"])
    _publish(on, moderator, leeds)
    gone = _draft(on, moderator, [_report(on, region="leeds")], title="Leeds withdrawn", regions=["leeds"])
    _publish(on, moderator, gone)

    def withdraw():
        from core.accounts.models import User

        service.withdraw(Alert.get_by_id(gone.id), User.get_by_id(moderator.id))

    in_app(on, withdraw)
    assert "Alerts (1 new)" in _nav_alerts_link(client.get("/alerts/check").get_data(as_text=True))


def test_people_who_cannot_read_alerts_see_no_count_and_get_no_reader_row(on, make_user):
    from plugins.alerts.unread import Reader

    client = on.test_client()
    sign_in(client, make_user(email="no-role@example.org"))
    assert client.get("/alerts/").status_code == 403
    page = client.get("/").get_data(as_text=True)
    assert "new)" not in page
    with on.app_context(), connection():
        assert Reader.select().count() == 0
