"""What admins do with peers and sharing groups, for the CLI and the admin pages alike.

Every change is audited by reference (peer:3, sharing_group:2), never by address or key.
Errors are FederationError with a translated message the page or the command shows.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit

from flask_babel import gettext as _
from peewee import IntegrityError

from core.audit import record
from core.db import db, lock_row, utcnow
from core.federation import feed, identity
from core.federation.models import Peer, PushMessage, Received, RetiredKey, SharingGroup, SharingGroupMember
from core.federation.peers import check_base_url

log = logging.getLogger("redumbrella.federation")

NAME = re.compile(r"^[\w][\w .'&()-]{0,59}$")
REGION_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class FederationError(Exception):
    """Something an admin asked for that cannot be done; the message is translated."""


def _clean_name(text: str) -> str:
    name = " ".join((text or "").split())
    if not NAME.match(name) or ":" in name:
        raise FederationError(_("A name is 1 to 60 letters, digits, spaces or . ' & ( ) -, and no colon."))
    return name


def _loopback(url: str) -> bool:
    """Plain http is for a peer on this same machine only (and the tests)."""
    from core.federation.peers import _is_loopback

    parts = urlsplit(url)
    return bool(parts.hostname) and _is_loopback(parts.hostname, parts.port or 80)


# -- who a peer says it is --------------------------------------------------------------------------


def fetch_identity(base_url: str) -> dict | None:
    """GET /.well-known/redumbrella of an address (unsigned: it only helps the admin compare); None
    when it cannot be read. Plain HTTP only to a loopback address, as for every exchange."""
    import http.client

    from core.federation.peers import PeerError, _connection

    try:
        connection, prefix = _connection(base_url)
    except PeerError:
        return None
    try:
        connection.request("GET", prefix + "/.well-known/redumbrella", headers={"Accept": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            return None
        data = json.loads(response.read(64 * 1024).decode("utf-8"))
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()
    return data if isinstance(data, dict) else None


# -- peers ------------------------------------------------------------------------------------------


def add_peer(base_url: str, public_key: str, name: str | None = None, auto_publish: bool = False,
             actor_id: int | None = None, published: dict | None = None) -> Peer:
    """Add (or bring back) a peer by its address and the public key its admin gave out of band.

    published: what its /.well-known/redumbrella says, if it could be read; a different key there
    is refused (the address is not the instance whose key you were given)."""
    url = check_base_url(base_url)
    if url is None or not (url.startswith("https://") or _loopback(url)):
        raise FederationError(_("Please give the peer's full address, starting with https://."))
    key = identity.normalise_public_key(public_key)
    if key is None:
        raise FederationError(_("That is not a public key: it is 44 characters of letters, digits, + and /, "
                                "as the peer's settings page shows it."))
    if key == identity.public_key_b64():
        raise FederationError(_("That is this instance's own key."))
    if published is not None and published.get("public_key") and \
            identity.normalise_public_key(str(published["public_key"])) != key:
        raise FederationError(_("The instance at that address has a different key from the one you were given. "
                                "Check the address and the key with the other group before adding it."))
    if not name:
        name = str((published or {}).get("name") or urlsplit(url).hostname or "")
    name = _clean_name(name[:60])
    fingerprint = identity.fingerprint(key)
    with db.atomic():
        other = Peer.select().where((Peer.fingerprint == fingerprint) & Peer.removed_at.is_null()
                                    & (Peer.name != name)).first()
        if other is not None:
            raise FederationError(_("This key is already the peer “%(name)s”.", name=other.name))
        peer = Peer.get_or_none(Peer.name == name)
        if peer is not None and peer.removed_at is None:
            raise FederationError(_("There is already a peer called “%(name)s”. Choose another name.", name=name))
        if peer is None:
            peer = Peer(name=name, added_at=utcnow())
        peer.base_url = url
        peer.public_key = key
        peer.fingerprint = fingerprint
        peer.auto_publish = bool(auto_publish)
        peer.added_by = actor_id
        peer.added_at = utcnow()
        peer.removed_at = None
        peer.last_error = None
        peer.save()
        record("federation.peer_added", target=peer.target(), actor_id=actor_id)
    return peer


def remove_peer(peer: Peer, actor_id: int | None = None) -> None:
    """Stop all exchange with the peer at once: its requests are refused from now on, nothing more
    is sent to it, and what it sent stays with its provenance until withdrawn here by staff."""
    with db.atomic():
        lock_row(Peer, peer.id)
        Peer.update(removed_at=utcnow()).where(Peer.id == peer.id).execute()
        PushMessage.delete().where((PushMessage.peer == peer) & (PushMessage.status != "delivered")).execute()
        groups = [row.group.name for row in SharingGroupMember.select().join(SharingGroup)
                  .where(SharingGroupMember.peer == peer)]
        SharingGroupMember.delete().where(SharingGroupMember.peer == peer).execute()
        for group in groups:
            feed.resign_group(group)
        record("federation.peer_removed", target=peer.target(), actor_id=actor_id)
    peer.removed_at = utcnow()


def set_key(peer: Peer, public_key: str, actor_id: int | None = None) -> Peer:
    """The peer rotated its signing key (its admin told you the new one out of band)."""
    key = identity.normalise_public_key(public_key)
    if key is None:
        raise FederationError(_("That is not a public key: it is 44 characters of letters, digits, + and /, "
                                "as the peer's settings page shows it."))
    new = identity.fingerprint(key)
    with db.atomic():
        Peer.update(public_key=key, fingerprint=new).where(Peer.id == peer.id).execute()
        # What it sent under its old key is now its new key's: its next versions (signed again with
        # the new key) correct the same alerts here. Versions start again from nothing, so that
        # versions a thief may have signed with the old key cannot hold its real corrections back.
        Received.update(origin_fingerprint=new, version=0).where(
            Received.origin_fingerprint == peer.fingerprint).execute()
        retire(peer.fingerprint, peer)
        record("federation.peer_key_changed", target=peer.target(), actor_id=actor_id)
    return Peer.get_by_id(peer.id)


def retire(fingerprint: str, peer: Peer | None = None) -> None:
    """Nothing signed with this key is taken any more (a peer's old key, or ours after a rotation)."""
    RetiredKey.insert(fingerprint=fingerprint, peer=peer.id if peer is not None else None,
                      retired_at=utcnow()).on_conflict_ignore().execute()


def set_auto_publish(peer: Peer, on: bool, actor_id: int | None = None) -> None:
    with db.atomic():
        Peer.update(auto_publish=bool(on)).where(Peer.id == peer.id).execute()
        record("federation.peer_changed", target=peer.target(), actor_id=actor_id)


def parse_region_map(text: str) -> dict[str, str]:
    """Lines "their code = our code" (or "their=our" words on one line) as a dict."""
    mapping: dict[str, str] = {}
    for part in re.split(r"[\n,]+", text or ""):
        part = part.strip()
        if not part:
            continue
        theirs, sep, ours = part.partition("=")
        theirs, ours = theirs.strip(), ours.strip()
        if not sep or not REGION_CODE.match(theirs) or not REGION_CODE.match(ours):
            raise FederationError(_("Write each region as “their code = our code”, one a line, using the codes "
                                    "(letters, digits, - and _)."))
        mapping[theirs] = ours
    return mapping


def set_region_map(peer: Peer, mapping: dict[str, str], actor_id: int | None = None) -> None:
    with db.atomic():
        Peer.update(region_map=json.dumps(dict(sorted(mapping.items())), ensure_ascii=False)).where(
            Peer.id == peer.id).execute()
        record("federation.peer_changed", target=peer.target(), actor_id=actor_id)


# -- sharing groups ---------------------------------------------------------------------------------


def create_group(name: str, actor_id: int | None = None) -> SharingGroup:
    name = _clean_name(name)
    try:
        with db.atomic():
            group = SharingGroup.create(name=name, created_at=utcnow())
            record("federation.group_created", target=group.target(), actor_id=actor_id)
    except IntegrityError:
        raise FederationError(_("There is already a sharing group called “%(name)s”.", name=name)) from None
    return group


def group_in_use(group: SharingGroup) -> bool:
    from core.federation.models import FeedItem

    return FeedItem.select().where((FeedItem.distribution == f"group:{group.name}")
                                   & (FeedItem.tombstone == False)).exists()  # noqa: E712


def delete_group(group: SharingGroup, actor_id: int | None = None) -> None:
    if group_in_use(group):
        raise FederationError(_("Something is still shared with this group. Share it another way first."))
    with db.atomic():
        group.delete_instance(recursive=True)
        record("federation.group_deleted", target=group.target(), actor_id=actor_id)


def set_members(group: SharingGroup, peers: list[Peer], actor_id: int | None = None) -> None:
    """The group's members are exactly these active peers; what is shared with it is signed again
    for its new audience (a peer that left no longer finds it in the feed)."""
    with db.atomic():
        SharingGroupMember.delete().where(SharingGroupMember.group == group).execute()
        for peer in peers:
            if peer.removed_at is None:
                SharingGroupMember.create(group=group, peer=peer)
        feed.resign_group(group.name)
        record("federation.group_changed", target=group.target(), actor_id=actor_id)


def members_of(group: SharingGroup) -> list[Peer]:
    return list(Peer.select().join(SharingGroupMember).where(SharingGroupMember.group == group).order_by(Peer.name))
