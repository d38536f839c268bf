"""Federation between Red Umbrella instances (issue #15, docs/federation.md).

Independent groups each run their own instance; an admin adds another instance as a *peer* (its
address and its public key, compared over the phone by fingerprint) and nothing flows until both
sides added each other. Shared things (alerts) travel as signed items in a feed that peers pull,
plus an urgent push; a peer's members can check an identifier against this instance's alerts
through a blinded protocol (an OPRF) that never lets the identifier leave the asking instance.

Modules:
- identity: this instance's Ed25519 key, `sign`, `verify`, `public_key_b64`, `fingerprint`.
- models: Peer, SharingGroup(+Member), FeedItem, Received, PushMessage, SeenNonce.
- peers: `active_peers`, `get`, `signed_request`, `@peer_endpoint` (the signed-request protocol).
- api: GET /.well-known/redumbrella and the /federation/v1/ endpoints.
Core names no plugin: a plugin shares things through the functions of core.federation.feed and
receives them through the register_federation_kinds hook.
"""

API_VERSION = "v1"
API_PREFIX = f"/federation/{API_VERSION}"


from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class FederatedKind:
    """A kind of thing a plugin shares with peers, returned from register_federation_kinds.

    name: the kind in the signed items ("alert"); lower case, at most 32 characters.
    receive(item) -> str | None: make or correct the local copy of a received item (a
        core.federation.feed.ReceivedItem, in the receiving transaction) and return its local id
        as text, which later versions and withdrawals are given as item.local_ref.
    withdraw(item) -> None: take the local copy away (its origin's signed tombstone arrived, or
        the origin no longer offers it to us).
    rerouted(item) -> None, optional: the origin itself delivered a version that a relay brought
        first; item.peer is now the origin (item.relayed is False). Update what the local copy
        shows of where it came from; its content is unchanged.
    pulled(peer) -> None, optional: called after each successful pull of that peer's feed, outside
        its transaction, to refresh whatever else the plugin keeps of the peer (the alerts
        plugin fetches the peer's check tokens). Its errors are logged, never fail the pull.
    """

    name: str
    receive: Callable
    withdraw: Callable
    pulled: Callable | None = None
    rerouted: Callable | None = None

    def __post_init__(self):
        if not self.name or len(self.name) > 32 or not self.name.replace("_", "").isalnum() or not self.name.islower():
            raise ValueError(f"a federated kind is a short lower-case name, not {self.name!r}")
