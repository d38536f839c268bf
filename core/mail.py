"""Email: plain-text messages in the recipient's language, sent over SMTP or written to files.

Two functions are the whole API:

- render_message(recipient, template, locale, **context) builds a message from a template under
  core/templates/mail/ (or a plugin's), whose {% block subject %} and {% block body %} are rendered
  with flask_babel.force_locale(locale): the recipient's language, not the sender's.
  build_message(recipient, subject, body) does the same for text made elsewhere.
- send_messages(messages) sends a batch over ONE SMTP connection (or writes .eml files with the
  "file" backend, for development) and returns one result per message: None when it was accepted,
  else the exception. A failure to connect raises MailError for the whole batch.

Subjects must be neutral ("Your link", "An update"): they show on lock screens and in shared
inboxes. Nothing here logs an address, a subject or a body. Send mail from queue tasks whose
arguments are record ids only (see core.accounts.invitations), so a failed send is retried and
no address or text sits in the queue storage.
"""

from __future__ import annotations

import datetime
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
from flask_babel import force_locale, get_domain

log = logging.getLogger("redumbrella.mail")
MAIL_FOLDER_NAME = "mail"


class MailError(Exception):
    """Mail could not be sent at all (no connection, refused login); the batch may be retried."""


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
    with force_locale(locale):
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
    message = build_message(recipient, subject, body.strip("\n"))
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
