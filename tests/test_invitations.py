"""Staff accounts come by invitation: a one-time link (hashed, expiring) to choose a password,
then sign-in with two-factor enrolment for staff roles."""

from __future__ import annotations

import datetime
import re

import pytest
from helpers import enable, post_form, sign_in
from smtp_server import SmtpServer

from core.db import connection

PASSWORD = "lantern orchard velvet stream"  # noqa: S105


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 and a free port, for this test."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, make_app, smtp_server):
    built = make_app(smtp_server.overrides)
    enable(built, "casework", "training")  # their roles (caseworker, trainer) are offered only while on
    return built


@pytest.fixture
def admin(mail_app, make_user):
    client = mail_app.test_client()
    sign_in(client, make_user("admin"))
    return client


def invite(client, email="new.colleague@example.org", roles=("caseworker",), locale="en"):
    return post_form(client, "/admin/invitations", {"email": email, "roles": list(roles), "locale": locale},
                     token_from="/admin/invitations")


def act(client, invitation_id: int, action: str):
    return post_form(client, f"/admin/invitations/{invitation_id}/{action}", token_from="/admin/invitations")


def link_in(message) -> str:
    return re.search(r"http://localhost(/account/invitation/\S+)", message.get_content()).group(1)


def test_invitation_link_works_once_and_makes_the_account(mail_app, admin, smtp_server):
    response = invite(admin, email="New.Colleague@Example.org ", roles=("caseworker", "trainer"), locale="ro")
    assert response.status_code == 303
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == "new.colleague@example.org"
    assert message["Subject"] == "Invitația ta" and message["Content-Language"] == "ro"  # neutral, in Romanian
    link = link_in(message)
    assert "new.colleague" in admin.get("/admin/invitations").get_data(as_text=True)

    invitee = mail_app.test_client()
    page = invitee.get(link)
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)
    mismatch = post_form(invitee, link, {"password": PASSWORD, "confirm": PASSWORD + "x"}, token_from=link)
    assert mismatch.status_code == 422 and "not the same" in mismatch.get_data(as_text=True)
    done = post_form(invitee, link, {"working_name": "Jo", "password": PASSWORD, "confirm": PASSWORD}, token_from=link)
    assert done.status_code == 303
    location = done.headers["Location"]
    assert "/account/login" in location and "two-factor" in location  # staff set up two-factor next

    with mail_app.app_context(), connection():
        from core.accounts.invitations import Invitation
        from core.accounts.models import User

        user = User.by_email("new.colleague@example.org")
        assert user.role_names == {"caseworker", "trainer"} and user.locale == "ro" and user.working_name == "Jo"
        assert Invitation.select().count() == 0

    # Signing in sends staff to two-factor set-up before anything else.
    signed = post_form(invitee, "/account/login", {"email": "new.colleague@example.org", "password": PASSWORD},
                       token_from="/account/login")
    assert signed.status_code == 302
    assert invitee.get("/admin/members").headers.get("Location", "").endswith("/account/two-factor")

    again = mail_app.test_client().get(link)
    assert again.status_code == 404 and "does not work any more" in again.get_data(as_text=True)


def test_an_expired_invitation_link_does_not_work(mail_app, admin, smtp_server):
    invite(admin)
    link = link_in(smtp_server.wait_for(1)[0])
    with mail_app.app_context(), connection():
        from core.accounts.invitations import Invitation

        invitation = Invitation.get()
        assert abs(invitation.expires_at - invitation.created_at - datetime.timedelta(hours=72)).seconds < 60
        # 72 hours later:
        Invitation.update(expires_at=datetime.datetime(2000, 1, 1)).execute()
    assert mail_app.test_client().get(link).status_code == 404
    assert "Expired" in admin.get("/admin/invitations").get_data(as_text=True)


def test_a_new_link_replaces_the_old_and_withdrawing_ends_it(mail_app, admin, smtp_server):
    invite(admin)
    first = link_in(smtp_server.wait_for(1)[0])
    with mail_app.app_context(), connection():
        from core.accounts.invitations import Invitation

        invitation_id = Invitation.get().id
        stored = Invitation.get().token_hash
    assert first.rsplit("/", 1)[1] not in stored  # only a keyed hash is kept
    assert act(admin, invitation_id, "resend").status_code == 303
    second = link_in(smtp_server.wait_for(2)[1])
    assert first != second
    assert mail_app.test_client().get(first).status_code == 404
    assert mail_app.test_client().get(second).status_code == 200
    assert act(admin, invitation_id, "revoke").status_code == 303
    assert mail_app.test_client().get(second).status_code == 404
    assert act(admin, invitation_id, "revoke").status_code == 404


def test_inviting_again_updates_the_open_invitation(mail_app, admin, smtp_server):
    invite(admin, roles=("moderator",))
    invite(admin, roles=("partner",))
    smtp_server.wait_for(2)
    with mail_app.app_context(), connection():
        from core.accounts.invitations import Invitation

        assert [i.role_list for i in Invitation.select()] == [["partner"]]
    assert mail_app.test_client().get(link_in(smtp_server.messages[0])).status_code == 404


def test_the_password_rules_apply(mail_app, admin, smtp_server):
    invite(admin)
    link = link_in(smtp_server.wait_for(1)[0])
    invitee = mail_app.test_client()
    short = post_form(invitee, link, {"password": "too short", "confirm": "too short"}, token_from=link)
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    common = post_form(invitee, link, {"password": "password123", "confirm": "password123"}, token_from=link)
    assert common.status_code == 422
    assert invitee.get(link).status_code == 200  # the link still works after a refused password


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nobody", "roles": ["admin"], "locale": "en"}, "valid email address"),
        ({"email": "a@example.org", "locale": "en"}, "at least one role"),
        ({"email": "a@example.org", "roles": ["overlord"], "locale": "en"}, "roles listed"),
        ({"email": "a@example.org", "roles": ["admin"], "locale": "tlh"}, "languages listed"),
    ],
)
def test_invitation_form_problems_are_answered_clearly(mail_app, admin, smtp_server, data, message):
    response = post_form(admin, "/admin/invitations", data, token_from="/admin/invitations")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert smtp_server.messages == []


def test_an_existing_account_is_not_invited(mail_app, admin, make_user, smtp_server):
    make_user("member", email="already@example.org")
    response = invite(admin, email="Already@example.org")
    assert response.status_code == 422 and "already exists" in response.get_data(as_text=True)
    assert smtp_server.messages == []


def test_only_administrators_invite(mail_app, make_user):
    moderator = mail_app.test_client()
    sign_in(moderator, make_user("moderator"))
    assert moderator.get("/admin/invitations").status_code == 403
    assert invite(moderator).status_code == 403
    assert mail_app.test_client().get("/admin/invitations").status_code == 302
    assert mail_app.test_client().get("/account/invitation/not-a-real-token").status_code == 404


def test_a_module_s_roles_are_offered_only_while_it_is_enabled(mail_app, admin):
    from core.plugins import get_registry

    page = admin.get("/admin/invitations").get_data(as_text=True)
    assert 'value="caseworker"' in page and 'value="casework_supervisor"' in page and 'value="trainer"' in page
    with mail_app.app_context(), connection():
        get_registry(mail_app).set_enabled("casework", False)
    page = admin.get("/admin/invitations").get_data(as_text=True)
    assert 'value="caseworker"' not in page and 'value="trainer"' in page and 'value="moderator"' in page
    refused = invite(admin, roles=("caseworker",))
    assert refused.status_code == 422 and "Please choose from the roles listed." in refused.get_data(as_text=True)
