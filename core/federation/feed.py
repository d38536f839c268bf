"""The signed feed: what this instance shares, what it receives, and the rules between the two.

Sharing (called by a plugin, inside the transaction that changes the thing):

    from core.federation import feed
    feed.share("alert", str(alert.id), data, distribution="group:North", may_pass_on=False, urgent=True)
    feed.withdraw("alert", str(alert.id))

`data` is exactly what the plugin lets peers see (for an alert: what members see of it, without
its identifiers, which never leave the instance). Each call that changes what peers would get
writes a new *version* of the item, signed with this instance's key: a correction is a new signed
version, a withdrawal a signed tombstone. Urgent items and every tombstone are also pushed at
once through the outbox (core.federation.push); everything is in the feed peers pull.

An item is canonical JSON (core.federation.identity.canonical), signed as a whole by its origin:

    {"format": "redumbrella-item-1", "uid", "version", "kind", "tombstone",
     "origin": {"name", "fingerprint", "public_key"},
     "distribution": "peers" | "group", "group": name or null,
     "audience": [fingerprints of the group's members] (a group only),
     "may_pass_on", "urgent", "signed_at", "data": {...} or null}

Receiving (`receive`), an item is refused unless: its signature is valid under the origin's key and
that key gives the origin's fingerprint; it came from an active peer; when it came straight from
its origin, the key is the one the admin added and this instance is in its distribution (all
peers, or in the group's signed audience); when it came through another peer, the origin allowed
passing it on (may_pass_on, under the origin's signature) and the origin is not a peer this
instance removed, and, when the origin is not one of our peers, it does not claim the name of one;
and its version is higher than any accepted before (an older or equal version is a replay). What
is accepted is handed to the plugin that registered its kind, and never shared again unless the
origin allowed it and a moderator chose to pass it on (`pass_on`), unchanged, origin's signature
and all.

Routes. What is received is attributed to one *route* (Received.peer): the origin itself once it
delivered the item straight to us, else the peer that relayed its newest version. The route's
settings (auto-publish, regions) apply to each new version. A relay never decides for the origin:
the origin delivering a version a relay brought first takes the route over (nothing is applied
twice: it is answered "replayed"), a relay never takes it back, and a relay that stops listing
another instance's item withdraws nothing here (`withdraw_missing`): only the origin's signed
tombstone, or the origin's own feed no longer offering it, withdraws it.
"""

from __future__ import annotations

import datetime
import json
import logging
import secrets
from dataclasses import dataclass, field

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.db import db, lock_row, utcnow
from core.federation import FederatedKind, identity
from core.federation.models import (
    FeedItem,
    Peer,
    PushMessage,
    Received,
    RetiredKey,
    SharingGroup,
    SharingGroupMember,
)

log = logging.getLogger("redumbrella.federation")

FORMAT = "redumbrella-item-1"
LOCAL, PEERS, GROUP = "local", "peers", "group"
TOMBSTONES_KEPT = datetime.timedelta(days=90)  # a withdrawal stays in the feed this long
MAX_ITEM = 256 * 1024

# Why an item was refused (codes, for logs, tests and the admin page's counts).
ACCEPTED = "accepted"
REFUSALS = ("malformed", "bad_signature", "origin_mismatch", "own_item", "retired_key", "wrong_key",
            "outside_distribution", "no_pass_on", "removed_peer", "replayed", "unknown_kind", "failed")


class DistributionError(ValueError):
    """A distribution that cannot be used; the message is translated."""


# -- distributions ----------------------------------------------------------------------------------


def parse_distribution(text: str | None) -> tuple[str, str | None]:
    """("local", None), ("peers", None) or ("group", NAME) for "local", "peers", "group:NAME";
    DistributionError for anything else or a group that does not exist."""
    value = (text or LOCAL).strip()
    if value in (LOCAL, PEERS):
        return value, None
    if value.startswith("group:"):
        name = value[len("group:"):].strip()
        if name and SharingGroup.select().where(SharingGroup.name == name).exists():
            return GROUP, name
        raise DistributionError(_("There is no sharing group called “%(name)s”.", name=name))
    raise DistributionError(_("Choose who may see it: this instance only, all peers, or a sharing group."))


def distribution_value(kind: str, group: str | None = None) -> str:
    return f"group:{group}" if kind == GROUP else kind


def distribution_choices() -> list[tuple[str, object]]:
    """(value, label) for a form: this instance only, all peers, then each sharing group."""
    choices = [(LOCAL, _l("This instance only")), (PEERS, _l("All our peers"))]
    for group in SharingGroup.select().order_by(SharingGroup.name):
        choices.append((f"group:{group.name}", _("Sharing group: %(name)s", name=group.name)))
    return choices


def distribution_label(value: str | None) -> str:
    kind, _sep, name = (value or LOCAL).partition(":")
    if kind == PEERS:
        return _("All our peers")
    if kind == GROUP and name:
        return _("Sharing group: %(name)s", name=name)
    return _("This instance only")


def group_members(name: str) -> list[Peer]:
    return list(Peer.select().join(SharingGroupMember).join(SharingGroup)
                .where((SharingGroup.name == name) & Peer.removed_at.is_null()).order_by(Peer.name))


def recipients(distribution: str) -> list[Peer]:
    """The active peers an item with this (serving) distribution goes to."""
    kind, _sep, name = distribution.partition(":")
    if kind == PEERS:
        return list(Peer.select().where(Peer.removed_at.is_null()).order_by(Peer.name))
    if kind == GROUP:
        return group_members(name)
    return []


def may_see(peer: Peer, distribution: str, members: dict[str, set[int]] | None = None) -> bool:
    kind, _sep, name = distribution.partition(":")
    if peer.removed_at is not None:
        return False
    if kind == PEERS:
        return True
    if kind == GROUP:
        if members is not None:
            return peer.id in members.get(name, set())
        return SharingGroupMember.select().join(SharingGroup).where(
            (SharingGroup.name == name) & (SharingGroupMember.peer == peer)).exists()
    return False


def _group_index() -> dict[str, set[int]]:
    index: dict[str, set[int]] = {}
    for name, peer_id in (SharingGroupMember.select(SharingGroup.name, SharingGroupMember.peer)
                          .join(SharingGroup).tuples()):
        index.setdefault(name, set()).add(peer_id)
    return index


# -- sharing ----------------------------------------------------------------------------------------


def _origin() -> dict:
    return {"name": current_app.config["SITE_NAME"], "fingerprint": identity.fingerprint(),
            "public_key": identity.public_key_b64()}


def _iso(moment: datetime.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def _body(uid: str, version: int, kind: str, tombstone: bool, distribution: str, may_pass_on: bool,
          urgent: bool, data: dict | None) -> dict:
    dist_kind, _sep, group = distribution.partition(":")
    return {
        "format": FORMAT,
        "uid": uid,
        "version": version,
        "kind": kind,
        "tombstone": tombstone,
        "origin": _origin(),
        "distribution": dist_kind,
        "group": group or None,
        "audience": sorted(peer.fingerprint for peer in group_members(group)) if dist_kind == GROUP else [],
        "may_pass_on": bool(may_pass_on),
        "urgent": bool(urgent),
        "signed_at": _iso(utcnow()),
        "data": None if tombstone else data,
    }


def _same_content(old: dict, new: dict) -> bool:
    keys = ("kind", "tombstone", "distribution", "group", "audience", "may_pass_on", "urgent", "data", "origin")
    return all(old.get(key) == new.get(key) for key in keys)


def _write(item: FeedItem | None, uid: str, kind: str, local_ref: str | None, tombstone: bool,
           distribution: str, may_pass_on: bool, urgent: bool, data: dict | None) -> FeedItem | None:
    """Sign and store a new version when what peers would get changed; None when nothing changed."""
    version = (item.version + 1) if item is not None else 1
    body = _body(uid, version, kind, tombstone, distribution, may_pass_on, urgent, data)
    if item is not None and _same_content(json.loads(item.body), body):
        return None
    text = identity.canonical(body).decode("utf-8")
    signature = identity.sign(text.encode("utf-8"))
    now = utcnow()
    if item is None:
        item = FeedItem(uid=uid, origin_fingerprint=identity.fingerprint(), kind=kind, local_ref=local_ref,
                        created_at=now)
    item.version = version
    item.tombstone = tombstone
    item.distribution = distribution
    item.may_pass_on = bool(may_pass_on)
    item.urgent = bool(urgent)
    item.body = text
    item.signature = signature
    item.updated_at = now
    item.save()
    return item


def item_for(kind: str, local_ref: str) -> FeedItem | None:
    return FeedItem.get_or_none((FeedItem.kind == kind) & (FeedItem.local_ref == local_ref)
                                & (FeedItem.origin_fingerprint == identity.fingerprint()))


def share(kind: str, local_ref: str, data: dict, distribution: str = LOCAL, may_pass_on: bool = False,
          urgent: bool = False) -> FeedItem | None:
    """Put (a new version of) this thing in the feed for `distribution`, or take it out ("local":
    a signed tombstone, if peers had it). Call inside the transaction that changes the thing.
    Returns the new version's row, or None when peers would get nothing new."""
    dist_kind, group = parse_distribution(distribution)
    with db.atomic():
        item = item_for(kind, local_ref)
        if item is not None:
            lock_row(FeedItem, item.id)
        if dist_kind == LOCAL:
            return withdraw(kind, local_ref) if item is not None else None
        value = distribution_value(dist_kind, group)
        uid = item.uid if item is not None else secrets.token_hex(16)
        written = _write(item, uid, kind, local_ref, False, value, may_pass_on, urgent, data)
        if written is None:
            return None
        if urgent:
            _queue_push(written, recipients(value))
        # A peer that had it and no longer may see it (a narrower distribution) no longer finds it
        # in the feed, which withdraws it there at its next pull (withdraw_missing).
    return written


def withdraw(kind: str, local_ref: str) -> FeedItem | None:
    """Replace the shared item by a signed tombstone, pushed at once to every peer that could see it."""
    with db.atomic():
        item = item_for(kind, local_ref)
        if item is None or item.tombstone:
            return None
        lock_row(FeedItem, item.id)
        body = json.loads(item.body)
        written = _write(item, item.uid, kind, local_ref, True, item.distribution, body.get("may_pass_on", False),
                         body.get("urgent", False), None)
        if written is not None:
            _queue_push(written, recipients(written.distribution))
    return written


def resign_group(name: str) -> int:
    """After a group's members changed: a new version of each live item shared with it, so its
    signed audience is the group as it is now. Returns how many were signed again."""
    count = 0
    with db.atomic():
        for item in FeedItem.select().where((FeedItem.distribution == f"group:{name}") & (FeedItem.tombstone == False)  # noqa: E712
                                            & (FeedItem.origin_fingerprint == identity.fingerprint())):
            body = json.loads(item.body)
            if _write(item, item.uid, item.kind, item.local_ref, False, item.distribution, body["may_pass_on"],
                      body["urgent"], body["data"]) is not None:
                count += 1
    return count


def resign_all(previous_fingerprint: str) -> int:
    """After this instance's key was replaced: sign every item of ours again, as a new version, with
    the new key (and the new fingerprint as its origin). Peers that entered the new key take these
    versions as corrections of what they hold. Returns how many."""
    count = 0
    with db.atomic():
        for item in FeedItem.select().where(FeedItem.origin_fingerprint == previous_fingerprint):
            body = json.loads(item.body)
            item.origin_fingerprint = identity.fingerprint()
            _write(item, item.uid, item.kind, item.local_ref, item.tombstone, item.distribution,
                   body.get("may_pass_on", False), body.get("urgent", False), body.get("data"))
            count += 1
    return count


def pass_on(kind: str, local_ref: str, distribution: str) -> FeedItem | None:
    """Pass a received thing on to this instance's peers, unchanged and still signed by its origin.

    Only when its origin allowed it (may_pass_on); "local" stops passing it on. Returns the row
    served, or None."""
    dist_kind, group = parse_distribution(distribution)
    received = Received.get_or_none((Received.kind == kind) & (Received.local_ref == local_ref))
    if received is None:
        return None
    with db.atomic():
        row = FeedItem.get_or_none((FeedItem.origin_fingerprint == received.origin_fingerprint)
                                   & (FeedItem.uid == received.uid))
        if dist_kind == LOCAL or not received.may_pass_on:
            if row is not None:
                row.delete_instance()
            return None
        value = distribution_value(dist_kind, group)
        if row is None:
            row = FeedItem(uid=received.uid, origin_fingerprint=received.origin_fingerprint, kind=kind,
                           local_ref=local_ref, created_at=utcnow())
        row.version = received.version
        row.tombstone = received.tombstone
        row.distribution = value
        row.may_pass_on = True
        row.urgent = False
        row.body = received.body
        row.signature = received.signature
        row.updated_at = utcnow()
        row.save()
    return row


# -- serving peers ----------------------------------------------------------------------------------


def _served_query():
    cutoff = utcnow() - TOMBSTONES_KEPT
    return FeedItem.select().where((FeedItem.tombstone == False) | (FeedItem.updated_at >= cutoff))  # noqa: E712


def manifest_for(peer: Peer) -> list[list]:
    """[[origin fingerprint, uid, version], ...] of every item this peer may have (tombstones too)."""
    members = _group_index()
    return [[item.origin_fingerprint, item.uid, item.version]
            for item in _served_query().select(FeedItem.origin_fingerprint, FeedItem.uid, FeedItem.version,
                                               FeedItem.distribution).order_by(FeedItem.id)
            if may_see(peer, item.distribution, members)]


def items_for(peer: Peer, wanted: list) -> list[dict]:
    """The signed items asked for (pairs [origin fingerprint, uid]) that this peer may have."""
    members = _group_index()
    found = []
    for pair in wanted[:200]:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            continue
        item = _served_query().where((FeedItem.origin_fingerprint == pair[0]) & (FeedItem.uid == pair[1])).first()
        if item is not None and may_see(peer, item.distribution, members):
            found.append({"body": item.body, "signature": item.signature})
    return found


# -- receiving --------------------------------------------------------------------------------------


@dataclass
class ReceivedItem:
    """What a plugin's FederatedKind.receive / .withdraw is given."""

    peer: Peer  # its route: the origin once it delivered it itself, else the peer that relayed it
    uid: str
    version: int
    kind: str
    origin_name: str  # our name for the origin when it is a peer, else its key's fingerprint
    origin_fingerprint: str
    relayed: bool  # its route is a peer that is not its origin
    may_pass_on: bool
    urgent: bool
    data: dict | None
    local_ref: str | None = None  # the local copy made from an earlier version, if any
    regions_map: dict[str, str] = field(default_factory=dict)
    # Functions to call once the receiving transaction committed (a plugin kicks its own outbox).
    after_commit: list = field(default_factory=list)

    @property
    def auto_publish(self) -> bool:
        """Publish at once (the peer's setting), or hold for a moderator's review (the default)."""
        return bool(self.peer.auto_publish)

    def map_regions(self, codes) -> list[str]:
        """The peer's region codes as this instance's, by the admin's mapping (unmapped ones as they are)."""
        return list(dict.fromkeys(self.regions_map.get(str(code), str(code)) for code in codes or []))

    @property
    def provenance(self) -> str:
        """'from Peer X' or 'from Origin, through Peer X', in the reader's language."""
        if self.relayed:
            return _("from %(origin)s, through %(peer)s", origin=self.origin_name, peer=self.peer.name)
        return _("from %(peer)s", peer=self.peer.name)


def federated_kinds() -> dict[str, FederatedKind]:
    from core.plugins import get_registry

    if has_request_context() and "federated_kinds" in g:
        return g.federated_kinds
    kinds: dict[str, FederatedKind] = {}
    for kind in get_registry().collect("register_federation_kinds", app=current_app._get_current_object()):
        if isinstance(kind, FederatedKind):
            kinds.setdefault(kind.name, kind)
    if has_request_context():
        g.federated_kinds = kinds
    return kinds


def _parse(body_text) -> dict | None:
    if not isinstance(body_text, str) or len(body_text) > MAX_ITEM:
        return None
    try:
        body = json.loads(body_text)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        return None
    origin = body.get("origin")
    checks = (
        isinstance(body.get("uid"), str) and 0 < len(body["uid"]) <= 40,
        isinstance(body.get("version"), int) and not isinstance(body.get("version"), bool) and body["version"] > 0,
        isinstance(body.get("kind"), str) and 0 < len(body["kind"]) <= 32,
        isinstance(body.get("tombstone"), bool),
        isinstance(origin, dict) and all(isinstance(origin.get(key), str) for key in ("name", "fingerprint",
                                                                                        "public_key")),
        body.get("distribution") in (PEERS, GROUP),
        isinstance(body.get("audience", []), list),
        isinstance(body.get("may_pass_on"), bool),
        body.get("data") is None or isinstance(body.get("data"), dict),
    )
    return body if all(checks) else None


def check(peer: Peer, body_text: str, signature: str) -> tuple[dict | None, str]:
    """(the item, "accepted") when it may be taken from this peer, else (None or the item, reason)."""
    body = _parse(body_text)
    if body is None:
        return None, "malformed"
    origin = body["origin"]
    if identity.fingerprint(origin["public_key"]) != origin["fingerprint"]:
        return body, "origin_mismatch"
    if not identity.verify(origin["public_key"], body_text.encode("utf-8"), signature):
        return body, "bad_signature"
    if origin["fingerprint"] == identity.fingerprint():
        return body, "own_item"
    if RetiredKey.select().where(RetiredKey.fingerprint == origin["fingerprint"]).exists():
        return body, "retired_key"
    if peer.removed_at is not None:
        return body, "removed_peer"
    if origin["fingerprint"] == peer.fingerprint:
        if origin["public_key"] != peer.public_key:
            return body, "wrong_key"
        if body["distribution"] == GROUP and identity.fingerprint() not in body.get("audience", []):
            return body, "outside_distribution"
    else:
        if not body["may_pass_on"]:
            return body, "no_pass_on"
        known = Peer.select().where(Peer.fingerprint == origin["fingerprint"]).order_by(Peer.id.desc()).first()
        if known is not None and known.removed_at is not None:
            return body, "removed_peer"
        if known is not None and known.public_key != origin["public_key"]:
            return body, "wrong_key"
        if known is None and _names_a_peer(origin["name"]):  # a stranger's key under a peer's name
            return body, "wrong_key"
    seen = Received.get_or_none((Received.origin_fingerprint == origin["fingerprint"]) & (Received.uid == body["uid"]))
    if seen is not None and body["version"] <= seen.version:
        return body, "replayed"
    if body["kind"] not in federated_kinds():
        return body, "unknown_kind"
    return body, ACCEPTED


def _names_a_peer(name: str) -> bool:
    """Whether this name is (spacing and case aside) what we call one of our peers."""
    wanted = " ".join(name.split()).casefold()
    return any(" ".join(known.split()).casefold() == wanted for (known,) in Peer.select(Peer.name).tuples())


def origin_label(origin_fingerprint: str, route: Peer) -> str:
    """The origin as shown here: our name for it when it is a peer (never the name the item claims),
    else its key's fingerprint, so an instance we do not know is never shown under a peer's name."""
    if origin_fingerprint == route.fingerprint:
        return route.name
    known = Peer.select(Peer.name).where(Peer.fingerprint == origin_fingerprint).order_by(Peer.id.desc()).first()
    return known.name if known is not None else origin_fingerprint


def _route(peer: Peer, origin_fingerprint: str, seen: Received | None) -> Peer:
    """Whose settings a new version follows: the origin's, once it delivered the item itself (a
    relay never takes that back), else the peer that delivered this version."""
    if origin_fingerprint == peer.fingerprint or seen is None:
        return peer
    current = Peer.get_by_id(seen.peer_id)
    return current if current.fingerprint == origin_fingerprint and current.removed_at is None else peer


def _relay_withdrew(seen: Received) -> bool:
    """Withdrawn here because a relay stopped listing it (before relays could no longer withdraw):
    not the origin's signed tombstone nor its own feed."""
    if not seen.tombstone:
        return False
    try:
        signed_tombstone = bool(json.loads(seen.body).get("tombstone"))
    except (ValueError, AttributeError):
        return False
    return not signed_tombstone and Peer.get_by_id(seen.peer_id).fingerprint != seen.origin_fingerprint


def receive(peer: Peer, body_text: str, signature: str) -> str:
    """Check one signed item from a peer and, if it may be taken, hand it to its plugin; returns
    "accepted" or the reason it was refused (REFUSALS). Never raises for what a peer sent."""
    body, verdict = check(peer, body_text, signature)
    direct = body is not None and body["origin"]["fingerprint"] == peer.fingerprint
    if verdict == "replayed" and direct and body["kind"] in federated_kinds():
        verdict = _from_origin_again(peer, body)  # "replayed", or ACCEPTED to apply it after all
    if verdict != ACCEPTED:
        log.info("federation item refused", extra={"event": "federation_item_refused", "reason": verdict})
        return verdict
    kind = federated_kinds()[body["kind"]]
    origin = body["origin"]
    try:
        with db.atomic():
            seen = Received.get_or_none((Received.origin_fingerprint == origin["fingerprint"])
                                        & (Received.uid == body["uid"]))
            if seen is not None:
                lock_row(Received, seen.id)
                seen = Received.get_by_id(seen.id)
                again = direct and body["version"] == seen.version and _relay_withdrew(seen)
                if body["version"] <= seen.version and not again:
                    return "replayed"
            route = _route(peer, origin["fingerprint"], seen)
            item = ReceivedItem(
                peer=route, uid=body["uid"], version=body["version"], kind=body["kind"],
                origin_name=origin_label(origin["fingerprint"], route)[:120], origin_fingerprint=origin["fingerprint"],
                relayed=origin["fingerprint"] != route.fingerprint, may_pass_on=body["may_pass_on"],
                urgent=bool(body.get("urgent")), data=body.get("data"),
                local_ref=seen.local_ref if seen is not None else None, regions_map=route.regions)
            now = utcnow()
            if body["tombstone"]:
                if item.local_ref is not None and not (seen is not None and seen.tombstone):
                    kind.withdraw(item)
                local_ref = item.local_ref
            else:
                local_ref = kind.receive(item)
                local_ref = str(local_ref) if local_ref is not None else item.local_ref
            values = {"peer": route, "origin_name": item.origin_name, "kind": body["kind"],
                      "version": body["version"], "tombstone": body["tombstone"], "may_pass_on": body["may_pass_on"],
                      "body": body_text, "signature": signature, "local_ref": local_ref, "updated_at": now}
            if seen is None:
                Received.create(origin_fingerprint=origin["fingerprint"], uid=body["uid"], received_at=now, **values)
            else:
                Received.update(values).where(Received.id == seen.id).execute()
            _follow_passed_on(origin["fingerprint"], body, body_text, signature)
    except Exception as exc:  # a plugin's failure refuses this item only; the peer sends it again
        log.error("federation item not taken", extra={"event": "federation_item_failed",
                                                       "reason": type(exc).__name__})
        return "failed"
    for function in item.after_commit:
        try:
            function()
        except Exception as exc:  # the item is taken; a queue sweep sends what a kick missed
            log.warning("federation after-commit failed", extra={"event": "federation_after_commit_failed",
                                                                 "reason": type(exc).__name__})
    log.info("federation item accepted", extra={"event": "federation_item_accepted"})
    return ACCEPTED


def _from_origin_again(peer: Peer, body: dict) -> str:
    """The origin itself delivers a version we already hold (a relay brought it first, or it is sent
    again): nothing is applied twice, but the item's route becomes the origin, whose settings its
    later versions follow and whose feed alone may withdraw it. "replayed", or ACCEPTED when a
    relay had withdrawn our copy (before relays no longer could): then it is applied again."""
    kind = federated_kinds()[body["kind"]]
    try:
        with db.atomic():
            seen = Received.get_or_none((Received.origin_fingerprint == peer.fingerprint)
                                        & (Received.uid == body["uid"]))
            if seen is None or seen.peer_id == peer.id:
                return "replayed"
            lock_row(Received, seen.id)
            seen = Received.get_by_id(seen.id)
            if body["version"] == seen.version and _relay_withdrew(seen):
                return ACCEPTED
            Received.update(peer=peer, origin_name=peer.name[:120], updated_at=utcnow()).where(
                Received.id == seen.id).execute()
            if kind.rerouted is not None and seen.local_ref is not None:
                kind.rerouted(ReceivedItem(
                    peer=peer, uid=seen.uid, version=seen.version, kind=seen.kind, origin_name=peer.name[:120],
                    origin_fingerprint=seen.origin_fingerprint, relayed=False, may_pass_on=seen.may_pass_on,
                    urgent=False, data=None, local_ref=seen.local_ref, regions_map=peer.regions))
    except Exception as exc:  # the route stays as it was; the origin's next delivery tries again
        log.error("federation route not taken over", extra={"event": "federation_item_failed",
                                                             "reason": type(exc).__name__})
        return "replayed"
    log.info("federation route taken over by its origin", extra={"event": "federation_route_origin"})
    return "replayed"


def _follow_passed_on(origin_fingerprint: str, body: dict, body_text: str, signature: str) -> None:
    """A new version of something this instance passes on replaces the copy it serves (and a
    tombstone is pushed on at once)."""
    row = FeedItem.get_or_none((FeedItem.origin_fingerprint == origin_fingerprint) & (FeedItem.uid == body["uid"]))
    if row is None:
        return
    if not body["may_pass_on"]:  # the origin no longer allows it: stop serving it
        row.delete_instance()
        return
    row.version = body["version"]
    row.tombstone = body["tombstone"]
    row.body = body_text
    row.signature = signature
    row.updated_at = utcnow()
    row.save()
    if body["tombstone"] or body.get("urgent"):
        _queue_push(row, recipients(row.distribution))


def withdraw_missing(peer: Peer, offered: set[tuple[str, str]]) -> int:
    """What this peer shared with us as its origin and is no longer in its feed (it stopped sharing
    it with us) is taken away here too. Returns how many were withdrawn.

    Only the origin's own feed decides: another instance's item that this peer relayed and no
    longer lists stays as it is (the relay stopped passing it on; its origin did not withdraw it),
    until its origin's next version or signed withdrawal arrives, through any peer."""
    count = 0
    kinds = federated_kinds()
    for seen in Received.select().where((Received.peer == peer) & (Received.tombstone == False)  # noqa: E712
                                        & (Received.origin_fingerprint == peer.fingerprint)):
        if (seen.origin_fingerprint, seen.uid) in offered:
            continue
        item = ReceivedItem(peer=peer, uid=seen.uid, version=seen.version, kind=seen.kind,
                            origin_name=seen.origin_name, origin_fingerprint=seen.origin_fingerprint,
                            relayed=False, may_pass_on=seen.may_pass_on,
                            urgent=False, data=None, local_ref=seen.local_ref, regions_map=peer.regions)
        with db.atomic():
            kind = kinds.get(seen.kind)
            if kind is not None and seen.local_ref is not None:
                kind.withdraw(item)
            Received.update(tombstone=True, updated_at=utcnow()).where(Received.id == seen.id).execute()
            FeedItem.delete().where((FeedItem.origin_fingerprint == seen.origin_fingerprint)
                                    & (FeedItem.uid == seen.uid)).execute()
            count += 1
        for function in item.after_commit:
            function()
    return count


def provenance_of(kind: str, local_ref: str) -> ReceivedItem | None:
    """How a local copy came here (for "from Peer X"), or None for this instance's own things."""
    seen = Received.get_or_none((Received.kind == kind) & (Received.local_ref == str(local_ref)))
    if seen is None:
        return None
    peer = Peer.get_by_id(seen.peer_id)
    return ReceivedItem(peer=peer, uid=seen.uid, version=seen.version, kind=seen.kind, origin_name=seen.origin_name,
                        origin_fingerprint=seen.origin_fingerprint, relayed=seen.origin_fingerprint != peer.fingerprint,
                        may_pass_on=seen.may_pass_on, urgent=False, data=None, local_ref=seen.local_ref,
                        regions_map=peer.regions)


# -- pushing ----------------------------------------------------------------------------------------


def _queue_push(item: FeedItem, peers: list[Peer]) -> int:
    """One outbox row per peer for this version, sent after the commit (core.federation.push)."""
    if not peers:
        return 0
    from core.federation.push import kick_after_commit

    now = utcnow()
    rows = [{"peer": peer.id, "item": item.id, "version": item.version, "status": "pending",
             "next_attempt_at": now, "created_at": now} for peer in peers]
    PushMessage.insert_many(rows).on_conflict_ignore().execute()
    kick_after_commit()
    return len(rows)
