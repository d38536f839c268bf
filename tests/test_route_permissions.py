"""Every route declares a permission, and the guard enforces exactly what it declares.

The URL map of an app with every installed plugin enabled (the entry-point plugins) is walked:
- a route whose view declares nothing (or a permission nobody defines) fails the test by name;
- a role x route matrix: for every route and method, anonymous and one account per role (and one
  holding every role) make a request; it must be let through (not 401/403/redirect to sign-in)
  exactly when core.permissions.user_has says so. State-changing methods are sent without a CSRF
  token: the permission guard answers first, and a request it lets through stops at the CSRF check
  (400), so the walk changes no data.
"""

from __future__ import annotations

import re
import types
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from flask import Blueprint
from flask_login import AnonymousUserMixin
from helpers import sign_in
from werkzeug.routing import IntegerConverter

from core.db import db
from core.hookspecs import hookimpl
from core.permissions import PUBLIC, SIGNED_IN, permission_table, role_table, user_has
from core.plugins import PluginInfo, get_registry

LOGIN_PATH = "/account/login"
# Public routes whose view answers "no" by its own logic, so the matrix cannot judge them from
# the outside. Each needs a reason; the list is checked against the URL map so it cannot go stale.
OWN_CHECKS = {
    "auth.login_code": "the second sign-in step: with no first step done it sends you back to it",
    "alerts_api.feed_json": "a partner's feed token in the URL is checked by the view (401 without one)",
    "alerts_api.feed_atom": "a partner's feed token in the URL is checked by the view (401 without one)",
    "reporting_trends.page": "the trends_audience setting says who may see it (staff by default)",
    "reporting_trends.download": "the trends_audience setting says who may see it (staff by default)",
    "reporting_trends_api.api": "the trends_audience setting says who may see it (staff by default)",
}
REDIRECTS = {301, 302, 303, 307, 308}
# Values for URL arguments: real enough to reach the view, which then finds nothing (404).
DUMMY_VALUES = {
    "IntegerConverter": 1,
    "FloatConverter": 1.0,
    "UUIDConverter": uuid.UUID(int=0),
    "PathConverter": "x/y.txt",
    "UnicodeConverter": "x",
    "AnyConverter": None,  # the first allowed item, see _dummy
}


@dataclass(frozen=True)
class RouteCase:
    rule: str
    endpoint: str
    method: str
    path: str
    permission: str | None

    def __str__(self) -> str:
        return f"{self.method} {self.rule} ({self.endpoint})"


def is_static(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


# Strings to try, in order, for a converter of a plugin's own (a report reference, a code).
DUMMY_STRINGS = ("x", "R-X", "C-X", "X", "1")


def _dummy(converter):
    name = type(converter).__name__
    if name == "AnyConverter":
        return next(iter(converter.items)) if hasattr(converter, "items") else "x"
    if isinstance(converter, IntegerConverter):  # core's bounded ids too
        return 1
    if name in DUMMY_VALUES:
        return DUMMY_VALUES[name]
    for text in DUMMY_STRINGS:
        if re.fullmatch(converter.regex, text):
            return text
    raise AssertionError(f"no dummy value for the {name} converter: add one to DUMMY_STRINGS")


def route_cases(app, include_static: bool = False) -> list[RouteCase]:
    """One case per (rule, method) of the URL map, with URL arguments filled with dummy values."""
    cases = []
    for rule in app.url_map.iter_rules():
        if is_static(rule.endpoint) and not include_static:
            continue
        values = {name: _dummy(converter) for name, converter in rule._converters.items()}
        if is_static(rule.endpoint):
            values = {"filename": "css/app.css"} if rule.endpoint == "static" else values
        built = rule.build(values, append_unknown=False)
        assert built is not None, f"cannot build a URL for {rule.rule}"
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            cases.append(RouteCase(rule.rule, rule.endpoint, method, built[1],
                                   getattr(view, "required_permission", None)))
    return cases


def enable_everything(app) -> list[str]:
    """Enable every installed plugin, requirements first; returns their names."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            registry = get_registry(app)
            waiting = list(registry.names)
            while waiting:
                ready = [n for n in waiting if set(registry.infos[n].requires) <= registry.enabled()]
                assert ready, f"these plugins' requirements are not installed: {waiting}"
                for name in ready:
                    registry.set_enabled(name, True)
                    waiting.remove(name)
            return list(registry.names)
        finally:
            db.close()


def undeclared(app) -> list[str]:
    """Routes whose view declares no permission, or one that no plugin defines."""
    known = set(permission_table(app)) | {PUBLIC, SIGNED_IN}
    problems = []
    for case in route_cases(app):
        if case.permission is None:
            problems.append(f"{case}: declares no permission (add @requires(...))")
        elif case.permission not in known:
            problems.append(f"{case}: requires {case.permission!r}, which no plugin defines")
    return sorted(set(problems))


def is_denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code in REDIRECTS:
        return urlparse(response.headers.get("Location", "")).path == LOGIN_PATH
    return False


def send(client, case: RouteCase):
    # No CSRF token: a state-changing request the guard lets through is then refused with 400.
    return client.open(case.path, method=case.method, follow_redirects=False,
                       headers={"Accept": "application/json"})  # error pages as JSON: cheaper


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def full_app(app):
    names = enable_everything(app)
    assert {"reporting", "alerts", "casework", "training"} <= set(names)
    return app


@pytest.fixture
def people(full_app, make_user):
    """A signed-in client per role, one holding every role, and an anonymous one."""
    clients = {"anonymous": (full_app.test_client(), None)}
    for role in role_table(full_app):
        user = make_user(role)
        client = full_app.test_client()
        sign_in(client, user)
        clients[role] = (client, user)
    everything = make_user(*role_table(full_app))
    client = full_app.test_client()
    sign_in(client, everything)
    clients["every role"] = (client, everything)
    return clients


# -- declarations -------------------------------------------------------------------------------


def test_every_route_declares_a_known_permission(full_app):
    problems = undeclared(full_app)
    assert not problems, "routes without a valid permission:\n" + "\n".join(problems)


def test_routes_that_check_access_themselves_are_public_and_still_exist(full_app):
    declared = {case.endpoint: case.permission for case in route_cases(full_app)}
    for endpoint, reason in OWN_CHECKS.items():
        assert endpoint in declared, f"{endpoint} is gone: remove it from OWN_CHECKS"
        assert declared[endpoint] == PUBLIC, f"{endpoint} now declares a permission: remove it from OWN_CHECKS"
        assert reason
    anonymous = full_app.test_client()
    for endpoint in ("alerts_api.feed_json", "alerts_api.feed_atom"):
        if endpoint in declared:
            path = next(c.path for c in route_cases(full_app) if c.endpoint == endpoint)
            assert anonymous.get(path).status_code == 401, endpoint
    # Peer endpoints (core.federation.peers.peer_endpoint) check the peer's signature themselves.
    peer_cases = [case for case in route_cases(full_app) if signed_by_peer(full_app, case.endpoint)]
    assert peer_cases, "no federation peer endpoint found"
    for case in peer_cases:
        assert declared[case.endpoint] == PUBLIC, case.endpoint
        assert send(anonymous, case).status_code == 401, case.endpoint  # unsigned: refused


def signed_by_peer(app, endpoint: str) -> bool:
    return bool(getattr(app.view_functions[endpoint], "signed_by_peer", False))


def _fixture_plugin() -> types.ModuleType:
    bp = Blueprint("undeclared_fixture", __name__, url_prefix="/undeclared-fixture")

    @bp.route("/forgot")
    def forgot():  # no @requires: the walker must name it, the guard must refuse it
        return "should never be served"

    module = types.ModuleType("undeclared_fixture_hooks")
    module.plugin_info = PluginInfo(name="undeclared_fixture", label="Undeclared fixture")

    @hookimpl
    def register_blueprints(app):
        return [bp]

    module.register_blueprints = register_blueprints
    return module


def test_a_route_that_declares_nothing_is_named_and_refused(make_app, make_user):
    app = make_app(extra_plugins=[_fixture_plugin()])
    enable_everything(app)
    problems = undeclared(app)
    assert problems == ["GET /undeclared-fixture/forgot (undeclared_fixture.forgot): declares no permission "
                        "(add @requires(...))"]
    admin = make_user(*role_table(app))
    client = app.test_client()
    sign_in(client, admin)
    response = client.get("/undeclared-fixture/forgot")
    assert response.status_code == 403 and "should never be served" not in response.get_data(as_text=True)
    assert app.test_client().get("/undeclared-fixture/forgot").status_code == 403


# -- the matrix ---------------------------------------------------------------------------------


def test_role_by_route_matrix_follows_the_declared_permissions(full_app, people):
    cases = route_cases(full_app)
    assert len(cases) > 20
    wrong, crashed = [], []
    with full_app.app_context():
        db.connect(reuse_if_open=True)
        try:
            from core.accounts.models import User

            users = {who: (User.get_by_id(user.id) if user else AnonymousUserMixin())
                     for who, (_client, user) in people.items()}
        finally:
            db.close()
    expected = {(who, case): user_has(full_app, users[who], case.permission)
                for who in people for case in cases}
    for case in cases:
        for who, (client, _user) in people.items():
            try:
                response = send(client, case)
            except Exception as exc:  # noqa: BLE001 - collect every crash, then fail once
                crashed.append(f"{case} as {who}: {type(exc).__name__}: {exc}")
                continue
            if case.endpoint in OWN_CHECKS or signed_by_peer(full_app, case.endpoint):
                continue
            allowed = not is_denied(response)
            if allowed != expected[(who, case)]:
                wrong.append(f"{case} as {who}: {response.status_code} "
                             f"{response.headers.get('Location', '')} (expected "
                             f"{'allowed' if expected[(who, case)] else 'denied'})")
    assert not crashed, "requests that raised:\n" + "\n".join(crashed)
    assert not wrong, "access differs from the declared permissions:\n" + "\n".join(wrong)
    # The walk reached both sides of the guard for somebody on each kind of permission.
    assert any(expected[("anonymous", c)] for c in cases) and not all(expected[("anonymous", c)] for c in cases)


def test_denial_is_a_redirect_to_sign_in_for_pages_401_for_the_api_and_403_when_signed_in(full_app, people):
    member_client, _member = people["member"]
    anonymous, _none = people["anonymous"]
    page = anonymous.get("/admin/plugins")
    assert page.status_code == 302 and urlparse(page.headers["Location"]).path == LOGIN_PATH
    assert "next=" in page.headers["Location"]
    api_cases = [c for c in route_cases(full_app) if c.path.startswith("/api/") and c.permission != PUBLIC]
    assert api_cases, "no signed-in API route to check"
    for case in api_cases:
        assert send(anonymous, case).status_code == 401, case
    assert member_client.get("/admin/plugins").status_code == 403
