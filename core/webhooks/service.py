"""Webhooks: emitting events, endpoints (secrets, addresses), and what staff do with them.

- emit(event_type, data): one outbox row per active endpoint subscribed to the event, written in
  the caller's transaction. A webhook must never cost a report or an alert: when building or
  storing the payload fails, that is logged (by type) and the caller's change goes on.
- Secrets follow the Standard Webhooks convention: "whsec_" + base64 of random bytes; the key is
  the decoded bytes. Signatures are "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
- Addresses: http(s) only, no user name or password in them, and (unless WEBHOOKS_ALLOW_PRIVATE
  is on, for development and tests) https to a public address only: never loopback, private,
  link-local or other internal ranges, checked when an endpoint is added and again before every
  POST, against the address actually connected to (core.webhooks.sending).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
from urllib.parse import urlsplit

from flask import after_this_request, current_app, g, has_request_context
from flask_babel import gettext as _
from peewee import DatabaseError

from core.db import db, run_sql, utcnow
from core.webhooks import WebhookEvent
from core.webhooks.models import DELIVERED, FAILED, PENDING, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("redumbrella.webhooks")

SECRET_PREFIX = "whsec_"  # noqa: S105  # nosec B105  # the prefix of every secret, not a secret
SECRET_BYTES = 32
MESSAGE_PREFIX = "msg_"
URL_MAX = 2000
# After a rotation the old secret also signs for this long, so a partner can switch without a gap.
ROTATION_GRACE = datetime.timedelta(hours=24)


class WebhookError(Exception):
    """Something staff asked for that cannot be done; the message is translated, for the page."""


# -- events declared by plugins ---------------------------------------------------------------------


def declared_events(enabled_only: bool = False) -> dict[str, WebhookEvent]:
    """{name: WebhookEvent} from the register_webhook_events hook, sorted by name.

    enabled_only: only the events of enabled plugins (what staff may subscribe to now). Without it,
    every installed plugin's (so a subscription to a module that is off still shows in words)."""
    from core.plugins import get_registry

    key = "webhook_events_enabled" if enabled_only else "webhook_events_all"
    if has_request_context() and key in g:
        return g.get(key)
    found: dict[str, WebhookEvent] = {}
    for _owner, event in get_registry().call_each("register_webhook_events", enabled_only=enabled_only,
                                                    app=current_app._get_current_object()):
        if isinstance(event, WebhookEvent):
            found.setdefault(event.name, event)
    events = dict(sorted(found.items()))
    if has_request_context():
        setattr(g, key, events)
    return events


# -- emitting ---------------------------------------------------------------------------------------


def new_message_id() -> str:
    return MESSAGE_PREFIX + secrets.token_hex(16)


def _iso(moment: datetime.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def envelope(event_type: str, data: dict, moment: datetime.datetime) -> str:
    """The JSON body partners receive: {"type", "timestamp", "data"} (Standard Webhooks' shape)."""
    return json.dumps({"type": event_type, "timestamp": _iso(moment), "data": data},
                      ensure_ascii=False, separators=(",", ":"))


def subscribed_endpoints(event_type: str) -> list[int]:
    """Ids of the active endpoints that asked for this event (one small query, on every emit)."""
    rows = run_sql("SELECT id, events FROM webhook_endpoint WHERE active = %s ORDER BY id", (True,)).fetchall()
    return [row[0] for row in rows if event_type in (row[1] or "").split(",")]


def emit(event_type: str, data) -> int:
    """Write one delivery per active endpoint subscribed to event_type, in the caller's transaction.

    data: a JSON-ready dict, or a function returning one (called only when an endpoint wants the
    event, in the instance's default language). Returns how many deliveries were written. Once the
    caller's transaction has committed, the queue is asked to send them: at the end of the request,
    or at once when there is no transaction; otherwise the every-minute sweep finds them.
    """
    endpoint_ids = subscribed_endpoints(event_type)
    if not endpoint_ids:
        return 0
    now = utcnow()
    try:
        if callable(data):
            from core.i18n import force_language

            with force_language(current_app.config["DEFAULT_LOCALE"]):
                data = data()
        body = envelope(event_type, data, now)
    except Exception as exc:  # a webhook never stops the change it reports
        log.error("webhook payload not built", extra={"event": "webhook_not_queued", "reason": type(exc).__name__})
        return 0
    message_id = new_message_id()
    rows = [{"endpoint": endpoint_id, "event_type": event_type, "message_id": message_id, "payload": body,
             "status": PENDING, "next_attempt_at": now, "created_at": now} for endpoint_id in endpoint_ids]
    try:
        with db.atomic():  # a savepoint inside the caller's transaction: a failure here is only ours
            WebhookDelivery.insert_many(rows).execute()
    except DatabaseError as exc:
        log.error("webhook not queued", extra={"event": "webhook_not_queued", "reason": type(exc).__name__})
        return 0
    _kick_after_commit()
    return len(rows)


def _kick_after_commit() -> None:
    if not db.in_transaction():
        kick()
    elif has_request_context() and not g.get("webhooks_kick"):
        g.webhooks_kick = True

        @after_this_request
        def _kick(response):
            kick()
            return response


def kick() -> None:
    """Ask the queue to send what is due. Never raises: the sweep finds anything left."""
    from core.webhooks.tasks import deliver_webhooks

    try:
        deliver_webhooks()
    except Exception as exc:
        log.warning("webhook delivery not queued", extra={"event": "webhook_kick_failed",
                                                          "reason": type(exc).__name__})


# -- secrets and signatures -------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One signature: "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(endpoint: WebhookEndpoint, message_id: str, timestamp: int, body: bytes,
                     now: datetime.datetime | None = None) -> str:
    """The webhook-signature header: the current secret's signature, then the previous secret's
    while a rotation's grace period lasts, separated by a space."""
    now = now or utcnow()
    signatures = [sign(endpoint.secret, message_id, timestamp, body)]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        signatures.append(sign(endpoint.previous_secret, message_id, timestamp, body))
    return " ".join(signatures)


# -- addresses --------------------------------------------------------------------------------------


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False))


# IANA's IPv4 special-purpose block (DS-Lite, NAT64 discovery, PCP and TURN anycast...): never a partner.
IPV4_SPECIAL = ipaddress.IPv4Network("192.0.0.0/24")
# IPv6 prefixes whose last 32 bits are an IPv4 address the packets go to (or come from):
# IPv4-compatible (deprecated), SIIT's IPv4-translated, and NAT64's well-known prefix.
IPV6_CARRYING_IPV4 = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("::ffff:0:0:0/96"),
                      ipaddress.IPv6Network("64:ff9b::/96"))
# NAT64 for a network's own use (RFC 8215): whatever it carries, it is some local network's translator.
IPV6_LOCAL_TRANSLATION = ipaddress.IPv6Network("64:ff9b:1::/48")


def _ipv4_allowed(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast and ip not in IPV4_SPECIAL


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (6to4, Teredo's server and client, NAT64...)."""
    if any(ip in network for network in IPV6_CARRYING_IPV4):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def address_allowed(address: str) -> bool:
    """A public unicast address: not loopback, private, link-local, shared, reserved or multicast,
    nor an IPv6 address that carries an IPv4 address which is any of those (checked here and again
    before each delivery, by core.webhooks.sending)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_allowed(ip)
    if ip.ipv4_mapped is not None:
        return _ipv4_allowed(ip.ipv4_mapped)
    if ip in IPV6_LOCAL_TRANSLATION:
        return False
    if not all(_ipv4_allowed(embedded) for embedded in _embedded_ipv4(ip)):
        return False
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name stands for (raises OSError when it cannot be found)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in found))


def check_url(text: str) -> str:
    """The address as it will be used, or WebhookError with a translated reason."""
    url = (text or "").strip()
    if not url:
        raise WebhookError(_("Please give the address the partner's system receives webhooks at."))
    if len(url) > URL_MAX:
        raise WebhookError(_("That address is too long (at most %(max)d characters).", max=URL_MAX))
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise WebhookError(_("An address cannot contain spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError(_("That is not a web address. It should look like https://partner.example/webhooks."))\
            from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookError(_("Only web addresses starting with https:// can receive webhooks."))
    if parts.username is not None or parts.password is not None:
        raise WebhookError(_("Please leave the user name and password out of the address."))
    if parts.fragment:
        raise WebhookError(_("Please leave the part after # out of the address."))
    if allow_private():
        return url
    if parts.scheme != "https":
        raise WebhookError(_("Only web addresses starting with https:// can receive webhooks: what is sent "
                             "must be encrypted on its way."))
    try:
        addresses = resolve(parts.hostname, port or 443)
    except (OSError, UnicodeError):
        raise WebhookError(_("We could not find that address. Please check it with the partner.")) from None
    if not addresses or not all(address_allowed(address) for address in addresses):
        raise WebhookError(_("That address is inside a private network. Webhooks only go to addresses on "
                             "the public internet."))
    return url


# -- what staff do ------------------------------------------------------------------------------------


def check_events(names) -> list[str]:
    chosen = sorted(set(names or []))
    known = declared_events(enabled_only=True)
    if not chosen:
        raise WebhookError(_("Please choose at least one event."))
    if any(name not in known for name in chosen):
        raise WebhookError(_("Please choose among the events listed."))
    return chosen


def create_endpoint(organisation_id: int, url: str, events: list[str],
                    actor_id: int | None) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint; returns it and its secret, which the page shows once."""
    from core.audit import record

    secret = new_secret()
    with db.atomic():
        endpoint = WebhookEndpoint.create(organisation=organisation_id, url=url, events=",".join(events),
                                          secret=secret, created_by=actor_id)
        record("webhook.created", target=endpoint.target())
    return endpoint, secret


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret, shown once; the old one also signs for ROTATION_GRACE."""
    from core.audit import record
    from core.db import lock_row

    secret = new_secret()
    with db.atomic():
        lock_row(WebhookEndpoint, endpoint.id)
        current = WebhookEndpoint.get_by_id(endpoint.id)
        WebhookEndpoint.update(secret=secret, previous_secret=current.secret,
                               previous_secret_until=utcnow() + ROTATION_GRACE).where(
            WebhookEndpoint.id == endpoint.id).execute()
        record("webhook.secret_rotated", target=endpoint.target())
    return secret


def set_active(endpoint: WebhookEndpoint, active: bool) -> None:
    from core.audit import record

    with db.atomic():
        WebhookEndpoint.update(active=active).where(WebhookEndpoint.id == endpoint.id).execute()
        record("webhook.resumed" if active else "webhook.paused", target=endpoint.target())
    if active:
        kick()  # what waited while it was paused


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """The endpoint and its deliveries (sent or not) are deleted."""
    from core.audit import record

    with db.atomic():
        WebhookDelivery.delete().where(WebhookDelivery.endpoint == endpoint.id).execute()
        WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint.id).execute()
        record("webhook.deleted", target=endpoint.target())


def retry_now(delivery: WebhookDelivery) -> None:
    """Send a failed or waiting delivery again now; a failed one starts its retries afresh."""
    from core.audit import record

    if delivery.status not in (PENDING, FAILED):
        raise WebhookError(_("This message is being sent or was delivered already."))
    with db.atomic():
        values = {WebhookDelivery.status: PENDING, WebhookDelivery.next_attempt_at: utcnow()}
        if delivery.status == FAILED:
            values[WebhookDelivery.attempts] = 0
        WebhookDelivery.update(values).where(
            (WebhookDelivery.id == delivery.id) & WebhookDelivery.status.in_([PENDING, FAILED])).execute()
        record("webhook.retried", target=f"webhook:{delivery.endpoint_id} delivery:{delivery.id}")
    kick()


TEST_EVENT = "webhook.test"


def send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A "webhook.test" message to this endpoint only, whatever it subscribed to, so a partner can
    check their signature code. Its data says only that it is a test."""
    from core.audit import record

    now = utcnow()
    with db.atomic():
        delivery = WebhookDelivery.create(endpoint=endpoint.id, event_type=TEST_EVENT, message_id=new_message_id(),
                                          payload=envelope(TEST_EVENT, {"test": True}, now), next_attempt_at=now,
                                          created_at=now)
        record("webhook.tested", target=endpoint.target())
    kick()
    return delivery


def last_deliveries(endpoint_id: int, limit: int = 50) -> list[WebhookDelivery]:
    return list(WebhookDelivery.select(
        WebhookDelivery.id, WebhookDelivery.endpoint, WebhookDelivery.event_type, WebhookDelivery.message_id,
        WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.next_attempt_at,
        WebhookDelivery.last_status, WebhookDelivery.last_error, WebhookDelivery.last_attempt_at,
        WebhookDelivery.created_at, WebhookDelivery.delivered_at,
    ).where(WebhookDelivery.endpoint == endpoint_id).order_by(WebhookDelivery.id.desc()).limit(limit))


def latest_by_endpoint(endpoint_ids: list[int]) -> dict[int, WebhookDelivery]:
    """Each endpoint's most recent delivery (its last status), for the list page."""
    if not endpoint_ids:
        return {}
    from peewee import fn

    newest = (WebhookDelivery.select(fn.MAX(WebhookDelivery.id))
              .where(WebhookDelivery.endpoint.in_(endpoint_ids)).group_by(WebhookDelivery.endpoint))
    rows = WebhookDelivery.select(
        WebhookDelivery.id, WebhookDelivery.endpoint, WebhookDelivery.event_type, WebhookDelivery.status,
        WebhookDelivery.attempts, WebhookDelivery.last_status, WebhookDelivery.last_error,
        WebhookDelivery.last_attempt_at, WebhookDelivery.created_at, WebhookDelivery.delivered_at,
    ).where(WebhookDelivery.id.in_(newest))
    return {row.endpoint_id: row for row in rows}


def delivered_or_failed():
    """For the retention rule: rows that are finished with."""
    return WebhookDelivery.status.in_([DELIVERED, FAILED])
