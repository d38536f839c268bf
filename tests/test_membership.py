"""Membership like NUM's: apply, staff approve (a set-password link, once) or decline; repeats
spotted; the form switched off; nothing sensitive in clear in the database or the logs."""

from __future__ import annotations

import datetime
import io
import logging
import re

import pytest
from helpers import post_form, sign_in
from smtp_server import SmtpServer

from core.db import connection, db
from core.logs import JsonFormatter

NEW_PASSWORD = "three quiet harbour lamps"  # noqa: S105


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 and a free port, for this test."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, make_app, smtp_server):
    """The test's app (database emptied by `app`), sending mail to the in-process SMTP server."""
    return make_app(smtp_server.overrides)


def application(**changes) -> dict:
    data = {
        "working_name": "Roxy",
        "email": "roxy@example.org",
        "mobile": "",
        "work_types": ["Independent escort", "Online or webcam"],
        "region": "London",
        "note": "Texts are best after noon.",
    }
    data.update(changes)
    return data


def apply(client, **changes):
    return post_form(client, "/join", application(**changes), token_from="/join")


def link_in(message) -> str:
    found = re.search(r"https?://\S+", message.get_content())
    assert found, message.get_content()
    return found.group(0).replace("http://localhost", "")


def pending_ids(app) -> list[int]:
    from core.accounts.membership import MembershipApplication as A

    with app.app_context(), connection():
        return [row.id for row in A.select().where(A.status == "pending").order_by(A.id)]


def staff_client(app, make_user, role="moderator"):
    client = app.test_client()
    sign_in(client, make_user(role))
    return client


def test_apply_then_approve_then_set_password_once(mail_app, make_user, smtp_server):
    public = mail_app.test_client()
    form = public.get("/join")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert "legal name" in page and 'name="working_name"' in page and "London" in page
    response = apply(public, email=" Roxy@Example.org ", mobile="07911 123456")
    assert response.status_code == 303 and response.headers["Location"].endswith("/join/thanks")
    assert public.get("/join/thanks").status_code == 200

    staff = staff_client(mail_app, make_user)
    queue = staff.get("/admin/members").get_data(as_text=True)
    assert "Roxy" in queue
    [application_id] = pending_ids(mail_app)
    detail = staff.get(f"/admin/members/applications/{application_id}").get_data(as_text=True)
    assert "roxy@example.org" in detail and "07911 123456" in detail and "Texts are best after noon." in detail
    approved = post_form(staff, f"/admin/members/applications/{application_id}/approve",
                         token_from=f"/admin/members/applications/{application_id}")
    assert approved.status_code == 303
    assert pending_ids(mail_app) == []

    message = smtp_server.wait_for(1)[0]
    assert message["To"] == "roxy@example.org"
    assert message["Subject"] == "Your link to set a password"
    link = link_in(message)
    assert link.startswith("/account/set-password/")

    with mail_app.app_context(), connection():
        from core.accounts.models import User
        from core.accounts.profile import AccountProfile

        member = User.by_email("roxy@example.org")
        assert member.role_names == {"member"} and member.password_hash is None and member.working_name == "Roxy"
        profile = AccountProfile.get(AccountProfile.user == member.id)
        assert profile.phone == "+447911123456" and profile.region == "London"
        assert profile.contact_email and profile.contact_sms
        assert profile.work_type_list == ["Independent escort", "Online or webcam"]

    newcomer = mail_app.test_client()
    assert newcomer.get(link).status_code == 200
    weak = post_form(newcomer, link, {"password": "short", "confirm": "short"}, token_from=link)
    assert weak.status_code == 422 and "at least 10 characters" in weak.get_data(as_text=True)
    done = post_form(newcomer, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from=link)
    assert done.status_code == 303 and "/account/login" in done.headers["Location"]
    sign_in(newcomer, "roxy@example.org", NEW_PASSWORD)
    assert newcomer.get("/account/profile").status_code == 200

    again = mail_app.test_client().get(link)
    assert again.status_code == 404
    assert "does not work any more" in again.get_data(as_text=True)
    reuse = mail_app.test_client()
    reuse.get("/join")
    assert post_form(reuse, link, {"password": "another long password", "confirm": "another long password"},
                     token_from="/join").status_code == 404


def test_mobile_only_application_gives_staff_a_link_and_asks_for_an_email(mail_app, make_user, smtp_server):
    assert apply(mail_app.test_client(), email="", mobile="+44 7911 123457").status_code == 303
    staff = staff_client(mail_app, make_user)
    [application_id] = pending_ids(mail_app)
    page = post_form(staff, f"/admin/members/applications/{application_id}/approve", token_from="/admin/members")
    assert page.status_code == 200
    link = re.search(r'value="(http://localhost/account/set-password/[^"]+)"', page.get_data(as_text=True)).group(1)
    link = link.replace("http://localhost", "")
    assert smtp_server.messages == []  # nothing to send it to

    newcomer = mail_app.test_client()
    assert 'name="email"' in newcomer.get(link).get_data(as_text=True)
    missing = post_form(newcomer, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from=link)
    assert missing.status_code == 422 and "sign in with it" in missing.get_data(as_text=True)
    done = post_form(newcomer, link, {"email": "Me@Example.org", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                     token_from=link)
    assert done.status_code == 303
    sign_in(newcomer, "me@example.org", NEW_PASSWORD)


def test_decline_with_reason_tells_them_and_retention_deletes_it_later(mail_app, make_user, smtp_server):
    assert apply(mail_app.test_client()).status_code == 303
    staff = staff_client(mail_app, make_user, "admin")
    [application_id] = pending_ids(mail_app)
    response = post_form(staff, f"/admin/members/applications/{application_id}/decline",
                         {"reason": "We could not reach you on the number given.", "notify": "y"},
                         token_from=f"/admin/members/applications/{application_id}")
    assert response.status_code == 303
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == "roxy@example.org" and message["Subject"] == "About your request"
    assert "We could not reach you on the number given." in message.get_content()
    assert staff.get(f"/admin/members/applications/{application_id}").status_code == 404  # decided

    from core.accounts.membership import MembershipApplication as A
    from core.retention import sweep

    with mail_app.app_context(), connection():
        declined = A.get_by_id(application_id)
        assert declined.status == "declined" and declined.decline_reason.startswith("We could not")
        sweep(mail_app, now=declined.decided_at + datetime.timedelta(days=29))
        assert A.select().count() == 1  # kept for 30 days by default
        sweep(mail_app, now=declined.decided_at + datetime.timedelta(days=31))
        assert A.select().count() == 0


def test_decline_without_a_message(mail_app, make_user, smtp_server):
    apply(mail_app.test_client())
    staff = staff_client(mail_app, make_user)
    [application_id] = pending_ids(mail_app)
    response = post_form(staff, f"/admin/members/applications/{application_id}/decline", {"reason": ""},
                         token_from="/admin/members")
    assert response.status_code == 303
    assert smtp_server.messages == []


def test_applications_switched_off_on_the_core_settings_page(app, make_user):
    admin = staff_client(app, make_user, "admin")
    modules = admin.get("/admin/plugins").get_data(as_text=True)
    assert "/admin/plugins/core/settings" in modules
    settings = admin.get("/admin/plugins/core/settings")
    assert settings.status_code == 200 and "accept_applications" in settings.get_data(as_text=True)
    data = {"regions": "North\nSouth", "work_types": "Independent escort\nOther", "declined_retention_days": "30",
            "link_valid_hours": "72"}  # the checkbox left unticked: applications off
    saved = post_form(admin, "/admin/plugins/core/settings", data, token_from="/admin/plugins/core/settings")
    assert saved.status_code == 303

    public = app.test_client()
    closed = public.get("/join")
    assert closed.status_code == 404 and "not taking membership applications" in closed.get_data(as_text=True)
    assert apply(public, region="North").status_code == 404
    assert "/join" not in public.get("/").get_data(as_text=True)

    saved = post_form(admin, "/admin/plugins/core/settings", {**data, "accept_applications": "1"},
                      token_from="/admin/plugins/core/settings")
    assert saved.status_code == 303
    page = public.get("/join").get_data(as_text=True)
    assert "North" in page and "London" not in page  # the instance's own list of regions
    assert apply(public, region="North", work_types=["Other"]).status_code == 303
    assert "/join" in public.get("/").get_data(as_text=True)


def test_core_settings_are_checked(app, make_user):
    admin = staff_client(app, make_user, "admin")
    bad = post_form(admin, "/admin/plugins/core/settings",
                    {"regions": "", "work_types": "Other", "declined_retention_days": "0", "link_valid_hours": "x"},
                    token_from="/admin/plugins/core/settings")
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "at least one entry" in page and "from 1 to 3650" in page and "whole number" in page


def test_repeat_applications_are_spotted(mail_app, make_user):
    public = mail_app.test_client()
    apply(public, working_name="First", email="Sam@Example.org", mobile="07911 123458")
    apply(public, working_name="Second", email="sam@example.org ", mobile="")
    apply(public, working_name="Third", email="", mobile="+447911123458")
    apply(public, working_name="Fourth", email="other@example.org", mobile="")
    make_user("partner", email="taken@example.org")
    apply(public, working_name="Fifth", email="TAKEN@example.org")
    staff = staff_client(mail_app, make_user)
    first, second, third, fourth, fifth = pending_ids(mail_app)

    queue = staff.get("/admin/members").get_data(as_text=True)
    assert queue.count("Possible repeat") == 3  # all but Fourth, and Fifth (its match is an account)
    page = staff.get(f"/admin/members/applications/{first}").get_data(as_text=True)
    assert f"Same email address as waiting application #{second}" in page
    assert f"Same mobile number as waiting application #{third}" in page
    page = staff.get(f"/admin/members/applications/{fourth}").get_data(as_text=True)
    assert "Possible repeat" not in page
    # A moderator is not told that an address has an account (the form is public: it would be a
    # look-up tool); an administrator, who can list accounts anyway, is, without its number.
    page = staff.get(f"/admin/members/applications/{fifth}").get_data(as_text=True)
    assert "Possible repeat" not in page and "existing account" not in page
    admin = staff_client(mail_app, make_user, "admin")
    page = admin.get(f"/admin/members/applications/{fifth}").get_data(as_text=True)
    assert "Same email address as an existing account." in page and "account #" not in page
    assert admin.get("/admin/members").get_data(as_text=True).count("Possible repeat") == 4

    # Once approved, a member's mobile number still tells an administrator about a repeat.
    post_form(admin, f"/admin/members/applications/{third}/approve", token_from="/admin/members")
    apply(public, working_name="Sixth", email="", mobile="07911123458")
    sixth = pending_ids(mail_app)[-1]
    page = admin.get(f"/admin/members/applications/{sixth}").get_data(as_text=True)
    assert "Same mobile number as an existing account." in page and "account #" not in page
    assert "existing account" not in staff.get(f"/admin/members/applications/{sixth}").get_data(as_text=True)


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-[a-z]+">(.*?)</p>', page, flags=re.S)


def test_approving_cannot_be_used_to_look_up_whether_an_address_has_an_account(mail_app, make_user, smtp_server):
    """A moderator who applies through the public form with someone's address, then approves it,
    sees exactly what a new member's approval shows; the address's owner hears of it by e-mail."""
    from core.accounts.models import User

    make_user("member", email="known@example.org")
    public = mail_app.test_client()
    apply(public, working_name="Probe", email="Known@example.org")
    apply(public, working_name="Fresh", email="fresh@example.org")
    probe, fresh = pending_ids(mail_app)
    staff = staff_client(mail_app, make_user)

    def approve(application_id):
        page = f"/admin/members/applications/{application_id}"
        detail = staff.get(page).get_data(as_text=True)
        done = post_form(staff, f"{page}/approve", token_from=page, follow_redirects=True)
        return detail, done

    probe_detail, probe_done = approve(probe)
    fresh_detail, fresh_done = approve(fresh)
    assert "Possible repeat" not in probe_detail and "Possible repeat" not in fresh_detail
    assert probe_done.status_code == fresh_done.status_code == 200
    assert probe_done.request.path == fresh_done.request.path == "/admin/members"
    assert _flashes(probe_done.get_data(as_text=True)) == _flashes(fresh_done.get_data(as_text=True)) != []
    assert pending_ids(mail_app) == []
    with mail_app.app_context(), connection():
        from core.mail import OutgoingMail

        assert User.select().where(User.email_index == User.email_lookup("known@example.org")).count() == 1
        # Tracked like every core e-mail; listed if unsent only to those who manage accounts.
        assert {(m.kind, m.status) for m in OutgoingMail.select()} == {("set_password", "sent"),
                                                                      ("existing_account", "sent")}

    messages = {m["To"]: m for m in smtp_server.wait_for(2)}
    told = messages["known@example.org"]
    assert told["Subject"] == "About your application"
    assert "You already have an account" in told.get_content()
    link = link_in(told)
    assert link.startswith("/account/reset/")
    assert mail_app.test_client().get(link).status_code == 200  # a working link to choose a new password


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "", "mobile": ""}, "email address or a mobile number"),
        ({"email": "not-an-address"}, "valid email address"),
        ({"mobile": "12"}, "mobile number we can text"),
        ({"working_name": ""}, "what to call you"),
        ({"working_name": "x" * 101}, "at most 100 characters"),
        ({"region": "Atlantis"}, "region from the list"),
        ({"work_types": []}, "at least one"),
        ({"work_types": ["Pirate"]}, "from the list"),
    ],
)
def test_a_form_with_a_problem_is_answered_clearly(app, changes, message):
    response = apply(app.test_client(), **changes)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page and 'aria-invalid="true"' in page
    assert pending_ids(app) == []


def test_staff_pages_are_for_staff_only(app, make_user):
    anonymous = app.test_client()
    assert anonymous.get("/admin/members").status_code == 302
    member = app.test_client()
    sign_in(member, make_user("member"))
    assert member.get("/admin/members").status_code == 403
    apply(app.test_client())
    [application_id] = pending_ids(app)
    assert post_form(member, f"/admin/members/applications/{application_id}/approve").status_code == 403
    assert member.get(f"/admin/members/applications/{application_id}").status_code == 403
    admin = staff_client(app, make_user, "admin")
    assert admin.get("/admin/members").status_code == 200
    assert "Applications" in admin.get("/").get_data(as_text=True)


def test_application_details_are_encrypted_and_kept_out_of_the_logs(app, make_user):
    """The app's own JSON log handler (shared by our, huey's and werkzeug's loggers) is pointed at
    a buffer, then every page that handles an application is used."""
    log = io.StringIO()
    handler = next(h for h in logging.getLogger("redumbrella").handlers if isinstance(h.formatter, JsonFormatter))
    handler.setStream(log)
    canaries = {
        "working_name": "Canaryname Qx7Zr9Kp",
        "email": "canary.qx7zr9kp@example.org",
        "mobile": "07911 123459",
        "note": "Canarynote Qx7Zr9Kp here",
    }
    assert apply(app.test_client(), **canaries).status_code == 303
    staff = staff_client(app, make_user)
    [application_id] = pending_ids(app)
    assert "Canaryname Qx7Zr9Kp" in staff.get(f"/admin/members/applications/{application_id}").get_data(as_text=True)
    post_form(staff, f"/admin/members/applications/{application_id}/decline", {"reason": "Canaryreason Qx7Zr9Kp"},
              token_from="/admin/members")
    with app.app_context(), connection():
        rows = db.execute_sql("SELECT * FROM membership_application").fetchall()
        audit = db.execute_sql("SELECT * FROM audit_entry").fetchall()
    raw = repr(rows) + repr(audit)
    assert rows and "Qx7Zr9Kp" not in raw and "qx7zr9kp" not in raw and "123459" not in raw and "Independent" not in raw
    assert "London" not in raw
    written = log.getvalue()
    assert "membership_applied" in written and "membership.decline" in written  # logged, without details
    for text in ("Qx7Zr9Kp", "qx7zr9kp", "123459", "Texts are best", "London"):
        assert text not in written


def test_every_view_of_an_application_is_audited(app, make_user):
    apply(app.test_client())
    staff = staff_client(app, make_user)
    [application_id] = pending_ids(app)
    staff.get(f"/admin/members/applications/{application_id}")
    staff.get(f"/admin/members/applications/{application_id}")
    with app.app_context(), connection():
        from core.audit import AuditEntry

        actions = [e.action for e in AuditEntry.select().where(AuditEntry.target == f"application:{application_id}")]
    assert actions.count("membership.application_viewed") == 2 and "membership.applied" in actions


def test_the_form_works_in_the_visitors_language(app):
    client = app.test_client()
    page = client.get("/join", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in page
    apply(client)
    with app.app_context(), connection():
        from core.accounts.membership import MembershipApplication

        assert MembershipApplication.get().locale == "en"
    spanish = app.test_client()
    post_form(spanish, "/language", {"locale": "es", "next": "/join"})
    apply(spanish, email="ana@example.org")
    with app.app_context(), connection():
        assert MembershipApplication.get(MembershipApplication.locale == "es")



def test_a_flood_from_one_address_is_held_back_without_affecting_others(make_app, app):
    limited = make_app({"APPLY_MAX_PER_ADDRESS": 2})
    client = limited.test_client()
    for n in range(2):
        assert apply(client, working_name=f"Flood {n}").status_code == 303
    held = apply(client, working_name="Flood 3")
    assert held.status_code == 429 and "wait a few minutes" in held.get_data(as_text=True)
    other = post_form(limited.test_client(), "/join", application(working_name="Elsewhere"), token_from="/join",
                      environ_base={"REMOTE_ADDR": "192.0.2.55"})
    assert other.status_code == 303
    with limited.app_context(), connection():
        from core.throttle import ThrottleCount

        keys = repr([row.key for row in ThrottleCount.select()])
    assert "127.0.0.1" not in keys and "192.0.2.55" not in keys
    assert len(pending_ids(limited)) == 3


@pytest.mark.parametrize("mobile", ["12345", "020 7946 0123", "07700 90012"])
def test_an_application_needs_a_mobile_we_can_text(app, mobile):
    refused = apply(app.test_client(), mobile=mobile)
    assert refused.status_code == 422
    assert "Please enter a mobile number we can text" in refused.get_data(as_text=True)
    assert pending_ids(app) == []
