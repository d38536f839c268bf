"""One SMTP connection kept open across many messages, for the outbox.

core.mail.send_messages sends a whole batch and reports at the end; the outbox needs to record
each message as sent the moment the server accepts it, before handing over the next one, so a
worker that dies repeats at most the message in flight. MailSession does exactly that: send()
returns once the server has said 250, or raises TemporaryFailure / PermanentFailure.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import time

from flask import current_app

from core import mail as core_mail

IDLE_CHECK_SECONDS = 20  # after this long without a message, NOOP first: a dropped line is found before sending


class TemporaryFailure(Exception):
    """Try again later (server unreachable, 4xx, broken connection). str() is a short reason code."""


class PermanentFailure(Exception):
    """Trying again will not help (address refused with 5xx, no backend configured)."""


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

    def send(self, message) -> None:
        """Hand one message over; returns only when the server accepted it."""
        if self.backend == "file":
            core_mail._write_file(message)
            return
        connection = self._ready()
        try:
            refused = connection.send_message(message)
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
