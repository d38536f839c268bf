"""Sessions: rotated at sign-in, idle and absolute limits, ended everywhere, cookie flags."""

from __future__ import annotations

import datetime
from contextlib import contextmanager

from helpers import TEST_PASSWORD, post_form, sign_in

from core.db import connection, utcnow


@contextmanager
def in_db(app):
    with app.app_context(), connection():
        yield


def page_status(client, path="/account/security") -> int:
    return client.get(path).status_code


def stolen_copy(app, client):
    """A second browser holding a copy of the client's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_session_is_rotated_at_sign_in(app, make_user):
    from core.accounts.sessions import AccountSession

    user = make_user("member")
    client = app.test_client()
    client.get("/account/login")
    before = client.get_cookie("session").value
    sign_in(client, user)
    after = client.get_cookie("session").value
    assert before != after
    # The cookie from before signing in (same browser, planted or not) gives no access.
    planted = app.test_client()
    planted.set_cookie("session", before)
    assert page_status(planted) == 302
    # Each sign-in makes its own server-side session.
    sign_in(app.test_client(), user)
    with in_db(app):
        assert AccountSession.select().where(AccountSession.user == user.id).count() == 2


def test_old_cookie_rejected_after_sign_out(app, make_user):
    user = make_user("member")
    client = app.test_client()
    sign_in(client, user)
    thief = stolen_copy(app, client)
    laptop = app.test_client()
    sign_in(laptop, user)
    assert page_status(thief) == 200 and page_status(laptop) == 200
    assert post_form(client, "/account/logout", token_from="/account/security").status_code == 302
    assert page_status(client) == 302
    assert page_status(thief) == 302
    assert page_status(laptop) == 302  # signing out ends every session of the account
    assert page_status(thief) == 302  # and stays refused
    from core.audit import AuditEntry

    with in_db(app):
        assert AuditEntry.select().where(AuditEntry.action == "auth.signed_out").count() == 1


def test_old_cookie_rejected_after_password_change(app, make_user):
    user = make_user("member", email="changer@example.org")
    client = app.test_client()
    sign_in(client, user)
    thief = stolen_copy(app, client)
    assert page_status(thief) == 200
    new_password = "a different long passphrase"
    response = post_form(client, "/account/password", {"current_password": TEST_PASSWORD,
                                                       "new_password": new_password,
                                                       "confirm_password": new_password},
                         token_from="/account/password")
    assert response.status_code == 303
    assert page_status(client) == 200  # the browser that changed it carries on, in a new session
    assert page_status(thief) == 302
    sign_in(app.test_client(), user, password=new_password)
    retry = app.test_client()
    bad = post_form(retry, "/account/login", {"email": user.email, "password": TEST_PASSWORD},
                    token_from="/account/login")
    assert bad.status_code == 400
    from core.audit import AuditEntry

    with in_db(app):
        assert AuditEntry.get(AuditEntry.action == "auth.password_changed").target == f"user:{user.id}"


def test_password_change_needs_the_current_password(client, make_user):
    user = make_user("member")
    sign_in(client, user)
    response = post_form(client, "/account/password", {"current_password": "not my password at all",
                                                       "new_password": "another long passphrase",
                                                       "confirm_password": "another long passphrase"},
                         token_from="/account/password")
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    mismatch = post_form(client, "/account/password", {"current_password": TEST_PASSWORD,
                                                       "new_password": "another long passphrase",
                                                       "confirm_password": "another long passphrasf"},
                         token_from="/account/password")
    assert mismatch.status_code == 422
    assert "The two new passwords are not the same." in mismatch.get_data(as_text=True)


def test_old_cookie_rejected_after_account_disabled(app, make_user):
    from core.accounts.commands import users

    user = make_user("member", email="leaving@example.org")
    client = app.test_client()
    sign_in(client, user)
    assert page_status(client) == 200
    result = app.test_cli_runner().invoke(users, ["disable", "leaving@example.org"])
    assert result.exit_code == 0, result.output
    assert page_status(client) == 302
    again = app.test_client()
    response = post_form(again, "/account/login", {"email": user.email, "password": TEST_PASSWORD},
                         token_from="/account/login")
    assert response.status_code == 400


def test_two_factor_change_ends_other_sessions(app, make_user):
    user = make_user("admin", email="twofa@example.org")
    client = app.test_client()
    sign_in(client, user)
    other = app.test_client()
    sign_in(other, user)
    assert page_status(other) == 200
    response = post_form(client, "/account/two-factor/recovery-codes", {"password": TEST_PASSWORD},
                         token_from="/account/two-factor")
    assert response.status_code == 200
    assert page_status(client) == 200
    assert page_status(other) == 302


def test_idle_timeout_is_enforced_on_the_server(make_app, make_user):
    from core.accounts.sessions import AccountSession

    app = make_app({"SESSION_IDLE_MINUTES": 20})
    user = make_user("member")
    client = app.test_client()
    sign_in(client, user)
    with in_db(app):
        AccountSession.update(last_seen_at=utcnow() - datetime.timedelta(minutes=19)).execute()
    assert page_status(client) == 200  # still inside the limit (and this visit counts as activity)
    with in_db(app):
        assert AccountSession.get().last_seen_at > utcnow() - datetime.timedelta(minutes=1)
        AccountSession.update(last_seen_at=utcnow() - datetime.timedelta(minutes=21)).execute()
    response = client.get("/account/security")
    assert response.status_code == 302 and "/account/login" in response.location
    with in_db(app):
        assert AccountSession.select().count() == 0  # the expired record is gone
    assert "Your session has ended" in client.get("/account/login").get_data(as_text=True)


def test_absolute_lifetime_is_enforced_even_when_active(make_app, make_user):
    from core.accounts.sessions import AccountSession

    app = make_app({"SESSION_MAX_HOURS": 8})
    user = make_user("member")
    client = app.test_client()
    sign_in(client, user)
    with in_db(app):
        AccountSession.update(created_at=utcnow() - datetime.timedelta(hours=7, minutes=59)).execute()
    assert page_status(client) == 200
    with in_db(app):
        AccountSession.update(created_at=utcnow() - datetime.timedelta(hours=8, minutes=1),
                              last_seen_at=utcnow()).execute()
    assert page_status(client) == 302


def test_session_cookie_flags(app):
    plain = app.test_client().get("/account/login")
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client().get("/account/login", base_url="https://localhost")
    cookie = secure.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_trusted_proxy_setting_gives_secure_cookies_and_client_addresses(make_app):
    app = make_app({"TRUSTED_PROXIES": 1})
    response = app.test_client().get("/account/login", headers={"X-Forwarded-Proto": "https",
                                                                 "X-Forwarded-For": "198.51.100.1"})
    assert "Secure" in response.headers["Set-Cookie"]
    direct = make_app().test_client().get("/account/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in direct.headers["Set-Cookie"]  # without the setting, the header is ignored


def test_sign_out_is_post_only(client, make_user):
    user = make_user("member")
    sign_in(client, user)
    assert client.get("/account/logout").status_code == 405
    assert page_status(client) == 200


def test_retention_sweep_deletes_dead_sessions_and_old_attempt_counts(app, make_user):
    from core.accounts.sessions import AccountSession
    from core.retention import sweep
    from core.throttle import ThrottleCount

    user = make_user("member")
    live, idle = app.test_client(), app.test_client()
    sign_in(live, user)
    sign_in(idle, user)
    post_form(app.test_client(), "/account/login", {"email": "x@example.org", "password": "guessing guessing"},
              token_from="/account/login")
    with in_db(app):
        newest = AccountSession.select().order_by(AccountSession.id.desc()).get()
        AccountSession.update(last_seen_at=utcnow() - datetime.timedelta(hours=1)).where(
            AccountSession.id == newest.id).execute()
        ThrottleCount.update(expires_at=utcnow() - datetime.timedelta(hours=1)).execute()
        results = {r.rule: r.deleted for r in sweep(app)}
        assert results["idle sessions"] == 1 and results["attempt counts"] == 2
        assert [s.id for s in AccountSession.select()] != [newest.id]
        assert AccountSession.select().count() == 1 and ThrottleCount.select().count() == 0
    assert page_status(live) == 200
