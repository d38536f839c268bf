"""Personal access tokens: Bearer auth on /api/, hashed at rest, revocable, acting as the holder."""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager

from helpers import TEST_PASSWORD, enrol_two_factor, post_form, sign_in

from core.db import connection, db


@contextmanager
def in_db(app):
    with app.app_context(), connection():
        yield


def cli_token(app, email: str, *extra: str):
    from core.accounts.commands import users

    result = app.test_cli_runner(mix_stderr=False).invoke(users, ["token", email, *extra]) \
        if _runner_supports_mix_stderr() else app.test_cli_runner().invoke(users, ["token", email, *extra])
    assert result.exit_code == 0, result.output
    token = re.search(r"ru_[A-Za-z0-9_-]{40,}", result.output).group(0)
    return token, result


def _runner_supports_mix_stderr() -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_from_the_command_works_and_is_hashed_at_rest(app, make_user):
    user = make_user("partner", email="partner@example.org")
    token, result = cli_token(app, "partner@example.org", "--label", "case system")
    assert result.output.count(token) == 1  # printed once
    response = app.test_client().get("/api/v1/account", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"id": user.id, "roles": ["partner"], "two_factor": False, "via_token": True}

    from core.accounts.tokens import AccessToken

    with in_db(app):
        stored = db.execute_sql("SELECT token_hash, label FROM access_token").fetchall()
        record = AccessToken.get()
        assert record.last_used_at is not None and record.label == "case system"
    assert stored[0][0] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(str(v) for v in stored[0])
    assert "case system" not in str(stored[0][1])  # the label is encrypted too


def test_revoked_token_is_refused(app, make_user):
    user = make_user("partner", email="revoker@example.org")
    token, _result = cli_token(app, "revoker@example.org")
    api = app.test_client()
    assert api.get("/api/v1/account", headers=bearer(token)).status_code == 200

    browser = app.test_client()
    sign_in(browser, user)
    page = browser.get("/account/tokens").get_data(as_text=True)
    action = re.search(r'action="(/account/tokens/\d+/revoke)"', page).group(1)
    assert post_form(browser, action, token_from="/account/tokens").status_code == 303
    refused = api.get("/api/v1/account", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["status"] == 401
    assert "revoked" in browser.get("/account/tokens").get_data(as_text=True)


def test_unknown_and_malformed_tokens_are_refused(app, make_user):
    make_user("partner")
    api = app.test_client()
    for header in ("Bearer ru_" + "x" * 43, "Bearer nonsense", "Bearer ", "Basic abc"):
        assert api.get("/api/v1/account", headers={"Authorization": header}).status_code == 401


def test_token_page_shows_a_new_token_once(app, make_user):
    user = make_user("learner")
    browser = app.test_client()
    sign_in(browser, user)
    refused = post_form(browser, "/account/tokens", {"label": "my script", "password": "not my password!"},
                        token_from="/account/tokens")
    assert refused.status_code == 422
    made = post_form(browser, "/account/tokens", {"label": "my script", "password": TEST_PASSWORD},
                     token_from="/account/tokens")
    assert made.status_code == 200
    token = re.search(r'<code id="new-token">(ru_[^<]+)</code>', made.get_data(as_text=True)).group(1)
    assert token not in browser.get("/account/tokens").get_data(as_text=True)
    assert app.test_client().get("/api/v1/account", headers=bearer(token)).get_json()["id"] == user.id


def test_a_token_acts_as_its_holder_and_ignores_cookies(app, make_user):
    holder = make_user("partner", email="holder@example.org")
    other = make_user("member", email="other@example.org")
    token, _result = cli_token(app, "holder@example.org")
    browser = app.test_client()
    sign_in(browser, other)
    # The same client carries the other account's session cookie: the token alone decides.
    assert browser.get("/api/v1/account", headers=bearer(token)).get_json()["id"] == holder.id
    assert browser.get("/api/v1/account").get_json()["id"] == other.id
    # A bearer token is no sign-in for pages outside /api/.
    assert app.test_client().get("/account/security", headers=bearer(token)).status_code == 302
    # A bad token is refused even when a valid session cookie comes with it.
    assert browser.get("/api/v1/account", headers=bearer("ru_" + "y" * 43)).status_code == 401
    # Nor does a remember-me cookie (the platform never sets one) stand in for the token, or spoil it.
    browser.set_cookie("remember_token", f"{other.id}:0|forged")
    assert browser.get("/api/v1/account", headers=bearer(token)).get_json()["id"] == holder.id
    assert browser.get("/api/v1/account", headers=bearer("ru_" + "y" * 43)).status_code == 401


def test_staff_token_needs_two_factor_set_up(app, make_user):
    admin = make_user("admin", email="admin@example.org")
    token, result = cli_token(app, "admin@example.org")
    assert "two-factor" in result.output
    api = app.test_client()
    assert api.get("/api/v1/account", headers=bearer(token)).status_code == 401
    enrol_two_factor(app, admin)
    answer = api.get("/api/v1/account", headers=bearer(token))
    assert answer.status_code == 200 and answer.get_json()["roles"] == ["admin"]


def test_token_of_a_disabled_account_is_refused(app, make_user):
    from core.accounts.commands import users

    make_user("partner", email="gone@example.org")
    token, _result = cli_token(app, "gone@example.org")
    assert app.test_cli_runner().invoke(users, ["disable", "gone@example.org"]).exit_code == 0
    assert app.test_client().get("/api/v1/account", headers=bearer(token)).status_code == 401


def _probe_plugin():
    """A tiny plugin with API routes needing an admin permission and any sign-in (a POST)."""
    import types

    from flask import Blueprint, jsonify
    from flask_login import current_user

    from core.hookspecs import hookimpl
    from core.permissions import SIGNED_IN, requires
    from core.plugins import PluginInfo

    bp = Blueprint("authprobe", __name__, url_prefix="/api/v1/authprobe")

    @bp.route("/admin-only")
    @requires("admin.plugins")
    def admin_only():
        return jsonify({"ok": True})

    @bp.route("/echo", methods=["POST"])
    @requires(SIGNED_IN)
    def echo():
        return jsonify({"id": current_user.id})

    module = types.ModuleType("authprobe_hooks")
    module.plugin_info = PluginInfo(name="authprobe", label="Auth probe")

    @hookimpl
    def register_blueprints(app):
        return [bp]

    module.register_blueprints = register_blueprints
    return module


def test_token_permissions_are_the_holders_and_posts_need_no_csrf(make_app, make_user):
    from helpers import enable

    app = make_app(extra_plugins=[_probe_plugin()])
    enable(app, "authprobe")
    make_user("partner", email="plain@example.org")
    admin = make_user("admin", email="chief@example.org")
    enrol_two_factor(app, admin)
    partner_token, _r = cli_token(app, "plain@example.org")
    admin_token, _r = cli_token(app, "chief@example.org")
    api = app.test_client()
    assert api.get("/api/v1/authprobe/admin-only", headers=bearer(partner_token)).status_code == 403
    assert api.get("/api/v1/authprobe/admin-only", headers=bearer(admin_token)).status_code == 200
    assert api.get("/api/v1/authprobe/admin-only").status_code == 401
    # A bearer-token POST carries no cookie and needs no CSRF token...
    posted = api.post("/api/v1/authprobe/echo", json={}, headers=bearer(partner_token))
    assert posted.status_code == 200
    # ...but the same POST made with a session cookie does.
    browser = app.test_client()
    sign_in(browser, admin)
    assert browser.post("/api/v1/authprobe/echo", json={}).status_code == 400


def test_token_unknown_email_gives_a_clear_error(app):
    from core.accounts.commands import users

    result = app.test_cli_runner().invoke(users, ["token", "nobody@example.org"])
    assert result.exit_code != 0 and "no account has that email" in result.output


def test_token_holder_is_the_whole_account_as_stored(app, make_user):
    """The bearer-token loader builds the account from one plain statement; it must give exactly
    what peewee gives, every column decrypted, and stay in step when User gains a column."""
    from core.accounts import tokens
    from core.accounts.models import User

    user = make_user("member", email="whole@example.org")
    with app.test_request_context("/api/v1/me"), connection():
        User.update(working_name="Sam").where(User.id == user.id).execute()
        _record, token = tokens.create_token(user, "check")
        holder = tokens.authenticate(f"Bearer {token}")
        stored = User.get_by_id(user.id)
        assert holder.__data__ == stored.__data__
        assert holder.email == "whole@example.org" and holder.working_name == "Sam"
        assert not holder.is_dirty()
        assert [f.name for f in tokens._USER_FIELDS] == [f.name for f in User._meta.sorted_fields]
        # The row's values are put in place at once, which is all peewee's accessor does for a
        # field that is no foreign key.
        assert not User._meta.refs, "User gained a foreign key: build it through its accessor"
