"""In a real browser (Debian's chromium), over real HTTPS: our own forms work although the browser
sends no Referer (our Referrer-Policy), and a form on another site posting to us is refused.

Flask-WTF's default "SSL strict" CSRF mode wants a Referer on every HTTPS POST; with
Referrer-Policy: no-referrer a browser sends none, so every form would fail in production. The
test client cannot show what a browser really sends; this does.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers import TEST_PASSWORD
from werkzeug.serving import WSGIRequestHandler, make_server

pytestmark = pytest.mark.browser


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1, made here (nothing is downloaded)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class Server:
    def __init__(self, wsgi_app, ssl_context=None):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, request_handler=_Quiet,
                                  ssl_context=ssl_context)
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def https_site(app, make_app, tmp_path):
    server = Server(make_app(), ssl_context=self_signed(tmp_path))
    yield server.url
    server.stop()


@pytest.fixture
def attacker_site(https_site):
    """Another origin whose page silently submits a form to ours, as a malicious site would."""
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head>
<body><form id="f" method="post" action="{https_site}/language">
<input type="hidden" name="locale" value="es"><input type="hidden" name="next" value="/"></form>
<script>document.getElementById("f").submit()</script></body></html>""".encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page]

    server = Server(app)
    yield server.url
    server.stop()


@pytest.fixture
def browser(_browser):
    """A context of the session's chromium (tests/browser/conftest.py) that accepts our own certificate.

    One Playwright per session: a second sync Playwright started beside it fails ("inside the
    asyncio loop")."""
    context = _browser.new_context(ignore_https_errors=True)
    yield context
    context.close()


def posts_seen(page) -> list[dict]:
    seen = []
    page.on("request", lambda request: seen.append(request.all_headers()) if request.method == "POST" else None)
    return seen


def test_forms_work_over_https_without_a_referer(https_site, browser, make_user):
    user = make_user("member")
    page = browser.new_page()
    page.set_default_timeout(10_000)
    seen = posts_seen(page)

    page.goto(f"{https_site}/account/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/account/login" not in page.url, page.locator("main").inner_text()

    page.select_option("#language-select", "es")
    with page.expect_navigation():
        page.locator("form.language-switcher button[type=submit]").click()
    assert page.locator("html").get_attribute("lang") == "es"

    # What made Flask-WTF's strict mode refuse every form: the browser sends no Referer.
    assert len(seen) == 2
    for headers in seen:
        assert "referer" not in headers
        assert headers.get("sec-fetch-site") == "same-origin"


def test_a_form_on_another_site_cannot_post_to_us(https_site, attacker_site, browser):
    page = browser.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{https_site}/")  # the visitor has a session with us
    assert page.locator("html").get_attribute("lang") == "en-GB"

    responses = []
    page.on("response", lambda response: responses.append(response) if response.request.method == "POST" else None)
    page.goto(attacker_site)
    page.wait_for_url(re.compile(re.escape(https_site) + r"/language"))
    assert [r.status for r in responses] == [400]
    assert responses[0].request.all_headers().get("sec-fetch-site") == "cross-site"

    page.goto(f"{https_site}/")
    assert page.locator("html").get_attribute("lang") == "en-GB"  # nothing changed
