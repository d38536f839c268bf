"""Modules' e-mails that were not sent are shown to their staff too (core.mail.kinds).

Each plugin declares the kinds of e-mail it queues (register_mail_kinds): the page of messages not
sent shows a failed moderators' notice to moderators in words, "Try again" queues its own task and
it arrives; a kind is shown only to staff holding its permission and only while its module is on;
a kind outside the plugin's name stops start-up; rows queued before tasks were kept get theirs.
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType

import pytest
from helpers import enable, post_form, sign_in
from smtp_server import SmtpServer, free_port
from test_reporting_common import api_report

from core.db import connection, db
from core.hookspecs import hookimpl
from core.mail import MAIL_RETRIES, MailKind, OutgoingMail
from core.plugins import PluginInfo, PluginNameError, get_registry

PAGE = "/admin/messages"
NOTICE = "Notice to moderators that a report came in"


def in_db(app, function, *args):
    with app.app_context(), connection():
        return function(*args)


def _signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def test_a_moderators_notice_that_failed_is_listed_for_moderators_and_sent_again(make_app, make_user):
    from plugins.reporting.tasks import notify_moderators

    down = SmtpServer(port=free_port())  # nothing listens on this port yet
    app = make_app(down.overrides)
    enable(app, "reporting")
    moderator = make_user("moderator", email="mod@example.org")
    assert api_report(app.test_client(), environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 201
    row = in_db(app, OutgoingMail.get)
    assert (row.kind, row.status, row.attempts) == ("reporting_moderator_notice", "queued", 1)
    for _attempt in range(MAIL_RETRIES):  # what the queue does over the next half hour
        with app.test_request_context(), connection(), pytest.raises(Exception):  # noqa: B017
            notify_moderators.run_now(*json.loads(row.task_args), mail_id=row.id)
    assert in_db(app, lambda: OutgoingMail.get_by_id(row.id).status) == "failed"

    staff = _signed_in(app, moderator)
    listed = staff.get(PAGE).get_data(as_text=True)
    assert NOTICE in listed and "Not sent: every try failed" in listed and row.target in listed
    server = SmtpServer(port=down.port).start()
    try:
        assert post_form(staff, f"{PAGE}/{row.id}/retry", token_from=PAGE).status_code == 303
        assert server.wait_for(1)[0]["To"] == "mod@example.org"
    finally:
        server.stop()
    assert in_db(app, lambda: OutgoingMail.get_by_id(row.id).status) == "sent"


def test_a_modules_kind_is_shown_to_its_staff_only_and_only_while_it_is_on(app, make_user):
    enable(app, "training")
    row = in_db(app, lambda: OutgoingMail.create(kind="training_booking", target="training_booking:7",
                                                 status="failed", task="training.mail_booking",
                                                 task_args='[7, "booked"]'))
    label = "E-mail about a training booking"
    trainer = _signed_in(app, make_user("trainer", email="trainer@example.org"))
    moderator = _signed_in(app, make_user("moderator", email="mod@example.org"))
    page = trainer.get(PAGE).get_data(as_text=True)  # trainers may open the page, for their kind only
    assert label in page and "Messages not sent" in page and "Password reset link" not in page
    assert label not in moderator.get(PAGE).get_data(as_text=True)  # moderators do not run training
    refused = post_form(moderator, f"{PAGE}/{row.id}/retry", token_from=PAGE)
    assert refused.status_code == 404
    assert _signed_in(app, make_user("learner", email="learner@example.org")).get(PAGE).status_code == 403
    in_db(app, get_registry(app).set_enabled, "training", False)
    assert label not in trainer.get(PAGE).get_data(as_text=True)
    assert post_form(trainer, f"{PAGE}/{row.id}/retry", token_from=PAGE).status_code == 404
    assert in_db(app, lambda: OutgoingMail.get_by_id(row.id).status) == "failed"  # nothing was queued


def _plugin(name: str, kinds) -> ModuleType:
    module = ModuleType(f"{name}_hooks")
    module.plugin_info = PluginInfo(name=name, label=name)
    module.register_mail_kinds = hookimpl(lambda app: kinds)
    return module


def test_a_mail_kind_outside_the_plugins_name_or_permissions_stops_start_up(app, make_app):
    with pytest.raises(PluginNameError) as raised:
        make_app(extra_plugins=[_plugin("vanlog", [MailKind("reminder", "Reminder", "admin.users")])])
    assert str(raised.value) == "plugin vanlog declares mail kind reminder: name it vanlog_<what>"
    with pytest.raises(ValueError, match="names unknown permission vanlog.nothing"):
        make_app(extra_plugins=[_plugin("vanlog", [MailKind("vanlog_reminder", "Reminder", "vanlog.nothing")])])
    with pytest.raises(ValueError, match="at most|1 to 32"):
        MailKind("vanlog_" + "x" * 40, "Reminder", "admin.users")


def test_rows_queued_before_tasks_were_kept_get_theirs(app, ctx):
    """Core's 0094 and training's 0009: a failed link or booking e-mail from an older release can
    still be tried again, and training's old kinds become its one declared kind."""
    rows = [OutgoingMail.create(kind=kind, target=target, status="failed") for kind, target in (
        ("reset_password", "user:12"), ("invitation", "invitation:3"), ("training_reminder", "training_booking:9"),
        ("reset_password", "user:x"))]
    importlib.import_module("core.migrations.0094_outgoing_mail_tasks").up(None, db)
    importlib.import_module("plugins.training.migrations.0009_booking_mail_kind").up(None, db)
    found = [(r.kind, r.task, r.task_args) for r in (OutgoingMail.get_by_id(row.id) for row in rows)]
    assert found == [("reset_password", "core.mail_reset_link", "[12]"),
                     ("invitation", "core.mail_invitation", "[3]"),
                     ("training_booking", "training.mail_booking", '[9, "reminder"]'),
                     ("reset_password", None, None)]  # no record id to find: left, not guessed
