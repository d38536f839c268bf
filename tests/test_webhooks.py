"""Webhooks for partner systems (issue 13), against a real HTTP receiver on 127.0.0.1.

Deliveries are signed as docs/webhooks.md says (its Python `verify` is run as written), carry a
timestamp, and a replay outside the tolerance is refused by that code; a receiver that is down or
answers 500 gets the message on a later try (the retry time is moved, nobody sleeps), with the same
webhook-id; nothing follows a redirect; only subscribed events reach an endpoint and a paused one
gets nothing; no payload carries personal data (canaries in reports, names, addresses, reasons and
certificates never reach any body); bad addresses get a translated 422, private ones are refused
when the instance does not allow them, also at send time; the admin pages are the administrators'
and audited; a webhook is part of its caller's transaction and never stops it.

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import secrets
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from casework_common import raw_database_text
from helpers import enable, enrol_two_factor, post_form, sign_in
from test_alerts_helpers import free_port, make_report
from test_reporting_common import in_db
from test_training_certificates import issued, make_course

from core import claims
from core.db import connection, db, utcnow

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"
ALL_EVENTS = ["alert.published", "alert.updated", "alert.withdrawn", "report.received", "certificate.issued"]
RESPONSE_CANARY = "RESPONSE-BODY-" + secrets.token_hex(4)


# -- a real receiver --------------------------------------------------------------------------------


class Receiver:
    """An HTTP server in a thread on 127.0.0.1 that records every POST and answers `status` (or the
    next of `answers`), with a body staff must never see stored. It can be stopped and started again
    on the same port, like a partner's system that goes down and comes back."""

    def __init__(self):
        self.port = free_port()
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.status = 204
        self.server = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "body": body,
                                          "headers": {key.lower(): value for key, value in self.headers.items()}})
                status = receiver.answers.pop(0) if receiver.answers else receiver.status
                answer = RESPONSE_CANARY.encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url("/elsewhere"))
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def bodies(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


# -- the instance -----------------------------------------------------------------------------------


@pytest.fixture
def app(make_app):
    """Every test here sends to 127.0.0.1, which only WEBHOOKS_ALLOW_PRIVATE allows."""
    built = make_app({"WEBHOOKS_ALLOW_PRIVATE": True})
    enable(built, "reporting", "alerts", "training")
    return built


@pytest.fixture
def admin(app, make_user):
    return make_user("admin", email="admin@example.org")


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    sign_in(client, admin)
    return client


def organisation(app, name="Partner Health Trust") -> int:
    from core.organisations import Organisation

    with in_db(app):
        return Organisation.create(name=name, kind="health").id


def add_endpoint(client, organisation_id: int, url: str, events, expect: int = 201) -> tuple[int, str]:
    """Add a webhook on the admin page; returns its id and the secret the page shows once."""
    response = post_form(client, "/admin/webhooks", {"organisation": str(organisation_id), "url": url,
                                                     "events": list(events)}, token_from="/admin/webhooks")
    page = response.get_data(as_text=True)
    assert response.status_code == expect, page[:3000]
    secret = re.search(r'id="webhook-secret" value="(whsec_[A-Za-z0-9+/=]+)"', page).group(1)
    endpoint_id = int(re.search(r"/admin/webhooks/(\d+)/pause", page).group(1))
    return endpoint_id, secret


def documented_verify():
    """The `verify` function exactly as docs/webhooks.md gives it to partners."""
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"```python\n(import base64\n.*?def verify\(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102  # our own documentation
    return namespace["verify"]


def deliveries(app) -> list:
    from core.webhooks.models import WebhookDelivery

    with in_db(app):
        return list(WebhookDelivery.select().order_by(WebhookDelivery.id))


def drain_due_now(app) -> int:
    """What the worker does once a retry is due: the retry time moved to now, then one drain."""
    from core.webhooks import sending
    from core.webhooks.models import PENDING, WebhookDelivery

    with in_db(app):
        WebhookDelivery.update(next_attempt_at=utcnow() - datetime.timedelta(seconds=1)).where(
            WebhookDelivery.status == PENDING).execute()
        return sending.drain()


def anonymous_report(app, canary: str = "nothing special"):
    response = app.test_client().post("/api/v1/reports", json={
        "incident_types": ["robbery"], "region": "london", "narrative": f"He said {canary}",
        "perpetrators": [{"names": [f"name {canary}"], "phones": ["07700 900123"]}],
        "support_contact": f"call {canary}",
        "consent": {"share_alert": True, "police_intelligence": False, "police_report": False,
                    "wants_support": True},
    })
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- signatures -------------------------------------------------------------------------------------


def test_a_delivery_is_signed_as_documented_with_a_timestamp_and_a_replay_is_refused(app, admin_client, receiver):
    endpoint_id, secret = add_endpoint(admin_client, organisation(app), receiver.url("/hook?token=partner"),
                                       ["report.received"])
    before = time.time()
    made = anonymous_report(app)

    assert len(receiver.requests) == 1  # sent at the end of the report's request, after its commit
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hook?token=partner"
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(r"msg_[0-9a-f]{32}", headers["webhook-id"])
    assert before - 1 <= int(headers["webhook-timestamp"]) <= time.time() + 1
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])
    verify = documented_verify()
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body.replace(b"report", b"rep0rt"))  # changed on the way
    assert not verify(secret.replace(secret[10], "A" if secret[10] != "A" else "B"), headers, body)  # another key
    assert not verify(secret, {**headers, "webhook-id": "msg_" + "0" * 32}, body)  # moved onto another message

    sent = json.loads(body)
    assert sent["type"] == "report.received" and sent["timestamp"].endswith("Z")
    hours = {datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H:00:00Z")
             for moment in (before, time.time())}
    assert set(sent["data"]) == {"report"} and set(sent["data"]["report"]) == {"received_at"}
    assert sent["data"]["report"]["received_at"] in hours  # only the hour it came in
    assert made["reference"] not in body.decode() and made["receipt"] not in body.decode()

    # A replay: the same message signed correctly but six minutes ago, or its timestamp changed.
    from core.webhooks.service import sign

    old = int(time.time()) - 360
    replayed = {**headers, "webhook-timestamp": str(old),
                "webhook-signature": sign(secret, headers["webhook-id"], old, body)}
    assert not verify(secret, replayed, body)
    assert not verify(secret, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}, body)
    [row] = deliveries(app)
    assert row.status == "delivered" and row.attempts == 1 and row.last_status == 204 and row.endpoint_id == endpoint_id
    assert row.message_id == headers["webhook-id"]


def test_a_new_secret_signs_beside_the_old_one_for_a_day_then_alone(app, admin_client, receiver):
    from core.webhooks.models import WebhookEndpoint

    endpoint_id, old_secret = add_endpoint(admin_client, organisation(app), receiver.url(), ["report.received"])
    response = post_form(admin_client, f"/admin/webhooks/{endpoint_id}/secret", token_from="/admin/webhooks")
    assert response.status_code == 200
    new_secret = re.search(r'id="webhook-secret" value="(whsec_[^"]+)"', response.get_data(as_text=True)).group(1)
    assert new_secret != old_secret
    assert new_secret not in admin_client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)  # once

    verify = documented_verify()
    anonymous_report(app)
    headers, body = receiver.requests[-1]["headers"], receiver.requests[-1]["body"]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(new_secret, headers, body) and verify(old_secret, headers, body)

    with in_db(app):
        WebhookEndpoint.update(previous_secret_until=utcnow() - datetime.timedelta(seconds=1)).execute()
    anonymous_report(app)
    headers, body = receiver.requests[-1]["headers"], receiver.requests[-1]["body"]
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert verify(new_secret, headers, body) and not verify(old_secret, headers, body)


# -- retries ----------------------------------------------------------------------------------------


def test_a_receiver_that_is_down_then_fails_then_comes_back_gets_the_message(app, admin_client, receiver):
    from core.webhooks import sending

    endpoint_id, secret = add_endpoint(admin_client, organisation(app), receiver.url(), ["report.received"])
    receiver.stop()  # down: connection refused
    anonymous_report(app)
    [row] = deliveries(app)
    assert row.status == "pending" and row.attempts == 1 and row.last_status is None
    assert row.last_error == "ConnectionRefusedError"
    assert 4 <= (row.next_attempt_at - row.last_attempt_at).total_seconds() <= 6  # 5 s, then the sweep or a drain
    page = admin_client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Not delivered yet: it will be tried again" in page and "ConnectionRefusedError" in page

    with in_db(app):  # not due yet: a drain leaves it alone
        assert sending.drain() == 0
    receiver.start()
    receiver.answers = [500]
    assert drain_due_now(app) == 0
    [row] = deliveries(app)
    assert row.attempts == 2 and row.last_status == 500 and row.last_error == "HTTP 500 Internal Server Error"
    assert 299 <= (row.next_attempt_at - row.last_attempt_at).total_seconds() <= 301  # then 5 minutes

    assert drain_due_now(app) == 1  # the receiver is back
    [row] = deliveries(app)
    assert row.status == "delivered" and row.attempts == 3 and row.last_status == 204 and row.delivered_at
    assert len(receiver.requests) == 2
    ids = {request["headers"]["webhook-id"] for request in receiver.requests}
    assert ids == {row.message_id}  # every try is the same message, so the partner can drop repeats
    assert all(documented_verify()(secret, r["headers"], r["body"]) for r in receiver.requests)
    assert RESPONSE_CANARY not in raw_database_text(app)  # only the status line was kept
    listing = admin_client.get("/admin/webhooks").get_data(as_text=True)
    assert "Delivered" in listing and "answer 204" in listing


def test_retries_back_off_then_fail_and_staff_can_send_again(app, admin_client, receiver):
    from core.webhooks.sending import RETRY_DELAYS

    endpoint_id, _secret = add_endpoint(admin_client, organisation(app), receiver.url(), ["report.received"])
    receiver.status = 503
    anonymous_report(app)
    waits = []
    for _try in range(len(RETRY_DELAYS)):
        [row] = deliveries(app)
        waits.append(round((row.next_attempt_at - row.last_attempt_at).total_seconds()))
        drain_due_now(app)
    [row] = deliveries(app)
    assert waits == list(RETRY_DELAYS) == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert row.status == "failed" and row.attempts == 8 and len(receiver.requests) == 8
    assert "Not delivered: every try failed" in admin_client.get("/admin/webhooks").get_data(as_text=True)

    receiver.status = 200
    path = f"/admin/webhooks/{endpoint_id}/deliveries/{row.id}/retry"
    response = post_form(admin_client, path, token_from=f"/admin/webhooks/{endpoint_id}")
    assert response.status_code == 303
    [row] = deliveries(app)
    assert row.status == "delivered" and row.attempts == 1 and len(receiver.requests) == 9
    again = post_form(admin_client, path, token_from=f"/admin/webhooks/{endpoint_id}")
    assert again.status_code == 409  # delivered already: nothing to send again


def test_redirects_are_not_followed(app, admin_client, receiver):
    add_endpoint(admin_client, organisation(app), receiver.url(), ["report.received"])
    receiver.status = 307
    anonymous_report(app)
    assert [request["path"] for request in receiver.requests] == ["/hook"]  # never /elsewhere
    [row] = deliveries(app)
    assert row.status == "pending" and row.last_status == 307 and row.last_error.startswith("HTTP 307")


def test_a_killed_worker_repeats_at_most_the_message_it_was_sending(app, admin_client, receiver):
    """Rows claimed by a process that no longer exists go back to pending at the sweep and are
    sent; rows claimed by a live worker thread are left to it."""
    from core import webhooks
    from core.webhooks import sending
    from core.webhooks.models import SENDING, WebhookDelivery

    add_endpoint(admin_client, organisation(app), receiver.url(), ["report.received"])
    gone = subprocess.Popen(["true"])
    gone.wait()
    finish = threading.Event()
    busy = threading.Thread(target=finish.wait)  # a live worker thread, still sending
    busy.start()
    with in_db(app), db.atomic():
        webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T10:00:00Z"}})
        webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T11:00:00Z"}})
    dead_claim = f"{claims.HOST}:{gone.pid}:0:1"
    with in_db(app):
        first, second = [row.id for row in WebhookDelivery.select().order_by(WebhookDelivery.id)]
        WebhookDelivery.update(status=SENDING, claimed_by=dead_claim, claimed_at=utcnow()).where(
            WebhookDelivery.id == first).execute()
        live_claim = f"{claims.HOST}:{os.getpid()}:{claims.process_start(os.getpid())}:{busy.native_id}"
        WebhookDelivery.update(status=SENDING, claimed_by=live_claim, claimed_at=utcnow()).where(
            WebhookDelivery.id == second).execute()
        assert sending.drain() == 0  # nothing pending: both are claimed
        result = sending.sweep()  # the every-minute task; it asks the queue (immediate here) to drain
    finish.set()
    busy.join()
    assert result["released"] == 1
    rows = {row.id: row for row in deliveries(app)}
    assert rows[first].status == "delivered" and rows[second].status == SENDING
    assert len(receiver.requests) == 1


# -- who gets what ------------------------------------------------------------------------------------


def test_only_subscribed_events_reach_an_endpoint_and_a_paused_one_gets_nothing(app, admin_client, receiver):
    org = organisation(app)
    reports_id, _s = add_endpoint(admin_client, org, receiver.url("/reports"), ["report.received"])
    add_endpoint(admin_client, org, receiver.url("/certificates"), ["certificate.issued"])
    paused_id, _s = add_endpoint(admin_client, org, receiver.url("/paused"), ["report.received",
                                                                               "certificate.issued"])
    assert post_form(admin_client, f"/admin/webhooks/{paused_id}/pause",
                     token_from="/admin/webhooks").status_code == 303

    anonymous_report(app)
    assert [request["path"] for request in receiver.requests] == ["/reports"]
    issued(app, None, make_course(app, title="Listening first"), name="Sam Learner")
    drain_due_now(app)  # issued outside a web request: the queue's sweep sends it
    assert [request["path"] for request in receiver.requests] == ["/reports", "/certificates"]
    assert receiver.bodies()[1]["type"] == "certificate.issued"
    assert all(row.endpoint_id != paused_id for row in deliveries(app))  # nothing even queued for it

    # Paused with a message waiting: it waits, and goes when the endpoint is resumed.
    assert post_form(admin_client, f"/admin/webhooks/{reports_id}/pause",
                     token_from="/admin/webhooks").status_code == 303
    from core import webhooks
    from core.webhooks.models import WebhookEndpoint

    with in_db(app):
        assert webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T10:00:00Z"}}) == 0
        with db.atomic():  # a message queued a moment before the pause
            WebhookEndpoint.update(active=True).where(WebhookEndpoint.id == reports_id).execute()
            assert webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T11:00:00Z"}}) == 1
            WebhookEndpoint.update(active=False).where(WebhookEndpoint.id == reports_id).execute()
    drain_due_now(app)
    assert len(receiver.requests) == 2  # paused: still nothing
    assert post_form(admin_client, f"/admin/webhooks/{reports_id}/resume",
                     token_from="/admin/webhooks").status_code == 303
    assert [request["path"] for request in receiver.requests[2:]] == ["/reports"]
    assert receiver.bodies()[2]["data"] == {"report": {"received_at": "2026-01-01T11:00:00Z"}}


def test_no_payload_carries_personal_data(app, admin_client, receiver, make_user):
    """Canaries in a report's words, names and contact, in accounts' addresses and working names, in
    a withdrawal's reason and in a learner's name: none reaches any body, for every event."""
    from core.accounts.models import User
    from core.accounts.tokens import create_token
    canary = "CANARY" + secrets.token_hex(4)
    _id, secret = add_endpoint(admin_client, organisation(app), receiver.url(), ALL_EVENTS)
    moderator = make_user("moderator", email=f"{canary}.mod@example.org")
    member = make_user("member", email=f"{canary}.member@example.org")
    with in_db(app):
        User.update(working_name=f"Mod {canary}").where(User.id == moderator.id).execute()
    enrol_two_factor(app, moderator)
    with in_db(app):
        _row, token = create_token(User.get_by_id(moderator.id), "tests")
    auth = {"Authorization": f"Bearer {token}"}
    api = app.test_client()

    made = anonymous_report(app, canary)  # report.received
    with app.test_request_context(), connection():
        report = make_report(narrative=f"narrative {canary}", names=[f"name {canary}"], phones=["07912 345678"],
                             location=f"at {canary}", reporter=member.id, support_contact=f"{canary} 07700 900999")
        reference = report.reference
    draft = api.post("/api/v1/alerts", json={"reports": [reference], "summary": "Take care with this caller."},
                     headers=auth)
    assert draft.status_code == 201, draft.get_json()
    alert_id = draft.get_json()["id"]
    assert api.post(f"/api/v1/alerts/{alert_id}/review", headers=auth).status_code == 200
    assert api.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth).status_code == 200  # alert.published
    corrected = api.patch(f"/api/v1/alerts/{alert_id}", json={"summary": "Take great care with this caller."},
                          headers=auth)
    assert corrected.status_code == 200, corrected.get_json()  # alert.updated
    withdrawn = api.post(f"/api/v1/alerts/{alert_id}/withdraw", json={"reason": f"reason {canary}"}, headers=auth)
    assert withdrawn.status_code == 200, withdrawn.get_json()  # alert.withdrawn
    certificate = issued(app, member, make_course(app, title="Listening first"), name=f"Learner {canary}")
    drain_due_now(app)  # certificate.issued, made outside a web request

    bodies = receiver.bodies()
    assert [body["type"] for body in bodies] == ["report.received", "alert.published", "alert.updated",
                                                 "alert.withdrawn", "certificate.issued"]
    everything = b"\n".join(request["body"] for request in receiver.requests).decode()
    everything += json.dumps([request["headers"] for request in receiver.requests])
    for secret_thing in (canary, reference, made["reference"], made["receipt"], "admin@example.org"):
        assert secret_thing not in everything
    published, updated, gone, cert = (body["data"] for body in bodies[1:])
    assert published["alert"]["id"] == alert_id and published["alert"]["summary"] == "Take care with this caller."
    assert [i["value"] for i in published["alert"]["identifiers"]] == ["+447912345678"]  # what members see
    assert not {"reports", "version", "reviewed_at", "created_at"} & set(published["alert"])  # staff-only fields
    assert updated["alert"]["summary"] == "Take great care with this caller."
    assert gone == {"alert": {"id": alert_id, "status": "withdrawn", "withdrawn_at": gone["alert"]["withdrawn_at"]}}
    assert cert == {"certificate": {"code": certificate.code, "verify_url": cert["certificate"]["verify_url"],
                                    "course_title": "Listening first"}}
    assert cert["certificate"]["verify_url"].endswith(f"/training/verify/{certificate.code}")
    assert all(documented_verify()(secret, r["headers"], r["body"]) for r in receiver.requests)


def test_a_draft_withdrawn_and_a_draft_edited_send_nothing(app, admin_client, receiver, make_user):
    from core.accounts.models import User
    from plugins.alerts import service

    add_endpoint(admin_client, organisation(app), receiver.url(), ALL_EVENTS)
    moderator = make_user("moderator", email="mod@example.org")
    with app.test_request_context(), connection():
        actor = User.get_by_id(moderator.id)
        alert = service.create_from_reports([make_report()], {"summary": "Take care."}, actor)
        service.update(alert, {"summary": "Take more care."}, actor)
        service.withdraw(alert, actor, "not needed")
    assert deliveries(app) == [] and receiver.requests == []


# -- addresses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, message", [
    ("ftp://partner.example/hook", "Only web addresses starting with https:// can receive webhooks."),
    ("javascript:alert(1)", "Only web addresses starting with https:// can receive webhooks."),
    ("partner.example/hook", "Only web addresses starting with https:// can receive webhooks."),
    ("http://user:password@127.0.0.1/hook", "Please leave the user name and password out of the address."),
    ("http://127.0.0.1/hook#part", "Please leave the part after # out of the address."),
    ("http://127.0.0.1:99999/hook", "That is not a web address. It should look like https://partner.example/webhooks."),
    ("http://127.0.0.1/a b", "An address cannot contain spaces or control characters."),
    ("https://partner.example/" + "a" * 2000, "That address is too long (at most %(max)d characters)."),
])
def test_bad_addresses_are_refused_with_a_translated_422(app, admin_client, url, message):
    from flask_babel import force_locale, gettext

    org = organisation(app)
    response = post_form(admin_client, "/admin/webhooks", {"organisation": str(org), "url": url,
                                                           "events": ["report.received"]},
                         token_from="/admin/webhooks", headers={"Accept-Language": "es"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    from markupsafe import escape

    from core.webhooks.service import URL_MAX

    with app.test_request_context(), force_locale("es"):
        spanish = str(escape(gettext(message, max=URL_MAX)))
    assert spanish != str(escape(message.replace("%(max)d", str(URL_MAX))))  # translated
    assert spanish in page
    assert 'id="webhook-secret"' not in page
    from core.webhooks.models import WebhookEndpoint

    with in_db(app):
        assert WebhookEndpoint.select().count() == 0


def test_no_event_or_an_unknown_one_is_refused(app, admin_client):
    org = organisation(app)
    for events in ([], ["report.deleted"]):
        response = post_form(admin_client, "/admin/webhooks", {"organisation": str(org),
                                                               "url": "http://127.0.0.1:9/hook", "events": events},
                             token_from="/admin/webhooks")
        assert response.status_code == 422
        if events:  # an unknown event is refused in the page's words, and not repeated back
            page = response.get_data(as_text=True)
            assert "Please choose among the events listed." in page and "report.deleted" not in page


@pytest.mark.parametrize("url, message", [
    ("http://partner.example/hook", "must be encrypted on its way"),
    ("https://127.0.0.1/hook", "inside a private network"),
    ("https://10.1.2.3/hook", "inside a private network"),
    ("https://169.254.169.254/latest/meta-data", "inside a private network"),
    ("https://[::1]/hook", "inside a private network"),
    ("https://[::ffff:192.168.0.1]/hook", "inside a private network"),
    ("https://100.64.0.1/hook", "inside a private network"),
    ("https://localhost/hook", "inside a private network"),
    # IPv6 forms that carry an internal IPv4 address, and IANA's special-purpose 192.0.0.0/24.
    ("https://[::127.0.0.1]/hook", "inside a private network"),  # IPv4-compatible ::/96
    ("https://[::ffff:0:a00:1]/hook", "inside a private network"),  # SIIT ::ffff:0:0:0/96
    ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", "inside a private network"),  # NAT64 64:ff9b::/96
    ("https://[64:ff9b:1:a9fe:a9:fe00::]/hook", "inside a private network"),  # local-use NAT64 64:ff9b:1::/48
    ("https://[2002:a9fe:a9fe::1]/latest/meta-data", "inside a private network"),  # 6to4 2002::/16
    ("https://[2001:0:a00:1::1]/hook", "inside a private network"),  # Teredo 2001::/32, server 10.0.0.1
    ("https://192.0.0.8/hook", "inside a private network"),
])
def test_in_production_private_and_plain_http_addresses_are_refused(make_app, make_user, url, message):
    production = make_app()  # WEBHOOKS_ALLOW_PRIVATE is off by default
    enable(production, "reporting")
    client = production.test_client()
    sign_in(client, make_user("admin", email="admin@example.org"))
    response = post_form(client, "/admin/webhooks", {"organisation": str(organisation(production)), "url": url,
                                                     "events": ["report.received"]}, token_from="/admin/webhooks")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_an_address_allowed_once_is_checked_again_before_each_message(app, admin_client, receiver, make_app):
    add_endpoint(admin_client, organisation(app), receiver.url(), ["report.received"])
    production = make_app()  # the same database and queue, without WEBHOOKS_ALLOW_PRIVATE
    from core import webhooks

    with in_db(production):
        webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T10:00:00Z"}})
    [row] = deliveries(production)
    assert row.last_error == "address not allowed" and row.status == "pending"
    assert receiver.requests == []


@pytest.mark.parametrize("address, allowed", [
    ("8.8.8.8", True),
    ("::ffff:8.8.8.8", True),
    ("64:ff9b::808:808", True),  # NAT64 of a public address
    ("2002:808:808::1", True),  # 6to4 of a public address
    ("2a00:1450:4009:81d::200e", True),
    ("::127.0.0.1", False),
    ("::ffff:0:a00:1", False),
    ("64:ff9b::a9fe:a9fe", False),
    ("64:ff9b::7f00:1", False),
    ("64:ff9b:1::808:808", False),  # local-use translation: another network's, whatever it embeds
    ("2002:a9fe:a9fe::1", False),
    ("2002:c0a8:1::1", False),
    ("2001:0:a00:1::1", False),
    ("2001:0:808:808:0:0:f5ff:fffe", False),  # Teredo, client 10.0.0.1 (stored inverted)
    ("192.0.0.8", False),
    ("192.0.0.170", False),
])
def test_addresses_are_judged_by_the_ipv4_address_they_carry(app, address, allowed):
    from core.webhooks.service import address_allowed

    assert address_allowed(address) is allowed


def test_an_embedded_internal_address_is_refused_at_delivery_time_too(app, monkeypatch):
    """A host name that resolved to a public address when the webhook was saved may later resolve to
    one carrying an internal IPv4 address: post() checks again, before connecting."""
    from core.webhooks import sending

    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", False)
    for address in ("64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::127.0.0.1", "192.0.0.8"):
        monkeypatch.setattr(sending, "resolve", lambda host, port, found=address: [found])
        with app.app_context(), pytest.raises(sending.AddressRefused):
            sending.post("https://partner.example/hook", b"{}", {})


# -- the pages ----------------------------------------------------------------------------------------


def test_the_pages_are_for_administrators_and_every_change_is_audited(app, admin_client, receiver, make_user):
    from core.audit import AuditEntry
    from core.webhooks.models import WebhookDelivery, WebhookEndpoint

    moderator = make_user("moderator", email="mod@example.org")
    other = app.test_client()
    sign_in(other, moderator)
    assert other.get("/admin/webhooks").status_code == 403
    assert app.test_client().get("/admin/webhooks").status_code in (302, 401)

    page = admin_client.get("/admin/webhooks").get_data(as_text=True)
    assert "A webhook belongs to an organisation." in page  # no organisation yet: no form
    org = organisation(app)
    page = admin_client.get("/admin/webhooks").get_data(as_text=True)
    for name in ALL_EVENTS:
        assert f'value="{name}"' in page
    assert "Never the learner" in page  # what each event sends

    url = receiver.url("/hook?token=PARTNER-OWN-TOKEN")
    endpoint_id, secret = add_endpoint(admin_client, org, url, ["report.received"])
    shown = admin_client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert secret not in shown and "PARTNER-OWN-TOKEN" not in shown  # the secret once; the query hidden
    stored = raw_database_text(app)
    assert secret not in stored and "PARTNER-OWN-TOKEN" not in stored  # encrypted at rest
    with in_db(app):
        assert WebhookEndpoint.get_by_id(endpoint_id).secret == secret

    for action in ("test", "pause", "resume", "secret"):
        response = post_form(admin_client, f"/admin/webhooks/{endpoint_id}/{action}", token_from="/admin/webhooks")
        assert response.status_code in (200, 303), action
    assert receiver.bodies()[0] == {"type": "webhook.test", "timestamp": receiver.bodies()[0]["timestamp"],
                                    "data": {"test": True}}
    with in_db(app):
        delivery_id = WebhookDelivery.get().id
        WebhookDelivery.update(status="failed").execute()
    retried = post_form(admin_client, f"/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry",
                        token_from="/admin/webhooks")
    assert retried.status_code == 303
    assert post_form(admin_client, f"/admin/webhooks/{endpoint_id}/delete",
                     token_from="/admin/webhooks").status_code == 303
    assert admin_client.get(f"/admin/webhooks/{endpoint_id}").status_code == 404
    with in_db(app):
        assert WebhookDelivery.select().count() == 0
        actions = [entry.action for entry in AuditEntry.select().where(AuditEntry.action.startswith("webhook."))
                   .order_by(AuditEntry.id)]
        targets = {entry.target for entry in AuditEntry.select().where(AuditEntry.action.startswith("webhook."))}
    assert actions == ["webhook.created", "webhook.tested", "webhook.paused", "webhook.resumed",
                       "webhook.secret_rotated", "webhook.retried", "webhook.deleted"]
    assert all(target.startswith(f"webhook:{endpoint_id}") for target in targets)
    audit_page = admin_client.get("/admin/audit/").get_data(as_text=True)
    assert "Webhook secret replaced" in audit_page and "Webhook paused" in audit_page
    missing = admin_client.post(f"/admin/webhooks/{endpoint_id + 50}/pause",
                                data={"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                                                              audit_page).group(1)})
    assert missing.status_code == 404


# -- the caller's transaction -------------------------------------------------------------------------


def test_a_webhook_is_part_of_its_callers_transaction_and_never_stops_it(app, admin_client, receiver):
    from core import webhooks
    from core.webhooks.models import WebhookDelivery

    add_endpoint(admin_client, organisation(app), receiver.url(), ["report.received"])
    with in_db(app):
        with db.atomic() as transaction:
            assert webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T10:00:00Z"}}) == 1
            transaction.rollback()  # the change it reported did not happen: neither does its webhook
        assert WebhookDelivery.select().count() == 0
        assert webhooks.emit("alert.published", {"alert": {"id": 1}}) == 0  # nobody asked for it

        def broken():
            raise RuntimeError("a bug in building the payload")

        with db.atomic():
            assert webhooks.emit("report.received", broken) == 0  # logged; the caller goes on
            assert webhooks.emit("report.received", {"not json": object()}) == 0
        assert WebhookDelivery.select().count() == 0
    assert receiver.requests == []


def test_declared_events_come_from_the_enabled_plugins(app):
    from core.plugins import get_registry
    from core.webhooks import WebhookEvent
    from core.webhooks.service import declared_events

    with app.test_request_context(), connection():
        assert list(declared_events(enabled_only=True)) == sorted(ALL_EVENTS)
        get_registry(app).set_enabled("training", False)
    with app.test_request_context(), connection():
        assert "certificate.issued" not in declared_events(enabled_only=True)
        assert "certificate.issued" in declared_events()  # still shown in words for old subscriptions
    with pytest.raises(ValueError):
        WebhookEvent("Alert Published", "x")


def test_finished_deliveries_are_deleted_after_thirty_days_and_waiting_ones_kept(app, admin_client):
    from core import webhooks
    from core.retention import sweep
    from core.webhooks.models import WebhookDelivery

    add_endpoint(admin_client, organisation(app), "http://127.0.0.1:9/hook", ["report.received"])
    with in_db(app):
        with db.atomic():  # in a transaction, outside a request: left for the queue
            for _n in range(3):
                webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T10:00:00Z"}})
        old = utcnow() - datetime.timedelta(days=31)
        delivered, failed, waiting = [row.id for row in WebhookDelivery.select().order_by(WebhookDelivery.id)]
        WebhookDelivery.update(created_at=old, status="delivered").where(WebhookDelivery.id == delivered).execute()
        WebhookDelivery.update(created_at=old, status="failed").where(WebhookDelivery.id == failed).execute()
        WebhookDelivery.update(created_at=old).where(WebhookDelivery.id == waiting).execute()
        sweep(app)
        assert [row.id for row in WebhookDelivery.select()] == [waiting]
