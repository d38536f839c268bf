"""Federation on one instance (core.federation, plugins/alerts/federation.py): its key, what it
signs and serves to each peer, every rule it applies to what peers send, the urgent-push outbox,
the admin pages, the commands and the alerts API's distribution.

Peers are played by the test with keys of their own and the signed-request protocol as
docs/federation.md describes it (tests/federation_instances.SignedClient's rules, through the test
client). Real instances talking to each other are in test_federation_instances.py.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import stat
import time

import pytest
from alerts_fixtures import in_app
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from helpers import post_form, sign_in

from core.db import connection

PHONE = "07700 900871"


class Peer:
    """Another instance as the test plays it: a key of its own, and a Peer row here."""

    def __init__(self, app, name: str, auto_publish: bool = False, add: bool = True):
        from core.federation import identity

        self.app = app
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        self.public = base64.b64encode(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
        self.fingerprint = _fingerprint(self.public)
        self.ours = in_app(app, identity.fingerprint)
        self.row = None
        if add:
            self.row = in_app(app, self._add, auto_publish)

    def _add(self, auto_publish):
        from core.federation import service

        return service.add_peer("https://" + self.name.lower() + ".example.org", self.public, self.name, auto_publish)

    def headers(self, method: str, path: str, body: bytes = b"", timestamp=None, nonce=None, recipient=None) -> dict:
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(16)
        text = "\n".join(["redumbrella-federation-v1", method, path, timestamp, nonce, self.fingerprint,
                          recipient or self.ours, hashlib.sha256(body).hexdigest()]).encode()
        return {"X-Redumbrella-From": self.fingerprint, "X-Redumbrella-To": recipient or self.ours,
                "X-Redumbrella-Timestamp": timestamp, "X-Redumbrella-Nonce": nonce,
                "X-Redumbrella-Signature": base64.b64encode(self.key.sign(text)).decode(),
                "Content-Type": "application/json"}

    def get(self, client, path: str, **kwargs):
        return client.get(path, headers=self.headers("GET", path, **kwargs))

    def post(self, client, path: str, value, **kwargs):
        body = json.dumps(value).encode()
        return client.post(path, data=body, headers=self.headers("POST", path, body, **kwargs))

    def item(self, uid="u1", version=1, data=None, tombstone=False, distribution="peers", audience=(),
             may_pass_on=False, origin=None, kind="alert") -> dict:
        """A signed item, from this peer (or signed by `origin`, another Peer, when relayed)."""
        signer = origin or self
        body = {"format": "redumbrella-item-1", "uid": uid, "version": version, "kind": kind,
                "tombstone": tombstone, "origin": {"name": signer.name, "fingerprint": signer.fingerprint,
                                                   "public_key": signer.public},
                "distribution": distribution, "group": "G" if distribution == "group" else None,
                "audience": list(audience), "may_pass_on": may_pass_on, "urgent": False,
                "signed_at": "2026-01-01T00:00:00Z", "data": None if tombstone else (data or alert_data())}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return {"body": text, "signature": base64.b64encode(signer.key.sign(text.encode())).decode()}

    def push(self, client, *items):
        response = self.post(client, "/federation/v1/push", {"items": list(items)})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["results"]


def _fingerprint(public_b64: str) -> str:
    digest = base64.b32encode(hashlib.sha256(base64.b64decode(public_b64)).digest()).decode()[:16]
    return "-".join(digest[index:index + 4] for index in range(0, 16, 4))


def alert_data(**changes) -> dict:
    data = {"kind": "person", "category": None, "title": "Pays with fake notes", "summary": "Be careful.",
            "severity": "medium", "incident_types": ["robbery"], "occurred_on": "2026-01-02",
            "regions": ["theirs_north"], "published_at": "2026-01-03T10:00:00Z", "updated_at": None,
            "expires_on": None, "perpetrators": [{"description": {"build": "slim"}, "vehicle": {"colour": "red"}}]}
    data.update(changes)
    return data


def publish(app, moderator, distribution="peers", may_pass_on=False, severity="medium", phones=(PHONE,)):
    from test_alerts_helpers import make_report

    from core.accounts.models import User
    from plugins.alerts import service

    def make():
        actor = User.get_by_id(moderator.id)
        alert = service.create_from_reports([make_report(phones=list(phones))],
                                            {"summary": "Take care.", "title": "Shared", "severity": severity}, actor)
        service.set_sharing(alert, distribution, may_pass_on, actor)
        service.review(alert, actor)
        service.publish(alert, actor)
        return alert.id

    return in_app(app, make)


def feed_item(app, alert_id):
    from core.federation import feed

    return in_app(app, lambda: feed.item_for("alert", str(alert_id)))


def local_alert(app, **where):
    from plugins.alerts.models import Alert

    def find():
        query = Alert.select().order_by(Alert.id.desc())
        for key, value in where.items():
            query = query.where(getattr(Alert, key) == value)
        return query.first()

    return in_app(app, find)


# -- the instance's key ------------------------------------------------------------------------------


def test_the_signing_key_is_kept_private_and_its_fingerprint_reads_over_the_phone(ctx):
    from core.federation import identity

    path = identity.key_path()
    public = identity.public_key_b64()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(bytes.fromhex(path.read_text().strip())) == 32
    fingerprint = identity.fingerprint()
    assert len(fingerprint) == 19 and fingerprint.count("-") == 3 and fingerprint == identity.fingerprint(public)
    assert identity.normalise_fingerprint(fingerprint.lower().replace("-", " ")) == fingerprint
    signature = identity.sign(b"exactly this")
    assert identity.verify(public, b"exactly this", signature)
    assert not identity.verify(public, b"exactly thi5", signature)
    assert not identity.verify("not a key", b"exactly this", signature)
    assert not identity.verify(public, b"exactly this", "bm90IGEgc2lnbmF0dXJl")

    new = identity.rotate()
    assert new != public and identity.public_key_b64() == new
    assert not identity.verify(new, b"exactly this", signature)
    assert (path.parent / identity.PREVIOUS_KEY_FILE).exists()


def test_well_known_says_who_this_instance_is(client):
    who = client.get("/.well-known/redumbrella").get_json()
    assert who["software"] == "Red Umbrella" and who["version"]
    assert who["api"]["federation"]["endpoints"]["push"] == "/federation/v1/push"
    assert _fingerprint(who["public_key"]) == who["fingerprint"]


# -- signed requests ----------------------------------------------------------------------------------


def test_only_an_active_peer_with_a_fresh_signed_request_for_us_is_answered(on):
    from core.federation import identity, peers, service

    client = on.test_client()
    peer = Peer(on, "Far")
    stranger = Peer(on, "Stranger", add=False)
    nonce = secrets.token_hex(16)
    ok = peer.get(client, "/federation/v1/manifest", nonce=nonce)
    assert ok.status_code == 200 and ok.get_json() == {"items": []}
    # The answer is signed over the request's nonce with this instance's key.
    ours = in_app(on, identity.public_key_b64)
    text = peers.response_text(200, nonce, peer.ours, ok.get_data())
    assert identity.verify(ours, text, ok.headers["X-Redumbrella-Signature"])

    assert client.get("/federation/v1/manifest").status_code == 401  # unsigned
    assert stranger.get(client, "/federation/v1/manifest").status_code == 401  # not a peer of ours
    assert peer.get(client, "/federation/v1/manifest", recipient="AAAA-BBBB-CCCC-DDDD").status_code == 401
    assert peer.get(client, "/federation/v1/manifest", timestamp=int(time.time()) - 3600).status_code == 401
    assert peer.get(client, "/federation/v1/manifest", nonce=nonce).status_code == 401  # replayed request
    body = json.dumps({"items": []}).encode()
    headers = peer.headers("POST", "/federation/v1/push", body)
    tampered = client.post("/federation/v1/push", data=body.replace(b"[]", b"[ ]"), headers=headers)
    assert tampered.status_code == 401
    refused = tampered.get_json()["error"]
    assert refused["status"] == 401 and "Far" not in json.dumps(refused)

    in_app(on, service.remove_peer, peer.row)
    assert peer.get(client, "/federation/v1/manifest").status_code == 401  # removed: refused at once


# -- what is shared, and with whom ---------------------------------------------------------------------


def test_a_shared_alert_is_signed_without_its_identifiers_and_every_change_is_a_new_version(on, moderator):
    from core.federation import identity
    from core.federation.models import PushMessage
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    Peer(on, "Far")
    local = publish(on, moderator, distribution="local")
    assert feed_item(on, local) is None  # this instance only: never in the feed

    alert_id = publish(on, moderator)
    item = feed_item(on, alert_id)
    body = json.loads(item.body)
    public = in_app(on, identity.public_key_b64)
    assert identity.verify(public, item.body.encode(), item.signature)
    assert body["version"] == 1 and body["distribution"] == "peers" and not body["tombstone"]
    assert set(body["data"]) == {"kind", "category", "title", "summary", "severity", "incident_types", "occurred_on",
                                 "regions", "published_at", "updated_at", "expires_on", "perpetrators"}
    assert "900871" not in item.body and "identifiers" not in body["data"]
    assert in_app(on, lambda: PushMessage.select().count()) == 0  # medium severity: pulled, not pushed

    def correct():
        service.update(Alert.get_by_id(alert_id), {"summary": "Corrected."}, None)

    in_app(on, correct)
    corrected = feed_item(on, alert_id)
    assert corrected.uid == item.uid and corrected.version == 2
    assert json.loads(corrected.body)["data"]["summary"] == "Corrected."

    in_app(on, lambda: service.withdraw(Alert.get_by_id(alert_id), None))
    gone = feed_item(on, alert_id)
    assert gone.version == 3 and gone.tombstone and json.loads(gone.body)["data"] is None
    assert identity.verify(public, gone.body.encode(), gone.signature)
    assert in_app(on, lambda: PushMessage.select().count()) == 1  # a withdrawal is pushed at once


def test_each_peer_is_offered_only_what_its_distribution_allows(on, moderator):
    from core.federation import service

    client = on.test_client()
    inside, outside = Peer(on, "Inside"), Peer(on, "Outside")
    group = in_app(on, service.create_group, "North")
    in_app(on, service.set_members, group, [inside.row])
    to_all = feed_item(on, publish(on, moderator))
    to_group = feed_item(on, publish(on, moderator, distribution="group:North"))

    def offered(peer):
        return {uid for _origin, uid, _version in peer.get(client, "/federation/v1/manifest").get_json()["items"]}

    assert offered(inside) == {to_all.uid, to_group.uid}
    assert offered(outside) == {to_all.uid}
    asked = [[to_group.origin_fingerprint, to_group.uid], [to_all.origin_fingerprint, to_all.uid]]
    got = outside.post(client, "/federation/v1/items", {"items": asked}).get_json()["items"]
    assert [json.loads(item["body"])["uid"] for item in got] == [to_all.uid]
    body = json.loads(inside.post(client, "/federation/v1/items", {"items": asked[:1]}).get_json()["items"][0]["body"])
    assert body["audience"] == [inside.fingerprint] and body["group"] == "North"

    # Taking a peer out of the group signs the group's items again for the new audience.
    in_app(on, service.set_members, group, [])
    assert offered(inside) == {to_all.uid}
    assert feed_item(on, int(to_group.local_ref)).version == 2


# -- what is received ------------------------------------------------------------------------------------


def test_a_received_alert_is_held_for_review_with_its_provenance_and_regions_mapped(on, mod_client):
    from core.federation import service

    client = on.test_client()
    peer = Peer(on, "Far")
    in_app(on, service.set_region_map, peer.row, {"theirs_north": "north_east"})
    assert peer.push(client, peer.item()) == ["accepted"]
    copy = local_alert(on, received_from="Far")
    assert copy.status == "draft" and copy.title == "Pays with fake notes" and copy.kind == "person"
    regions = in_app(on, lambda: [row.region for row in copy.region_rows])
    assert regions == ["north_east"]
    page = mod_client.get(f"/alerts/manage/{copy.id}").get_data(as_text=True)
    assert "From Far" in page and "They do not allow it." in page

    # A correction replaces it; the same or an older version is a replay.
    assert peer.push(client, peer.item(version=2, data=alert_data(summary="Now two cars."))) == ["accepted"]
    assert local_alert(on, id=copy.id).summary == "Now two cars."
    assert peer.push(client, peer.item(version=2), peer.item(version=1)) == ["replayed", "replayed"]
    assert peer.push(client, peer.item(version=3, tombstone=True)) == ["accepted"]
    assert local_alert(on, id=copy.id).status == "withdrawn"


def test_auto_publish_goes_through_the_normal_path_to_subscribers(on, make_user):
    from plugins.alerts import subscriptions
    from plugins.alerts.models import Delivery

    member = make_user("member", email="reader@example.org")
    in_app(on, lambda: subscriptions.save(member, {"all_regions": True, "channels": ["email"],
                                                   "frequency": "immediate"}, False))
    client = on.test_client()
    peer = Peer(on, "Near", auto_publish=True)
    data = alert_data(regions=["north_east", "nowhere_here"], severity="high")
    assert peer.push(client, peer.item(data=data)) == ["accepted"]
    copy = local_alert(on, received_from="Near")
    assert copy.status == "published" and copy.severity == "high"
    assert in_app(on, lambda: [row.region for row in copy.region_rows]) == ["north_east"]
    assert in_app(on, lambda: Delivery.select().where(Delivery.alert == copy.id).count()) == 1

    # With none of our regions it cannot be published: it waits for a moderator instead.
    assert peer.push(client, peer.item(uid="u2", data=alert_data(regions=["elsewhere"]))) == ["accepted"]
    assert local_alert(on, received_from="Near").status == "draft"


def test_what_may_not_be_taken_is_refused_with_its_reason(on):
    from core.federation import service

    client = on.test_client()
    peer, other, removed = Peer(on, "Far"), Peer(on, "Other", add=False), Peer(on, "Gone")
    in_app(on, service.remove_peer, removed.row)
    good = peer.item(uid="ok")
    tampered = dict(good, body=good["body"].replace("Be careful.", "Be careful!"))
    forged_origin = json.loads(good["body"])
    forged_origin["origin"]["fingerprint"] = other.fingerprint
    forged = {"body": json.dumps(forged_origin, sort_keys=True, separators=(",", ":")), "signature": good["signature"]}
    results = peer.push(
        client,
        tampered,
        forged,
        peer.item(uid="g", distribution="group", audience=[other.fingerprint]),
        peer.item(uid="r1", origin=other, may_pass_on=False),
        peer.item(uid="r2", origin=removed, may_pass_on=True),
        peer.item(uid="k", kind="recipe"),
        {"body": "not json", "signature": "x"},
        "not an item",
        good,
    )
    assert results == ["bad_signature", "origin_mismatch", "outside_distribution", "no_pass_on", "removed_peer",
                       "unknown_kind", "malformed", "malformed", "accepted"]
    relayed = peer.item(uid="r3", origin=other, may_pass_on=True)
    assert peer.push(client, relayed) == ["accepted"]
    copy = local_alert(on, received_from="Far")
    assert copy.origin_name == other.fingerprint and copy.may_pass_on  # not a peer of ours: its key, not a name
    # Our own item coming back is not taken as someone else's.
    from core.federation import identity

    ours = json.loads(good["body"])
    ours["origin"] = {"name": "Us", "fingerprint": in_app(on, identity.fingerprint),
                      "public_key": in_app(on, identity.public_key_b64)}
    text = json.dumps(ours, sort_keys=True, separators=(",", ":"))
    assert peer.push(client, {"body": text, "signature": in_app(on, identity.sign, text.encode())}) == ["own_item"]


def test_a_received_alert_is_never_shared_as_ours_and_passed_on_only_when_allowed(on, moderator):
    from core.accounts.models import User
    from core.federation import feed
    from plugins.alerts import service
    from plugins.alerts.errors import AlertError

    client = on.test_client()
    peer, origin = Peer(on, "Far", auto_publish=True), Peer(on, "Origin", add=False)
    Peer(on, "Next")
    assert peer.push(client, peer.item(uid="kept", data=alert_data(regions=["london"]))) == ["accepted"]
    assert peer.push(client, peer.item(uid="open", origin=origin, may_pass_on=True,
                                       data=alert_data(regions=["london"], title="Open"))) == ["accepted"]
    kept, open_ = local_alert(on, title="Pays with fake notes"), local_alert(on, title="Open")
    actor = in_app(on, User.get_by_id, moderator.id)

    with pytest.raises(AlertError):
        in_app(on, service.set_sharing, kept, "peers", None, actor)
    assert in_app(on, lambda: feed.item_for("alert", str(kept.id))) is None
    in_app(on, service.set_sharing, open_, "peers", None, actor)
    row = in_app(on, lambda: feed.FeedItem.get(feed.FeedItem.local_ref == str(open_.id)))
    assert row.origin_fingerprint == origin.fingerprint and row.body == json.loads(json.dumps(
        peer.item(uid="open", origin=origin, may_pass_on=True, data=alert_data(regions=["london"], title="Open"))
    ))["body"]


# -- the urgent push outbox --------------------------------------------------------------------------------


def test_an_urgent_alert_is_pushed_and_retried_while_the_peer_is_unreachable(on, moderator):
    from core.federation import push, service
    from core.federation.models import Peer as PeerRow
    from core.federation.models import PushMessage

    far = Peer(on, "Far")
    in_app(on, lambda: PeerRow.update(base_url="http://127.0.0.1:9").where(PeerRow.id == far.row.id).execute())
    publish(on, moderator, severity="high")
    # A request pushes after its commit; here (no request) the worker's sweep does: the peer is down.
    assert in_app(on, push.drain) == 0
    message = in_app(on, lambda: PushMessage.get())
    assert message.status == "pending" and message.attempts == 1 and message.last_error == "ConnectionRefusedError"
    assert message.next_attempt_at > datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    for _attempt in range(push.MAX_ATTEMPTS - 1):
        in_app(on, push.retry_now)
        in_app(on, push.drain)
    assert in_app(on, lambda: PushMessage.get()).status == "failed"
    in_app(on, service.remove_peer, far.row)
    assert in_app(on, lambda: PushMessage.select().count()) == 0  # nothing more for a removed peer


# -- the alerts API and page ------------------------------------------------------------------------------


def test_the_api_takes_a_distribution_and_sharing_alone_is_not_a_correction(on, moderator, mod_client):
    from core.accounts.models import User
    from core.accounts.tokens import create_token
    from core.federation import service

    in_app(on, service.create_group, "North")
    token = in_app(on, lambda: create_token(User.get_by_id(moderator.id), "test")[1])
    headers = {"Authorization": f"Bearer {token}"}
    api = on.test_client()
    body = {"category": "scam", "summary": "A fake agency.", "regions": ["london"], "distribution": "group:Nope"}
    refused = api.post("/api/v1/notices", json=body, headers=headers)
    assert refused.status_code == 422 and "distribution" in refused.get_json()["error"]["fields"]
    created = api.post("/api/v1/notices", json=dict(body, distribution="group:North", may_pass_on=True),
                              headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    alert = created.get_json()
    assert alert["distribution"] == "group:North" and alert["may_pass_on"] is True and alert["from_peer"] is None
    api.post(f"/api/v1/alerts/{alert['id']}/review", headers=headers)
    published = api.post(f"/api/v1/alerts/{alert['id']}/publish", headers=headers).get_json()
    shared = api.patch(f"/api/v1/alerts/{alert['id']}", json={"distribution": "peers"}, headers=headers)
    assert shared.status_code == 200
    after = shared.get_json()
    assert after["status"] == "published" and after["updated_at"] is None and after["distribution"] == "peers"
    assert after["version"] == published["version"]
    assert api.patch(f"/api/v1/alerts/{alert['id']}", json={"distribution": "everyone"},
                            headers=headers).status_code == 422

    # The same from the alert's page.
    page = mod_client.get(f"/alerts/manage/{alert['id']}").get_data(as_text=True)
    assert "Sharing with peer instances" in page and 'value="group:North"' in page
    saved = post_form(mod_client, f"/alerts/manage/{alert['id']}/sharing", {"distribution": "local"},
                      token_from=f"/alerts/manage/{alert['id']}")
    assert saved.status_code == 303
    assert api.get(f"/api/v1/alerts/{alert['id']}", headers=headers).get_json()["distribution"] == "local"
    wrong = post_form(mod_client, f"/alerts/manage/{alert['id']}/sharing", {"distribution": "group:Nope"},
                      token_from=f"/alerts/manage/{alert['id']}")
    assert wrong.status_code == 422


# -- the admin pages and the commands -------------------------------------------------------------------------


def test_an_admin_adds_a_peer_after_comparing_its_fingerprint_and_removes_it(on, make_user):
    from core.audit import AuditEntry
    from core.federation import identity
    from core.federation.models import Peer as PeerRow
    from core.federation.models import SharingGroup

    admin = make_user("admin", email="boss@example.org")
    client = on.test_client()
    sign_in(client, admin)
    index = client.get("/admin/peers")
    assert index.status_code == 200 and in_app(on, identity.fingerprint) in index.text
    other = Ed25519PrivateKey.generate()
    key = base64.b64encode(other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    form = {"base_url": "https://far.example.org/", "public_key": key, "name": "Far Group"}
    bad = post_form(client, "/admin/peers/add", dict(form, public_key="not-a-key"), token_from="/admin/peers")
    assert bad.status_code == 422 and "not a public key" in bad.text
    plain = post_form(client, "/admin/peers/add", dict(form, base_url="http://far.example.org"),
                      token_from="/admin/peers")
    assert plain.status_code == 422 and "starting with https://" in plain.text
    step = post_form(client, "/admin/peers/add", form, token_from="/admin/peers")
    assert step.status_code == 200 and _fingerprint(key) in step.text
    assert in_app(on, lambda: PeerRow.select().count()) == 0
    unconfirmed = post_form(client, "/admin/peers/add", dict(form, step="confirm"), token_from="/admin/peers")
    assert unconfirmed.status_code == 422 and in_app(on, lambda: PeerRow.select().count()) == 0
    added = post_form(client, "/admin/peers/add", dict(form, step="confirm", confirmed="y"), token_from="/admin/peers")
    assert added.status_code == 303
    peer = in_app(on, lambda: PeerRow.get())
    assert peer.name == "Far Group" and peer.base_url == "https://far.example.org" and not peer.auto_publish

    page = f"/admin/peers/{peer.id}"
    assert post_form(client, f"{page}/settings", {"auto_publish": "y", "region_map": "north = north_east"},
                     token_from=page).status_code == 303
    assert in_app(on, lambda: PeerRow.get_by_id(peer.id)).regions == {"north": "north_east"}
    assert post_form(client, f"{page}/settings", {"region_map": "north -> there"}, token_from=page).status_code == 422

    created = post_form(client, "/admin/peers/groups", {"group-name": "North"}, token_from="/admin/peers")
    assert created.status_code == 303
    group = in_app(on, lambda: SharingGroup.get())
    assert post_form(client, f"/admin/peers/groups/{group.id}", {"members": str(peer.id)},
                     token_from=f"/admin/peers/groups/{group.id}").status_code == 303
    assert "Far Group" in client.get(page).text

    assert post_form(client, f"{page}/remove", token_from=page).status_code == 303
    assert in_app(on, lambda: PeerRow.get_by_id(peer.id)).removed_at is not None
    assert client.get(page).status_code == 404
    actions = in_app(on, lambda: [row.action for row in AuditEntry.select().where(
        AuditEntry.action.startswith("federation."))])
    assert actions == ["federation.peer_added", "federation.peer_changed", "federation.peer_changed",
                       "federation.group_created", "federation.group_changed", "federation.peer_removed"]

    member = make_user("member", email="someone@example.org")
    other_client = on.test_client()
    sign_in(other_client, member)
    assert other_client.get("/admin/peers").status_code == 403


def test_the_peers_commands(on):
    from core.cli import cli
    from core.federation.models import Peer as PeerRow

    runner = on.test_cli_runner()
    key = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)).decode()
    with connection():
        identity = runner.invoke(cli, ["peers", "identity"])
        assert "fingerprint:" in identity.output
        refused = runner.invoke(cli, ["peers", "add", "ftp://far.example.org", "--key", key])
        assert refused.exit_code == 1 and "full address" in refused.output
        added = runner.invoke(cli, ["peers", "add", "https://far.invalid", "--key", key, "--name", "Far",
                                    "--auto-publish"])
        assert added.exit_code == 0, added.output
        assert _fingerprint(key) in added.output and "could not be checked" in added.output
        assert runner.invoke(cli, ["peers", "add", "https://far.invalid", "--key", key,
                                   "--name", "Again"]).exit_code == 1  # the same key twice
        listed = runner.invoke(cli, ["peers", "list"]).output
        assert "Far\thttps://far.invalid" in listed and "auto-publish" in listed and "never fetched" in listed
        assert "north = yorkshire" in runner.invoke(cli, ["peers", "regions", "Far", "north=yorkshire"]).output
        assert runner.invoke(cli, ["peers", "group", "create", "North", "Far"]).exit_code == 0
        assert "North: Far" in runner.invoke(cli, ["peers", "group", "members", "North"]).output
        pulled = runner.invoke(cli, ["peers", "pull"])
        assert pulled.exit_code == 1 and "Far: error 1" in pulled.output
        assert runner.invoke(cli, ["peers", "remove", "Far"]).exit_code == 0
        assert runner.invoke(cli, ["peers", "remove", "Far"]).exit_code == 1
        assert PeerRow.get().removed_at is not None
        rotated = runner.invoke(cli, ["peers", "rotate-key", "--yes"])
        assert rotated.exit_code == 0 and "new fingerprint" in rotated.output


def test_after_a_key_is_replaced_the_new_key_corrects_the_same_alerts_and_the_old_one_signs_nothing(on, moderator):
    from core.cli import cli
    from core.federation import identity, service

    client = on.test_client()
    peer = Peer(on, "Far")
    assert peer.push(client, peer.item(uid="a", version=7)) == ["accepted"]
    copy = local_alert(on, received_from="Far")
    old_key, old_public, old_fingerprint = peer.key, peer.public, peer.fingerprint

    # Far's admin replaced its key and told us the new one by phone.
    peer.key = Ed25519PrivateKey.generate()
    peer.public = base64.b64encode(peer.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    peer.fingerprint = _fingerprint(peer.public)
    in_app(on, service.set_key, peer.row, peer.public)
    assert peer.push(client, peer.item(uid="a", version=1, data=alert_data(summary="Signed anew."))) == ["accepted"]
    assert local_alert(on, received_from="Far").id == copy.id and local_alert(on, id=copy.id).summary == "Signed anew."

    thief = Peer(on, "Far", add=False)
    thief.key, thief.public, thief.fingerprint = old_key, old_public, old_fingerprint
    relayed = peer.item(uid="b", origin=thief, may_pass_on=True)
    assert peer.push(client, relayed) == ["retired_key"]  # even passed on by a peer

    # Our own key: every item we share is signed again with the new one, as a new version.
    shared = feed_item(on, publish(on, moderator))
    before = in_app(on, identity.fingerprint)
    with connection():
        rotated = on.test_cli_runner().invoke(cli, ["peers", "rotate-key", "--yes"])
    assert rotated.exit_code == 0 and "1 shared item(s) signed again" in rotated.output
    again = feed_item(on, int(shared.local_ref))
    body = json.loads(again.body)
    assert again.version == shared.version + 1 and body["origin"]["fingerprint"] != before
    assert in_app(on, identity.verify, body["origin"]["public_key"], again.body.encode(), again.signature)


def test_a_withdrawal_leaves_the_feed_after_ninety_days_and_a_shared_alert_stays(on, moderator):
    from core.federation.models import FeedItem
    from core.retention import sweep
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    kept = feed_item(on, publish(on, moderator))
    gone = publish(on, moderator)
    in_app(on, lambda: service.withdraw(Alert.get_by_id(gone), None))
    old = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(days=91)
    in_app(on, lambda: FeedItem.update(updated_at=old).execute())
    in_app(on, sweep, on)
    assert in_app(on, lambda: [row.uid for row in FeedItem.select()]) == [kept.uid]


def test_what_a_peer_stops_offering_is_withdrawn_here_and_bad_bodies_get_a_4xx(on):
    from core.federation import feed
    from plugins.alerts.models import Alert

    client = on.test_client()
    peer = Peer(on, "Far")
    assert peer.push(client, peer.item(uid="a"), peer.item(uid="b")) == ["accepted", "accepted"]
    # Its next manifest offers only "a" (it took us out of a group, or shares "b" locally again).
    withdrawn = in_app(on, feed.withdraw_missing, peer.row, {(peer.fingerprint, "a")})
    assert withdrawn == 1
    statuses = sorted(in_app(on, lambda: [alert.status for alert in Alert.select()]))
    assert statuses == ["draft", "withdrawn"]

    for body, status in ((b"not json", 400), (b"[]", 400), (b'{"items": "x"}', 422),
                         (json.dumps({"items": [{}] * 101}).encode(), 422)):
        headers = peer.headers("POST", "/federation/v1/push", body)
        answer = client.post("/federation/v1/push", data=body, headers=headers)
        assert answer.status_code == status and answer.get_json()["error"]["status"] == status
        assert "X-Redumbrella-Signature" in answer.headers
