"""One SMTP connection kept open across many messages, for the outbox.

core.mail.send_messages sends a whole batch and reports at the end; the outbox needs to record
each message as sent the moment the server accepts it, before handing over the next one, so a
worker that dies repeats at most the message in flight. MailSession does exactly that: send()
returns once the server has said 250, or raises TemporaryFailure / PermanentFailure.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import re
import smtplib
import ssl
import time
import uuid
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from pathlib import Path

from flask import current_app

from core import mail as core_mail

IDLE_CHECK_SECONDS = 20  # after this long without a message, NOOP first: a dropped line is found before sending


class TemporaryFailure(Exception):
    """Try again later (server unreachable, 4xx, broken connection). str() is a short reason code."""


class PermanentFailure(Exception):
    """Trying again will not help (address refused with 5xx, no backend configured)."""


SAFE_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]{3,254}")


class MessageTemplate:
    """One message built once (core.mail.build_message) and sent to many recipients.

    Building an email.message.EmailMessage costs about a millisecond; ten thousand recipients
    of one alert get the same text in the same language, so only To, Date and Message-ID are
    written per recipient, into the bytes of the message built once.
    """

    def __init__(self, subject: str, body: str, sender: str | None = None, language: str | None = None):
        sender = sender or current_app.config["MAIL_DEFAULT_SENDER"]
        message = core_mail.build_message("recipient@example.invalid", subject, body, sender=sender)
        if language:  # the recipient's language, as core.mail.render_message says it
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


class MailSession:
    def __init__(self, app=None):
        self.config = (app or current_app).config
        self.connection: smtplib.SMTP | None = None
        self.last_used = 0.0

    @property
    def backend(self) -> str:
        return self.config["MAIL_BACKEND"]

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        context = ssl.create_default_context()
        try:
            if config["MAIL_USE_SSL"]:
                connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                connection = smtplib.SMTP(host, port, timeout=timeout)
                if config["MAIL_USE_TLS"]:
                    connection.starttls(context=context)
            if config["MAIL_USERNAME"]:
                connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure("SMTPAuthenticationError") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"connect:{type(exc).__name__}") from exc
        return connection

    def _ready(self) -> smtplib.SMTP:
        if self.connection is not None and time.monotonic() - self.last_used > IDLE_CHECK_SECONDS:
            try:
                self.connection.noop()
            except (OSError, smtplib.SMTPException):
                self._drop()
        if self.connection is None:
            self.connection = self._connect()
        return self.connection

    def send(self, template: MessageTemplate, to: str, key: str) -> None:
        """Hand one message over; returns only when the server accepted it."""
        data = template.render(to, key)
        if self.backend == "file":
            _write_file(Path(current_app.instance_path) / core_mail.MAIL_FOLDER_NAME, data)
            return
        connection = self._ready()
        try:
            refused = connection.sendmail(template.envelope_from, [to], data)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            codes = [code for code, _msg in exc.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise TemporaryFailure("SMTPRecipientsRefused:4xx") from exc
            raise PermanentFailure("SMTPRecipientsRefused") from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._reset()
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(f"{type(exc).__name__}:4xx") from exc
            raise PermanentFailure(type(exc).__name__) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryFailure(type(exc).__name__) from exc
        finally:
            self.last_used = time.monotonic()
        if refused:
            raise PermanentFailure("SMTPRecipientsRefused")

    def _reset(self) -> None:
        try:
            if self.connection is not None:
                self.connection.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError):
                self.connection.close()
        self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                self._drop()
        self.connection = None


def _write_file(folder: Path, data: bytes) -> None:
    """The development backend, as core.mail writes it: one .eml file per message, owner-only."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    fd = os.open(folder / f"{stamp}-{uuid.uuid4().hex}.eml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
