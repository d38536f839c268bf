"""What a relay may do with another instance's alert, and what only its origin decides
(docs/federation.md, "Relays"; core/federation/feed.py, "Routes").

Alpha is a trusted peer (auto-publish) that shares an alert with may_pass_on; Evil is a peer that
relays it. Peers are played by the test as in test_federation_feed.py (their own keys, signed
requests through the test client); a pull of Alpha goes to a small signed feed served by the test.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alerts_fixtures import in_app
from test_federation_feed import Peer, alert_data, local_alert

LONDON = alert_data(regions=["london"])


def peers(on):
    """Alpha (trusted: auto-publish) and Evil (held for review), both peers of ours."""
    return on.test_client(), Peer(on, "Alpha", auto_publish=True), Peer(on, "Evil")


def received(on, origin, uid):
    from core.federation.models import Received

    return in_app(on, lambda: Received.get((Received.origin_fingerprint == origin.fingerprint)
                                           & (Received.uid == uid)))


def withdraw_missing(on, peer, offered=()):
    """What a pull of `peer` does after reading its manifest (core.federation.pull)."""
    from core.federation import feed

    return in_app(on, feed.withdraw_missing, peer.row, set(offered))


def copy_of(on, uid, origin):
    from plugins.alerts.models import Alert

    return in_app(on, lambda: Alert.get_by_id(int(received(on, origin, uid).local_ref)))


# -- F1: a relay cannot take the origin's place ---------------------------------------------------------


def test_the_origins_own_delivery_after_a_relays_takes_the_route_over(on):
    client, alpha, evil = peers(on)
    assert evil.push(client, alpha.item(uid="a1", may_pass_on=True, origin=alpha, data=LONDON)) == ["accepted"]
    first = copy_of(on, "a1", alpha)
    assert first.status == "draft" and (first.received_from, first.origin_name) == ("Evil", "Alpha")

    # Alpha's own delivery of the same version: not applied twice, but nothing lost either.
    assert alpha.push(client, alpha.item(uid="a1", may_pass_on=True, data=LONDON)) == ["replayed"]
    row = received(on, alpha, "a1")
    assert row.peer_id == alpha.row.id and row.version == 1
    copy = copy_of(on, "a1", alpha)
    assert copy.id == first.id and (copy.received_from, copy.origin_name) == ("Alpha", None)

    # Its later versions follow Alpha's settings (auto-publish), not Evil's.
    assert alpha.push(client, alpha.item(uid="a1", version=2, may_pass_on=True,
                                         data=alert_data(regions=["london"], summary="Two cars."))) == ["accepted"]
    copy = copy_of(on, "a1", alpha)
    assert copy.status == "published" and copy.summary == "Two cars."


def test_a_relay_never_takes_the_route_back_from_the_origin(on):
    client, alpha, evil = peers(on)
    assert alpha.push(client, alpha.item(uid="a2", may_pass_on=True, data=LONDON)) == ["accepted"]
    # Evil relays Alpha's next version (genuine, signed by Alpha) before Alpha's own arrives.
    newer = alpha.item(uid="a2", version=2, may_pass_on=True, origin=alpha,
                       data=alert_data(regions=["london"], summary="Corrected by Alpha."))
    assert evil.push(client, newer) == ["accepted"]
    row = received(on, alpha, "a2")
    assert row.peer_id == alpha.row.id and row.version == 2
    copy = copy_of(on, "a2", alpha)
    assert copy.summary == "Corrected by Alpha." and copy.status == "updated"
    assert (copy.received_from, copy.origin_name) == ("Alpha", None)


def test_a_relay_that_stops_listing_another_origins_alert_withdraws_nothing(on):
    client, alpha, evil = peers(on)
    assert evil.push(client, alpha.item(uid="a3", may_pass_on=True, origin=alpha, data=LONDON)) == ["accepted"]
    assert evil.push(client, evil.item(uid="e3", data=LONDON)) == ["accepted"]
    # Evil's next manifest lists neither: only its own alert is withdrawn.
    assert withdraw_missing(on, evil) == 1
    assert copy_of(on, "a3", alpha).status == "draft" and not received(on, alpha, "a3").tombstone
    assert copy_of(on, "e3", evil).status == "withdrawn"

    # Once Alpha delivered it itself, Alpha's feed decides.
    assert alpha.push(client, alpha.item(uid="a3", may_pass_on=True, data=LONDON)) == ["replayed"]
    assert withdraw_missing(on, evil) == 0 and copy_of(on, "a3", alpha).status == "draft"
    assert withdraw_missing(on, alpha, {(alpha.fingerprint, "a3")}) == 0
    assert withdraw_missing(on, alpha) == 1 and copy_of(on, "a3", alpha).status == "withdrawn"


def test_the_reviewed_attack_leaves_alphas_alert_published_and_corrected(on):
    """The security review's F1, step by step."""
    client, alpha, evil = peers(on)
    item = alpha.item(uid="f1", may_pass_on=True, data=LONDON)
    # 1. Evil pushes Alpha's genuine item first: held (Evil's setting), from Alpha through Evil.
    assert evil.push(client, item) == ["accepted"]
    assert copy_of(on, "f1", alpha).status == "draft"
    # 2. Alpha's own delivery is not lost: the route is Alpha's now.
    assert alpha.push(client, item) == ["replayed"]
    assert received(on, alpha, "f1").peer_id == alpha.row.id
    # 3. Evil leaves it out of its manifest: nothing is withdrawn.
    assert withdraw_missing(on, evil) == 0
    assert copy_of(on, "f1", alpha).status == "draft"
    # 4. Alpha's correction is applied, and published by Alpha's setting.
    assert alpha.push(client, alpha.item(uid="f1", version=2, may_pass_on=True,
                                         data=alert_data(regions=["london"], summary="v2"))) == ["accepted"]
    copy = copy_of(on, "f1", alpha)
    assert copy.status == "published" and copy.summary == "v2" and copy.received_from == "Alpha"


def test_a_newer_version_from_the_origin_brings_back_what_the_federation_withdrew(on, moderator):
    from core.accounts.models import User
    from core.federation.models import Received
    from plugins.alerts import federation, service
    from plugins.alerts.models import Alert

    client, alpha, evil = peers(on)
    # A copy withdrawn because a relay stopped listing it (what older versions did).
    assert evil.push(client, alpha.item(uid="old", may_pass_on=True, origin=alpha, data=LONDON)) == ["accepted"]
    row = received(on, alpha, "old")

    def relay_withdrew():
        item = federation.feed.ReceivedItem(peer=evil.row, uid="old", version=1, kind="alert", origin_name="Alpha",
                                            origin_fingerprint=alpha.fingerprint, relayed=True, may_pass_on=True,
                                            urgent=False, data=None, local_ref=row.local_ref)
        federation.withdraw(item)
        Received.update(tombstone=True).where(Received.id == row.id).execute()

    in_app(on, relay_withdrew)
    assert copy_of(on, "old", alpha).status == "withdrawn"
    # Alpha's own delivery of that very version brings it back, by Alpha's setting.
    assert alpha.push(client, alpha.item(uid="old", may_pass_on=True, data=LONDON)) == ["accepted"]
    assert copy_of(on, "old", alpha).status == "published" and not received(on, alpha, "old").tombstone

    # Alpha's signed withdrawal, then a newer version: back again.
    assert alpha.push(client, alpha.item(uid="old", version=2, tombstone=True, may_pass_on=True)) == ["accepted"]
    assert copy_of(on, "old", alpha).status == "withdrawn"
    assert alpha.push(client, alpha.item(uid="old", version=3, may_pass_on=True, data=LONDON)) == ["accepted"]
    assert copy_of(on, "old", alpha).status == "published"

    # What a moderator here withdrew stays withdrawn, whatever comes after.
    actor = in_app(on, User.get_by_id, moderator.id)
    in_app(on, lambda: service.withdraw(Alert.get_by_id(copy_of(on, "old", alpha).id), actor))
    assert alpha.push(client, alpha.item(uid="old", version=4, may_pass_on=True, data=LONDON)) == ["accepted"]
    assert copy_of(on, "old", alpha).status == "withdrawn"


class SignedFeed:
    """Alpha's feed, as a pull sees it: a manifest and items, each answer signed with Alpha's key."""

    def __init__(self, peer: Peer, items: list[dict]):
        self.peer, self.items = peer, items
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.answer()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer()

            def answer(self):
                status, value = 404, {"error": {"status": 404}}
                if self.path.endswith("/manifest"):
                    status, value = 200, {"items": [[feed.peer.fingerprint, json.loads(item["body"])["uid"],
                                                     json.loads(item["body"])["version"]] for item in feed.items]}
                elif self.path.endswith("/items"):
                    status, value = 200, {"items": feed.items}
                body = json.dumps(value).encode()
                text = "\n".join(["redumbrella-federation-v1-response", str(status),
                                  self.headers["X-Redumbrella-Nonce"], feed.peer.fingerprint,
                                  hashlib.sha256(body).hexdigest()]).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Redumbrella-Signature", base64.b64encode(feed.peer.key.sign(text)).decode())
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_pull_of_the_origin_takes_over_what_a_relay_brought_first(on):
    from core.federation import pull
    from core.federation.models import Peer as PeerRow

    client, alpha, evil = peers(on)
    item = alpha.item(uid="p1", may_pass_on=True, data=LONDON)
    assert evil.push(client, item) == ["accepted"]
    served = SignedFeed(alpha, [item])
    try:
        in_app(on, lambda: PeerRow.update(base_url=served.url).where(PeerRow.id == alpha.row.id).execute())
        counts = in_app(on, lambda: pull.pull(PeerRow.get_by_id(alpha.row.id)))
    finally:
        served.close()
    assert counts["error"] == 0 and counts["replayed"] == 1 and counts["withdrawn"] == 0
    assert received(on, alpha, "p1").peer_id == alpha.row.id
    assert copy_of(on, "p1", alpha).received_from == "Alpha"


# -- F6: a relayed item cannot borrow a peer's name --------------------------------------------------------


def test_an_origin_that_is_not_our_peer_is_shown_by_its_key_never_by_the_name_it_claims(on, mod_client):
    client, alpha, evil = peers(on)
    stranger = Peer(on, "Gamma Umbrella", add=False)
    assert evil.push(client, evil.item(uid="s1", origin=stranger, may_pass_on=True, data=LONDON)) == ["accepted"]
    copy = local_alert(on, received_from="Evil")
    assert copy.origin_name == stranger.fingerprint
    page = mod_client.get(f"/alerts/manage/{copy.id}").get_data(as_text=True)
    assert f"From {stranger.fingerprint}, through Evil" in page and "Gamma Umbrella" not in page

    # A known origin is shown by our name for it, not by the name it gives itself.
    alpha.name = "Beta"  # the name Alpha's item claims for itself
    assert evil.push(client, evil.item(uid="k1", origin=alpha, may_pass_on=True, data=LONDON)) == ["accepted"]
    assert copy_of(on, "k1", alpha).origin_name == "Alpha"


def test_a_made_up_key_under_a_peers_name_is_refused(on):
    client, alpha, evil = peers(on)
    for claimed in ("Alpha", " alpha "):
        impostor = Peer(on, claimed, add=False)  # a key of Evil's making, named after our peer
        assert evil.push(client, evil.item(uid="fake", origin=impostor, may_pass_on=True)) == ["wrong_key"]
    assert local_alert(on) is None


# -- F7: the request size limit holds for a chunked body ----------------------------------------------------


def test_a_chunked_body_past_the_limit_gets_the_signed_413(on):
    from core.federation import identity
    from core.federation import peers as federation_peers

    client = on.test_client()
    alpha = Peer(on, "Alpha")
    body = json.dumps({"items": [], "padding": "x" * (8 * 1024 * 1024 + 10)}).encode()
    headers = alpha.headers("POST", "/federation/v1/push", body)
    headers["Transfer-Encoding"] = "chunked"  # no Content-Length
    answer = client.post("/federation/v1/push", input_stream=io.BytesIO(body), headers=headers,
                         environ_overrides={"wsgi.input_terminated": True})
    assert answer.status_code == 413 and answer.get_json()["error"]["status"] == 413
    text = federation_peers.response_text(413, headers["X-Redumbrella-Nonce"], alpha.ours, answer.get_data())
    assert identity.verify(in_app(on, identity.public_key_b64), text, answer.headers["X-Redumbrella-Signature"])

    # Under the limit, chunked is read and answered as usual.
    small = json.dumps({"items": []}).encode()
    headers = alpha.headers("POST", "/federation/v1/push", small)
    headers["Transfer-Encoding"] = "chunked"
    answer = client.post("/federation/v1/push", input_stream=io.BytesIO(small), headers=headers,
                         environ_overrides={"wsgi.input_terminated": True})
    assert answer.status_code == 200 and answer.get_json() == {"results": []}
