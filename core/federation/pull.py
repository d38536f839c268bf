"""Pulling a peer's feed: its manifest, then the items that are newer than what was accepted.

GET /federation/v1/manifest answers [[origin fingerprint, uid, version], ...] for everything the
peer shares with this instance (withdrawals included, for TOMBSTONES_KEPT); this instance then asks
POST /federation/v1/items for those whose version is higher than the one it accepted, 100 at a
time, and checks and takes each (core.federation.feed.receive), and its own items that a relay
brought first (so the peer, their origin, takes their route over). What the peer shared as its
origin and is no longer in its manifest is withdrawn here too; what it only relayed is not. A
correction or a withdrawal therefore arrives at the next pull at the latest, even if its urgent
push was lost.
"""

from __future__ import annotations

import logging
from collections import Counter

from core.db import db, utcnow
from core.federation import API_PREFIX, feed
from core.federation.models import Peer, Received
from core.federation.peers import PeerError, active_peers, error_code, signed_request

log = logging.getLogger("redumbrella.federation")
BATCH = 100


def _record(peer: Peer, error: str | None) -> None:
    now = utcnow()
    values = {Peer.last_pull_at: now, Peer.last_error: error}
    if error is None:
        values[Peer.last_ok_at] = now
    with db.atomic():
        Peer.update(values).where(Peer.id == peer.id).execute()


def pull(peer: Peer) -> Counter:
    """Pull one peer; returns counts by outcome ("accepted", each refusal, "withdrawn", and
    "error" with Peer.last_error set when the peer could not be asked)."""
    counts: Counter = Counter()
    try:
        response = signed_request(peer, "GET", f"{API_PREFIX}/manifest")
        if not response.ok:
            raise PeerError(error_code(response))
        manifest = response.json().get("items")
        if not isinstance(manifest, list):
            raise PeerError("bad manifest")
        offered: set[tuple[str, str]] = set()
        wanted: list[list[str]] = []
        known = {(origin, uid): (version, route) for origin, uid, version, route in
                 Received.select(Received.origin_fingerprint, Received.uid, Received.version, Received.peer).tuples()}
        for entry in manifest:
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
                    and isinstance(entry[1], str) and isinstance(entry[2], int)):
                counts["malformed"] += 1
                continue
            offered.add((entry[0], entry[1]))
            version, route = known.get((entry[0], entry[1]), (0, None))
            # The origin's own copy of what a relay brought first is fetched too: it takes the route over.
            if entry[2] > version or (entry[0] == peer.fingerprint and route != peer.id and entry[2] == version):
                wanted.append([entry[0], entry[1]])
        for start in range(0, len(wanted), BATCH):
            response = signed_request(peer, "POST", f"{API_PREFIX}/items", {"items": wanted[start:start + BATCH]})
            if not response.ok:
                raise PeerError(error_code(response))
            items = response.json().get("items")
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    counts["malformed"] += 1
                    continue
                counts[feed.receive(peer, item.get("body"), item.get("signature"))] += 1
        counts["withdrawn"] += feed.withdraw_missing(peer, offered)
    except PeerError as exc:
        counts["error"] += 1
        _record(peer, error_code(exc))
        log.info("federation pull failed", extra={"event": "federation_pull_failed", "reason": error_code(exc)})
        return counts
    except ValueError:
        counts["error"] += 1
        _record(peer, "bad answer")
        return counts
    _record(peer, None)
    log.info("federation pull", extra={"event": "federation_pulled", "count": counts["accepted"]})
    _after_pull(peer)
    return counts


def _after_pull(peer: Peer) -> None:
    """Each federated kind's `pulled(peer)`: what else its plugin keeps of the peer is refreshed
    with the feed (the alerts plugin's check tokens). A failure there never fails the pull."""
    for kind in feed.federated_kinds().values():
        if kind.pulled is None:
            continue
        try:
            kind.pulled(peer)
        except Exception:  # noqa: BLE001 - logged; the pull itself succeeded
            log.exception("after a pull", extra={"event": "federation_after_pull_failed", "kind": kind.name})


def pull_all() -> dict[str, Counter]:
    from core.federation.push import kick

    results = {peer.name: pull(peer) for peer in active_peers()}
    kick()  # a passed-on tombstone or urgent correction is pushed on at once
    return results
