"""The urgent push: an outbox of signed items to send to peers at once, with retries.

The loop is core.outbox's, shared with the webhooks outbox: a drain claims due rows (status
"sending", claimed_by = host:pid:start:thread), sends each peer its items in one signed POST to
/federation/v1/push, and marks them "delivered" the moment the peer answered with a signed 2xx,
before the next peer. A worker that dies leaves rows "sending"; the sweep (every minute) puts
them back. A failed attempt is retried after 30 s, 2 min, 10 min, 30 min, 1 h, 3 h and 6 h; then
the row is "failed" (the item is still in the feed: the next pull gets it).
What is pushed is always the item's current version, so a correction queued behind an older
push never goes out first. Only ids and a short error code are kept, never an answer's body.
"""

from __future__ import annotations

import datetime
import logging

from flask import after_this_request, g, has_request_context

from core.db import db, utcnow
from core.federation import API_PREFIX, feed
from core.federation.models import FAILED, PENDING, FeedItem, Peer, PushMessage
from core.federation.peers import PeerError, error_code, signed_request
from core.outbox import Outbox

log = logging.getLogger("redumbrella.federation")

RETRY_DELAYS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_BATCH = 50
CLAIM_LEASE = datetime.timedelta(minutes=15)

# The shared claim / send / retry loop (core.outbox); a row may go out while its peer is not removed.
OUTBOX = Outbox(PushMessage, join="JOIN federation_peer p ON p.id = o.peer_id", ready="p.removed_at IS NULL",
                retry_delays=RETRY_DELAYS, batch=CLAIM_BATCH, lease=CLAIM_LEASE, log=log, event="federation_push",
                noun="federation push")


def kick() -> None:
    """Ask the queue to push what is due. Never raises: the sweep finds anything left."""
    from core.federation.tasks import push_to_peers

    try:
        push_to_peers()
    except Exception as exc:
        log.warning("federation push not queued", extra={"event": "federation_kick_failed",
                                                         "reason": type(exc).__name__})


def kick_after_commit() -> None:
    if not db.in_transaction():
        kick()
    elif has_request_context() and not g.get("federation_kick"):
        g.federation_kick = True

        @after_this_request
        def _kick(response):
            kick()
            return response
    # Outside a request (a command, a task) the caller calls kick() after its transaction, or the
    # every-minute sweep sends it.


def drain() -> int:
    """Push every due message, peer by peer; returns how many were delivered."""
    delivered = OUTBOX.drain(_send_by_peer)
    if delivered:
        log.info("federation items pushed", extra={"event": "federation_pushed", "count": delivered})
    return delivered


def _send_by_peer(messages: list[PushMessage]) -> int:
    by_peer: dict[int, list[PushMessage]] = {}
    for message in messages:
        by_peer.setdefault(message.peer_id, []).append(message)
    return sum(send(Peer.get_by_id(peer_id), batch) for peer_id, batch in by_peer.items())


def send(peer: Peer, batch: list[PushMessage]) -> int:
    """One signed POST with the current version of each item; marks the batch."""
    members = feed._group_index()
    items, seen = [], set()
    for message in batch:
        item = FeedItem.get_or_none(FeedItem.id == message.item_id)
        if item is None or item.id in seen or not feed.may_see(peer, item.distribution, members):
            continue
        seen.add(item.id)
        items.append({"body": item.body, "signature": item.signature})
    ids = [message.id for message in batch]
    if not items:
        OUTBOX.delivered(ids, None)
        return 0
    try:
        response = signed_request(peer, "POST", f"{API_PREFIX}/push", {"items": items})
    except PeerError as exc:
        OUTBOX.failed(batch, None, error_code(exc))
        return 0
    if response.ok:
        OUTBOX.delivered(ids, response.status)
        return len(ids)
    OUTBOX.failed(batch, response.status, error_code(response))
    return 0


def sweep() -> dict:
    released = OUTBOX.release_dead_claims()
    due = OUTBOX.due_count()
    delivered = drain() if due else 0
    return {"released": released, "due": due, "delivered": delivered}


def retry_now(peer: Peer | None = None) -> int:
    """Make every waiting or failed push due now (after a peer came back); returns how many."""
    query = PushMessage.update(status=PENDING, next_attempt_at=utcnow()).where(
        PushMessage.status.in_([PENDING, FAILED]))
    if peer is not None:
        query = query.where(PushMessage.peer == peer)
    return query.execute()
