"""The urgent push: an outbox of signed items to send to peers at once, with retries.

The same design as the webhooks outbox (core.webhooks.sending) and the alerts delivery outbox: a
drain claims due rows (status "sending", claimed_by = host:pid:start:thread), sends each peer its
items in one signed POST to /federation/v1/push, and marks them "delivered" the moment the peer
answered with a signed 2xx, before the next peer. A worker that dies leaves rows "sending"; the
sweep (every minute) puts them back. A failed attempt is retried after 30 s, 2 min, 10 min, 30 min,
1 h, 3 h and 6 h; then the row is "failed" (the item is still in the feed: the next pull gets it).
What is pushed is always the item's current version, so a correction queued behind an older
push never goes out first. Only ids and a short error code are kept, never an answer's body.
"""

from __future__ import annotations

import datetime
import logging

from flask import after_this_request, g, has_request_context

from core.db import db, is_sqlite, run_sql, utcnow
from core.federation import API_PREFIX, feed
from core.federation.models import DELIVERED, FAILED, PENDING, SENDING, FeedItem, Peer, PushMessage
from core.federation.peers import PeerError, error_code, signed_request

log = logging.getLogger("redumbrella.federation")

RETRY_DELAYS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_BATCH = 50
CLAIM_LEASE = datetime.timedelta(minutes=15)


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


def claim(who: str, limit: int = CLAIM_BATCH) -> list[int]:
    now = utcnow()
    lock = "" if is_sqlite() else " FOR UPDATE OF m SKIP LOCKED"
    sql = (  # only the fixed lock clause is joined in
        "UPDATE federation_push SET status = %s, claimed_by = %s, claimed_at = %s "  # noqa: S608  # nosec B608
        "WHERE id IN (SELECT m.id FROM federation_push m JOIN federation_peer p ON p.id = m.peer_id "
        "WHERE m.status = %s AND m.next_attempt_at <= %s AND p.removed_at IS NULL "
        f"ORDER BY m.id LIMIT %s{lock}) RETURNING id"
    )
    with db.atomic():
        cursor = run_sql(sql, (SENDING, who, now, PENDING, now, limit))
        return sorted(row[0] for row in cursor.fetchall())


def drain() -> int:
    """Push every due message, peer by peer; returns how many were delivered."""
    from core.claims import claimer

    who = claimer()
    delivered = 0
    try:
        while True:
            ids = claim(who)
            if not ids:
                break
            messages = list(PushMessage.select().where(PushMessage.id.in_(ids) & (PushMessage.claimed_by == who))
                            .order_by(PushMessage.id))
            by_peer: dict[int, list[PushMessage]] = {}
            for message in messages:
                by_peer.setdefault(message.peer_id, []).append(message)
            for peer_id, batch in by_peer.items():
                delivered += send(Peer.get_by_id(peer_id), batch)
    finally:
        PushMessage.update(status=PENDING, claimed_by=None).where(
            (PushMessage.status == SENDING) & (PushMessage.claimed_by == who)).execute()
    if delivered:
        log.info("federation items pushed", extra={"event": "federation_pushed", "count": delivered})
    return delivered


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
        _mark(ids, DELIVERED, None, None)
        return 0
    try:
        response = signed_request(peer, "POST", f"{API_PREFIX}/push", {"items": items})
    except PeerError as exc:
        _failed(batch, None, error_code(exc))
        return 0
    if response.ok:
        _mark(ids, DELIVERED, response.status, None)
        return len(ids)
    _failed(batch, response.status, error_code(response))
    return 0


def _mark(ids: list[int], status: str, http_status: int | None, error: str | None) -> None:
    now = utcnow()
    PushMessage.update(status=status, claimed_by=None, attempts=PushMessage.attempts + 1, last_status=http_status,
                       last_error=error, last_attempt_at=now,
                       delivered_at=now if status == DELIVERED else None).where(PushMessage.id.in_(ids)).execute()


def _failed(batch: list[PushMessage], http_status: int | None, error: str) -> None:
    now = utcnow()
    for message in batch:
        attempts = message.attempts + 1
        values = {PushMessage.attempts: attempts, PushMessage.claimed_by: None, PushMessage.last_status: http_status,
                  PushMessage.last_error: error[:80], PushMessage.last_attempt_at: now}
        if attempts >= MAX_ATTEMPTS:
            values[PushMessage.status] = FAILED
        else:
            values[PushMessage.status] = PENDING
            values[PushMessage.next_attempt_at] = now + datetime.timedelta(seconds=RETRY_DELAYS[attempts - 1])
        PushMessage.update(values).where(PushMessage.id == message.id).execute()
    log.info("federation push will be retried", extra={"event": "federation_push_retry", "reason": error[:40]})


def release_dead_claims() -> int:
    from core.claims import claimer_alive

    released = 0
    claims = [row[0] for row in PushMessage.select(PushMessage.claimed_by)
              .where(PushMessage.status == SENDING).distinct().tuples()]
    for claim_id in claims:
        if claim_id is None or claimer_alive(claim_id) is False:
            released += (PushMessage.update(status=PENDING, claimed_by=None)
                         .where((PushMessage.status == SENDING) & (PushMessage.claimed_by == claim_id)).execute())
    released += (PushMessage.update(status=PENDING, claimed_by=None)
                 .where((PushMessage.status == SENDING) & (PushMessage.claimed_at < utcnow() - CLAIM_LEASE))
                 .execute())
    return released


def due_count() -> int:
    return (PushMessage.select()
            .where((PushMessage.status == PENDING) & (PushMessage.next_attempt_at <= utcnow())).count())


def sweep() -> dict:
    released = release_dead_claims()
    due = due_count()
    delivered = drain() if due else 0
    return {"released": released, "due": due, "delivered": delivered}


def retry_now(peer: Peer | None = None) -> int:
    """Make every waiting or failed push due now (after a peer came back); returns how many."""
    query = PushMessage.update(status=PENDING, next_attempt_at=utcnow()).where(
        PushMessage.status.in_([PENDING, FAILED]))
    if peer is not None:
        query = query.where(PushMessage.peer == peer)
    return query.execute()
