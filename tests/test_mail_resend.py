"""An e-mail a killed worker was sending is sent again (core.mail.record.resend_lost): a real SMTP
server holds the first message, the real queue worker (`redumbrella worker`) is SIGKILLed while it
waits, and after the sweep a new worker sends it: once, on the SQLite queue and on Redis."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from fixtures.processes import instance_env, start_worker, wait_for
from helpers import enable
from smtp_server import Inbox, SmtpServer
from test_reporting_common import api_report

from core.db import connection

pytestmark = pytest.mark.slow


class HoldingInbox(Inbox):
    """Holds each message it gets while `holding`, then refuses it; takes them once let go."""

    holding = True
    held = 0

    async def handle_DATA(self, server, session, envelope):
        if self.holding:
            self.held += 1
            await asyncio.sleep(20)
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp():
    server = SmtpServer(inbox=HoldingInbox()).start()
    yield server
    server.stop()


def _rows(app):
    from core.mail import OutgoingMail

    with app.app_context(), connection():
        return [(row.kind, row.status, row.claimed_by is not None) for row in OutgoingMail.select()]


def test_a_moderator_notice_a_killed_worker_was_sending_is_sent_again_once(
        app, make_app, make_user, smtp, database_url, tmp_path, queue_settings):
    enable(app, "reporting")
    settings = {**smtp.overrides, **queue_settings, "MAIL_TIMEOUT": 60}
    queued = make_app({**settings, "QUEUE_IMMEDIATE": False})
    queued.extensions["redumbrella.queue"].huey.flush()
    make_user("moderator", email="mod@example.org")
    assert api_report(queued.test_client()).status_code == 201
    assert _rows(queued) == [("reporting_moderator_notice", "queued", False)]

    env = instance_env(tmp_path / "instance", database_url, **settings)
    first = start_worker(env, tmp_path / "worker1.log")
    try:
        wait_for(lambda: smtp.inbox.held >= 1, 60, "the worker to hand the notice to the mail server", first)
        os.killpg(first.popen.pid, signal.SIGKILL)
        first.popen.wait(timeout=10)
    finally:
        first.stop()
    assert _rows(queued) == [("reporting_moderator_notice", "queued", True)]  # claimed by a worker that is gone
    pending = queued.extensions["redumbrella.queue"].huey.pending()
    assert "reporting.notify_moderators" not in [task.name for task in pending]  # the queue forgot it

    smtp.inbox.holding = False
    from core.mail.record import resend_lost

    with queued.app_context(), connection():
        assert resend_lost.run_now() == 1  # the sweep, as the worker runs it every minute
        assert resend_lost.run_now() == 0  # and only once
    second = start_worker(env, tmp_path / "worker2.log")
    try:
        wait_for(lambda: _rows(queued) == [("reporting_moderator_notice", "sent", False)], 60, "the notice to be sent",
                 second)
    finally:
        second.stop()
    assert [message["To"] for message in smtp.messages] == ["mod@example.org"]


def test_the_sweep_runs_in_every_worker_and_leaves_live_claims_alone(app):
    """It is one of core's periodic tasks; a claim of this very process is alive and is not taken."""
    from core.claims import claimer
    from core.mail import OutgoingMail
    from core.mail.record import resend_lost

    assert "core.resend_lost" in app.extensions["redumbrella.queue"].names
    with app.app_context(), connection():
        row = OutgoingMail.create(kind="reporting_moderator_notice", target="report:R-TEST01",
                                  task="reporting.notify_moderators", task_args="[1]", claimed_by=claimer())
        assert resend_lost.run_now() == 0
        assert OutgoingMail.get_by_id(row.id).claimed_by is not None
