"""Delivery at scale, through real servers and a real worker process:

- one alert to 1,000 subscribers over a real SMTP server (aiosmtpd): each exactly once;
- the same with a real queue worker (`redumbrella worker`, two threads) SIGKILLed in the middle
  and started again: every message arrives, and at most one per worker thread arrives twice (the
  one it was handing to the mail server at the instant it died), on the SQLite queue and on Redis.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import pytest
from fixtures.processes import instance_env, json_lines, start_worker, wait_for
from helpers import enable
from smtp_server import Inbox, SmtpServer
from test_alerts_helpers import mail_settings, make_report, make_subscribers, message_ids

from core.db import connection

pytestmark = pytest.mark.slow
SUBSCRIBERS = 1000
WORKER_THREADS = 2


class SlowInbox(Inbox):
    """Accepts each message after a few milliseconds, like a real server, so a kill lands mid-run."""

    delay = 0.004

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp():
    server = SmtpServer(inbox=SlowInbox()).start()
    yield server
    server.stop()


def in_app(app, function, *args, **kwargs):
    with app.test_request_context(), connection():
        return function(*args, **kwargs)


def publish_to_subscribers(app, make_user):
    from core.accounts.models import User
    from plugins.alerts import service

    moderator = make_user("moderator", email="mod@example.org")
    in_app(app, make_subscribers, SUBSCRIBERS)

    def make():
        actor = User.get_by_id(moderator.id)
        alert = service.create_from_reports([make_report()], {"summary": "Take care."}, actor)
        service.review(alert, actor)
        service.publish(alert, actor)
        return alert

    return in_app(app, make)


def statuses(app) -> Counter:
    from plugins.alerts.models import Delivery

    with app.app_context(), connection():
        return Counter(row.status for row in Delivery.select(Delivery.status))


def test_one_alert_reaches_1000_subscribers_exactly_once(app, make_app, make_user, smtp):
    enable(app, "reporting", "alerts")
    mailing = make_app(mail_settings(smtp))
    alert = publish_to_subscribers(mailing, make_user)
    ids = message_ids(smtp)
    assert len(ids) == SUBSCRIBERS and len(set(ids)) == SUBSCRIBERS
    assert sorted(env.rcpt_tos[0] for env in smtp.inbox.envelopes) == sorted(
        f"subscriber{n}@example.org" for n in range(SUBSCRIBERS))
    assert all(f"/n/{alert.id}" in message.get_content() for message in smtp.messages)
    assert statuses(mailing) == Counter({"sent": SUBSCRIBERS})


def test_a_worker_killed_mid_delivery_and_restarted_delivers_all_with_at_most_one_repeat_per_worker(
        app, make_app, make_user, smtp, database_url, tmp_path, queue_settings):
    enable(app, "reporting", "alerts")
    settings = {**mail_settings(smtp), **queue_settings, "QUEUE_WORKERS": WORKER_THREADS}
    queued = make_app({**settings, "QUEUE_IMMEDIATE": False})
    huey = queued.extensions["redumbrella.queue"].huey
    huey.flush()
    publish_to_subscribers(queued, make_user)
    assert smtp.messages == [] and statuses(queued) == Counter({"pending": SUBSCRIBERS})
    assert huey.pending_count() >= 1, "publishing asked the queue to drain the outbox"

    env = instance_env(tmp_path / "instance", database_url, **settings)
    first = start_worker(env, tmp_path / "worker1.log", workers=WORKER_THREADS)
    try:
        wait_for(lambda: len(smtp.messages) >= 250, 60, "the first 250 messages", first)
        os.killpg(first.popen.pid, signal.SIGKILL)
        first.popen.wait(timeout=10)  # reaped: the process is gone, as after a real crash
    finally:
        first.stop()
    at_kill = len(smtp.messages)
    time.sleep(0.3)
    assert at_kill < SUBSCRIBERS, "the worker was killed in the middle of the run"
    stuck = statuses(queued)
    assert stuck["sent"] < SUBSCRIBERS

    second = start_worker(env, tmp_path / "worker2.log", workers=WORKER_THREADS)
    try:
        wait_for(lambda: len(set(message_ids(smtp))) >= SUBSCRIBERS, 120, "every message", second)
        wait_for(lambda: statuses(queued) == Counter({"sent": SUBSCRIBERS}), 30, "every row marked sent", second)
        time.sleep(1.0)  # anything sent twice would arrive by now
    finally:
        second.stop()
    ids = message_ids(smtp)
    repeats = len(ids) - len(set(ids))
    assert len(set(ids)) == SUBSCRIBERS
    assert repeats <= WORKER_THREADS, f"{repeats} messages were sent twice"
    assert sorted(set(env.rcpt_tos[0] for env in smtp.inbox.envelopes)) == sorted(
        f"subscriber{n}@example.org" for n in range(SUBSCRIBERS))
    lines = json_lines(second.output())
    assert any(line.get("event") == "alerts_claims_released" for line in lines), second.output()[-2000:]
    assert not any(line.get("level") == "ERROR" for line in lines), second.output()[-2000:]
    huey.flush()
