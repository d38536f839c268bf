"""Sending a batch: every message over one session, one result per message at the end.

For mail sent from queue tasks (core's one-time links, plugins' notices): a task calls
send_message and lets MailError make the queue retry, or send_messages and counts the Nones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from email.message import EmailMessage

from core.mail.errors import MailError, NotConnected, PermanentFailure, TemporaryFailure
from core.mail.session import MailSession

log = logging.getLogger("redumbrella.mail")


def send_messages(messages: Iterable[EmailMessage]) -> list[Exception | None]:
    """Send every message over one connection; one result per message (None when accepted).

    A failure to reach the server (or to log in) before the first message raises MailError for
    the whole batch; a later one is the result of every message not yet handed over.
    """
    messages = list(messages)
    if not messages:
        return []
    results: list[Exception | None] = []
    with MailSession() as session:
        for message in messages:
            try:
                session.send_message(message)
            except NotConnected as failure:
                if not results:
                    log.warning("mail server not reached", extra={"event": "mail_failed", "reason": str(failure)})
                    raise MailError(f"the mail server could not be reached ({failure})") from None
                results.extend([failure] * (len(messages) - len(results)))
                break
            except (TemporaryFailure, PermanentFailure) as failure:
                results.append(failure)
            else:
                results.append(None)
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
