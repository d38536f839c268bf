"""Peers and the signed requests between them.

Every request from one instance to another is signed with the sender's federation key
(core.federation.identity) over what it asks and for whom:

    redumbrella-federation-v1 \n METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n FROM \n TO \n SHA256(BODY)

in these headers: X-Redumbrella-From (the sender's fingerprint), X-Redumbrella-To (the
receiver's), X-Redumbrella-Timestamp (Unix seconds), X-Redumbrella-Nonce (random hex) and
X-Redumbrella-Signature (base64 Ed25519). The receiver (`@peer_endpoint`) answers 401 unless the
sender is an *active* peer it has added itself (so nothing flows until both sides added each
other, and removing a peer stops everything at once), the signature is that peer's, the request
was meant for this instance, the timestamp is within FRESHNESS seconds of its clock and the nonce
was not seen before. Its answer is signed too, over

    redumbrella-federation-v1-response \n STATUS \n REQUEST NONCE \n FROM \n SHA256(BODY)

in X-Redumbrella-Signature, so `signed_request` knows the answer came from the peer it asked,
for this very request, even over plain HTTP.

The path is signed as the application sees it (without a prefix a reverse proxy may mount it
under), and the peer's base_url may carry such a prefix.

Transport: http.client with a timeout, no redirect followed, no proxy, an answer of at most
MAX_ANSWER bytes. https is required, except to a loopback address (a peer on the same machine,
and the tests). Nothing here logs an address, a body or a peer's words: errors are kept as a
short code ("HTTP 401", "ConnectionRefusedError").
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import g, jsonify, make_response, request
from peewee import IntegrityError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from core.db import db, utcnow
from core.federation import identity
from core.federation.models import Peer, SeenNonce

log = logging.getLogger("redumbrella.federation")

PREFIX = "redumbrella-federation-v1"
FRESHNESS = 300  # seconds either way
TIMEOUT = 15
MAX_ANSWER = 8 * 1024 * 1024
USER_AGENT = "RedUmbrella-Federation/1"

H_FROM, H_TO, H_TIME, H_NONCE, H_SIGNATURE = (
    "X-Redumbrella-From", "X-Redumbrella-To", "X-Redumbrella-Timestamp", "X-Redumbrella-Nonce",
    "X-Redumbrella-Signature")


class PeerError(Exception):
    """A request to a peer did not get a trustworthy answer; str() is a short code, never a body."""


@dataclass
class PeerResponse:
    status: int
    body: bytes
    signed: bool  # the answer carries a valid signature of the peer over this request's nonce

    @property
    def ok(self) -> bool:
        return self.signed and 200 <= self.status < 300

    def json(self):
        return json.loads(self.body.decode("utf-8"))


# -- looking peers up ------------------------------------------------------------------------------


def active_peers() -> list[Peer]:
    return list(Peer.select().where(Peer.removed_at.is_null()).order_by(Peer.name))


def get(name: str, include_removed: bool = False) -> Peer | None:
    query = Peer.select().where(Peer.name == name)
    if not include_removed:
        query = query.where(Peer.removed_at.is_null())
    return query.first()


def by_fingerprint(fingerprint: str, include_removed: bool = False) -> Peer | None:
    query = Peer.select().where(Peer.fingerprint == identity.normalise_fingerprint(fingerprint))
    if not include_removed:
        query = query.where(Peer.removed_at.is_null())
    return query.order_by(Peer.removed_at.is_null().desc(), Peer.id.desc()).first()


# -- what is signed --------------------------------------------------------------------------------


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def request_text(method: str, path: str, timestamp: str, nonce: str, sender: str, recipient: str,
                 body: bytes) -> bytes:
    return "\n".join([PREFIX, method.upper(), path, timestamp, nonce, sender, recipient,
                      body_hash(body)]).encode("utf-8")


def response_text(status: int, nonce: str, sender: str, body: bytes) -> bytes:
    return "\n".join([f"{PREFIX}-response", str(status), nonce, sender, body_hash(body)]).encode("utf-8")


# -- sending ----------------------------------------------------------------------------------------


def _is_loopback(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses)


def check_base_url(url: str) -> str | None:
    """The base URL without a trailing slash, or None when it cannot be a peer's address."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        return None
    if parts.query or parts.fragment or len(text) > 500:
        return None
    return text.rstrip("/")


def _connection(base_url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        return (http.client.HTTPSConnection(parts.hostname, port, timeout=TIMEOUT,
                                            context=ssl.create_default_context()), parts.path.rstrip("/"))
    if not _is_loopback(parts.hostname, port):
        raise PeerError("https required")
    return http.client.HTTPConnection(parts.hostname, port, timeout=TIMEOUT), parts.path.rstrip("/")


def signed_request(peer: Peer, method: str, path: str, body: bytes | dict | list | None = None) -> PeerResponse:
    """Send a signed request to a peer and check its signed answer.

    path: from the application's root, with its query ("/federation/v1/feed"). body: bytes, or a
    JSON value (sent as JSON). Raises PeerError when the peer cannot be reached, answers too much,
    or answers 2xx without a valid signature; any other answer is returned (look at .ok)."""
    if isinstance(body, dict | list):
        body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    body = body or b""
    method = method.upper()
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    sender = identity.fingerprint()
    signature = identity.sign(request_text(method, path, timestamp, nonce, sender, peer.fingerprint, body))
    headers = {H_FROM: sender, H_TO: peer.fingerprint, H_TIME: timestamp, H_NONCE: nonce, H_SIGNATURE: signature,
               "User-Agent": USER_AGENT, "Accept": "application/json"}
    if body or method in {"POST", "PUT", "PATCH"}:
        headers["Content-Type"] = "application/json"
    connection, prefix = _connection(peer.base_url)
    try:
        connection.request(method, prefix + path, body=body if body or method != "GET" else None, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_ANSWER + 1)
        status = response.status
        answer_signature = response.getheader(H_SIGNATURE, "")
    except (OSError, http.client.HTTPException) as exc:
        raise PeerError(type(exc).__name__) from None
    finally:
        connection.close()
    if len(data) > MAX_ANSWER:
        raise PeerError("answer too large")
    signed = identity.verify(peer.public_key, response_text(status, nonce, peer.fingerprint, data), answer_signature)
    if 200 <= status < 300 and not signed:
        raise PeerError("answer not signed")
    return PeerResponse(status, data, signed)


def error_code(exc_or_response) -> str:
    """What is kept of a failed exchange in Peer.last_error."""
    if isinstance(exc_or_response, PeerResponse):
        return f"HTTP {exc_or_response.status}"
    return str(exc_or_response)[:80] or type(exc_or_response).__name__


# -- receiving --------------------------------------------------------------------------------------


def _refuse(status: int, reason: str):
    """A JSON refusal; the reason is logged as a code, the peer only learns the status."""
    from flask_babel import gettext as _

    log.info("federation request refused", extra={"event": "federation_refused", "reason": reason,
                                                   "status": status})
    messages = {401: _("This instance does not accept this request."),
                413: _("The request is too large.")}
    message = messages.get(status, _("The request was refused."))
    return jsonify({"error": {"status": status, "message": message}}), status


def _remember_nonce(sender: str, nonce: str) -> bool:
    """Store a request's nonce; False when it was seen before (a replay)."""
    try:
        with db.atomic():
            SeenNonce.create(nonce=f"{sender}:{nonce}"[:64], seen_at=utcnow())
    except IntegrityError:
        return False
    return True


def forget_old_nonces() -> int:
    import datetime

    limit = utcnow() - datetime.timedelta(seconds=FRESHNESS * 2 + 60)
    return SeenNonce.delete().where(SeenNonce.seen_at < limit).execute()


def authenticate() -> tuple[Peer | None, str]:
    """(peer, "") for a valid signed request from an active peer, else (None, reason code)."""
    sender = request.headers.get(H_FROM, "")
    recipient = request.headers.get(H_TO, "")
    timestamp = request.headers.get(H_TIME, "")
    nonce = request.headers.get(H_NONCE, "")
    signature = request.headers.get(H_SIGNATURE, "")
    if not (sender and recipient and timestamp and nonce and signature):
        return None, "unsigned"
    if len(nonce) > 40 or not all(char in "0123456789abcdef" for char in nonce):
        return None, "bad_nonce"
    if recipient != identity.fingerprint():
        return None, "not_for_us"
    try:
        moment = int(timestamp)
    except ValueError:
        return None, "bad_timestamp"
    if abs(time.time() - moment) > FRESHNESS:
        return None, "stale"
    peer = by_fingerprint(sender)
    if peer is None:
        return None, "not_a_peer"
    path = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    body = request.get_data(cache=True)
    text = request_text(request.method, path, timestamp, nonce, peer.fingerprint, recipient, body)
    if not identity.verify(peer.public_key, text, signature):
        return None, "bad_signature"
    if not _remember_nonce(peer.fingerprint, nonce):
        return None, "replayed"
    return peer, ""


def _sign_response(response, nonce: str):
    data = response.get_data()
    text = response_text(response.status_code, nonce, identity.fingerprint(), data)
    response.headers[H_SIGNATURE] = identity.sign(text)
    response.headers["Cache-Control"] = "no-store"
    return response


def peer_endpoint(view):
    """Decorate a view under /federation/v1/ that only active peers may call with a signed request.

    The view finds the calling Peer in `flask.g.peer` and returns what a Flask view returns
    (JSON, usually). Every answer, refusals and errors included, is JSON signed over the request's
    nonce. The view needs no @requires: the signature is the permission (it is marked PUBLIC for
    the permission guard, and CSRF does not apply: no cookie is involved)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        nonce = request.headers.get(H_NONCE, "")[:40]
        # The limit holds for the bytes read, not only for what Content-Length says: a chunked
        # body has none. At most one byte past the limit is read (werkzeug stops there quietly).
        request.max_content_length = MAX_ANSWER + 1
        try:
            too_large = len(request.get_data(cache=True)) > MAX_ANSWER
        except RequestEntityTooLarge:
            too_large = True
        if too_large:
            return _sign_response(make_response(_refuse(413, "too_large")), nonce)
        peer, reason = authenticate()
        if peer is None:
            return _sign_response(make_response(_refuse(401, reason)), nonce)
        g.peer = peer
        try:
            response = make_response(view(*args, **kwargs))
        except HTTPException as exc:
            from core.views.errors import messages

            status = exc.code or 500
            message = messages().get(status) or messages()[500]
            response = make_response(jsonify({"error": {"status": status, "message": message}}), status)
        return _sign_response(response, nonce)

    from core.permissions import PUBLIC

    wrapper.required_permission = PUBLIC
    wrapper.signed_by_peer = True
    return wrapper


def current_peer() -> Peer:
    return g.peer


__all__ = ["PeerError", "PeerResponse", "active_peers", "authenticate", "by_fingerprint", "check_base_url",
           "current_peer", "error_code", "get", "peer_endpoint", "signed_request"]
