"""Delivery: subscriptions, the outbox, e-mail through a real SMTP server, SMS through a real HTTP
gateway and the file backend, daily digests, retries with back-off visible to staff, recovery of
messages held by a dead worker, neutral wording in each recipient's language, ids-only tasks."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys

import pytest
from alerts_fixtures import draft, in_app, publish
from helpers import csrf_token, enable, post_form, sign_in
from smtp_server import SmtpServer
from test_alerts_helpers import (
    GatewayServer,
    mail_settings,
    make_subscribers,
    message_ids,
    sms_test_plugin,
)

from core import claims
from core.db import connection


def deliveries(app) -> list:
    from plugins.alerts.models import Delivery

    with app.app_context(), connection():
        return list(Delivery.select().order_by(Delivery.id))


def settings(app, **values):
    from core.settings import save_settings

    in_app(app, save_settings, "alerts", values)


# -- e-mail ------------------------------------------------------------------------------------


def test_publishing_mails_each_subscriber_in_the_regions_exactly_once(mailing, moderator, smtp):
    london = in_app(mailing, make_subscribers, 5, region="london", start=0)
    in_app(mailing, make_subscribers, 3, region="wales", start=100)
    in_app(mailing, make_subscribers, 2, region="london", start=200, channels="web")
    in_app(mailing, make_subscribers, 2, region="london", start=300, role="learner")  # not vetted
    alert = draft(mailing, moderator)
    publish(mailing, moderator, alert)
    assert len(smtp.messages) == 5
    assert sorted(smtp.inbox.envelopes[i].rcpt_tos[0] for i in range(5)) == sorted(
        f"subscriber{n}@example.org" for n in range(5))
    assert len(set(message_ids(smtp))) == 5
    rows = deliveries(mailing)
    assert len(rows) == 5 and {row.status for row in rows} == {"sent"}
    assert {row.user_id for row in rows} == set(london)
    assert all(row.key == f"alert:{alert.id}:{row.user_id}:email" for row in rows)
    # Publishing again is refused, and sweeping again sends nothing more.
    from plugins.alerts import delivery

    in_app(mailing, delivery.sweep)
    assert len(smtp.messages) == 5


def test_messages_are_neutral_short_and_link_to_the_alert(mailing, moderator, smtp):
    in_app(mailing, make_subscribers, 1)
    alert = draft(mailing, moderator, phones=["07700 900123"])
    publish(mailing, moderator, alert)
    message = smtp.messages[0]
    body = message.get_content()
    assert message["Subject"] == "A new update"
    assert f"https://notes.example.org/n/{alert.id}" in body
    text = (message["Subject"] + body + message["From"]).lower()
    for word in ("alert", "danger", "sex", "ugly", "warning", "title-text", "summary-text", "7700", "london",
                 "umbrella"):
        assert word not in text, word
    assert len(body) < 400


def test_each_recipient_gets_their_own_language(mailing, moderator, smtp):
    in_app(mailing, make_subscribers, 1, start=0, locale="es")
    in_app(mailing, make_subscribers, 1, start=1, locale=None)
    in_app(mailing, make_subscribers, 1, start=2, locale="pt_BR")
    publish(mailing, moderator, draft(mailing, moderator))
    by_recipient = {env.rcpt_tos[0]: message for env, message in zip(smtp.inbox.envelopes, smtp.messages,
                                                                       strict=True)}
    assert by_recipient["subscriber0@example.org"]["Subject"] == "Una novedad"
    assert "Inicia sesión" in by_recipient["subscriber0@example.org"].get_content()
    assert by_recipient["subscriber1@example.org"]["Subject"] == "A new update"
    # And each says which language it is in, as core's e-mails do (screen readers, mail filters).
    assert [by_recipient[f"subscriber{n}@example.org"]["Content-Language"] for n in range(3)] == ["es", "en", "pt-BR"]


def test_an_instance_can_choose_its_own_wording_and_add_details(mailing, moderator, smtp):
    settings(mailing, email_subject="Your notes", email_text="Something changed: {link}", email_details=True)
    in_app(mailing, make_subscribers, 1)
    alert = draft(mailing, moderator)
    publish(mailing, moderator, alert)
    message = smtp.messages[0]
    body = message.get_content().replace("\r\n", "\n")
    assert message["Subject"] == "Your notes"
    assert body.startswith(f"Something changed: https://notes.example.org/n/{alert.id}\n")
    # The details come after blank lines, below what a lock screen shows.
    assert "\n\n\n\nTITLE-TEXT\n" in body and "SUMMARY-TEXT" in body


def test_the_short_link_opens_the_alert_after_sign_in(mailing, moderator, make_user):
    alert = draft(mailing, moderator)
    publish(mailing, moderator, alert)
    client = mailing.test_client()
    response = client.get(f"/n/{alert.id}")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    sign_in(client, make_user("member"))
    assert client.get(f"/n/{alert.id}").headers["Location"].endswith(f"/alerts/{alert.id}")


def test_a_daily_digest_bundles_held_messages_into_one(mailing, moderator, smtp):
    from plugins.alerts import delivery

    in_app(mailing, make_subscribers, 2, frequency="daily")
    first, second, third = (draft(mailing, moderator) for _n in range(3))
    for alert in (first, second, third):
        publish(mailing, moderator, alert)
    assert smtp.messages == [] and {row.status for row in deliveries(mailing)} == {"held"}
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    in_app(mailing, lambda: service.withdraw(Alert.get_by_id(third.id), User.get_by_id(moderator.id)))
    before = datetime.datetime(2030, 1, 1, 7, 0)
    assert in_app(mailing, delivery.build_digests, before) == 0  # before the digest hour: nothing
    at_six = datetime.datetime(2030, 1, 1, 18, 0)
    assert in_app(mailing, delivery.build_digests, at_six) == 2
    assert in_app(mailing, delivery.build_digests, at_six) == 0  # once a day
    in_app(mailing, delivery.drain, "email")
    assert len(smtp.messages) == 2
    assert smtp.messages[0]["Subject"] == "Your daily update"
    assert "There are 2 new things" in smtp.messages[0].get_content()
    statuses = sorted(row.status for row in deliveries(mailing))
    assert statuses == ["bundled"] * 4 + ["cancelled"] * 2 + ["sent"] * 2


def test_withdrawing_before_sending_cancels_the_messages(on, make_app, moderator, smtp):
    queued = make_app({**mail_settings(smtp), "QUEUE_IMMEDIATE": False})
    in_app(queued, make_subscribers, 3)
    alert = draft(queued, moderator)
    publish(queued, moderator, alert)
    from core.accounts.models import User
    from plugins.alerts import delivery, service
    from plugins.alerts.models import Alert

    in_app(queued, lambda: service.withdraw(Alert.get_by_id(alert.id), User.get_by_id(moderator.id)))
    in_app(queued, delivery.drain, "email")
    assert smtp.messages == [] and {row.status for row in deliveries(queued)} == {"cancelled"}
    queued.extensions["redumbrella.queue"].huey.flush()


def test_queue_tasks_carry_a_channel_name_and_no_personal_data(on, make_app, moderator, smtp, tmp_path):
    queued = make_app({**mail_settings(smtp), "QUEUE_IMMEDIATE": False})
    huey = queued.extensions["redumbrella.queue"].huey
    huey.flush()
    in_app(queued, make_subscribers, 3)
    publish(queued, moderator, draft(queued, moderator, phones=["07700 900123"]))
    tasks = huey.pending()
    assert tasks and {task.name for task in tasks} == {"alerts.drain_outbox"}
    assert all(task.args == ("email",) and not task.kwargs for task in tasks)
    raw = (tmp_path / "instance" / "queue.sqlite3").read_bytes()
    for personal in (b"subscriber", b"example.org", b"7700", b"SUMMARY"):
        assert personal not in raw
    huey.flush()


# -- failures, retries and what staff see -------------------------------------------------------


def test_an_unreachable_mail_server_is_retried_with_back_off_and_shown_to_staff(on, make_app, moderator):
    from plugins.alerts import delivery

    down = SmtpServer()  # not started: nothing listens on its port yet
    app = make_app(mail_settings(down))
    in_app(app, make_subscribers, 3)
    publish(app, moderator, draft(app, moderator))
    rows = deliveries(app)
    assert {row.status for row in rows} == {"pending"}
    assert [row.attempts for row in rows] == [1, 0, 0]  # one was tried; the others were put back
    assert all(row.last_error.startswith("connect:") for row in rows)
    assert all(row.next_attempt_at > datetime.datetime.utcnow() for row in rows)
    staff = app.test_client()
    sign_in(staff, moderator)
    page = staff.get("/alerts/manage/deliveries").get_data(as_text=True)
    assert "connect:ConnectionRefusedError" in page
    # Nothing is due yet: a sweep sends nothing. Once due, and the server is up, all go once.
    down.start()
    try:
        in_app(app, delivery.sweep)
        assert down.messages == []
        _make_due(app)
        in_app(app, delivery.sweep)
        assert len(down.messages) == 3 and len(set(message_ids(down))) == 3
    finally:
        down.stop()
    assert {row.status for row in deliveries(app)} == {"sent"}


def _make_due(app):
    from plugins.alerts.models import Delivery

    with app.app_context(), connection():
        Delivery.update(next_attempt_at=datetime.datetime(2000, 1, 1)).execute()


def test_back_off_doubles_and_gives_up_after_max_attempts(on, make_app, moderator):
    from plugins.alerts import delivery

    down = SmtpServer()
    app = make_app(mail_settings(down))
    settings(app, max_attempts=3, retry_seconds=10)
    in_app(app, make_subscribers, 1)
    publish(app, moderator, draft(app, moderator))
    delays = []
    for _attempt in range(2):
        row = deliveries(app)[0]
        delays.append((row.next_attempt_at - datetime.datetime.utcnow()).total_seconds())
        _make_due(app)
        in_app(app, delivery.drain, "email")
    row = deliveries(app)[0]
    assert 5 < delays[0] <= 10 and 15 < delays[1] <= 20
    assert row.status == "failed" and row.attempts == 3
    staff = app.test_client()
    sign_in(staff, moderator)
    assert "failed" in staff.get("/alerts/manage/deliveries").get_data(as_text=True)
    down.start()
    try:
        response = post_form(staff, "/alerts/manage/deliveries", {}, token_from="/alerts/manage/deliveries")
        assert response.status_code == 303
        assert len(down.messages) == 1  # retried at once, in this request (immediate queue in tests)
    finally:
        down.stop()
    assert deliveries(app)[0].status == "sent"


def test_a_refused_address_fails_alone_and_the_rest_are_sent(mailing, moderator, smtp):
    in_app(mailing, make_subscribers, 3)
    smtp.inbox.refuse.add("subscriber1@example.org")
    publish(mailing, moderator, draft(mailing, moderator))
    assert sorted(env.rcpt_tos[0] for env in smtp.inbox.envelopes) == ["subscriber0@example.org",
                                                                        "subscriber2@example.org"]
    statuses = [(row.status, row.last_error) for row in deliveries(mailing)]
    assert statuses == [("sent", None), ("failed", "SMTPRecipientsRefused"), ("sent", None)]


def test_claims_of_a_dead_worker_go_back_to_pending_and_live_ones_stay(mailing, moderator, smtp):
    from plugins.alerts import delivery
    from plugins.alerts.models import Delivery

    queued_rows = in_app(mailing, make_subscribers, 4)
    assert queued_rows
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    gone.wait()
    dead = f"{claims.HOST}:{gone.pid}:{claims.process_start(gone.pid)}:{gone.pid}"
    with mailing.app_context(), connection():
        alert = draft(mailing, moderator)
        for user_id in queued_rows[:2]:
            Delivery.create(key=f"dead:{user_id}", alert=alert.id, user=user_id, channel="email", status="sending",
                            claimed_by=dead, claimed_at=datetime.datetime.utcnow())
        me = claims.claimer()
        for user_id in queued_rows[2:]:
            Delivery.create(key=f"live:{user_id}", alert=alert.id, user=user_id, channel="email", status="sending",
                            claimed_by=me, claimed_at=datetime.datetime.utcnow())
    assert in_app(mailing, delivery.release_dead_claims) == 2
    states = {row.key.split(":")[0]: row.status for row in deliveries(mailing)}
    assert states == {"dead": "pending", "live": "sending"}


def test_the_longest_due_messages_are_claimed_first_and_none_before_their_time(on, make_app, moderator, smtp):
    from plugins.alerts import delivery
    from plugins.alerts.models import Delivery

    queued = make_app({**mail_settings(smtp), "QUEUE_IMMEDIATE": False})
    users = in_app(queued, make_subscribers, 3)
    alert = draft(queued, moderator)
    now = datetime.datetime.utcnow()
    with queued.app_context(), connection():
        rows = [Delivery.create(key=f"k:{user_id}", alert=alert.id, user=user_id, channel="email",
                                next_attempt_at=now - datetime.timedelta(minutes=minutes))
                for minutes, user_id in zip((1, 30, 10), users, strict=True)]
        Delivery.create(key="later", alert=alert.id, user=users[0], channel="email",
                        next_attempt_at=now + datetime.timedelta(hours=1))
    me = claims.claimer()
    assert in_app(queued, delivery.claim, "email", me, 2) == [rows[1].id, rows[2].id]
    assert in_app(queued, delivery.claim, "email", me, 5) == [rows[0].id]


def test_a_message_to_an_account_disabled_since_publishing_is_cancelled(on, make_app, moderator, smtp):
    from core.accounts.models import User
    from plugins.alerts import delivery

    queued = make_app({**mail_settings(smtp), "QUEUE_IMMEDIATE": False})
    in_app(queued, make_subscribers, 3)
    publish(queued, moderator, draft(queued, moderator))
    gone = in_app(queued, lambda: User.by_email("subscriber1@example.org").id)
    in_app(queued, lambda: User.update(active=False).where(User.id == gone).execute())
    assert in_app(queued, delivery.drain, "email") == 2
    assert sorted(env.rcpt_tos[0] for env in smtp.inbox.envelopes) == ["subscriber0@example.org",
                                                                        "subscriber2@example.org"]
    assert sorted((row.user_id == gone, row.status) for row in deliveries(queued)) == [
        (False, "sent"), (False, "sent"), (True, "cancelled")]
    queued.extensions["redumbrella.queue"].huey.flush()


# -- SMS ---------------------------------------------------------------------------------------


def test_sms_through_a_real_http_gateway(on, make_app, moderator):
    gateway = GatewayServer().start()
    try:
        app = make_app({"SMS_BACKEND": "http", "SMS_GATEWAY_URL": gateway.url, "SMS_GATEWAY_USERNAME": "AC123",
                        "SMS_GATEWAY_PASSWORD": "secret-token", "SMS_SENDER": "+447700900000",
                        "BASE_URL": "https://notes.example.org"})
        in_app(app, make_subscribers, 2, channels="sms", sms_number="+447700900111")
        alert = draft(app, moderator)
        publish(app, moderator, alert)
    finally:
        gateway.stop()
    assert len(gateway.requests) == 2
    first = gateway.requests[0]
    assert first["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert first["content_type"] == "application/x-www-form-urlencoded"
    assert first["form"]["To"] == "+447700900111" and first["form"]["From"] == "+447700900000"
    assert first["form"]["Body"].startswith("There is something new") and f"/n/{alert.id}" in first["form"]["Body"]
    import base64

    assert first["authorization"] == "Basic " + base64.b64encode(b"AC123:secret-token").decode()
    assert {r["idempotency"] for r in gateway.requests} == {row.key for row in deliveries(app)}
    assert {row.status for row in deliveries(app)} == {"sent"}


def test_a_gateway_error_is_retried(on, make_app, moderator):
    from plugins.alerts import delivery

    gateway = GatewayServer(status=503).start()
    try:
        app = make_app({"SMS_BACKEND": "http", "SMS_GATEWAY_URL": gateway.url, "SMS_SENDER": "Notes",
                        "BASE_URL": "https://n.example.org"})
        in_app(app, make_subscribers, 1, channels="sms", sms_number="+447700900111")
        publish(app, moderator, draft(app, moderator))
        row = deliveries(app)[0]
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SmsGateway:503")
        gateway.status = 201
        _make_due(app)
        in_app(app, delivery.sweep)
    finally:
        gateway.stop()
    assert len(gateway.requests) == 2 and deliveries(app)[0].status == "sent"


def test_sms_file_backend_for_development(on, make_app, moderator, tmp_path):
    app = make_app({"SMS_BACKEND": "file", "BASE_URL": "https://notes.example.org"})
    in_app(app, make_subscribers, 1, channels="sms,email", sms_number="+447700900222")
    publish(app, moderator, draft(app, moderator))
    lines = (tmp_path / "instance" / "sms" / "outbox.jsonl").read_text().splitlines()
    assert len(lines) == 1
    sent = json.loads(lines[0])
    assert sent["to"] == "+447700900222" and "/n/" in sent["body"]
    assert {row.channel: row.status for row in deliveries(app)} == {"sms": "sent", "email": "sent"}


def test_another_plugin_can_send_sms_through_the_hook(on, make_app, moderator):
    sms_plugin = sms_test_plugin()
    app = make_app({"SMS_BACKEND": "carrier-pigeon", "BASE_URL": "https://notes.example.org"},
                   extra_plugins=[sms_plugin])
    enable(app, "sms_test")
    in_app(app, make_subscribers, 1, channels="sms", sms_number="+447700900333")
    publish(app, moderator, draft(app, moderator))
    assert [(to, key.endswith(":sms")) for to, _body, key in sms_plugin.SENT] == [("+447700900333", True)]
    assert deliveries(app)[0].status == "sent"


# -- corrections and withdrawals ------------------------------------------------------------------


def correct(app, moderator, alert, **changes):
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    return in_app(app, lambda: service.update(Alert.get_by_id(alert.id), changes, User.get_by_id(moderator.id)))


def withdraw(app, moderator, alert, reason=None):
    from core.accounts.models import User
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    return in_app(app, lambda: service.withdraw(Alert.get_by_id(alert.id), User.get_by_id(moderator.id), reason))


def by_recipient(server, messages=None) -> dict:
    envelopes = server.inbox.envelopes[-len(messages):] if messages else server.inbox.envelopes
    messages = messages or server.messages
    return {env.rcpt_tos[0]: message for env, message in zip(envelopes, messages, strict=True)}


LOCK_SCREEN_WORDS = ("alert", "danger", "warning", "sex", "ugly", "title-text", "summary", "london", "umbrella")


def zone_where_the_day_has_just_begun() -> str:
    """A fixed-offset time zone whose local hour is 0 now, so no daily digest is due during a test
    (it goes out once the digest hour has come, 18:00 by default) whatever the time of the run."""
    hour = datetime.datetime.now(datetime.UTC).hour
    return f"Etc/GMT+{hour}" if hour <= 12 else f"Etc/GMT-{24 - hour}"


def test_a_correction_reaches_each_immediate_subscriber_once_with_the_updated_text(mailing, moderator, smtp):
    from plugins.alerts import delivery

    mailing.config["DEFAULT_TIMEZONE"] = zone_where_the_day_has_just_begun()  # the daily digest is not due
    settings(mailing, email_details=True)
    london = in_app(mailing, make_subscribers, 3, region="london", start=0)
    in_app(mailing, make_subscribers, 2, region="wales", start=100)
    in_app(mailing, make_subscribers, 1, region="london", start=200, frequency="daily")
    alert = draft(mailing, moderator)
    publish(mailing, moderator, alert)
    assert len(smtp.messages) == 3
    corrected = correct(mailing, moderator, alert, summary="CORRECTED-SUMMARY: the number is 07700 900999.")
    assert len(smtp.messages) == 6
    sent = by_recipient(smtp, smtp.messages[3:])
    assert sorted(sent) == [f"subscriber{n}@example.org" for n in range(3)]  # not Wales, not the digest
    for message in sent.values():
        body = message.get_content().replace("\r\n", "\n")
        assert message["Subject"] == "Something was updated"
        first_line = body.split("\n")[0]
        assert first_line == "Something for you to read has been updated. Sign in to see the latest version:"
        assert f"https://notes.example.org/n/{alert.id}" in body
        for word in LOCK_SCREEN_WORDS:
            assert word not in (message["Subject"] + first_line).lower(), word
        assert "CORRECTED-SUMMARY: the number is 07700 900999." in body and "SUMMARY-TEXT" not in body
    assert len(set(message_ids(smtp))) == 6
    updates = [row for row in deliveries(mailing) if row.kind == "update"]
    assert sorted(row.key for row in updates) == sorted(f"alert:{alert.id}:v{corrected.version}:{user}:email"
                                                        for user in london)
    # Sweeping and draining again repeats nothing.
    in_app(mailing, delivery.sweep)
    in_app(mailing, delivery.drain, "email")
    assert len(smtp.messages) == 6
    # A second correction is a new version: one more message each, with the newest text.
    second = correct(mailing, moderator, alert, summary="SECOND-FIX of the summary.")
    assert second.version == corrected.version + 1
    assert len(smtp.messages) == 9
    assert all("SECOND-FIX" in message.get_content() for message in smtp.messages[6:])
    in_app(mailing, delivery.sweep)
    assert len(smtp.messages) == 9 and len(set(message_ids(smtp))) == 9
    # A change members cannot see (the staff's review date) is not news: nothing is sent.
    correct(mailing, moderator, alert, review_on=datetime.date.today() + datetime.timedelta(days=30))
    assert len(smtp.messages) == 9
    held = [row for row in deliveries(mailing) if row.status == "held"]
    assert [row.kind for row in held] == ["alert"]  # the digest subscriber's alert, listed once


def test_a_correction_sends_the_alert_itself_to_people_who_never_had_it(mailing, moderator, smtp):
    in_app(mailing, make_subscribers, 1, region="london", start=0)
    alert = draft(mailing, moderator)
    publish(mailing, moderator, alert)
    newcomer = in_app(mailing, make_subscribers, 1, region="london", start=1)[0]
    scots = in_app(mailing, make_subscribers, 1, region="scotland", start=2)[0]
    correct(mailing, moderator, alert, regions=["london", "scotland"])
    assert len(smtp.messages) == 4
    sent = by_recipient(smtp, smtp.messages[1:])
    assert {address: message["Subject"] for address, message in sent.items()} == {
        "subscriber0@example.org": "Something was updated",  # had it: told it changed
        "subscriber1@example.org": "A new update",  # subscribed since: gets the alert itself
        "subscriber2@example.org": "A new update",  # the correction added their region
    }
    keys = {row.user_id: row.key for row in deliveries(mailing) if row.kind == "alert"}
    assert keys[newcomer] == f"alert:{alert.id}:{newcomer}:email" and keys[scots] == f"alert:{alert.id}:{scots}:email"


def test_corrections_come_in_each_recipients_language_and_keep_the_instances_wording(mailing, moderator, smtp):
    in_app(mailing, make_subscribers, 1, start=0, locale="es")
    in_app(mailing, make_subscribers, 1, start=1, locale="ro")
    in_app(mailing, make_subscribers, 1, start=2, locale="pt_BR")
    alert = draft(mailing, moderator)
    publish(mailing, moderator, alert)
    correct(mailing, moderator, alert, severity="high")
    sent = by_recipient(smtp, smtp.messages[3:])
    assert {address: message["Subject"] for address, message in sent.items()} == {
        "subscriber0@example.org": "Algo se ha actualizado",
        "subscriber1@example.org": "Ceva a fost actualizat",
        "subscriber2@example.org": "Algo foi atualizado",
    }
    assert sent["subscriber0@example.org"].get_content().startswith("Se ha actualizado algo que puedes leer.")
    settings(mailing, email_subject="Your notes", email_text="Open: {link}")
    correct(mailing, moderator, alert, severity="low")
    for message in smtp.messages[6:]:
        body = message.get_content().replace("\r\n", "\n")
        assert message["Subject"] == "Your notes"
        assert body.split("\n")[1] == f"Open: https://notes.example.org/n/{alert.id}"
        assert body.split("\n")[0] not in ("", "Open: ") and "updated" not in body.split("\n")[0]


def test_digest_subscribers_get_corrections_in_their_digest(mailing, moderator, smtp):
    from plugins.alerts import delivery

    in_app(mailing, make_subscribers, 2, frequency="daily")
    first, second = draft(mailing, moderator), draft(mailing, moderator)
    publish(mailing, moderator, first)
    publish(mailing, moderator, second)
    correct(mailing, moderator, first, summary="Corrected before the digest went.")
    # Not sent yet: the digest will list it once, as it reads then.
    assert [row.kind for row in deliveries(mailing) if row.status == "held"] == ["alert"] * 4
    assert in_app(mailing, delivery.build_digests, datetime.datetime(2030, 1, 1, 18, 0)) == 2
    in_app(mailing, delivery.drain, "email")
    assert len(smtp.messages) == 2
    assert "There are 2 new things" in smtp.messages[0].get_content()
    # After the digest went: the correction waits for the next one, which says so.
    correct(mailing, moderator, second, summary="Corrected after the digest went.")
    third = draft(mailing, moderator)
    publish(mailing, moderator, third)
    assert smtp.messages[2:] == []
    assert in_app(mailing, delivery.build_digests, datetime.datetime(2030, 1, 2, 18, 0)) == 2
    in_app(mailing, delivery.drain, "email")
    assert len(smtp.messages) == 4
    body = smtp.messages[2].get_content()
    assert smtp.messages[2]["Subject"] == "Your daily update"
    assert body.startswith("1 new thing for you to read. 1 thing for you to read has been updated. Sign in to see "
                           "them:")
    assert "https://notes.example.org/n/" in body
    in_app(mailing, delivery.sweep)
    assert len(smtp.messages) == 4


def test_withdrawing_tells_the_people_it_reached_and_never_why(on, make_app, moderator, smtp, tmp_path):
    from plugins.alerts import delivery

    app = make_app({**mail_settings(smtp), "SMS_BACKEND": "file"})
    settings(app, email_details=True)
    reached = in_app(app, make_subscribers, 2, channels="email,sms", sms_number="+447700900555")
    daily = in_app(app, make_subscribers, 1, start=10, frequency="daily")
    digested = in_app(app, make_subscribers, 1, start=20, frequency="daily")
    alert = draft(app, moderator, phones=["07700 900123"])
    publish(app, moderator, alert)
    in_app(app, lambda: delivery.build_digests(datetime.datetime(2030, 1, 1, 18, 0)))
    from plugins.alerts.models import Delivery

    with app.app_context(), connection():  # one digest went, the other person's is still to come
        Delivery.update(status="held", digest=None).where(Delivery.user == daily[0]).execute()
        Delivery.delete().where((Delivery.kind == "digest") & (Delivery.user == daily[0])).execute()
    in_app(app, delivery.drain, "email")
    assert len(smtp.messages) == 3
    withdraw(app, moderator, alert, reason="REASON-FOR-STAFF: the wrong man was named.")
    assert len(smtp.messages) == 5
    sent = by_recipient(smtp, smtp.messages[3:])
    assert sorted(sent) == ["subscriber0@example.org", "subscriber1@example.org"]
    for message in sent.values():
        body = message.get_content().replace("\r\n", "\n")
        assert message["Subject"] == "Something was withdrawn"
        assert body.startswith("Something we sent you has been withdrawn. Please do not pass it on. Sign in to see "
                               "what is current:\nhttps://notes.example.org/n/\n")
        assert "TITLE-TEXT" in body  # named, so people know which one to stop passing on
        for absent in ("SUMMARY-TEXT", "REASON", "wrong man", "7700"):
            assert absent not in body, absent
    sms_lines = [json.loads(line) for line in (tmp_path / "instance" / "sms" / "outbox.jsonl").read_text()
                 .splitlines()]
    assert [line["body"].split("\n")[0] for line in sms_lines[2:]] == [
        "Something we sent you has been withdrawn. Please do not pass it on. Sign in to see what is current:"] * 2
    assert all("REASON" not in line["body"] for line in sms_lines)
    rows = deliveries(app)
    notices = [row for row in rows if row.kind == "withdraw"]
    assert {(row.user_id, row.channel, row.status) for row in notices} == {
        *((user, channel, "sent") for user in reached for channel in ("email", "sms")), (digested[0], "email", "held")}
    assert {row.status for row in rows if row.user_id == daily[0]} == {"cancelled"}  # never reached: nothing
    # The person who had it in a digest hears in the next one.
    assert in_app(app, delivery.build_digests, datetime.datetime(2030, 1, 2, 18, 0)) == 1
    in_app(app, delivery.drain, "email")
    assert len(smtp.messages) == 6
    assert smtp.messages[5].get_content().startswith(
        "1 thing we sent you has been withdrawn. Please do not pass it on. Sign in to see what is current:")
    in_app(app, delivery.sweep)
    assert len(smtp.messages) == 6


# -- subscriptions -------------------------------------------------------------------------------


def test_members_choose_regions_channels_and_frequency(on, make_user):
    client = on.test_client()
    member = make_user("member", email="sub@example.org")
    sign_in(client, member)
    page = client.get("/alerts/subscription").get_data(as_text=True)
    assert "Text message" not in page  # no SMS backend configured
    response = post_form(client, "/alerts/subscription", {"channels": ["email", "web"], "regions": ["wales"],
                                                           "frequency": "daily"}, token_from="/alerts/subscription")
    assert response.status_code == 303
    answer = client.get("/api/v1/me/subscriptions").get_json()
    assert answer == {"regions": ["wales"], "all_regions": False, "channels": ["email", "web"],
                      "frequency": "daily", "sms_number": None}
    token = csrf_token(client, "/alerts/subscription")
    response = client.put("/api/v1/me/subscriptions", json={"regions": ["london", "scotland"], "channels": ["email"]},
                          headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json()["regions"] == ["london", "scotland"]
    assert response.get_json()["frequency"] == "immediate"
    for bad, field in (({"regions": ["atlantis"]}, "regions"), ({"channels": ["pigeon"]}, "channels"),
                       ({"channels": ["sms"], "regions": ["london"]}, "channels"),
                       ({"channels": ["email"], "regions": []}, "regions"),
                       ({"frequency": "hourly"}, "frequency"), ({"colour": "red"}, "colour")):
        response = client.put("/api/v1/me/subscriptions", json=bad, headers={"X-CSRFToken": token})
        assert response.status_code == 422, bad
        assert field in response.get_json()["error"]["fields"], (bad, response.get_json())


def test_sms_needs_a_number_when_offered(on, make_app, make_user):
    app = make_app({"SMS_BACKEND": "file"})
    client = app.test_client()
    sign_in(client, make_user("member", email="sms@example.org"))
    token = csrf_token(client, "/alerts/subscription")
    missing = client.put("/api/v1/me/subscriptions", json={"channels": ["sms"], "regions": ["london"]},
                         headers={"X-CSRFToken": token})
    assert missing.status_code == 422 and "sms_number" in missing.get_json()["error"]["fields"]
    saved = client.put("/api/v1/me/subscriptions", json={"channels": ["sms"], "regions": ["london"],
                                                         "sms_number": "07911 123444"}, headers={"X-CSRFToken": token})
    assert saved.get_json()["sms_number"] == "+447911123444"
    page = post_form(client, "/alerts/subscription", {"channels": ["sms"], "regions": ["london"],
                                                       "sms_number": "not a number"}, token_from="/alerts/subscription")
    assert page.status_code == 422 and "does not look like a mobile number" in page.get_data(as_text=True)


@pytest.mark.parametrize(("number", "message"), [
    ("12345", "This does not look like a mobile number."),                  # was saved as +4412345
    ("07911 12345", "This does not look like a mobile number."),            # a digit missing
    ("07700 900444", "This does not look like a mobile number."),           # a range not in use: nobody gets it
    ("020 7946 0018", "Text messages can only go to a mobile number"),      # a landline
    ("0800 123456", "Text messages can only go to a mobile number"),
])
def test_a_text_message_number_must_be_a_mobile_in_use(on, make_app, make_user, number, message):
    app = make_app({"SMS_BACKEND": "file"})
    client = app.test_client()
    sign_in(client, make_user("member", email="sms@example.org"))
    token = csrf_token(client, "/alerts/subscription")
    refused = client.put("/api/v1/me/subscriptions", json={"channels": ["sms"], "regions": ["london"],
                                                           "sms_number": number}, headers={"X-CSRFToken": token})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"]["sms_number"][0].startswith(message)
    page = post_form(client, "/alerts/subscription", {"channels": ["sms"], "regions": ["london"],
                                                       "sms_number": number}, token_from="/alerts/subscription")
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    assert client.get("/api/v1/me/subscriptions").get_json()["sms_number"] is None  # nothing was saved
    saved = post_form(client, "/alerts/subscription", {"channels": ["sms"], "regions": ["london"],
                                                        "sms_number": "+44 7911 123 555"},
                      token_from="/alerts/subscription")
    assert saved.status_code == 303
    assert client.get("/api/v1/me/subscriptions").get_json()["sms_number"] == "+447911123555"


def test_a_refused_text_message_number_is_explained_in_the_member_s_language(on, make_app, make_user):
    app = make_app({"SMS_BACKEND": "file"})
    client = app.test_client()
    sign_in(client, make_user("member", email="sms-es@example.org"))
    post_form(client, "/language", {"locale": "es", "next": "/"})
    token = csrf_token(client, "/alerts/subscription")
    for number, spanish in (("12345", "Esto no parece un número de móvil."),
                            ("020 7946 0018", "Los mensajes de texto solo pueden ir a un número de móvil")):
        refused = client.put("/api/v1/me/subscriptions", json={"channels": ["sms"], "regions": ["london"],
                                                               "sms_number": number}, headers={"X-CSRFToken": token})
        assert refused.status_code == 422
        assert refused.get_json()["error"]["fields"]["sms_number"][0].startswith(spanish)


def test_turning_a_channel_off_cancels_what_was_not_sent_yet(on, make_app, moderator, make_user, smtp):
    queued = make_app({**mail_settings(smtp), "QUEUE_IMMEDIATE": False})
    member = make_user("member", email="stop@example.org")
    client = queued.test_client()
    sign_in(client, member)
    post_form(client, "/alerts/subscription", {"channels": ["email"], "regions": ["london"]},
              token_from="/alerts/subscription")
    publish(queued, moderator, draft(queued, moderator))
    post_form(client, "/alerts/subscription", {"channels": ["web"], "regions": ["london"]},
              token_from="/alerts/subscription")
    from plugins.alerts import delivery

    in_app(queued, delivery.drain, "email")
    assert smtp.messages == [] and [row.status for row in deliveries(queued)] == ["cancelled"]
    queued.extensions["redumbrella.queue"].huey.flush()


# -- retention -----------------------------------------------------------------------------------


def test_old_check_records_and_finished_messages_are_deleted(mailing, moderator, smtp, make_user):
    from core.retention import sweep
    from core.throttle import ThrottleCount
    from plugins.alerts.models import CheckEvent, Delivery

    in_app(mailing, make_subscribers, 2)
    publish(mailing, moderator, draft(mailing, moderator, phones=["07700 900123"]))
    member = mailing.test_client()
    sign_in(member, make_user("member", email="checker@example.org"))
    member.post("/api/v1/check", json={"identifier": "07700 900123"},
                headers={"X-CSRFToken": csrf_token(member, "/alerts/check")})
    with mailing.app_context(), connection():
        assert CheckEvent.select().count() == 1 and Delivery.select().count() == 2
        pending = Delivery.create(key="still-pending", alert=Delivery.get().alert_id, user=Delivery.get().user_id,
                                  channel="email", status="held")
    later = datetime.datetime.utcnow() + datetime.timedelta(days=100)
    with mailing.app_context(), connection():
        assert ThrottleCount.select().count() == 2  # today's checks, by the account and from the address
        sweep(mailing, now=later)
        assert CheckEvent.select().count() == 0 and ThrottleCount.select().count() == 0
        assert [row.key for row in Delivery.select()] == [pending.key]  # only what is still to be sent


def test_a_digest_with_one_new_alert_says_so_in_the_singular(on):
    from plugins.alerts import delivery

    lines, prompt = in_app(on, delivery.digest_lines, {"new": 1, "updated": 0, "withdrawn": 0})
    assert (lines, prompt) == ([], "There is 1 new thing for you to read. Sign in to see it:")
    lines, prompt = in_app(on, delivery.digest_lines, {"new": 3, "updated": 0, "withdrawn": 0})
    assert prompt == "There are 3 new things for you to read. Sign in to see them:"
