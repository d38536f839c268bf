"""The cross-instance check between two real instances (issue #15), and what crosses between them.

North (A) runs on SQLite, South (B) on PostgreSQL (when the machine has it; else SQLite too), each
a gunicorn process with its own instance folder, keys and database (tests/federation_instances.py),
seeded from processes of its own (its seed script, tests/fixtures/federation_check_seed.py, its
API and the `redumbrella` CLI). Each is reached by the other only through a recording proxy, so
the test reads every byte they exchanged. A member of A checks numbers over A's HTTP API.

Shown here: nothing is answered until both sides added each other; a pull fetches B's tokens; a
number of one of B's shared alerts is found from A however it is written (national,
international, a WhatsApp link), and the e-mail, plate and online name too, with A's received
copy linked as a local alert would be; B's alerts kept local are not findable, nor one A holds for
its moderators' review; each question counts against A's quota at B and is audited there; B's
warning list reaches A as a proposal; a withdrawal at B stops the match at once (pushed); and the
capture holds no identifier in any form (digits, E.164, national, e-mail, plate, handle, unkeyed
hashes of any, their hash-to-group points, blind indexes under either instance's key).
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import hmac
import json

import pytest
from federation_instances import Instance, Proxy, postgres_database
from fixtures.processes import PYTHON, ROOT, run

from core.federation import oprf

pytestmark = pytest.mark.slow

SEED = str(ROOT / "tests" / "fixtures" / "federation_check_seed.py")


def seed(instance: Instance, *commands: dict) -> list:
    """Run tests/fixtures/federation_check_seed.py's actions on the instance, in one process."""
    done = run([PYTHON, SEED, json.dumps(list(commands))], instance.env, 90)
    assert done.returncode == 0, f"{commands}: {done.stdout}\n{done.stderr}"
    lines = [line for line in done.stdout.splitlines() if line.startswith("SEED-RESULT ")]
    assert lines, f"{commands}: {done.stdout}\n{done.stderr}"
    return json.loads(lines[-1].removeprefix("SEED-RESULT "))


def both(*calls):
    """Run independent steps on different instances at the same time (each starts processes of
    its own, which take seconds); their results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def check(instance: Instance, identifier: str) -> dict:
    """A member's check over the instance's HTTP API, as the member's app makes it."""
    status, answer = instance.api("POST", "/api/v1/check", {"identifier": identifier}, who="member")
    assert status == 200, (status, answer)
    return answer


@pytest.fixture
def instances(tmp_path):
    a = Instance(tmp_path, "North", f"sqlite:///{tmp_path / 'north.sqlite3'}")
    b = Instance(tmp_path, "South", postgres_database("fedcheck_south") or f"sqlite:///{tmp_path / 'south.sqlite3'}")
    proxies = []

    def ready(instance, settings):
        instance.setup()
        instance.start()
        seed(instance, {"action": "settings", "values": settings})

    try:
        # Each reading a check sends is one check at the peer (2 or 3 per number here).
        quota = {"peer_check_limit": 200, "peer_check_warning": 150}
        both(lambda: ready(a, {"check_peers": True}), lambda: ready(b, quota))
        proxies = [Proxy(a.port, a.name), Proxy(b.port, b.name)]
        yield a, b, proxies[0], proxies[1]
    finally:
        for proxy in proxies:
            proxy.stop()
        for instance in (a, b):
            instance.stop()


def forms_of(kind: str, written: list[str], normalised: str) -> list[bytes]:
    """Every form an identifier could leak in: as written, normalised, its digits, and unkeyed
    hashes (MD5, SHA-1, SHA-256, SHA-512 of each, alone and with its kind) in hex and base64."""
    texts = {*written, normalised, normalised.lower(), normalised.upper()}
    if kind == "phone":
        digits = normalised.lstrip("+")
        texts |= {digits, digits[2:], "0" + digits[2:]}
    found = set()
    for text in texts:
        found.add(text.encode())
        for message in (text.encode(), f"{kind}:{text}".encode(), oprf.identifier_input(kind, text)):
            for name in ("md5", "sha1", "sha256", "sha512"):
                digest = hashlib.new(name, message).digest()
                found |= {digest.hex().encode(), base64.b64encode(digest), base64.urlsafe_b64encode(digest)}
    return sorted(found)


def keyed_forms(kind: str, normalised: str, keys: list[str]) -> list[bytes]:
    """The identifier's blind index under each instance's key, and its point on the group before
    blinding (an unkeyed hash of it): neither may cross either."""
    found = []
    for key in keys:
        index = hmac.new(key.encode(), f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()
        found.append(index.encode())
    point = oprf.hash_to_group(oprf.identifier_input(kind, normalised))
    found += [point, point.hex().encode(), base64.b64encode(point)]
    return found


def test_a_member_finds_a_peers_alert_and_nothing_identifying_crosses(instances):
    a, b, proxy_a, proxy_b = instances

    def south_alerts():
        shared = b.notice("peers", "Fake agency takes deposits", identifiers=[
            ("phone", "07700 900123"), ("email", "Danger.Dan@Example.net"), ("plate", "AB12 CDE"),
            ("handle", "dangerdan99")])
        b.notice("local", "Kept here", identifiers=[("phone", "07700 900456")])
        seed(b, {"action": "warning", "kind": "phone", "value": "0800 123 4567", "label": "Helpline"})
        return shared

    # Only North added South: South answers nothing, and North's member gets the local answer.
    shared, _added = both(south_alerts, lambda: a.cli("peers", "add", proxy_b.url, "--key", b.public_key,
                                                      "--name", "South", "--auto-publish"))
    assert check(a, "07700 900123")["result"] == "no_record"
    asked = [path for path in proxy_b.paths() if "/federation/v1/alerts/" in path]
    assert asked and all(path.endswith(" 401") for path in asked), proxy_b.paths()

    # Both added each other: North pulls South's feed and publishes the notice at once (auto-publish).
    b.cli("peers", "add", proxy_a.url, "--key", a.public_key, "--name", "North")
    a.cli("peers", "pull", "South")
    # The pull also fetched South's check tokens (and warning list), before any check asked.
    assert "GET /federation/v1/alerts/check-tokens 200" in proxy_b.paths()
    copy = a.titled("Fake agency takes deposits")
    assert copy is not None and copy["status"] == "published"

    spellings = ["07700 900123", "+44 7700 900123", "https://wa.me/447700900123",
                 " danger.dan@example.NET ", "ab12-cde", "@dangerdan99"]
    for written in spellings:
        answer = check(a, written)
        assert answer["result"] == "caution", written
        assert [alert["id"] for alert in answer["alerts"]] == [copy["id"]], written
    for written in ("07700 900456", "07700 900999", "nobody@example.net"):
        answer = check(a, written)
        assert answer["result"] == "no_record", written
        assert not answer.get("alerts")

    # A notice North holds for its moderators' review (auto-publish off) does not warn North's
    # members yet: a peer's tokens cannot get round North's own moderation.
    a.cli("peers", "auto-publish", "South", "off")
    b.notice("peers", "Not yet reviewed at North", identifiers=[("phone", "07700 900777")])
    a.cli("peers", "pull", "South")
    held = a.titled("Not yet reviewed at North")
    assert held is not None and held["status"] == "draft"
    assert check(a, "07700 900777")["result"] == "no_record"

    # Withdrawn at South: the signed tombstone is pushed at once, and North's members no longer find it.
    status, _body = b.api("POST", f"/api/v1/alerts/{shared['id']}/withdraw", {})
    assert status == 200, _body
    assert check(a, "07700 900123")["result"] == "no_record"

    # Each of the checks was one question to South, counted against North's quota there and audited
    # there (with the peer as target, never a number). South's warning list reached North as a
    # proposal, for an admin there to adopt.
    (asked,), (adopted,) = both(lambda: seed(b, {"action": "audit", "prefix": "alerts.peer_check"}),
                                lambda: seed(a, {"action": "adopt"}))
    assert [action for action, _target in asked["entries"]] == ["alerts.peer_check"] * 11
    assert len({target for _action, target in asked["entries"]}) == 1
    assert adopted["adopted"] == [["phone", "+448001234567", "Helpline"]]

    # Everything the two instances said to each other, both ways.
    captured = proxy_a.captured() + proxy_b.captured()
    assert b"/federation/v1/alerts/check" in captured and b"/federation/v1/alerts/check-tokens" in captured
    assert b"Fake agency takes deposits" in captured  # the capture is real: the shared words crossed
    keys = [(instance.folder / "keys" / "blind_index.key").read_text().strip() for instance in (a, b)]
    leaks = []
    for kind, written, normalised in [
        ("phone", ["07700 900123", "+44 7700 900123", "447700900123", "07700900123"], "+447700900123"),
        ("handle", [], "+447700900123"),
        ("phone", ["07700 900456"], "+447700900456"),
        ("phone", ["07700 900777"], "+447700900777"),
        ("email", ["Danger.Dan@Example.net"], "danger.dan@example.net"),
        ("plate", ["AB12 CDE", "ab12-cde"], "AB12CDE"),
        ("handle", ["dangerdan99", "@dangerdan99"], "dangerdan99"),
    ]:
        for form in forms_of(kind, written, normalised) + keyed_forms(kind, normalised, keys):
            if form in captured:
                leaks.append((kind, normalised, form[:40]))
    assert leaks == []
