"""Messages: plain text, UTF-8, in the recipient's language, with neutral subjects.

render_message builds one from a template (blocks "subject" and "body") in the recipient's
language; build_message from text made elsewhere. MessageTemplate builds one text once for many
recipients (the alerts' outbox). Subjects must be neutral ("Your link", "An update"): they show on
lock screens and in shared inboxes.
"""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app, has_request_context, request
from flask_babel import get_domain

from core.display import directed_text
from core.i18n import force_language
from core.mail.errors import MailError, PermanentFailure

SAFE_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]{3,254}")


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


class MessageTemplate:
    """One message built once (build_message) and sent to many recipients.

    Building an email.message.EmailMessage costs about a millisecond; ten thousand recipients
    of one alert get the same text in the same language, so only To, Date and Message-ID are
    written per recipient, into the bytes of the message built once.
    """

    def __init__(self, subject: str, body: str, sender: str | None = None, language: str | None = None):
        sender = sender or current_app.config["MAIL_DEFAULT_SENDER"]
        message = build_message("recipient@example.invalid", subject, body, sender=sender)
        if language:  # the recipient's language, as render_message says it
            message["Content-Language"] = language.replace("_", "-")
        for header in ("To", "Date", "Message-ID"):
            del message[header]
        self.envelope_from = parseaddr(sender)[1]
        self.domain = self.envelope_from.rpartition("@")[2] or "localhost"
        self.rest = message.as_bytes(policy=SMTP)

    def message_id(self, key: str) -> str:
        """Derived from the idempotency key: a repeat carries the same Message-ID, so mail systems
        (and our tests) can tell it is the same message."""
        return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{self.domain}>"

    def render(self, to: str, key: str) -> bytes:
        if not SAFE_ADDRESS.fullmatch(to):
            raise PermanentFailure("UnusableAddress")
        head = f"To: {to}\r\nDate: {formatdate(usegmt=True)}\r\nMessage-ID: {self.message_id(key)}\r\n"
        return head.encode("ascii") + self.rest
