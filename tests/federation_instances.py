"""Real Red Umbrella instances for the federation tests, and a recording proxy between them.

    instance = Instance(tmp, "North", database_url, smtp)      # its own folder, keys and database
    instance.setup()                                          # init + seed (tests/fixtures/federation_seed.py)
    instance.start()                                          # gunicorn on a free 127.0.0.1 port
    proxy = Proxy(instance.port)                              # peers are given proxy.url, never the port
    other.cli("peers", "add", proxy.url, "--key", instance.public_key, "--name", "North")

Every byte two instances exchange goes through a Proxy, which keeps each request and answer whole
(`proxy.exchanges`, `proxy.captured()`), can answer 502 instead of forwarding (`proxy.down`), and
can change answers on their way back (`proxy.tamper`). `SignedClient` speaks the signed-request
protocol with a given key, written here from docs/federation.md independently of core's code, to
play a hostile or replaying peer.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fixtures.processes import PYTHON, ROOT, free_port, instance_env, run, run_cli, start_web, wait_web


class Instance:
    def __init__(self, root: Path, name: str, database_url: str, smtp=None, locale: str = "en"):
        self.name = name
        self.folder = root / name.lower()
        self.database_url = database_url
        self.port = free_port()
        self.locale = locale
        settings = {"SITE_NAME": name, "QUEUE_IMMEDIATE": "true", "BASE_URL": f"http://127.0.0.1:{self.port}",
                    "DEFAULT_LOCALE": "en"}
        if smtp is not None:
            settings.update({"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                             "MAIL_DEFAULT_SENDER": f"{name} <alerts@example.org>", "MAIL_TIMEOUT": 5})
        # No test secrets: each instance makes its own keys in its folder, as a real one does.
        self.env = instance_env(self.folder, database_url, secrets=False, **settings)
        self.process = None
        self.tokens: dict = {}

    # -- set-up -------------------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = run_cli(list(args), self.env, timeout=90)
        if check:
            assert done.returncode == 0, f"{self.name}: redumbrella {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return done

    def setup(self) -> None:
        if self.database_url.startswith("postgres"):
            _empty_postgres(self.database_url)
        self.cli("init", "--base-url", f"http://127.0.0.1:{self.port}")
        done = run([PYTHON, str(ROOT / "tests" / "fixtures" / "federation_seed.py"), self.locale], self.env, 90)
        assert done.returncode == 0, f"{self.name}: seeding failed\n{done.stdout}\n{done.stderr}"
        self.tokens = json.loads(done.stdout.strip().splitlines()[-1])
        self.public_key, self.fingerprint = self._identity()

    def _identity(self) -> tuple[str, str]:
        out = self.cli("peers", "identity").stdout
        values = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return values["public key"].strip(), values["fingerprint"].strip()

    def private_key(self) -> Ed25519PrivateKey:
        text = (self.folder / "keys" / "federation_signing.key").read_text().strip()
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))

    def start(self) -> None:
        self.process, _port = start_web(self.env, self.folder / "web.log", self.port)
        wait_web(self.process, self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    # -- talking to it ------------------------------------------------------------------------------

    def api(self, method: str, path: str, body=None, who: str = "moderator") -> tuple[int, object]:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.tokens[who]}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def notice(self, distribution: str, title: str, identifiers=(), severity: str = "medium",
               may_pass_on: bool = False, regions=("north_east",)) -> dict:
        """A published safety notice (no reports needed), shared as asked."""
        status, alert = self.api("POST", "/api/v1/notices", {
            "category": "scam", "summary": f"{title}: take care.", "title": title, "severity": severity,
            "regions": list(regions), "identifiers": [{"kind": kind, "value": value} for kind, value in identifiers],
            "distribution": distribution, "may_pass_on": may_pass_on})
        assert status == 201, (status, alert)
        status, shown = self.api("POST", f"/api/v1/alerts/{alert['id']}/review")
        assert status == 200, (status, shown)
        status, published = self.api("POST", f"/api/v1/alerts/{alert['id']}/publish")
        assert status == 200, (status, published)
        return published

    def alerts(self, who: str = "moderator") -> list[dict]:
        """Every alert here, drafts included (as a moderator sees them), newest first."""
        found, page = [], 1
        while True:
            status, body = self.api("GET", f"/api/v1/alerts?status=all&page={page}", who=who)
            assert status == 200, (status, body)
            found.extend(body["alerts"])
            if page >= body.get("pages", 1):
                return found
            page += 1

    def titled(self, title: str, who: str = "moderator") -> dict | None:
        return next((alert for alert in self.alerts(who) if alert["title"] == title), None)


def postgres_database(suffix: str) -> str | None:
    """A PostgreSQL database of an instance's own, beside the suite's ("<test database>_<suffix>",
    created if missing; Instance.setup empties it), or None when the machine has no PostgreSQL.
    Never the suite's own database, which other tests of the same run are using."""
    import os
    from urllib.parse import urlparse, urlunparse

    import psycopg2

    base = os.environ.get("REDUMBRELLA_TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = os.environ.get("REDUMBRELLA_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/redumbrella_test")
    parsed = urlparse(base)
    name = f"{parsed.path.lstrip('/') or 'redumbrella_test'}_{suffix}"
    try:
        connection = psycopg2.connect(urlunparse(parsed._replace(path="/postgres")), connect_timeout=3)
    except psycopg2.OperationalError:
        return None
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return urlunparse(parsed._replace(path=f"/{name}"))


def _empty_postgres(url: str) -> None:
    from playhouse.db_url import connect

    database = connect(url)
    try:
        database.execute_sql("DROP SCHEMA public CASCADE")
        database.execute_sql("CREATE SCHEMA public")
    finally:
        database.close()


# -- the proxy ---------------------------------------------------------------------------------------


class Proxy:
    """An HTTP proxy in front of one instance that keeps every exchange whole."""

    def __init__(self, target_port: int, label: str = ""):
        self.target_port = target_port
        self.label = label
        self.exchanges: list[dict] = []
        self.down = False  # answer 502 instead of forwarding (the instance looks unreachable)
        self.tamper = None  # function(path, body bytes) -> body bytes, applied to answers
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request_bytes = f"{self.command} {self.path}\r\n".encode() + bytes(self.headers) + body
                if proxy.down:
                    self._answer(502, {}, b"", request_bytes)
                    return
                headers = {key: value for key, value in self.headers.items()
                           if key.lower() not in {"host", "connection"}}
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    kept = [(key, value) for key, value in response.getheaders()
                            if key.lower() not in {"transfer-encoding", "connection", "content-length"}]
                    status = response.status
                finally:
                    upstream.close()
                if proxy.tamper is not None:
                    data = proxy.tamper(self.path, data)
                self._answer(status, kept, data, request_bytes)

            def _answer(self, status, headers, data, request_bytes):
                self.send_response(status)
                for key, value in headers if isinstance(headers, list) else headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                answer_bytes = f"{status}\r\n".encode() + "".join(
                    f"{key}: {value}\r\n" for key, value in (headers if isinstance(headers, list) else [])).encode()
                with proxy._lock:
                    proxy.exchanges.append({"method": self.command, "path": self.path, "status": status,
                                            "request": request_bytes, "answer": answer_bytes + b"\r\n" + data,
                                            "body": data})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def captured(self) -> bytes:
        with self._lock:
            return b"".join(exchange["request"] + exchange["answer"] for exchange in self.exchanges)

    def paths(self) -> list[str]:
        with self._lock:
            return [f"{exchange['method']} {exchange['path']} {exchange['status']}" for exchange in self.exchanges]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- a peer played by the test -----------------------------------------------------------------------


class SignedClient:
    """The signed-request protocol of docs/federation.md, with any key: to act as a peer (or as a
    hostile one) towards an instance listening on `port`."""

    def __init__(self, key: Ed25519PrivateKey, port: int, recipient_fingerprint: str):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self.key = key
        self.port = port
        self.recipient = recipient_fingerprint
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        digest = base64.b32encode(hashlib.sha256(raw).digest()).decode()[:16]
        self.fingerprint = "-".join(digest[index:index + 4] for index in range(0, 16, 4))
        self.last_headers: dict = {}

    def headers(self, method: str, path: str, body: bytes, timestamp: int | None = None, nonce: str | None = None):
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(16)
        text = "\n".join(["redumbrella-federation-v1", method, path, timestamp, nonce, self.fingerprint,
                          self.recipient, hashlib.sha256(body).hexdigest()]).encode()
        return {"X-Redumbrella-From": self.fingerprint, "X-Redumbrella-To": self.recipient,
                "X-Redumbrella-Timestamp": timestamp, "X-Redumbrella-Nonce": nonce,
                "X-Redumbrella-Signature": base64.b64encode(self.key.sign(text)).decode(),
                "Content-Type": "application/json"}

    def send(self, method: str, path: str, value=None, headers: dict | None = None) -> tuple[int, object]:
        body = json.dumps(value).encode() if value is not None else b""
        headers = headers or self.headers(method, path, body)
        self.last_headers = headers
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        return response.status, json.loads(raw) if raw else None

    def push(self, items: list[dict]) -> tuple[int, object]:
        return self.send("POST", "/federation/v1/push", {"items": items})


def sign_item(key: Ed25519PrivateKey, body: dict) -> dict:
    """An item as an origin signs it: canonical JSON and its Ed25519 signature."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {"body": text, "signature": base64.b64encode(key.sign(text.encode())).decode()}
