"""Email: plain-text messages in the recipient's language, sent over SMTP or written to files.

Two functions are the whole API:

- render_message(recipient, template, locale, **context) builds a message from a template under
  core/templates/mail/ (or a plugin's), whose {% block subject %} and {% block body %} are rendered
  with core.i18n.force_language(locale): the recipient's language, not the sender's.
  build_message(recipient, subject, body) does the same for text made elsewhere.
- send_messages(messages) sends a batch over ONE SMTP connection (or writes .eml files with the
  "file" backend, for development) and returns one result per message: None when it was accepted,
  else the exception. A failure to connect raises MailError for the whole batch.

Subjects must be neutral ("Your link", "An update"): they show on lock screens and in shared
inboxes. Nothing here logs an address, a subject or a body. Send mail from queue tasks whose
arguments are record ids only (see core.accounts.invitations), so a failed send is retried and
no address or text sits in the queue storage.

Core's own e-mails (one-time links, password resets, answers to applications) each get an
OutgoingMail row when they are queued: what kind of message, for which record, and how it went,
never the address or the text. queue_mail(task, kind, target, *ids) writes the row and queues the
task; @tracked on the task records each attempt. A message still not sent after its last retry is
"failed", and staff see it, with the ones still being retried, at /admin/messages
(core.views.outbox), as they see alert deliveries. So a page only ever says a message is being
sent, never that it was.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import smtplib
import ssl
import uuid
from collections.abc import Iterable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app, has_request_context, request
from flask_babel import get_domain
from peewee import CharField, DateTimeField, IntegerField

from core.db import BaseModel, db, utcnow
from core.display import directed_text
from core.i18n import force_language

log = logging.getLogger("redumbrella.mail")
MAIL_FOLDER_NAME = "mail"


class MailError(Exception):
    """Mail could not be sent at all (no connection, refused login); the batch may be retried."""


# -- the record of core's e-mails --------------------------------------------------------------

QUEUED, SENT, FAILED, NOT_NEEDED = "queued", "sent", "failed", "not_needed"
MAIL_RETRIES = 6  # after the first try; the tasks' huey retries
MAIL_RETRY_DELAY = 300


class OutgoingMail(BaseModel):
    """One e-mail core queued and what became of it. No address, no text: a kind and a record."""

    kind = CharField(max_length=32)  # set_password, invitation, reset_password, application_declined
    target = CharField(max_length=64)  # the record it is about: user:12, invitation:3, application:5
    status = CharField(max_length=16, default=QUEUED, index=True)
    attempts = IntegerField(default=0)
    last_error = CharField(max_length=64, null=True)  # an exception's class name, never its text
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "core_outgoing_mail"


def queue_mail(task, kind: str, target: str, *args) -> OutgoingMail:
    """Write the message's row, then queue the task (with mail_id) that sends it."""
    with db.atomic():
        row = OutgoingMail.create(kind=kind, target=target)
    task(*args, mail_id=row.id)
    return row


def tracked(function):
    """For a mail task: record each attempt on its OutgoingMail row (the task's mail_id keyword).

    Returning True means the message was accepted (sent), False that there was nothing to send (the
    account was deleted, the link already used). An exception is a failed attempt: it is recorded,
    then raised again so the queue retries; after the last retry the row is "failed".
    """

    @functools.wraps(function)
    def run(*args, mail_id: int | None = None, **kwargs):
        try:
            result = function(*args, **kwargs)
        except Exception as exc:
            _record_attempt(mail_id, error=type(exc).__name__)
            raise
        _record_attempt(mail_id, status=SENT if result else NOT_NEEDED)
        return result

    return run


def _record_attempt(mail_id: int | None, status: str | None = None, error: str | None = None) -> None:
    if mail_id is None:
        return
    with db.atomic():
        row = OutgoingMail.get_or_none(OutgoingMail.id == mail_id)
        if row is None:
            return
        row.attempts += 1
        row.updated_at = utcnow()
        if error is None:
            row.status, row.last_error = status, None
        else:
            row.last_error = error[:64]
            row.status = FAILED if row.attempts > MAIL_RETRIES else QUEUED
        row.save()
    if error is not None:
        level = logging.WARNING if row.status == FAILED else logging.INFO
        log.log(level, "core mail not sent", extra={"event": f"mail_{row.status}", "reason": error})


def unsent(kinds, limit: int = 200) -> list[OutgoingMail]:
    """Failed messages and those waiting for a retry or for the queue, oldest problem first."""
    return list(
        OutgoingMail.select()
        .where(OutgoingMail.kind.in_(list(kinds)) & (OutgoingMail.status.in_([QUEUED, FAILED])))
        .order_by(OutgoingMail.status == QUEUED, OutgoingMail.id.desc())
        .limit(limit)
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def build_message(recipient: str, subject: str, body: str, sender: str | None = None) -> EmailMessage:
    """A plain-text UTF-8 message. Headers carry nothing about the platform beyond the sender."""
    sender = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = _one_line(subject)
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body.rstrip() + "\n", charset="utf-8")
    return message


def render_message(recipient: str, template: str, locale: str | None = None, **context) -> EmailMessage:
    """Render a mail template (blocks "subject" and "body") in the recipient's language.

    A plugin's template ("reporting/mail/x.txt") is translated with that plugin's own catalog,
    also in a queue worker, where no page of the plugin has made its catalog the default.
    """
    config = current_app.config
    locale = locale if locale in config["LOCALES"] else config["DEFAULT_LOCALE"]
    plugin_domain = current_app.extensions.get("redumbrella.domains", {}).get(template.partition("/")[0])
    previous_domain = get_domain()
    with force_language(locale):
        if plugin_domain is not None:
            plugin_domain.as_default()
        try:
            jinja_template = current_app.jinja_env.get_template(template)
            values = {"site_title": config["NEUTRAL_TITLE"] or config["SITE_NAME"], **context}
            rendered = jinja_template.new_context(values)
            subject = "".join(jinja_template.blocks["subject"](rendered))
            rendered = jinja_template.new_context(values)
            body = "".join(jinja_template.blocks["body"](rendered))
        finally:
            previous_domain.as_default()
    message = build_message(recipient, directed_text(subject, locale), directed_text(body.strip("\n"), locale))
    message["Content-Language"] = locale.replace("_", "-")
    return message


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email: BASE_URL when set, else the address of the current request."""
    base = current_app.config["BASE_URL"]
    if not base:
        if not has_request_context():
            raise MailError("BASE_URL is not set, so links cannot be made outside a request")
        base = request.host_url.rstrip("/")
    scheme, _sep, rest = base.partition("://")
    host, _slash, path = rest.partition("/")
    adapter = current_app.url_map.bind(host, script_name="/" + path if path else "/", url_scheme=scheme)
    return adapter.build(endpoint, values, force_external=True)


def send_messages(messages: Iterable[EmailMessage]) -> list[Exception | None]:
    """Send every message over one connection; one result per message (None when accepted)."""
    messages = list(messages)
    if not messages:
        return []
    config = current_app.config
    if config["MAIL_BACKEND"] == "file":
        results = [_write_file(message) for message in messages]
    else:
        results = _send_smtp(config, messages)
    failed = sum(1 for result in results if result is not None)
    log.info("mail sent", extra={"event": "mail_sent", "count": len(messages) - failed})
    if failed:
        log.warning("mail refused", extra={"event": "mail_refused", "count": failed})
    return results


def send_message(message: EmailMessage) -> None:
    """Send one message; raises MailError when it was not accepted (so a queue task retries)."""
    result = send_messages([message])[0]
    if result is not None:
        raise MailError(f"the message was refused ({type(result).__name__})") from result


def _connect(config) -> smtplib.SMTP:
    context = ssl.create_default_context()
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
        if config["MAIL_USE_TLS"]:
            connection.starttls(context=context)
    if config["MAIL_USERNAME"]:
        connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return connection


def _send_smtp(config, messages: list[EmailMessage]) -> list[Exception | None]:
    try:
        connection = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail server not reached", extra={"event": "mail_failed", "reason": type(exc).__name__})
        raise MailError(f"the mail server could not be reached ({type(exc).__name__})") from None
    results: list[Exception | None] = []
    try:
        for message in messages:
            try:
                refused = connection.send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                results.append(exc)
                connection.rset()
            except (OSError, smtplib.SMTPException) as exc:
                # The connection broke: this and every later message are not sent.
                results.extend([exc] * (len(messages) - len(results)))
                break
            else:
                results.append(smtplib.SMTPRecipientsRefused(refused) if refused else None)
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return results


def mail_folder() -> Path:
    return Path(current_app.instance_path) / MAIL_FOLDER_NAME


def _write_file(message: EmailMessage) -> None:
    """The development backend: one .eml file per message, readable by the owner only."""
    folder = mail_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{uuid.uuid4().hex}.eml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(message.as_bytes(policy=message.policy.clone(linesep="\n")))
    return None
