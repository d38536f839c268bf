"""The publish preview's "N people will be told" counts only who will actually be told: a partner
whose reading of alerts is paused by the training module's gate is sent nothing (the drain cancels
their messages), so the preview leaves them out while the gate is on, and counts them when it is
off or once they hold a current certificate. The count equals the messages delivery sends.

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import datetime
import re

import pytest
from alerts_fixtures import draft, in_app, preview_form, publish_from_preview
from casework_common import in_db
from helpers import sign_in
from test_alerts_helpers import make_subscribers
from test_training_gate import _course, _gate, gated
from test_training_gate_feeds import _certificate

on = gated  # reporting, alerts and training: alerts_fixtures' smtp, mailing and moderator on it


@pytest.fixture
def mod_client(mailing, moderator):
    """The moderator signed in on the app that mails (publishing from the preview sends at once)."""
    client = mailing.test_client()
    sign_in(client, moderator)
    return client


@pytest.fixture
def people(mailing):
    """Two members, one of them told daily; a partner told by e-mail, one on the site only, and
    one who will hold a certificate: every one of them subscribed to London."""
    return {
        "member": in_app(mailing, make_subscribers, 1, role="member", start=0)[0],
        "daily": in_app(mailing, make_subscribers, 1, role="member", start=1, frequency="daily")[0],
        "partner": in_app(mailing, make_subscribers, 1, role="partner", start=2)[0],
        "partner_on_site": in_app(mailing, make_subscribers, 1, role="partner", start=3, channels="web")[0],
        "certified": in_app(mailing, make_subscribers, 1, role="partner", start=4)[0],
    }


def _draft(app, moderator, title: str) -> int:
    return draft(app, moderator, title=title).id


def _told(page: str) -> int:
    """The number in the preview's "N people will be told." (or "1 person ...")."""
    found = re.search(r"(\d+) (?:people|person) will be told\.", page)
    assert found, page[:2000]
    return int(found.group(1))


def _preview_recipients(app, moderator, alert_id: int) -> dict:
    """The counts behind the preview, as the API and the web page show them."""
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    return in_app(app, lambda: service.review(Alert.get_by_id(alert_id), User.get_by_id(moderator.id)))["recipients"]


def _statuses(app, alert_id: int) -> dict[int, str]:
    from plugins.alerts.models import Delivery

    with in_db(app):
        return {row.user_id: row.status for row in Delivery.select().where(
            (Delivery.alert == alert_id) & (Delivery.kind == "alert"))}


def _sent_to_after_the_daily_message(app, smtp, before: int) -> list[str]:
    """Everyone mailed since `before` messages, after the daily messages have gone too."""
    from plugins.alerts import delivery

    in_app(app, delivery.build_digests, datetime.datetime(2030, 1, 1, 18, 0))
    in_app(app, delivery.drain, "email")
    return sorted(envelope.rcpt_tos[0] for envelope in smtp.inbox.envelopes[before:])


def test_with_the_gate_off_the_preview_counts_every_partner_and_all_are_told(mailing, moderator, mod_client,
                                                                             people, smtp):
    alert_id = _draft(mailing, moderator, "GATE-OFF")
    page, _fields = preview_form(mod_client, alert_id)
    assert _told(page) == 4  # member, daily member, partner, certified partner (the on-site one gets no message)
    assert _preview_recipients(mailing, moderator, alert_id) == {
        "people": 4, "channels": {"email": 4}, "daily": 1, "on_site_only": 1}

    assert publish_from_preview(mod_client, alert_id).status_code == 303
    told = _sent_to_after_the_daily_message(mailing, smtp, 0)
    assert len(told) == _told(page) == 4
    assert told == [f"subscriber{n}@example.org" for n in (0, 1, 2, 4)]


def test_with_the_gate_on_the_preview_leaves_out_a_paused_partner_and_counts_what_is_sent(
        mailing, moderator, mod_client, people, smtp):
    course_id = _course(mailing)
    _gate(mailing, course_id)
    _certificate(mailing, people["certified"], course_id)
    alert_id = _draft(mailing, moderator, "GATE-ON")

    page, _fields = preview_form(mod_client, alert_id)
    assert _told(page) == 3  # the paused partner is not told; the certified one is
    # The paused partner who chose the site only cannot open the alert list either.
    assert _preview_recipients(mailing, moderator, alert_id) == {
        "people": 3, "channels": {"email": 3}, "daily": 1, "on_site_only": 0}

    assert publish_from_preview(mod_client, alert_id).status_code == 303
    told = _sent_to_after_the_daily_message(mailing, smtp, 0)
    assert len(told) == _told(page) == 3
    assert told == [f"subscriber{n}@example.org" for n in (0, 1, 4)]
    statuses = _statuses(mailing, alert_id)
    assert statuses[people["partner"]] == "cancelled"
    assert statuses[people["member"]] == statuses[people["certified"]] == "sent"

    # Once the paused partner holds a current certificate, the next preview counts them again.
    _certificate(mailing, people["partner"], course_id)
    later = _draft(mailing, moderator, "CERTIFIED")
    assert _told(preview_form(mod_client, later)[0]) == 4
    assert _preview_recipients(mailing, moderator, later)["on_site_only"] == 0  # still paused
