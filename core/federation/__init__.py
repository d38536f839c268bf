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
