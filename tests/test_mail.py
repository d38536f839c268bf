"""core.mail against a real SMTP server (aiosmtpd in this process) and the file backend."""

from __future__ import annotations

import datetime
import os
import sqlite3
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from conftest import TEST_REDIS_URL
from helpers import post_form, sign_in
from smtp_server import SmtpServer, free_port

from core.config import ConfigError
from core.db import connection
from core.mail import (
    MailError,
    MailSession,
    MessageTemplate,
    PermanentFailure,
    TemporaryFailure,
    build_message,
    render_message,
    send_message,
    send_messages,
)


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 and a free port, for this test."""
    server = SmtpServer().start()
    yield server
    server.stop()


def test_message_rendered_in_recipients_language_with_neutral_subject(make_app, smtp_server):
    app = make_app(smtp_server.overrides)
    expires = datetime.datetime(2031, 3, 4, 12, 0)
    with app.app_context():
        send_message(render_message("sam@example.org", "mail/invitation.txt", "es", link="https://x.test/l",
                                    expires_at=expires))
        send_message(render_message("kim@example.org", "mail/invitation.txt", "pt_BR", link="https://x.test/l",
                                    expires_at=expires))
        send_message(render_message("lee@example.org", "mail/invitation.txt", "xx", link="https://x.test/l",
                                    expires_at=expires))
    spanish, portuguese, fallback = smtp_server.wait_for(3)
    assert spanish["To"] == "sam@example.org" and spanish["Content-Language"] == "es"
    assert "marzo de 2031" in spanish.get_content()  # the date is written the recipient's way
    assert portuguese["Content-Language"] == "pt-BR" and "março de 2031" in portuguese.get_content()
    assert fallback["Content-Language"] == "en" and "4 March 2031" in fallback.get_content()  # en_GB dates
    for message in (spanish, portuguese, fallback):
        assert message.get_content_type() == "text/plain"
        assert message["From"] == "Notes <notes@example.org>"
        subject = message["Subject"].lower()
        for outing in ("red umbrella", "ugly", "sex", "member", "report", "alert"):
            assert outing not in subject
        assert "https://x.test/l" in message.get_content()
        assert "X-Mailer" not in message


def test_many_messages_go_over_one_connection_and_a_refused_one_is_reported(make_app, smtp_server):
    app = make_app(smtp_server.overrides)
    smtp_server.inbox.refuse.add("gone@example.org")
    with app.app_context():
        messages = [build_message(address, "An update", "Hello.\n") for address in
                    ("a@example.org", "gone@example.org", "b@example.org")]
        results = send_messages(messages)
    assert results[0] is None and results[2] is None
    assert results[1] is not None
    received = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in received) == ["a@example.org", "b@example.org"]
    assert {envelope.mail_from for envelope in smtp_server.inbox.envelopes} == {"notes@example.org"}


def test_one_connection_for_a_batch(make_app, smtp_server):
    """aiosmtpd records the client's address and port per session: one batch, one client port."""
    ports = []

    async def remember(server, session, envelope):
        ports.append(session.peer[1])
        return await original(server, session, envelope)

    original = smtp_server.inbox.handle_DATA
    smtp_server.inbox.handle_DATA = remember
    app = make_app(smtp_server.overrides)
    with app.app_context():
        send_messages([build_message(f"p{i}@example.org", "An update", "Hello.") for i in range(4)])
        send_messages([build_message("q@example.org", "An update", "Hello.")])
    assert len(ports) == 5
    assert len(set(ports[:4])) == 1 and ports[4] != ports[0]


def test_a_line_the_server_dropped_is_opened_again_once_and_the_message_goes_once(make_app):
    """Mail servers drop an idle line (421): the next message was not handed over yet, so the
    session opens a new line and sends it; one copy arrives."""
    server = SmtpServer(idle_timeout=0.5).start()
    try:
        app = make_app(server.overrides)
        with app.app_context(), MailSession() as session:
            session.send_message(build_message("a@example.org", "An update", "One."))
            first = session.connection
            time.sleep(1.2)  # the server has said 421 and closed the line
            session.send_message(build_message("b@example.org", "An update", "Two."))
            assert session.connection is not None and session.connection is not first
        assert [message["To"] for message in server.wait_for(2)] == ["a@example.org", "b@example.org"]
        time.sleep(0.3)
        assert len(server.messages) == 2
    finally:
        server.stop()


def test_a_line_lost_during_data_is_a_temporary_failure_and_not_sent_again(make_app, smtp_server):
    """The server may have a message whose line broke during DATA: the session does not send it
    again (its caller decides), and the next message goes over a new line."""
    hung_up = []

    async def keep_then_hang_up(server, session, envelope):
        await original(server, session, envelope)
        if not hung_up:
            hung_up.append(session.peer)
            server.transport.close()
        return "250 Message accepted"

    original = smtp_server.inbox.handle_DATA
    smtp_server.inbox.handle_DATA = keep_then_hang_up
    app = make_app(smtp_server.overrides)
    with app.app_context(), MailSession() as session:
        with pytest.raises(TemporaryFailure, match="SMTPServerDisconnected"):
            session.send_message(build_message("a@example.org", "An update", "One."))
        assert session.connection is None
        session.send_message(build_message("b@example.org", "An update", "Two."))
    assert [message["To"] for message in smtp_server.wait_for(2)] == ["a@example.org", "b@example.org"]
    time.sleep(0.3)
    assert len(smtp_server.messages) == 2


def test_a_session_tells_a_refusal_for_now_from_one_for_good_and_keeps_its_line(make_app, smtp_server):
    async def busy_or_not(server, session, envelope, address, rcpt_options):
        if address == "busy@example.org":
            return "450 Mailbox busy"
        return await original(server, session, envelope, address, rcpt_options)

    original = smtp_server.inbox.handle_RCPT
    smtp_server.inbox.handle_RCPT = busy_or_not
    smtp_server.inbox.refuse.add("gone@example.org")
    app = make_app(smtp_server.overrides)
    with app.app_context(), MailSession() as session:
        template = MessageTemplate("An update", "Hello.")
        with pytest.raises(TemporaryFailure, match="SMTPRecipientsRefused:4xx"):
            session.send(template.envelope_from, "busy@example.org", template.render("busy@example.org", "k1"))
        line = session.connection
        with pytest.raises(PermanentFailure, match="SMTPRecipientsRefused"):
            session.send(template.envelope_from, "gone@example.org", template.render("gone@example.org", "k2"))
        with pytest.raises(PermanentFailure, match="UnusableAddress"):
            template.render("no address <x@example.org>", "k3")
        session.send(template.envelope_from, "ok@example.org", template.render("ok@example.org", "k4"))
        assert session.connection is line
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "ok@example.org" and message["Message-ID"] == template.message_id("k4")
    assert message["Subject"] == "An update" and message["From"] == "Notes <notes@example.org>"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_username_and_password(make_app):
    server = SmtpServer(username="mailer", password="s3cret-pass").start()
    try:
        app = make_app(server.overrides)
        with app.app_context():
            send_message(build_message("a@example.org", "An update", "Hello."))
        assert server.logins == ["mailer"] and len(server.wait_for(1)) == 1
        wrong = make_app({**server.overrides, "MAIL_PASSWORD": "not-the-password"})
        with wrong.app_context(), pytest.raises(MailError):
            send_message(build_message("a@example.org", "An update", "Hello."))
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_unreachable_server_raises_mail_error(make_app):
    app = make_app({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port(), "MAIL_DEFAULT_SENDER": "n@example.org",
                    "MAIL_TIMEOUT": 2, "BASE_URL": "https://notes.example.org"})
    assert app.config["MAIL_BACKEND"] == "smtp"
    with app.app_context(), pytest.raises(MailError):
        send_messages([build_message("a@example.org", "An update", "Hello.")])


def test_file_backend_writes_private_eml_files_in_the_instance_folder(make_app):
    app = make_app({"MAIL_BACKEND": "file"})
    with app.app_context():
        send_message(build_message("sam@example.org", "Your link", "Hello, this is the body.\n"))
    files = list((Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o077 == 0  # readable by the owner only
    message = message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert message["To"] == "sam@example.org" and message["Subject"] == "Your link"
    assert message.get_content() == "Hello, this is the body.\n"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"MAIL_BACKEND": "pigeon"}, "MAIL_BACKEND"),
        ({"MAIL_BACKEND": "smtp"}, "MAIL_SERVER"),
        ({"MAIL_SERVER": "mail.example.org"}, "MAIL_DEFAULT_SENDER"),
        ({"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org", "MAIL_USE_TLS": "yes",
          "MAIL_USE_SSL": "1"}, "cannot both"),
        ({"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org", "MAIL_PORT": "lots"}, "MAIL_PORT"),
        ({"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org", "MAIL_USERNAME": "u"}, "MAIL_PASSWORD"),
        ({"BASE_URL": "notes.example.org"}, "BASE_URL"),
        # Mail that cannot carry a working link is refused at start-up (issue 9, item 6).
        ({"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org"}, "REDUMBRELLA_BASE_URL must be set"),
        ({"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org", "BASE_URL": "/"},
         "REDUMBRELLA_BASE_URL must be set"),
        ({"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org", "BASE_URL": "/notes"},
         "REDUMBRELLA_BASE_URL must be a full address"),
        ({"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org", "BASE_URL": "https:///notes"},
         "REDUMBRELLA_BASE_URL must be a full address"),
        ({"BASE_URL": "https://notes.example.org/?x=1"}, "REDUMBRELLA_BASE_URL must be a full address"),
    ],
)
def test_bad_mail_settings_stop_the_app_with_one_clear_line(make_app, overrides, words):
    with pytest.raises(ConfigError, match=words):
        make_app(overrides)


def test_ports_follow_the_encryption_chosen(make_app):
    base = {"MAIL_SERVER": "m.example.org", "MAIL_DEFAULT_SENDER": "a@b.org", "BASE_URL": "https://m.example.org"}
    assert make_app(base).config["MAIL_PORT"] == 25
    assert make_app({**base, "MAIL_USE_TLS": True}).config["MAIL_PORT"] == 587
    assert make_app({**base, "MAIL_USE_SSL": "true"}).config["MAIL_PORT"] == 465


def _invite(client, email="new.colleague@example.org", locale="es"):
    return post_form(client, "/admin/invitations", {"email": email, "roles": ["moderator"], "locale": locale},
                     token_from="/admin/invitations")


def queue_storage_bytes(app) -> bytes:
    """Everything the queue has stored (waiting and scheduled tasks), read raw."""
    url = app.config["REDIS_URL"]
    if not url:
        with sqlite3.connect(Path(app.instance_path) / "queue.sqlite3") as raw:
            return b"".join(bytes(row[0]) for table in ("task", "schedule", "kv")
                            for row in raw.execute(f"SELECT value FROM {table}" if table == "kv"
                                                   else f"SELECT data FROM {table}"))
    import redis

    server, dumped = redis.Redis.from_url(url), b""
    for key in server.scan_iter("*"):
        kind = server.type(key)
        if kind == b"list":
            dumped += b"".join(server.lrange(key, 0, -1))
        elif kind == b"zset":
            dumped += b"".join(server.zrange(key, 0, -1))
        elif kind == b"hash":
            dumped += b"".join(k + v for k, v in server.hgetall(key).items())
        elif kind == b"string":
            dumped += server.get(key) or b""
    return dumped


def failed_send_is_retried(app, make_user, down: SmtpServer) -> None:
    """With a real (non-immediate) queue: the task's arguments are an id; a send that fails is
    scheduled again, and once the server answers the retry delivers the message."""
    admin = make_user("admin")
    client = app.test_client()
    sign_in(client, admin)
    assert _invite(client, email="canary.invitee@example.org").status_code == 303

    huey = app.extensions["redumbrella.queue"].huey
    stored = queue_storage_bytes(app)
    assert b"mail_invitation" in stored and b"canary.invitee" not in stored and b"@example.org" not in stored

    task = huey.dequeue()
    assert task.name == "core.mail_invitation" and len(task.args) == 1 and isinstance(task.args[0], int)
    huey.execute(task)  # the server is down: the task fails and is scheduled to run again
    later = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(hours=1)
    stored = queue_storage_bytes(app)
    assert b"canary.invitee" not in stored and b"/account/invitation/" not in stored
    retry = huey.read_schedule(later)
    assert len(retry) == 1 and retry[0].args == task.args and retry[0].retries == 5

    smtp_server = SmtpServer(port=down.port).start()
    try:
        huey.execute(retry[0], later)  # as the consumer will, once the retry delay has passed
        message = smtp_server.wait_for(1)[0]
    finally:
        smtp_server.stop()
    assert message["To"] == "canary.invitee@example.org"
    assert "https://notes.example.org/account/invitation/" in message.get_content()
    assert message["Content-Language"] == "es"
    with app.app_context(), connection():
        from core.accounts.invitations import Invitation

        assert Invitation.select().count() == 1


def test_a_failed_send_is_retried_and_the_queue_holds_only_ids(make_app, make_user):
    down = SmtpServer()  # not started: the mail server is down at first
    app = make_app({**down.overrides, "QUEUE_IMMEDIATE": False, "BASE_URL": "https://notes.example.org/"})
    failed_send_is_retried(app, make_user, down)


@pytest.mark.redis
def test_the_same_with_the_queue_in_redis(make_app, make_user):
    url = TEST_REDIS_URL or os.environ.get("REDUMBRELLA_TEST_REDIS_URL")
    assert url, "set REDUMBRELLA_TEST_REDIS_URL to run the Redis tests"
    down = SmtpServer()
    app = make_app({**down.overrides, "QUEUE_IMMEDIATE": False, "BASE_URL": "https://notes.example.org/",
                    "REDIS_URL": url})
    huey = app.extensions["redumbrella.queue"].huey
    huey.flush()
    try:
        failed_send_is_retried(app, make_user, down)
    finally:
        huey.flush()


def _mail_fixture_plugin(folder: Path):
    """A plugin with its own translation domain (a Spanish catalog) and a mail template."""
    import types

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from flask import Blueprint

    from core.hookspecs import hookimpl
    from core.i18n import PluginDomain
    from core.plugins import PluginInfo

    catalog = Catalog(locale="es", domain="mailfix")
    catalog.add("Hello from a module", "Hola desde un módulo")
    (folder / "translations" / "es" / "LC_MESSAGES").mkdir(parents=True)
    with open(folder / "translations" / "es" / "LC_MESSAGES" / "mailfix.mo", "wb") as handle:
        write_mo(handle, catalog)
    (folder / "templates" / "mailfix" / "mail").mkdir(parents=True)
    (folder / "templates" / "mailfix" / "mail" / "hello.txt").write_text(
        '{% block subject %}{{ _("Hello from a module") }}{% endblock %}\n'
        '{% block body %}{{ _("Hello from a module") }}{% endblock %}\n'
    )
    module = types.ModuleType("mailfix_hooks")
    module.plugin_info = PluginInfo(name="mailfix", label="Mail fixture")
    domain = PluginDomain("mailfix", folder / "translations")
    module.register_translations = hookimpl(lambda app: domain)
    blueprint = Blueprint("mailfix", "mailfix_hooks", template_folder=str(folder / "templates"))
    module.register_blueprints = hookimpl(lambda app: [blueprint])
    return module


def test_a_plugin_template_is_translated_with_the_plugins_catalog_outside_a_request(make_app, tmp_path):
    app = make_app({"MAIL_BACKEND": "file"}, extra_plugins=[_mail_fixture_plugin(tmp_path / "mailfix")])
    with app.app_context():  # as in a queue worker: no request, no page of the plugin
        spanish = render_message("a@example.org", "mailfix/mail/hello.txt", "es")
        english = render_message("a@example.org", "mailfix/mail/hello.txt", "en")
        core = render_message("a@example.org", "mail/invitation.txt", "es", link="x",
                              expires_at=datetime.datetime(2031, 3, 4))
    assert spanish["Subject"] == "Hola desde un módulo" and spanish.get_content().strip() == "Hola desde un módulo"
    assert english["Subject"] == "Hello from a module"
    assert "marzo" in core.get_content()  # core's own templates are unaffected afterwards


def test_translated_text_outside_a_request_falls_back_to_the_default_language(make_app):
    """A queue task that translates something without force_locale gets the instance's default
    language instead of failing for want of a session."""
    from flask_babel import get_locale, gettext

    app = make_app({"MAIL_BACKEND": "file", "DEFAULT_LOCALE": "es"})
    with app.app_context():
        assert str(get_locale()) == "es"
        assert gettext("Language")  # no "working outside of request context"
