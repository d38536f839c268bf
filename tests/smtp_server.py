"""A real SMTP server in the test process (aiosmtpd), for tests that send mail.

    @pytest.fixture
    def smtp_server():
        server = SmtpServer().start()
        yield server
        server.stop()

    def test_something(make_app, smtp_server):
        app = make_app(smtp_server.overrides)
        ...
        message = smtp_server.wait_for(1)[0]   # an email.message.EmailMessage
"""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps every accepted message, or refuses chosen recipients."""

    def __init__(self):
        self.messages = []
        self.envelopes = []
        self.refuse = set()
        self.arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
            self.arrived.notify_all()
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, username: str | None = None, password: str | None = None, port: int | None = None,
                 idle_timeout: float = 300, inbox: Inbox | None = None):
        self.inbox = inbox or Inbox()  # a subclass to answer otherwise (slowly, not at all...)
        self.port = port or free_port()
        self.logins: list[str] = []
        self.username, self.password = username, password
        kwargs = {"timeout": idle_timeout}  # seconds without a command before the server drops the line
        if username:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False, auth_required=True)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == self.username and auth_data.password.decode() == self.password
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    @property
    def messages(self):
        return self.inbox.messages

    @property
    def overrides(self) -> dict:
        found = {
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_DEFAULT_SENDER": "Notes <notes@example.org>",
            "MAIL_TIMEOUT": 5,
            # Start-up refuses SMTP without it; the test client's own address, so links open in tests.
            "BASE_URL": "http://localhost",
        }
        if self.username:
            found.update(MAIL_USERNAME=self.username, MAIL_PASSWORD=self.password)
        return found

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """The messages once at least `count` have arrived (delivery is synchronous; this is a guard)."""
        deadline = time.monotonic() + timeout
        with self.inbox.arrived:
            while len(self.inbox.messages) < count and time.monotonic() < deadline:
                self.inbox.arrived.wait(0.05)
        assert len(self.inbox.messages) >= count, f"{len(self.inbox.messages)} message(s) arrived, not {count}"
        return list(self.inbox.messages)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

