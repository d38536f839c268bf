"""The cross-instance check on one instance: what it answers a peer (a signed request made here with
a peer's own Ed25519 key), which tokens it publishes, the peer's quota, audit entries and warning,
and the warning list (numbers that never match, ours and peers' proposals).

Two and three real instances talking to each other are in test_federation_check_instances.py.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest
from alerts_fixtures import in_app
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from helpers import csrf_token, post_form, sign_in

from core.db import connection
from core.federation import oprf


class FakePeer:
    """Another instance, as far as this one can tell: a key of its own and a Peer row here."""

    def __init__(self, app, name="Far"):
        from core.federation import identity
        from core.federation.models import Peer

        self.key = Ed25519PrivateKey.generate()
        self.public = base64.b64encode(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
        self.fingerprint = identity.fingerprint(self.public)

        def add():
            return Peer.create(name=name, base_url="http://127.0.0.1:9", public_key=self.public,
                               fingerprint=self.fingerprint)

        self.peer = in_app(app, add)
        self.ours = in_app(app, identity.fingerprint)

    def headers(self, method: str, path: str, body: bytes = b"") -> dict:
        from core.federation import peers

        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        text = peers.request_text(method, path, timestamp, nonce, self.fingerprint, self.ours, body)
        signature = base64.b64encode(self.key.sign(text)).decode()
        return {peers.H_FROM: self.fingerprint, peers.H_TO: self.ours, peers.H_TIME: timestamp,
                peers.H_NONCE: nonce, peers.H_SIGNATURE: signature, "Content-Type": "application/json"}

    def get(self, client, path):
        return client.get(path, headers=self.headers("GET", path))

    def post(self, client, path, value):
        body = json.dumps(value).encode()
        return client.post(path, data=body, headers=self.headers("POST", path, body))


def publish(app, moderator, distribution="peers", title="Alert", **identifiers):
    """A published alert with these identifiers (phones=[...], emails=[...]), shared as asked."""
    from test_alerts_helpers import make_report

    from core.accounts.models import User
    from plugins.alerts import service

    def make():
        actor = User.get_by_id(moderator.id)
        alert = service.create_from_reports([make_report(**identifiers)], {"summary": "Take care.", "title": title},
                                            actor)
        service.review(alert, actor)
        service.publish(alert, actor)
        if distribution != "local":
            service.set_sharing(alert, distribution, False, actor)
        return alert

    return in_app(app, make)


def settings(app, **values):
    from core.settings import save_settings

    in_app(app, save_settings, "alerts", values)


def check(client, identifier):
    token = csrf_token(client, "/alerts/check")
    return client.post("/api/v1/check", json={"identifier": identifier}, headers={"X-CSRFToken": token})


def ask(app, client, fake, pairs):
    """What the asking instance does, by hand: blind, send, unblind; the tokens of the pairs."""
    inputs = [oprf.identifier_input(kind, value) for kind, value in pairs]
    blinded = [oprf.blind(data) for data in inputs]
    points = [point for _r, point in blinded] + [oprf.random_point() for _ in range(8 - len(inputs))]
    response = fake.post(client, "/federation/v1/alerts/check",
                         {"points": [base64.b64encode(point).decode() for point in points]})
    assert response.status_code == 200, response.get_data(as_text=True)
    answers = [base64.b64decode(text) for text in response.get_json()["points"]]
    return [oprf.token_from_output(oprf.finalize(data, r, answers[index]))
            for index, (data, (r, _point)) in enumerate(zip(inputs, blinded, strict=True))]


def audit_actions(app, prefix):
    from core.audit import AuditEntry

    def read():
        return [(row.action, row.target) for row in AuditEntry.select().order_by(AuditEntry.id)
                if row.action.startswith(prefix)]

    return in_app(app, read)


# -- answering a peer --------------------------------------------------------------------------------


def test_a_peer_finds_a_shared_alerts_number_without_sending_it(on, moderator):
    shared = publish(on, moderator, phones=["07700 900123"], emails=["bad@example.com"])
    publish(on, moderator, distribution="local", phones=["07700 900555"])
    fake = FakePeer(on)
    client = on.test_client()
    tokens = fake.get(client, "/federation/v1/alerts/check-tokens").get_json()
    published = {row[0]: row for row in tokens["tokens"]}
    assert tokens["batch"] == 8 and len(published) == 2  # the phone and the e-mail of the shared alert only
    assert {row[1] for row in published.values()} == {fake.ours}
    found = ask(on, client, fake, [("phone", "+447700900123"), ("email", "bad@example.com"),
                                   ("phone", "+447700900555"), ("phone", "+447700900999")])
    assert found[0] in published and found[1] in published
    assert found[2] not in published  # kept local: not checkable from outside
    assert found[3] not in published
    from core.federation import feed

    uid = in_app(on, lambda: feed.item_for("alert", str(shared.id)).uid)
    assert published[found[0]][2] == uid
    # The question was counted against this peer and audited, without any identifier.
    assert audit_actions(on, "alerts.peer_check") == [("alerts.peer_check", f"peer:{fake.peer.id}")]
    body = json.dumps(tokens)
    for written in ("7700900123", "900123", "bad@example.com"):
        assert written not in body


def test_tokens_follow_groups_withdrawals_and_the_warning_list(on, moderator):
    from core.accounts.models import User
    from core.federation import service as federation
    from plugins.alerts import federation_check
    from plugins.alerts import service as alerts

    fake = FakePeer(on)
    other = FakePeer(on, name="Other")

    def group():
        from core.federation.models import Peer

        made = federation.create_group("North")
        federation.set_members(made, [Peer.get_by_id(fake.peer.id)])

    in_app(on, group)
    north = publish(on, moderator, distribution="group:North", phones=["07700 900201"])
    everyone = publish(on, moderator, phones=["07700 900202"], handles=["+447700900203"])
    client = on.test_client()

    def tokens(who):
        return {row[0] for row in who.get(client, "/federation/v1/alerts/check-tokens").get_json()["tokens"]}

    key = in_app(on, oprf.oprf_key)
    north_token = oprf.token("phone", "+447700900201", key)
    everyone_token = oprf.token("phone", "+447700900202", key)
    handle_token = oprf.token("handle", "+447700900203", key)
    assert tokens(fake) == {north_token, everyone_token, handle_token}
    assert tokens(other) == {everyone_token, handle_token}  # not in the group
    # A number on our warning list is never offered, nor its spelling as an online name.
    in_app(on, federation_check.add_entry, "phone", "07700 900203", "Our office")
    assert tokens(other) == {everyone_token}
    # A withdrawn alert's tokens go at once.
    in_app(on, lambda: alerts.withdraw(alerts.Alert.get_by_id(everyone.id), User.get_by_id(moderator.id)))
    assert tokens(other) == set()
    assert tokens(fake) == {north_token}
    assert north.id


@pytest.mark.parametrize("body", [
    {}, {"points": []}, {"points": "x"}, {"points": ["AAAA"]}, {"points": [base64.b64encode(bytes(32)).decode()]},
    {"points": [base64.b64encode(b"\xff" * 32).decode()]}, {"points": ["not base64!"]},
    {"points": [base64.b64encode(oprf.random_point()).decode()] * 9}, {"points": [1, 2]},
])
def test_a_malformed_question_is_refused_and_not_counted(on, body):
    fake = FakePeer(on)
    response = fake.post(on.test_client(), "/federation/v1/alerts/check", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]
    assert audit_actions(on, "alerts.peer_check") == []


def test_only_a_signed_request_from_an_active_peer_is_answered(on, moderator):
    from core.federation import service as federation

    publish(on, moderator, phones=["07700 900123"])
    fake = FakePeer(on)
    client = on.test_client()
    point = {"points": [base64.b64encode(oprf.random_point()).decode()]}
    assert client.post("/federation/v1/alerts/check", json=point).status_code == 401
    assert client.get("/federation/v1/alerts/check-tokens").status_code == 401
    headers = fake.headers("POST", "/federation/v1/alerts/check", json.dumps(point).encode())
    tampered = json.dumps({"points": [base64.b64encode(oprf.random_point()).decode()]}).encode()
    assert client.post("/federation/v1/alerts/check", data=tampered, headers=headers).status_code == 401
    in_app(on, lambda: federation.remove_peer(federation.Peer.get_by_id(fake.peer.id)))
    assert fake.post(client, "/federation/v1/alerts/check", point).status_code == 401
    assert fake.get(client, "/federation/v1/alerts/check-tokens").status_code == 401
    assert audit_actions(on, "alerts.peer_check") == []


def test_a_peers_quota_audit_and_warning(on, moderator, make_user):
    settings(on, peer_check_limit=3, peer_check_warning=2)
    fake = FakePeer(on)
    client = on.test_client()
    point = {"points": [base64.b64encode(oprf.random_point()).decode()]}  # one identifier tried
    statuses = [fake.post(client, "/federation/v1/alerts/check", point).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = fake.post(client, "/federation/v1/alerts/check", point)
    assert "no more checks" in refused.get_json()["error"]["message"]
    target = f"peer:{fake.peer.id}"
    assert audit_actions(on, "alerts.peer_check") == [
        ("alerts.peer_check", target), ("alerts.peer_check", target), ("alerts.peer_check_warning", target),
        ("alerts.peer_check", target), ("alerts.peer_check_refused", target), ("alerts.peer_check_refused", target)]

    def warnings():
        from plugins.alerts.federation_check_models import PeerCheckWarning

        return [(row.peer_id, row.count) for row in PeerCheckWarning.select()]

    assert in_app(on, warnings) == [(fake.peer.id, 3)]
    # Staff see it on the page, by the peer's name, and can mark it as looked at.
    admin = make_user("admin", email="admin@example.org")
    staff = on.test_client()
    sign_in(staff, admin)
    page = staff.get("/alerts/manage/peer-checks").get_data(as_text=True)
    assert "Peers that asked many checks" in page and "<td>Far</td>" in page
    from plugins.alerts.federation_check_models import PeerCheckWarning

    warning_id = in_app(on, lambda: PeerCheckWarning.get().id)
    response = post_form(staff, "/alerts/manage/peer-checks", {"action": "resolve", "warning": str(warning_id)},
                         token_from="/alerts/manage/peer-checks")
    assert response.status_code == 303
    assert "Looked at" in staff.get("/alerts/manage/peer-checks").get_data(as_text=True)
    assert ("alerts.peer_check_warning_resolved", target) in audit_actions(on, "alerts.peer_check_warning")
    # A peer that may ask nothing gets nothing.
    settings(on, peer_check_limit=0)
    other = FakePeer(on, name="Other")
    assert other.post(client, "/federation/v1/alerts/check", point).status_code == 429


# -- the warning list -------------------------------------------------------------------------------


def test_a_number_on_the_warning_list_never_matches(on, moderator, member_client):
    from plugins.alerts import federation_check

    publish(on, moderator, distribution="local", phones=["0800 123 4567", "07700 900777"],
            handles=["https://wa.me/448001234567"])
    assert check(member_client, "0800 123 4567").get_json()["result"] == "caution"
    in_app(on, federation_check.add_entry, "phone", "+44 800 123 4567", "Helpline")
    for written in ("0800 123 4567", "+448001234567", "https://wa.me/448001234567"):
        answer = check(member_client, written).get_json()
        assert answer["result"] == "no_record", written
        assert not answer.get("alerts")
    assert check(member_client, "07700 900777").get_json()["result"] == "caution"
    assert ("alerts.warning_list_added", "warning_entry:1") in audit_actions(on, "alerts.warning_list")


def test_a_peers_entries_apply_only_once_adopted(on, moderator, member_client):
    from plugins.alerts import federation_check
    from plugins.alerts.federation_check_models import WarningEntry

    publish(on, moderator, distribution="local", phones=["07700 900888"])
    fake = FakePeer(on)
    offered = [{"kind": "phone", "value": "07700 900888", "label": "Their office"},
               {"kind": "phone", "value": "999", "label": "Too short to be anything"},
               {"kind": "fax", "value": "1"}, "nonsense", {"kind": "email", "value": ["x"]}]

    def store(entries):
        from core.federation.models import Peer

        return federation_check.store_peer_entries(Peer.get_by_id(fake.peer.id), entries)

    assert in_app(on, store, offered) == 1
    assert check(member_client, "07700 900888").get_json()["result"] == "caution"  # only proposed
    entry = in_app(on, lambda: WarningEntry.get(WarningEntry.source_peer_id == fake.peer.id))
    assert entry.status == "proposed" and entry.label == "Their office"
    in_app(on, lambda: federation_check.decide(WarningEntry.get_by_id(entry.id), True, moderator.id))
    assert check(member_client, "07700 900888").get_json()["result"] == "no_record"
    # Offered again: an adopted entry stays adopted; one the peer no longer offers, if set aside, stays set aside.
    assert in_app(on, store, offered) == 1
    assert in_app(on, lambda: WarningEntry.get_by_id(entry.id).status) == "active"
    in_app(on, lambda: federation_check.decide(WarningEntry.get_by_id(entry.id), False, moderator.id))
    assert in_app(on, store, []) == 0
    assert in_app(on, lambda: WarningEntry.get_by_id(entry.id).status) == "dismissed"
    assert check(member_client, "07700 900888").get_json()["result"] == "caution"


def test_our_shared_entries_are_offered_to_peers(on):
    from plugins.alerts import federation_check

    in_app(on, federation_check.add_entry, "phone", "0800 123 4567", "Helpline")
    in_app(on, federation_check.add_entry, "email", "Office@Example.org", "Us", False)
    fake = FakePeer(on)
    entries = fake.get(on.test_client(), "/federation/v1/alerts/warning-list").get_json()["entries"]
    assert entries == [{"kind": "phone", "value": "+448001234567", "label": "Helpline"}]


def test_the_staff_page_adds_adopts_and_refuses_nonsense(on, moderator, make_user):
    from plugins.alerts.federation_check_models import WarningEntry

    client = on.test_client()
    sign_in(client, moderator)
    page = client.get("/alerts/manage/peer-checks")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<main" in text and 'for="value"' in text and "Numbers that never match" in text
    response = post_form(client, "/alerts/manage/peer-checks",
                         {"action": "add", "kind": "phone", "value": "999", "label": "Emergency", "shared": "y"},
                         token_from="/alerts/manage/peer-checks")
    assert response.status_code == 422
    assert "Short numbers such as 999" in response.get_data(as_text=True)
    response = post_form(client, "/alerts/manage/peer-checks",
                         {"action": "add", "kind": "phone", "value": "0800 123 4567", "label": "Helpline",
                          "shared": "y"}, token_from="/alerts/manage/peer-checks")
    assert response.status_code == 303
    page = client.get("/alerts/manage/peer-checks").get_data(as_text=True)
    assert "Helpline" in page and "0800 123 4567" in page
    entry_id = in_app(on, lambda: WarningEntry.get().id)
    response = post_form(client, "/alerts/manage/peer-checks", {"action": "remove", "entry": str(entry_id)},
                         token_from="/alerts/manage/peer-checks")
    assert response.status_code == 303
    assert in_app(on, lambda: WarningEntry.select().count()) == 0
    response = post_form(client, "/alerts/manage/peer-checks", {"action": "adopt", "entry": "12345"},
                         token_from="/alerts/manage/peer-checks")
    assert response.status_code == 404
    # A peer's proposal, adopted from the page.
    fake = FakePeer(on)

    def propose():
        from core.federation.models import Peer
        from plugins.alerts import federation_check

        federation_check.store_peer_entries(Peer.get_by_id(fake.peer.id),
                                            [{"kind": "phone", "value": "0808 802 9999", "label": "Support line"}])
        return WarningEntry.get().id

    proposed = in_app(on, propose)
    page = client.get("/alerts/manage/peer-checks").get_data(as_text=True)
    assert "Support line" in page and "Offered by peers" in page and "<td>Far</td>" in page
    response = post_form(client, "/alerts/manage/peer-checks", {"action": "adopt", "entry": str(proposed)},
                         token_from="/alerts/manage/peer-checks")
    assert response.status_code == 303
    assert in_app(on, lambda: WarningEntry.get_by_id(proposed).status) == "active"
    assert ("alerts.warning_list_adopted", f"warning_entry:{proposed}") in audit_actions(on, "alerts.warning_list")
    # Members cannot see or change it.
    member = make_user("member", email="m@example.org")
    member_client = on.test_client()
    sign_in(member_client, member)
    assert member_client.get("/alerts/manage/peer-checks").status_code in (403, 404)


def test_checks_without_peers_work_as_before(on, moderator, member_client):
    """The setting on with no peer: the answer is the local one, and the check is recorded once."""
    from core.audit import AuditEntry

    settings(on, check_peers=True)
    publish(on, moderator, distribution="local", phones=["07700 900123"])
    assert check(member_client, "07700 900123").get_json()["result"] == "caution"
    assert check(member_client, "07700 900124").get_json()["result"] == "no_record"
    with on.app_context(), connection():
        checks = [row.target for row in AuditEntry.select().where(AuditEntry.action == "alerts.check")]
    assert checks == ["check:phone:caution", "check:phone:no_record"]


def test_rotating_the_check_key_changes_every_token(on, moderator):
    from core.federation.commands import peers

    publish(on, moderator, phones=["07700 900123"], emails=["bad@example.com"])
    fake = FakePeer(on)
    client = on.test_client()

    def tokens():
        return {row[0] for row in fake.get(client, "/federation/v1/alerts/check-tokens").get_json()["tokens"]}

    before = tokens()
    result = on.test_cli_runner().invoke(peers, ["rotate-check-key", "--yes"])
    assert result.exit_code == 0, result.output
    after = tokens()
    assert len(before) == len(after) == 2 and not before & after
    assert audit_actions(on, "federation.check_key") == [("federation.check_key_rotated", "federation")]
    # The peer's questions are answered with the new key: what it fetched before no longer matches.
    found = ask(on, client, fake, [("phone", "+447700900123")])
    assert found[0] in after and found[0] not in before


def test_the_check_endpoints_are_offered_at_the_well_known_address(on):
    endpoints = on.test_client().get("/.well-known/redumbrella").get_json()["api"]["federation"]["endpoints"]
    assert endpoints["alerts.check"] == "/federation/v1/alerts/check"
    assert endpoints["alerts.check_tokens"] == "/federation/v1/alerts/check-tokens"
    assert endpoints["alerts.warning_list"] == "/federation/v1/alerts/warning-list"


def test_an_unreachable_peer_changes_nothing_in_the_answer(on, moderator, member_client):
    """check_peers on, one peer that does not answer: the member gets the local answer, quickly."""
    settings(on, check_peers=True)
    publish(on, moderator, distribution="local", phones=["07700 900123"])
    FakePeer(on)  # its address is 127.0.0.1:9, where nothing listens
    started = time.monotonic()
    assert check(member_client, "07700 900123").get_json()["result"] == "caution"
    assert check(member_client, "07700 900999").get_json()["result"] == "no_record"
    assert time.monotonic() - started < 10

    def states():
        from plugins.alerts.federation_check_models import PeerTokenState

        return PeerTokenState.select().count()

    assert in_app(on, states) == 0  # nothing fetched, nothing kept


def test_what_a_removed_peer_gave_is_forgotten_but_adopted_entries_stay(on):
    from core.federation import service as federation
    from core.federation.models import Peer
    from plugins.alerts import federation_check
    from plugins.alerts.federation_check_models import PeerToken, PeerTokenState, WarningEntry

    fake, other = FakePeer(on), FakePeer(on, name="Other")

    def fill():
        for peer_id in (fake.peer.id, other.peer.id):
            PeerToken.create(peer_id=peer_id, token="ab" * 32, origin="AAAA-BBBB-CCCC-DDDD", uid="u1")
            PeerTokenState.create(peer_id=peer_id, count=1)
        peer = Peer.get_by_id(fake.peer.id)
        federation_check.store_peer_entries(peer, [{"kind": "phone", "value": "0800 123 4567"},
                                                   {"kind": "phone", "value": "0800 123 4568"}])
        federation_check.decide(WarningEntry.get(WarningEntry.blind_index == federation_check._blind(
            "phone", "+448001234567")), True)
        federation.remove_peer(peer)
        federation_check.forget_removed_peers()
        return ({row.peer_id for row in PeerToken.select()}, {row.peer_id for row in PeerTokenState.select()},
                [(row.display, row.status) for row in WarningEntry.select()])

    tokens, states, entries = in_app(on, fill)
    assert tokens == states == {other.peer.id}
    assert entries == [("+448001234567", "active")]


def test_a_peer_that_never_answers_keeps_a_member_waiting_only_briefly(on, moderator, member_client, monkeypatch):
    """A peer that accepts the connection and says nothing: the check waits ASK_TIMEOUT once, then
    leaves that peer alone for RETRY_AFTER; the member gets the local answer both times."""
    import socket

    from core.federation.models import Peer
    from plugins.alerts import federation_check

    monkeypatch.setattr(federation_check, "ASK_TIMEOUT", 2)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        settings(on, check_peers=True)
        publish(on, moderator, distribution="local", phones=["07700 900123"])
        fake = FakePeer(on)
        in_app(on, lambda: Peer.update(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}").where(
            Peer.id == fake.peer.id).execute())
        started = time.monotonic()
        assert check(member_client, "07700 900123").get_json()["result"] == "caution"
        first = time.monotonic() - started
        started = time.monotonic()
        assert check(member_client, "07700 900999").get_json()["result"] == "no_record"
        second = time.monotonic() - started
        # The first check waited for the silent peer (2 s, the deadline), the second did not wait again.
        assert 2 <= first < 15 and second < 2, (first, second)
    finally:
        silent.close()


def test_a_peer_speaks_only_for_its_own_alerts(on):
    from core.federation.models import Peer
    from plugins.alerts import federation_check
    from plugins.alerts.federation_check_models import PeerToken, PeerTokenState

    fake = FakePeer(on)

    def store():
        federation_check._store(Peer.get_by_id(fake.peer.id), {"batch": 8, "entries": None, "tokens": [
            ("aa" * 32, fake.fingerprint, "own-alert"), ("bb" * 32, "AAAA-BBBB-CCCC-DDDD", "someone-elses")]})
        return ([(row.token[:2], row.uid) for row in PeerToken.select()],
                PeerTokenState.get(PeerTokenState.peer_id == fake.peer.id).count)

    assert in_app(on, store) == ([("aa", "own-alert")], 1)
