"""Forgotten password: same answer for every email, a link that works once, throttled requests."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from helpers import TEST_PASSWORD, enrol_two_factor, post_form, sign_in
from smtp_server import SmtpServer

from core.db import connection


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@contextmanager
def in_db(app):
    with app.app_context(), connection():
        yield


def ask(client, email, **kwargs):
    return post_form(client, "/account/reset", {"email": email}, token_from="/account/reset", **kwargs)


def link_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/account/reset/\S+", body).group(0)


def _normalised(response, email):
    page = response.get_data(as_text=True).replace(email, "EMAIL")
    return re.sub(r'value="[^"]+"', 'value="X"', page)


def test_reset_answers_the_same_for_real_unknown_and_disabled_accounts(make_app, make_user, smtp_server):
    app = make_app(smtp_server.overrides)
    make_user("member", email="real@example.org")
    disabled = make_user("member", email="off@example.org")
    from core.accounts.models import User

    with in_db(app):
        User.update(active=False).where(User.id == disabled.id).execute()
    answers = []
    for email in ("real@example.org", "nobody@example.org", "off@example.org"):
        response = ask(app.test_client(), email)
        answers.append((response.status_code, _normalised(response, email)))
    assert answers[0][0] == 200 and "If an account has that email address" in answers[0][1]
    assert all(answer == answers[0] for answer in answers)
    messages = smtp_server.wait_for(1)
    assert [m["To"] for m in messages] == ["real@example.org"]


def test_reset_link_sets_a_new_password_once_and_ends_sessions(make_app, make_user, smtp_server):
    app = make_app(smtp_server.overrides)
    user = make_user("member", email="forgot@example.org")
    elsewhere = app.test_client()
    sign_in(elsewhere, user)
    ask(app.test_client(), "forgot@example.org")
    link = link_in(smtp_server.wait_for(1)[0])
    path = "/" + link.split("/", 3)[3]
    browser = app.test_client()
    assert browser.get(path).status_code == 200
    weak = post_form(browser, path, {"new_password": "password123", "confirm_password": "password123"},
                     token_from=path)
    assert weak.status_code == 422 and "known to attackers" in weak.get_data(as_text=True)
    new_password = "a brand new long passphrase"
    done = post_form(browser, path, {"new_password": new_password, "confirm_password": new_password}, token_from=path)
    assert done.status_code == 303
    assert elsewhere.get("/account/security").status_code == 302  # every session ended
    assert browser.get(path).status_code == 404  # used: the link works once
    sign_in(app.test_client(), user, password=new_password)
    bad = post_form(app.test_client(), "/account/login", {"email": user.email, "password": TEST_PASSWORD},
                    token_from="/account/login")
    assert bad.status_code == 400
    from core.audit import AuditEntry

    with in_db(app):
        actions = [e.action for e in AuditEntry.select()]
    assert "auth.reset_requested" in actions and "auth.password_reset" in actions


def test_reset_does_not_bypass_two_factor(make_app, make_user, smtp_server):
    app = make_app(smtp_server.overrides)
    user = make_user("caseworker", email="isva@example.org")
    enrol_two_factor(app, user)
    ask(app.test_client(), "isva@example.org")
    path = "/" + link_in(smtp_server.wait_for(1)[0]).split("/", 3)[3]
    browser = app.test_client()
    new_password = "another brand new passphrase"
    post_form(browser, path, {"new_password": new_password, "confirm_password": new_password}, token_from=path)
    login = post_form(browser, "/account/login", {"email": user.email, "password": new_password},
                      token_from="/account/login")
    assert login.status_code == 302 and login.location.endswith("/account/login/code")


def test_forged_or_expired_links_do_not_work(make_app, make_user):
    app = make_app()
    user = make_user("member", email="target@example.org")
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not-the-secret-key-of-this-instance-at-all", salt="redumbrella.password-reset")
    token = forged.dumps({"u": user.id, "f": "x"})
    assert app.test_client().get(f"/account/reset/{token}").status_code == 404
    assert app.test_client().get("/account/reset/garbage").status_code == 404
    with app.test_request_context():
        from core.accounts import reset

        with connection():
            real = reset.make_token(user)
            fingerprint = reset._fingerprint(user)
    assert app.test_client().get(f"/account/reset/{real}").status_code == 200
    # The same link signed with this instance's key, but issued longer ago than RESET_LINK_MINUTES.
    from itsdangerous import TimestampSigner

    class IssuedTwoHoursAgo(TimestampSigner):
        def get_timestamp(self):
            return super().get_timestamp() - 2 * 3600

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="redumbrella.password-reset", signer=IssuedTwoHoursAgo)
    expired = old.dumps({"u": user.id, "f": fingerprint})
    assert app.test_client().get(f"/account/reset/{expired}").status_code == 404


def test_reset_requests_are_throttled_silently(make_app, make_user, smtp_server):
    app = make_app({**smtp_server.overrides, "RESET_MAX_PER_ACCOUNT": 2})
    make_user("member", email="flooded@example.org")
    for _ in range(4):
        assert ask(app.test_client(), "flooded@example.org").status_code == 200
    smtp_server.wait_for(2)
    assert len(smtp_server.inbox.messages) == 2
    ask(app.test_client(), "other@example.org")
    from core.throttle import ThrottleCount

    with in_db(app):
        scopes = {row.scope for row in ThrottleCount.select()}
    assert scopes == {"reset"}  # sign-in attempts are counted apart
