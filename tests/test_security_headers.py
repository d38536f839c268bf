"""Security headers on every response: each route of the URL map (every plugin enabled), for an
anonymous visitor and for a signed-in administrator, plus static files, 404s and 405s.

Checked: a Content-Security-Policy with no third-party origin and frame-ancestors 'none';
Referrer-Policy no-referrer; X-Content-Type-Options nosniff; Cache-Control no-store on everything
that is not a static file; Strict-Transport-Security when the request came over HTTPS (and not
over plain HTTP, where browsers ignore it).
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from helpers import sign_in
from test_route_permissions import enable_everything, is_static, route_cases

from core.permissions import role_table

# Source expressions allowed in the policy: our own origin, nothing, or inline images as data:.
ALLOWED_SOURCES = {"'self'", "'none'", "data:"}
REQUIRED_DIRECTIVES = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


class HttpsClient(FlaskClient):
    """A test client whose requests arrive over HTTPS, as they do behind TLS."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", "https://localhost")
        return super().open(*args, **kwargs)


def https(app) -> HttpsClient:
    return HttpsClient(app, app.response_class, use_cookies=True)


def policy_problems(header: str | None) -> list[str]:
    if not header:
        return ["no Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    problems = []
    for name, sources in directives.items():
        odd = [s for s in sources if s not in ALLOWED_SOURCES and not s.startswith(("'nonce-", "'sha256-"))]
        if odd:
            problems.append(f"{name} allows {odd}")
    for name, wanted in REQUIRED_DIRECTIVES.items():
        if set(directives.get(name, [])) != wanted:
            problems.append(f"{name} is {directives.get(name)}, not {sorted(wanted)}")
    return problems


def header_problems(response, secure: bool, static: bool = False) -> list[str]:
    headers = response.headers
    problems = policy_problems(headers.get("Content-Security-Policy"))
    if headers.get("Referrer-Policy") != "no-referrer":
        problems.append(f"Referrer-Policy is {headers.get('Referrer-Policy')!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"X-Content-Type-Options is {headers.get('X-Content-Type-Options')!r}")
    cache = {part.strip() for part in headers.get("Cache-Control", "").split(",")}
    if not static and "no-store" not in cache:
        problems.append(f"Cache-Control is {headers.get('Cache-Control')!r}")
    hsts = headers.get("Strict-Transport-Security", "")
    if secure:
        max_age = int(hsts.split("max-age=")[1].split(";")[0]) if "max-age=" in hsts else 0
        if max_age < 31536000:
            problems.append(f"Strict-Transport-Security is {hsts!r} (want a year or more)")
    elif hsts:
        problems.append("Strict-Transport-Security sent over plain HTTP")
    return problems


@pytest.fixture
def full_app(app):
    enable_everything(app)
    return app


def check_every_route(app, client, secure: bool) -> list[str]:
    failures = []
    for case in route_cases(app, include_static=True):
        response = client.open(case.path, method=case.method, follow_redirects=False)
        for problem in header_problems(response, secure, static=is_static(case.endpoint)):
            failures.append(f"{case} -> {response.status_code}: {problem}")
    return failures


def test_headers_on_every_route_over_https(full_app, make_user):
    anonymous = https(full_app)
    admin = https(full_app)
    sign_in(admin, make_user(*role_table(full_app)))
    failures = check_every_route(full_app, anonymous, secure=True)
    failures += check_every_route(full_app, admin, secure=True)
    assert not failures, "\n".join(failures)


def test_headers_on_error_responses_and_static_files(full_app):
    client = https(full_app)
    for path, method, status in (
        ("/no/such/page", "GET", 404),
        ("/api/v1/no-such-thing", "GET", 404),
        ("/healthz", "POST", 405),
        ("/static/no-such-file.css", "GET", 404),
    ):
        response = client.open(path, method=method)
        assert response.status_code == status, path
        assert header_problems(response, secure=True, static=path.startswith("/static/")) == [], path
    static = client.get("/static/css/app.css")
    assert static.status_code == 200
    assert header_problems(static, secure=True, static=True) == []


def test_no_hsts_over_plain_http_but_every_other_header(full_app, make_user):
    client = full_app.test_client()
    for path in ("/", "/account/login", "/healthz", "/no/such/page"):
        response = client.get(path)
        assert header_problems(response, secure=False) == [], path
        assert "Strict-Transport-Security" not in response.headers


def test_the_checks_catch_a_weak_policy():
    """The header checks above would notice a third-party origin, framing, or inline script."""
    weak = ("default-src 'self' https://cdn.example.com; script-src 'self' 'unsafe-inline'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors *")
    problems = policy_problems(weak)
    assert any("https://cdn.example.com" in p for p in problems)
    assert any("'unsafe-inline'" in p for p in problems)
    assert any(p.startswith("frame-ancestors") for p in problems)
    assert policy_problems(None) == ["no Content-Security-Policy"]


# -- behind a reverse proxy -------------------------------------------------------------------------


def _echo_plugin():
    """A fixture plugin whose one page shows what the app believes about the request."""
    import types

    from flask import Blueprint, request

    from core.hookspecs import hookimpl
    from core.permissions import PUBLIC, requires
    from core.plugins import PluginInfo

    bp = Blueprint("echo_fixture", __name__, url_prefix="/echo-fixture")

    @bp.route("/")
    @requires(PUBLIC)
    def echo():
        return {"scheme": request.scheme, "address": request.remote_addr}

    module = types.ModuleType("echo_fixture_hooks")
    module.plugin_info = PluginInfo(name="echo_fixture", label="Echo fixture")

    @hookimpl
    def register_blueprints(app):
        return [bp]

    module.register_blueprints = register_blueprints
    return module


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_behind_a_trusted_proxy_the_forwarded_scheme_and_address_are_used(make_app, app):
    proxied = make_app({"TRUSTED_PROXIES": "1"}, extra_plugins=[_echo_plugin()])
    enable_everything(proxied)
    client = proxied.test_client()
    response = client.get("/echo-fixture/", headers=FORWARDED)
    assert response.get_json() == {"scheme": "https", "address": "203.0.113.9"}
    assert header_problems(response, secure=True) == []
    # A request that did not come through TLS at the proxy gets no HSTS.
    plain = client.get("/", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


def test_without_trusted_proxies_forwarded_headers_are_ignored(make_app, app):
    direct = make_app(extra_plugins=[_echo_plugin()])
    enable_everything(direct)
    response = direct.test_client().get("/echo-fixture/", headers=FORWARDED)
    assert response.get_json() == {"scheme": "http", "address": "127.0.0.1"}
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_bad_trusted_proxies_setting_stops_the_app(make_app, value):
    from core.config import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app({"TRUSTED_PROXIES": value})
