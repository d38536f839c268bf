"""The one SMTP transport: a session keeping one connection open across many messages.

Both senders use it: send_messages (a batch, results at the end) and the alerts' outbox, which
records each message as sent the moment the server accepts it, before handing over the next, so a
worker that dies repeats at most the message in flight. send() and send_message() return once the
server has said 250, or raise TemporaryFailure (try later) or PermanentFailure (never).

The connection is opened on the first message (plain, STARTTLS or SSL, with a login when a
username is set) and checked with NOOP after IDLE_CHECK_SECONDS without a message. A line found
dead before a message's DATA began is opened again, once: the server has nothing of that message,
so sending it again cannot repeat it. A line lost during DATA is a TemporaryFailure: the server may
have the message, and only the caller knows whether trying again is worth a possible repeat.

MAIL_BACKEND "file" (development) writes one owner-only .eml file per message instead.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from core.mail.errors import NotConnected, PermanentFailure, TemporaryFailure

IDLE_CHECK_SECONDS = 20  # after this long without a message, NOOP first: a dropped line is found before sending
MAIL_FOLDER_NAME = "mail"


class _KnowsWhenDataBegan:
    """An SMTP connection that remembers whether DATA was begun for the message being handed over."""

    data_begun = False

    def data(self, msg):
        self.data_begun = True
        return super().data(msg)

    def send_bare(self, envelope_from: str, to: str, data: bytes) -> None:
        """sendmail() to one recipient, for bare addresses checked beforehand (MessageTemplate):
        the same exchange, answers and exceptions, without parsing both addresses again on every
        message (smtplib's quoteaddr was a tenth of the worker's time per alert e-mail)."""
        self.ehlo_or_helo_if_needed()
        size = f" size={len(data)}" if self.does_esmtp and self.has_extn("size") else ""
        self.putcmd("mail", f"FROM:<{envelope_from}>{size}")
        code, answer = self.getreply()
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPSenderRefused(code, answer, envelope_from)
        self.putcmd("rcpt", f"TO:<{to}>")
        code, answer = self.getreply()
        if code not in (250, 251):
            self._give_up(code)
            raise smtplib.SMTPRecipientsRefused({to: (code, answer)})
        code, answer = self.data(data)
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPDataError(code, answer)

    def _give_up(self, code: int) -> None:
        """As sendmail() does after a refusal: 421 closes the line, anything else resets it."""
        if code == 421:
            self.close()
        else:
            self._rset()


class _SMTP(_KnowsWhenDataBegan, smtplib.SMTP):
    pass


class _SMTPSSL(_KnowsWhenDataBegan, smtplib.SMTP_SSL):
    pass


class MailSession:
    """One connection to the mail server for many messages; close() when done."""

    def __init__(self, app=None):
        app = app or current_app._get_current_object()
        self.config = app.config
        self.folder = Path(app.instance_path) / MAIL_FOLDER_NAME
        self.connection: _SMTP | _SMTPSSL | None = None
        self.last_used = 0.0

    @property
    def backend(self) -> str:
        return self.config["MAIL_BACKEND"]

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        """Hand over one message already made into bytes (core.mail.MessageTemplate.render), to bare
        addresses (MessageTemplate's envelope_from, a recipient render() accepted)."""
        if self.backend == "file":
            write_file(self.folder, data)
            return
        self._hand_over(lambda connection: connection.send_bare(envelope_from, to, data))

    def send_message(self, message: EmailMessage) -> None:
        """Hand over one message; the envelope comes from its From and To."""
        if self.backend == "file":
            write_file(self.folder, message.as_bytes(policy=message.policy.clone(linesep="\n")))
            return
        self._hand_over(lambda connection: connection.send_message(message))

    def _hand_over(self, send) -> None:
        for first_try in (True, False):
            connection = self._ready()
            connection.data_begun = False
            try:
                refused = send(connection)
            except (OSError, smtplib.SMTPException) as exc:
                refusal = isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                                           smtplib.SMTPDataError))
                line_lost = connection.sock is None or not refusal
                if line_lost:
                    self._drop()
                else:
                    self._reset()
                if line_lost and first_try and not connection.data_begun:
                    continue  # the line was dead before this message went: nothing of it reached the server
                raise _classify(exc) from exc
            finally:
                self.last_used = time.monotonic()
            if refused:
                raise PermanentFailure("SMTPRecipientsRefused")
            return

    def _ready(self) -> smtplib.SMTP:
        if self.connection is not None and time.monotonic() - self.last_used > IDLE_CHECK_SECONDS:
            try:
                self.connection.noop()
            except (OSError, smtplib.SMTPException):
                self._drop()
        if self.connection is None:
            self.connection = self._connect()
        return self.connection

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        context = ssl.create_default_context()
        connection = None
        try:
            if config["MAIL_USE_SSL"]:
                connection = _SMTPSSL(host, port, timeout=timeout, context=context)
            else:
                connection = _SMTP(host, port, timeout=timeout)
                if config["MAIL_USE_TLS"]:
                    connection.starttls(context=context)
            if config["MAIL_USERNAME"]:
                connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as exc:
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.close()
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                raise NotConnected("SMTPAuthenticationError") from exc
            raise NotConnected(f"connect:{type(exc).__name__}") from exc
        return connection

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

    def __enter__(self) -> MailSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _classify(exc: Exception) -> TemporaryFailure | PermanentFailure:
    """4xx answers and lost lines are temporary; 5xx refusals are permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            return TemporaryFailure("SMTPRecipientsRefused:4xx")
        return PermanentFailure("SMTPRecipientsRefused")
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        if 400 <= exc.smtp_code < 500:
            return TemporaryFailure(f"{type(exc).__name__}:4xx")
        return PermanentFailure(type(exc).__name__)
    return TemporaryFailure(type(exc).__name__)


def mail_folder() -> Path:
    """Where the file backend writes, in the instance folder."""
    return Path(current_app.instance_path) / MAIL_FOLDER_NAME


def write_file(folder: Path, data: bytes) -> None:
    """The development backend: one .eml file per message, readable by the owner only."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    fd = os.open(folder / f"{stamp}-{uuid.uuid4().hex}.eml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
