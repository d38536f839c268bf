"""Sending webhooks from the outbox: claim, POST, mark, retry with back-off.

The loop is core.outbox's (shared with the federation push), so the guarantee is the same as the
alerts plugin's delivery outbox: a drain claims a few due rows (status "sending", claimed_by =
host:pid:start:thread), POSTs them one by one and commits each as "delivered" the moment the
receiver answered 2xx, before the next. If the worker is killed, its claimed rows stay "sending";
the sweep (every minute, and as soon as a worker starts) sees that the claiming process is gone and
puts them back to "pending". Only the one message being handed over at the instant of death can be
sent twice: at most one repeat per worker, and the repeat carries the same webhook-id, so the
receiver can recognise it.

Any answer but 2xx is a failed attempt, retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h (the Standard Webhooks schedule); after the eighth attempt the row is "failed" and staff see
it. Redirects are never followed (a 3xx is a failed attempt). Each POST has a short timeout and
goes only to the address checked just before (resolved once, then connected to by that address),
so a name that changes to an internal address between check and connection gets nothing.
Only the status code and a short status line are kept from an answer, never its body; nothing
here logs an address or a payload.
"""

from __future__ import annotations

import datetime
import http.client
import logging
import socket
import ssl
import time
from urllib.parse import urlsplit

from core.outbox import Outbox
from core.webhooks.models import WebhookDelivery, WebhookEndpoint
from core.webhooks.service import address_allowed, allow_private, resolve, signature_header

log = logging.getLogger("redumbrella.webhooks")

# Seconds to wait after each failed attempt (the Standard Webhooks schedule); then "failed".
RETRY_DELAYS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT = 10  # seconds, for connecting and for each read
CLAIM_BATCH = 20
CLAIM_LEASE = datetime.timedelta(minutes=15)  # a claim older than this is released even from another host
USER_AGENT = "RedUmbrella-Webhooks/1"

# The shared claim / send / retry loop (core.outbox); a delivery goes out while its endpoint is active.
OUTBOX = Outbox(WebhookDelivery, join="JOIN webhook_endpoint e ON e.id = o.endpoint_id", ready="e.active = %s",
                ready_params=(True,), retry_delays=RETRY_DELAYS, batch=CLAIM_BATCH, lease=CLAIM_LEASE, log=log,
                event="webhook", noun="webhook")


class AddressRefused(Exception):
    """The address resolves to somewhere webhooks must not go (a private network)."""


# -- one POST -------------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address resolved and checked beforehand (not resolved again)."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate for the host name in the URL."""

    def __init__(self, host, port, address, timeout, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST body to url; returns (status code, reason). Raises OSError (including ssl and
    http.client errors) or AddressRefused. Follows no redirect and uses no proxy."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise AddressRefused("scheme")
    port = parts.port or (443 if https else 80)
    addresses = resolve(parts.hostname, port)
    if not allow_private() and (not https or not addresses or not all(address_allowed(a) for a in addresses)):
        raise AddressRefused("address")
    if https:
        connection = _PinnedHTTPSConnection(parts.hostname, port, addresses[0], TIMEOUT, ssl.create_default_context())
    else:
        connection = _PinnedHTTPConnection(parts.hostname, port, addresses[0], TIMEOUT)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.reason or ""
    finally:
        connection.close()


def headers_for(endpoint: WebhookEndpoint, delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(endpoint, delivery.message_id, timestamp, body),
    }


def _status_line(status: int, reason: str) -> str:
    reason = "".join(char for char in reason if 32 <= ord(char) < 127)
    return f"HTTP {status} {reason}".strip()[:80]


# -- draining -------------------------------------------------------------------------------------


def drain(max_messages: int | None = None) -> int:
    """Send due deliveries until none are left (or max_messages were tried); returns how many were
    delivered."""
    retries: list[int] = []
    delivered = OUTBOX.drain(lambda rows: _send_claimed(rows, retries), max_messages)
    if delivered:
        log.info("webhooks delivered", extra={"event": "webhooks_delivered", "count": delivered})
    soon = [delay for delay in retries if delay < 60]
    if soon:
        _drain_later(min(soon))
    return delivered


def _send_claimed(rows: list[WebhookDelivery], retries: list[int]) -> int:
    """POST claimed deliveries one by one; the waits of those to retry go into `retries`."""
    endpoints: dict[int, WebhookEndpoint] = {}
    delivered = 0
    for delivery in rows:
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None:
            endpoint = endpoints[delivery.endpoint_id] = WebhookEndpoint.get_by_id(delivery.endpoint_id)
        if send_one(endpoint, delivery, retries):
            delivered += 1
    return delivered


def _drain_later(seconds: float) -> None:
    """A retry due within the minute: ask for a drain then, rather than waiting for the sweep."""
    from core.webhooks.tasks import deliver_webhooks

    try:
        deliver_webhooks.schedule_in(int(seconds) + 1)
    except Exception as exc:  # the sweep will find it
        log.warning("webhook retry not scheduled", extra={"event": "webhook_kick_failed", "reason": type(exc).__name__})


def send_one(endpoint: WebhookEndpoint, delivery: WebhookDelivery, retries: list[int] | None = None) -> bool:
    """POST one claimed delivery and record what happened; True when the receiver took it (2xx)."""
    body = delivery.payload.encode("utf-8")
    status: int | None = None
    try:
        timestamp = int(time.time())
        status, reason = post(endpoint.url, body, headers_for(endpoint, delivery, body, timestamp))
    except AddressRefused:
        error = "address not allowed"
    except (OSError, http.client.HTTPException, ValueError, UnicodeError) as exc:
        error = type(exc).__name__
    else:
        if 200 <= status < 300:
            OUTBOX.delivered([delivery.id], status)
            return True
        error = _status_line(status, reason)
    delay = OUTBOX.failed([delivery], status, error)
    if delay is not None and retries is not None:
        retries.append(delay)
    return False


# -- the sweep ------------------------------------------------------------------------------------


def sweep() -> dict:
    """Every minute, and as soon as a worker starts: recover dead claims, then send what is due."""
    from core.webhooks.service import kick

    released = OUTBOX.release_dead_claims()
    due = OUTBOX.due_count()
    if due:
        kick()
    return {"released": released, "due": due}
