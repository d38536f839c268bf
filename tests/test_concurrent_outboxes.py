"""Many workers draining the same outbox at once (core/outbox.py): every webhook delivery and every
federation push reaches its receiver exactly once, none is lost or sent twice, and nobody meets
"database is locked", on SQLite and on PostgreSQL.

Three drainer processes of four threads each (tests/fixtures/outbox_drainer.py) and four threads of
the test's own process are released on the same instant (a barrier, then one line to each
process), while the queue worker runs beside them: it starts with the rows already waiting, so its
start-up sweep drains too. The receivers are real HTTP servers on 127.0.0.1: the webhooks' one of
tests/test_webhooks.py, and peers that sign their answers with their own keys as
docs/federation.md says, so that a push counts as delivered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import selectors
import signal
import subprocess
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fixtures.outbox_drainer import DrainThreads
from fixtures.processes import PYTHON, ROOT, free_port, instance_env, start_worker, wait_for
from helpers import enable, sign_in
from test_reporting_common import in_db
from test_webhooks import Receiver, add_endpoint, organisation

from core.db import connection, db

pytestmark = pytest.mark.slow

DRAINER = str(ROOT / "tests" / "fixtures" / "outbox_drainer.py")
PROCESSES = 3  # drainer processes, each with THREADS threads
THREADS = 4  # per drainer process, and in the test's own process
EVENTS = 120  # webhook events, each to two endpoints
ITEMS = 60  # feed items, each pushed to three peers


# -- everybody draining at once ---------------------------------------------------------------------


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return proc.stdout.readline()


def drain_everywhere(app, env: dict, outbox: str, drain) -> list[int]:
    """Run `drain` in THREADS threads here and in PROCESSES drainer processes, all released at the
    same moment; returns what each delivered. Fails on any exception in any of them."""
    procs = [subprocess.Popen([PYTHON, DRAINER, outbox, str(THREADS)], env=env, cwd=ROOT,  # noqa: S603
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True) for _ in range(PROCESSES)]
    threads = DrainThreads(app, drain, THREADS)
    try:
        for proc in procs:
            line = _read_line(proc, 60)
            assert line.strip() == "READY", f"drainer not ready: {line}"
        threads.start()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        threads.go()
        threads.join()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    delivered, errors = list(threads.delivered), list(threads.errors)
    for output in outputs:
        lines = output.splitlines()
        errors += [line for line in lines if line.startswith("ERROR ")]
        done = [line for line in lines if line.startswith("DRAINED ")]
        assert done, output[-3000:]
        delivered += json.loads(done[-1].removeprefix("DRAINED "))
    assert not errors, errors
    assert len(delivered) == THREADS * (PROCESSES + 1)
    return delivered


def outbox_env(app, database_url: str) -> dict:
    """The drainers' and the worker's environment: this app's instance folder (its federation key)
    and database, and 127.0.0.1 allowed for webhooks."""
    return instance_env(app.config["INSTANCE_PATH"], database_url, WEBHOOKS_ALLOW_PRIVATE="true")


def settled(app, model, worker) -> None:
    """Wait until nothing of the outbox is pending or claimed (the worker may still hold some)."""
    def done():
        with in_db(app):
            return not model.select().where(model.status.in_(["pending", "sending"])).exists()

    wait_for(done, 60, "the outbox to empty", worker)


# -- webhooks -----------------------------------------------------------------------------------------


def test_many_workers_deliver_each_webhook_exactly_once(make_app, make_user, database_url, tmp_path):
    from core import webhooks
    from core.webhooks import sending
    from core.webhooks.models import WebhookDelivery

    app = make_app({"WEBHOOKS_ALLOW_PRIVATE": True})
    enable(app, "reporting")  # a module that sends the event
    client = app.test_client()
    sign_in(client, make_user("admin", email="admin@example.org"))
    receiver = Receiver().start()
    worker = None
    try:
        partner = organisation(app)
        paths = {add_endpoint(client, partner, receiver.url(path), ["report.received"])[0]: path
                 for path in ("/a", "/b")}
        with in_db(app), db.atomic():  # in a transaction, outside a request: left for the queue
            for _event in range(EVENTS):
                assert webhooks.emit("report.received", {"report": {"received_at": "2026-01-01T10:00:00Z"}}) == 2
        env = outbox_env(app, database_url)
        worker = start_worker(env, tmp_path / "worker.log", workers=2)
        delivered = drain_everywhere(app, env, "webhooks", sending.drain)
        settled(app, WebhookDelivery, worker)
        assert "database is locked" not in worker.output()
    finally:
        if worker is not None:
            worker.stop()
        receiver.stop()

    with in_db(app):
        rows = list(WebhookDelivery.select())
    assert len(rows) == 2 * EVENTS
    assert {(row.status, row.attempts, row.last_status) for row in rows} == {("delivered", 1, 204)}
    received = Counter((request["path"], request["headers"]["webhook-id"]) for request in receiver.requests)
    expected = {(paths[row.endpoint_id], row.message_id) for row in rows}
    assert set(received) == expected and set(received.values()) == {1}  # each once: none lost, none twice
    assert sum(delivered) <= 2 * EVENTS  # the worker sent the rest


# -- federation pushes ------------------------------------------------------------------------------


class SigningPeers:
    """Peers on one HTTP server, each under /<name>: they record the items pushed to them and answer
    200, signed with their own key (the response signature of docs/federation.md)."""

    def __init__(self, names: list[str]):
        self.keys = {name: Ed25519PrivateKey.generate() for name in names}
        self.public = {name: base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
                       for name, key in self.keys.items()}
        self.received: Counter = Counter()
        self.lock = threading.Lock()
        peers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                name = self.path.split("/")[1]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                uids = [json.loads(item["body"])["uid"] for item in json.loads(body)["items"]]
                with peers.lock:
                    peers.received.update((name, uid) for uid in uids)
                answer = b'{"results": []}'
                text = "\n".join(["redumbrella-federation-v1-response", "200", self.headers["X-Redumbrella-Nonce"],
                                  peers.fingerprint(name), hashlib.sha256(answer).hexdigest()]).encode()
                self.send_response(200)
                self.send_header("X-Redumbrella-Signature", base64.b64encode(peers.keys[name].sign(text)).decode())
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fingerprint(self, name: str) -> str:
        digest = base64.b32encode(hashlib.sha256(base64.b64decode(self.public[name])).digest()).decode()[:16]
        return "-".join(digest[index:index + 4] for index in range(0, 16, 4))

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def waiting_pushes(app, peers: SigningPeers) -> None:
    """The peers added the ordinary way, and ITEMS feed items waiting to be pushed to each."""
    from core.federation import identity, service
    from core.federation.models import FeedItem, PushMessage

    with app.test_request_context(), connection():
        added = [service.add_peer(peers.url(name), peers.public[name], name) for name in peers.keys]
        ours = identity.fingerprint()  # the key exists before the drainers sign with it
        with db.atomic():
            for number in range(ITEMS):
                uid = f"item-{number}"
                item = FeedItem.create(uid=uid, origin_fingerprint=ours, kind="alert", distribution="peers",
                                       urgent=True, body=json.dumps({"uid": uid}), signature="signed")
                PushMessage.insert_many([{"peer": peer.id, "item": item.id, "version": 1} for peer in added]).execute()


def test_many_workers_push_each_item_to_each_peer_exactly_once(app, database_url, tmp_path):
    from core.federation import push
    from core.federation.models import PushMessage

    peers = SigningPeers(["north", "south", "east"])
    worker = None
    try:
        waiting_pushes(app, peers)
        env = outbox_env(app, database_url)
        worker = start_worker(env, tmp_path / "worker.log", workers=2)
        delivered = drain_everywhere(app, env, "push", push.drain)
        settled(app, PushMessage, worker)
        assert "database is locked" not in worker.output()
    finally:
        if worker is not None:
            worker.stop()
        peers.stop()

    with in_db(app):
        rows = list(PushMessage.select())
    assert len(rows) == 3 * ITEMS
    assert {(row.status, row.attempts, row.last_status) for row in rows} == {("delivered", 1, 200)}
    expected = {(name, f"item-{number}") for name in peers.keys for number in range(ITEMS)}
    assert set(peers.received) == expected and set(peers.received.values()) == {1}
    assert sum(delivered) <= 3 * ITEMS
