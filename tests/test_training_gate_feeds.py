"""The partner gate beyond the pages that declare alerts.read: the partner feeds (public routes
that check a feed token or a reader's own access themselves), the "Alerts (N new)" menu label and
alert messages by e-mail. A paused partner gets none of them; an organisation's feed token still
opens the feeds, and messages start again once the partner holds a current certificate.

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import datetime

from alerts_fixtures import draft, in_app, publish
from casework_common import bearer, in_db, token_for
from helpers import sign_in
from test_alerts_helpers import make_subscribers
from test_training_gate import PAUSED, _course, _gate, _menu, gated

from core.db import utcnow

FEEDS = ("/api/v1/feeds/alerts.json", "/api/v1/feeds/alerts.atom")


# The gate's app (reporting, alerts and training on), also under the name alerts_fixtures.py's
# moderator and mailing ask for.
on = gated


def _publish(app, moderator, title="TITLE-TEXT") -> int:
    """An alert about a report with the phone number 07700 900123, published; returns its id."""
    return publish(app, moderator, draft(app, moderator, title=title, phones=["07700 900123"])).id


def _certificate(app, user_id, course_id, expires_on=None):
    from plugins.training.models import Certificate

    with in_db(app):
        count = Certificate.select().count()
        Certificate.create(code=f"FEED{count:06d}", course=course_id, user=user_id, learner_name="A. Partner",
                           course_title="Working with sex workers", issued_on=datetime.date.today(),
                           expires_on=expires_on, payload="{}", signature="x")


def _organisation_token(app, moderator) -> str:
    from core.accounts.models import User
    from core.organisations import Organisation
    from plugins.alerts import feeds

    def make():
        organisation = Organisation.create(name="Outreach project", kind="health")
        return feeds.create_token("Outreach project", User.get_by_id(moderator.id), organisation.id)[1]

    return in_app(app, make)


def _assert_paused(answer, course_id):
    assert answer.status_code == 403, answer.status_code
    error = answer.get_json()["error"]
    assert error["message"].startswith(PAUSED)
    assert error["link"] == f"/training/courses/{course_id}"


# -- the partner feeds --------------------------------------------------------------------------------


def test_a_paused_partner_gets_neither_feed_and_an_organisations_token_still_does(gated, make_user, moderator):
    _publish(gated, moderator)
    partner = make_user("partner")
    course_id = _course(gated)
    _gate(gated, course_id)
    browser = gated.test_client()
    sign_in(browser, partner)
    headers = bearer(token_for(gated, partner))
    for feed in FEEDS:
        _assert_paused(browser.get(feed), course_id)
        _assert_paused(gated.test_client().get(feed, headers=headers), course_id)
    # The same answer as the API routes that declare alerts.read.
    _assert_paused(gated.test_client().get("/api/v1/alerts", headers=headers), course_id)
    assert "900123" not in browser.get(FEEDS[0]).get_data(as_text=True)  # nothing of any alert

    # An organisation's feed token (not a person's) still opens both feeds while the gate is on.
    token = _organisation_token(gated, moderator)
    for feed in FEEDS:
        answer = gated.test_client().get(feed, headers=bearer(token))
        assert answer.status_code == 200 and "TITLE-TEXT" in answer.get_data(as_text=True)
        assert gated.test_client().get(f"{feed}?token={token}").status_code == 200
        # Without a feed token or a reader's access: 401, as before.
        assert gated.test_client().get(feed).status_code == 401
        assert gated.test_client().get(feed, headers=bearer("ruf_wrong")).status_code == 401

    # A current certificate opens the feeds to the partner again.
    _certificate(gated, partner.id, course_id)
    assert "900123" in browser.get(FEEDS[0]).get_data(as_text=True)
    assert gated.test_client().get(FEEDS[1], headers=headers).status_code == 200


# -- the menu -----------------------------------------------------------------------------------------


def test_the_menu_counts_no_new_alerts_for_a_paused_partner(gated, make_user, moderator):
    from plugins.alerts.unread import Reader

    partner = make_user("partner")
    with in_db(gated):  # they read the list yesterday, before the gate was on
        Reader.create(user=partner.id, seen_at=utcnow() - datetime.timedelta(days=1))
    _publish(gated, moderator)
    client = gated.test_client()
    sign_in(client, partner)
    assert "Alerts (1 new)" in _menu(client).values()  # the gate is off

    course_id = _course(gated)
    _gate(gated, course_id)
    labels = _menu(client)
    assert "Alerts" in labels.values() and not any("new" in label for label in labels.values())

    _certificate(gated, partner.id, course_id)
    assert "Alerts (1 new)" in _menu(client).values()


# -- alert messages -----------------------------------------------------------------------------------


def _deliveries(app, alert_id) -> dict[int, str]:
    from plugins.alerts.models import Delivery

    with in_db(app):
        return {row.user_id: row.status for row in Delivery.select().where(Delivery.alert == alert_id)}


def _recipients(smtp) -> list[str]:
    return sorted(envelope.rcpt_tos[0] for envelope in smtp.inbox.envelopes)


def test_a_paused_partner_is_not_mailed_alerts_until_they_hold_a_certificate(mailing, moderator, smtp):
    [member] = in_app(mailing, make_subscribers, 1, role="member", start=0)
    [partner] = in_app(mailing, make_subscribers, 1, role="partner", start=1)
    course_id = _course(mailing)
    _gate(mailing, course_id)

    paused_alert = _publish(mailing, moderator, title="FIRST")
    assert _recipients(smtp) == ["subscriber0@example.org"]  # the member only
    assert _deliveries(mailing, paused_alert) == {member: "sent", partner: "cancelled"}
    with in_db(mailing):  # the subscription itself is kept
        from plugins.alerts.models import Subscription

        assert Subscription.select().where(Subscription.user == partner).exists()

    _certificate(mailing, partner, course_id)
    later = _publish(mailing, moderator, title="SECOND")
    assert _deliveries(mailing, later) == {member: "sent", partner: "sent"}
    assert _recipients(smtp) == ["subscriber0@example.org", "subscriber0@example.org", "subscriber1@example.org"]
    # What was cancelled while paused is not sent afterwards.
    assert _deliveries(mailing, paused_alert)[partner] == "cancelled"


def test_a_paused_partners_daily_message_is_not_sent_but_a_withdrawal_is(mailing, moderator, smtp):
    from plugins.alerts import delivery, service
    from plugins.training.models import Certificate

    [partner] = in_app(mailing, make_subscribers, 1, role="partner", start=0)
    course_id = _course(mailing)
    _gate(mailing, course_id)
    _certificate(mailing, partner, course_id)
    received = _publish(mailing, moderator, title="RECEIVED")
    assert _deliveries(mailing, received) == {partner: "sent"}

    with in_db(mailing):  # the certificate is revoked: their reading is paused again
        Certificate.update(revoked_at=utcnow()).execute()

    def withdraw():
        from core.accounts.models import User
        from plugins.alerts.models import Alert

        service.withdraw(Alert.get_by_id(received), User.get_by_id(moderator.id), "It was wrong.")

    in_app(mailing, withdraw)
    # The withdrawal of what they were sent still reaches them, so they stop passing it on.
    assert len(smtp.messages) == 2 and "withdrawn" in smtp.messages[1].get_content()

    # A daily message, bundled while they are paused, is not sent.
    with in_db(mailing):
        from plugins.alerts.models import Subscription

        Subscription.update(frequency="daily").execute()
    held = _publish(mailing, moderator, title="HELD")
    assert _deliveries(mailing, held) == {partner: "held"}
    assert in_app(mailing, delivery.build_digests, datetime.datetime(2030, 1, 1, 18, 0)) == 1
    in_app(mailing, delivery.drain, "email")
    with in_db(mailing):
        from plugins.alerts.models import Delivery

        digests = [row.status for row in Delivery.select().where(Delivery.kind == "digest")]
    assert digests == ["cancelled"] and len(smtp.messages) == 2
