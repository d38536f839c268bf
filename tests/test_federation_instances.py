"""Three real instances exchanging alerts (issue #15, "Done when"), each in its own gunicorn process
with its own folder, keys and database: North (SQLite), Middle (PostgreSQL) and South (SQLite).
North and Middle are peers, Middle and South are peers; North and South are not. Every byte they
exchange goes through a recording proxy in front of each instance (tests/federation_instances.py).

The tests run in order on the same three instances (a module fixture: starting them is most of
the time): peering on both sides, corrections and withdrawals within one pull, the urgent push and
its retries, a sharing group, no re-share through the middle instance, refusals (tampered,
replayed, removed peer, outside the distribution, unsigned), mail to a subscriber over real SMTP,
and a capture with no identifier in it in any form.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time

import pytest
from federation_instances import Instance, Proxy, SignedClient, postgres_database, sign_item
from smtp_server import SmtpServer

# Its instances have databases of their own (one on PostgreSQL): the SQLite pass runs it.
pytestmark = [pytest.mark.slow, pytest.mark.once]


# What North's alerts warn about: none of it may ever leave North, in any form.
PHONE = ("phone", "07700 900462")
EMAIL = ("email", "Dodgy.Booker@Example.com")
HANDLE = ("handle", "https://www.instagram.com/dodgy_booker_77/")
PLATE = ("plate", "LK19 XYZ")
IDENTIFIERS = (PHONE, EMAIL, HANDLE, PLATE)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    postgres = postgres_database("fedcore_middle")
    if postgres is None:
        pytest.skip("NOT RUN: needs PostgreSQL for one of the instances (REDUMBRELLA_TEST_POSTGRES_URL)")
    root = tmp_path_factory.mktemp("federation")
    smtp = SmtpServer().start()
    north = Instance(root, "North", f"sqlite:///{root / 'north.sqlite3'}", smtp)
    middle = Instance(root, "Middle", postgres, smtp, locale="es")
    south = Instance(root, "South", f"sqlite:///{root / 'south.sqlite3'}", smtp)
    instances = (north, middle, south)
    try:
        _each(instances, lambda instance: instance.setup())
        _each(instances, lambda instance: instance.start())
        proxies = {instance.name: Proxy(instance.port, instance.name) for instance in instances}
        yield {"north": north, "middle": middle, "south": south, "proxies": proxies, "smtp": smtp, "notes": {}}
        for proxy in proxies.values():
            proxy.stop()
    finally:
        for instance in instances:
            instance.stop()
        smtp.stop()


def _each(instances, work) -> None:
    """Do work on every instance at the same time (setting up takes a few seconds each)."""
    errors = []

    def run(instance):
        try:
            work(instance)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(instance,)) for instance in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def mails_from(smtp, name: str) -> list:
    return [message for message in smtp.messages if message["From"].startswith(name)]


def wait_mails(smtp, name: str, count: int, timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while len(mails_from(smtp, name)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    found = mails_from(smtp, name)
    assert len(found) >= count, f"{len(found)} mail(s) from {name}, not {count}"
    return found


def items_answered(proxy: Proxy) -> list[dict]:
    """Every signed item an instance served through this proxy (its answers to /items)."""
    found = []
    for exchange in proxy.exchanges:
        if exchange["path"].endswith("/federation/v1/items") and exchange["status"] == 200:
            found.extend(json.loads(exchange["body"])["items"])
    return found


def served_item(net, title: str) -> dict:
    """The signed item North served for the alert with this title (as Middle received it)."""
    return next(item for item in items_answered(net["proxies"]["North"])
                if (json.loads(item["body"])["data"] or {}).get("title") == title)


# -- peering ---------------------------------------------------------------------------------------


def test_each_instance_says_who_it_is(net):
    import urllib.request

    for instance in (net["north"], net["middle"], net["south"]):
        with urllib.request.urlopen(f"{net['proxies'][instance.name].url}/.well-known/redumbrella") as answer:  # noqa: S310
            who = json.load(answer)
        assert who["name"] == instance.name
        assert who["public_key"] == instance.public_key and who["fingerprint"] == instance.fingerprint
        assert who["version"] and who["api"]["federation"]["endpoints"]["manifest"] == "/federation/v1/manifest"


def test_nothing_flows_until_both_sides_added_each_other(net):
    north, middle, smtp = net["north"], net["middle"], net["smtp"]
    added = north.cli("peers", "add", net["proxies"]["Middle"].url, "--key", middle.public_key, "--name", "Middle")
    assert middle.fingerprint in added.stdout
    north.notice("peers", "Hotel scam", IDENTIFIERS)

    # Middle has not added North: North's requests are refused, and Middle has nothing to pull from.
    refused = north.cli("peers", "pull", "Middle", check=False)
    assert refused.returncode == 1 and "error 1" in refused.stdout
    assert "HTTP 401" in north.cli("peers", "list").stdout
    assert middle.titled("Hotel scam") is None

    middle.cli("peers", "add", net["proxies"]["North"].url, "--key", north.public_key, "--name", "North",
               "--auto-publish")
    middle.cli("peers", "regions", "North", "north_east=yorkshire")
    pulled = middle.cli("peers", "pull", "North")
    assert "accepted 1" in pulled.stdout

    copy = middle.titled("Hotel scam")
    assert copy["status"] == "published" and copy["from_peer"]
    assert [region["code"] for region in copy["regions"]] == ["yorkshire"]
    assert copy["identifiers"] == []  # identifiers never leave North
    assert "North" in copy["from_peer"]
    # Auto-published through the normal path: Middle's subscriber got it by e-mail, in Spanish.
    mail = wait_mails(smtp, "Middle", 1)[-1]
    assert mail["To"] == "member@example.org" and mail["Content-Language"] == "es"
    assert north.cli("peers", "pull", "Middle").returncode == 0  # now both ways
    net["notes"]["hotel"] = copy["id"]


def test_a_correction_and_a_withdrawal_follow_within_one_pull(net):
    north, middle, smtp, proxy = net["north"], net["middle"], net["smtp"], net["proxies"]["Middle"]
    original = north.titled("Hotel scam")
    status, _body = north.api("PATCH", f"/api/v1/alerts/{original['id']}", {"summary": "Corrected: two hotels."})
    assert status == 200
    before = len(mails_from(smtp, "Middle"))
    assert "accepted 1" in middle.cli("peers", "pull", "North").stdout
    copy = middle.titled("Hotel scam")
    assert copy["summary"] == "Corrected: two hotels." and copy["status"] == "updated"
    wait_mails(smtp, "Middle", before + 1)  # subscribers are told of the correction

    # The withdrawal is pushed at once; with Middle unreachable the push waits, and the next pull
    # brings it anyway.
    proxy.down = True
    status, _body = north.api("POST", f"/api/v1/alerts/{original['id']}/withdraw", {"reason": "Resolved."})
    assert status == 200
    assert middle.titled("Hotel scam")["status"] == "updated"
    proxy.down = False
    assert "accepted 1" in middle.cli("peers", "pull", "North").stdout
    assert middle.titled("Hotel scam")["status"] == "withdrawn"
    status, _body = middle.api("GET", f"/api/v1/alerts/{copy['id']}", who="member")
    assert status == 404  # out of members' lists and checks at once
    # The push that failed is retried and delivered (Middle answers that it already has it).
    assert "delivered 1, still waiting 0" in north.cli("peers", "push", "--retry").stdout


def test_an_urgent_alert_is_pushed_to_the_peers_subscribers_at_once(net):
    north, middle, smtp = net["north"], net["middle"], net["smtp"]
    before = len(mails_from(smtp, "Middle"))
    started = time.monotonic()
    north.notice("peers", "Violent caller", (PHONE,), severity="high")
    wait_mails(smtp, "Middle", before + 1)  # no pull: the push brought it
    net["notes"]["push_seconds"] = time.monotonic() - started
    copy = middle.titled("Violent caller")
    assert copy["status"] == "published" and copy["severity"] == "high"


# -- who gets what ---------------------------------------------------------------------------------


def test_an_alert_for_a_sharing_group_reaches_its_members_and_no_one_else(net):
    north, middle, south = net["north"], net["middle"], net["south"]
    middle.cli("peers", "add", net["proxies"]["South"].url, "--key", south.public_key, "--name", "South")
    south.cli("peers", "add", net["proxies"]["Middle"].url, "--key", middle.public_key, "--name", "Middle")
    middle.cli("peers", "group", "create", "Southern groups", "South")
    middle.notice("group:Southern groups", "Fake agency", regions=("north_east",))
    status, body = middle.api("PATCH", f"/api/v1/alerts/{middle.titled('Fake agency')['id']}",
                              {"distribution": "group:Nobody"})
    assert status == 422 and "distribution" in body["error"]["fields"]

    assert "accepted 1" in south.cli("peers", "pull", "Middle").stdout
    north.cli("peers", "pull", "Middle")
    held = south.titled("Fake agency")
    assert held is not None and held["status"] == "draft"  # South holds it for review (the default)
    assert north.titled("Fake agency") is None


def test_nothing_is_passed_on_through_a_middle_instance_unless_the_origin_allows_it(net):
    north, middle, south = net["north"], net["middle"], net["south"]
    north.notice("peers", "Kept between us", may_pass_on=False)
    north.notice("peers", "Pass it on", may_pass_on=True)
    middle.cli("peers", "pull", "North")
    kept, passed = middle.titled("Kept between us"), middle.titled("Pass it on")
    status, body = middle.api("PATCH", f"/api/v1/alerts/{kept['id']}", {"distribution": "peers"})
    assert status == 422, body  # the origin does not allow it
    status, body = middle.api("PATCH", f"/api/v1/alerts/{passed['id']}", {"distribution": "peers"})
    assert status == 200, body
    south.cli("peers", "pull", "Middle")
    assert south.titled("Kept between us") is None
    relayed = south.titled("Pass it on")
    # North is not South's peer: shown by its key's fingerprint, never by the name its items claim.
    assert relayed is not None and north.fingerprint in relayed["from_peer"] and "Middle" in relayed["from_peer"]

    # A hostile Middle sending North's alert on anyway, signed with its own key: South refuses it.
    item = served_item(net, "Kept between us")
    hostile = SignedClient(middle.private_key(), south.port, south.fingerprint)
    status, answer = hostile.push([item])
    assert status == 200 and answer["results"] == ["no_pass_on"]
    assert south.titled("Kept between us") is None


# -- refusals --------------------------------------------------------------------------------------


def test_tampered_replayed_unsigned_and_outside_the_distribution_are_refused(net):
    north, middle = net["north"], net["middle"]
    as_north = SignedClient(north.private_key(), middle.port, middle.fingerprint)
    accepted = served_item(net, "Pass it on")

    body = accepted["body"]
    at = body.index("Pass it on")
    tampered = {"body": body[:at] + "Pass it 0n" + body[at + len("Pass it on"):], "signature": accepted["signature"]}
    assert as_north.push([tampered]) == (200, {"results": ["bad_signature"]})
    assert as_north.push([accepted]) == (200, {"results": ["replayed"]})  # the same version again

    item = json.loads(body)
    item.update(version=item["version"] + 5, distribution="group", group="Southern",
                audience=[net["south"].fingerprint])
    assert as_north.push([sign_item(north.private_key(), item)]) == (200, {"results": ["outside_distribution"]})

    status, _answer = SignedClient(north.private_key(), middle.port, middle.fingerprint).send(
        "POST", "/federation/v1/push", {"items": [accepted]}, headers={"Content-Type": "application/json"})
    assert status == 401  # unsigned
    replay = SignedClient(north.private_key(), middle.port, middle.fingerprint)
    assert replay.send("GET", "/federation/v1/manifest")[0] == 200
    assert replay.send("GET", "/federation/v1/manifest", headers=replay.last_headers)[0] == 401  # same nonce
    stale = replay.headers("GET", "/federation/v1/manifest", b"", timestamp=int(time.time()) - 3600)
    assert replay.send("GET", "/federation/v1/manifest", headers=stale)[0] == 401


def test_an_answer_changed_on_the_way_is_refused_whole(net):
    north, middle = net["north"], net["middle"]
    north.notice("peers", "Changed on the way")
    net["proxies"]["North"].tamper = lambda path, data: data.replace(b"Changed on", b"Changed 0n")
    try:
        pulled = middle.cli("peers", "pull", "North", check=False)
    finally:
        net["proxies"]["North"].tamper = None
    assert pulled.returncode == 1 and "accepted" not in pulled.stdout
    assert middle.titled("Changed on the way") is None and middle.titled("Changed 0n the way") is None
    assert "answer not signed" in middle.cli("peers", "list").stdout


def test_a_removed_peer_gets_nothing_and_is_refused_at_once(net):
    north, middle = net["north"], net["middle"]
    middle.cli("peers", "remove", "North")
    north.notice("peers", "After the removal", severity="high")  # pushed at once, and refused
    assert middle.titled("After the removal") is None
    assert north.cli("peers", "pull", "Middle", check=False).returncode == 1
    as_north = SignedClient(north.private_key(), middle.port, middle.fingerprint)
    assert as_north.send("GET", "/federation/v1/manifest")[0] == 401
    assert "no active peer" in middle.cli("peers", "pull", "North", check=False).stderr
    # What North sent before stays, with its provenance.
    assert "North" in middle.titled("Violent caller")["from_peer"]


# -- what crossed the wire -------------------------------------------------------------------------


def _forms(kind: str, value: str) -> set[str]:
    """Every spelling of an identifier, and unkeyed hashes of them, that must not be in a capture."""
    import phonenumbers

    from core.identifiers import normalise

    normalised = normalise(kind, value, "GB")
    spellings = {value, value.lower(), value.upper(), normalised, normalised.lower(), normalised.upper()}
    if kind == "phone":
        number = phonenumbers.parse(normalised, "GB")
        digits = "".join(char for char in normalised if char.isdigit())
        spellings |= {digits, digits[2:], "0" + digits[2:], value.replace(" ", ""),
                      phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
                      phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)}
    if kind == "plate":
        spellings |= {value.replace(" ", ""), value.replace(" ", "").lower()}
    if kind == "handle":
        spellings |= {"dodgy_booker_77", "@dodgy_booker_77"}
    found = set(spellings)
    for text in spellings | {f"{kind}:{normalised}"}:
        for algorithm in ("md5", "sha1", "sha256", "sha512"):
            digest = hashlib.new(algorithm, text.encode()).digest()
            found |= {digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode(),
                      base64.urlsafe_b64encode(digest).decode().rstrip("=")}
    return {form for form in found if len(form) >= 5}


def test_every_byte_exchanged_holds_no_identifier_in_any_form(net):
    captured = b"".join(proxy.captured() for proxy in net["proxies"].values())
    assert b"Hotel scam" in captured and b"/federation/v1/items" in captured  # the capture is real
    text = captured.decode("utf-8", errors="replace")
    for kind, value in IDENTIFIERS:
        for form in _forms(kind, value):
            assert form not in text, f"{kind} found in the capture as {form!r}"
