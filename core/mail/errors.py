"""What can go wrong when a message is handed over, named so callers decide whether to try again.

MailError is the batch senders' (send_messages, send_message, external_url): nothing could be sent,
or this one message was not. TemporaryFailure and PermanentFailure are a session's, per message,
and the alerts' text-message gateways raise them too: the outbox retries the first with back-off
and records the second as failed. str() of either is a short reason code, never an address or text.
"""

from __future__ import annotations


class MailError(Exception):
    """Mail could not be sent at all (no connection, refused login); the batch may be retried."""


class TemporaryFailure(Exception):
    """Try again later (server unreachable, 4xx, broken connection). str() is a short reason code."""


class PermanentFailure(Exception):
    """Trying again will not help (address refused with 5xx, no backend configured)."""


class NotConnected(TemporaryFailure):
    """The server was not reached, or refused the login: nothing was handed over, and the next
    message would fare no better, so a batch or a drain stops here."""
