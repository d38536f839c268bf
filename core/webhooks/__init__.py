"""Webhooks for partner systems: signed HTTP POSTs, sent from an outbox, with retries.

An administrator registers an endpoint for an organisation (core.organisations): a URL, the
events it wants, and a secret shown once ("whsec_" + base64, as in the Standard Webhooks
convention). Plugins declare their events through the register_webhook_events hook and call

    from core import webhooks
    webhooks.emit("alert.published", lambda: {"alert": public_dict(alert)})

inside the transaction that makes the change. emit writes one outbox row per active endpoint
subscribed to the event, in that transaction, so the change and its webhooks commit (or roll back)
together; the queue then POSTs them (core.webhooks.sending), signed, with retries and back-off.
`data` is a dict or a function returning one: the function is called only when some endpoint wants
the event, in the instance's default language.

A payload must never carry personal data: what members see of an alert, a certificate's public
code, never a report's content, a reporter, a learner's name or an account (docs/webhooks.md).

Core names no plugin here: the events come from the plugins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class WebhookEvent:
    """An event a plugin can send to partner systems, returned from register_webhook_events.

    name: "<thing>.<what happened>", such as "alert.published" (lower case, dots between words).
    label: a lazy translated label for the checkbox staff tick ("An alert is published").
    payload: a lazy translated sentence saying what the event's `data` holds, for staff and partners.
    """

    name: str
    label: object
    payload: object = ""

    def __post_init__(self):
        if not EVENT_NAME.match(self.name) or len(self.name) > 64:
            raise ValueError(f"webhook event names look like thing.happened (at most 64 characters), not {self.name!r}")


def emit(event_type: str, data) -> int:
    """Queue `event_type` for every active endpoint subscribed to it, inside the caller's
    transaction; returns how many deliveries were written. See core.webhooks.service.emit."""
    from core.webhooks.service import emit as _emit

    return _emit(event_type, data)


__all__ = ["EVENT_NAME", "WebhookEvent", "emit"]
