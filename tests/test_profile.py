"""The profile page: working name, language, contact preferences (encrypted), and deleting one's
own account."""

from __future__ import annotations

from helpers import TEST_PASSWORD, next_two_factor_code, post_form, sign_in

from core.db import connection, db


def profile_data(**changes) -> dict:
    data = {
        "working_name": "Star",
        "locale": "pt_BR",
        "mobile": "07911 123456",
        "contact_email": "y",
        "contact_sms": "y",
        "safe_contact_note": "Text only, never voicemail",
        "region": "Wales",
        "work_types": ["Agency"],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def save(client, **changes):
    return post_form(client, "/account/profile", profile_data(**changes), token_from="/account/profile")


def test_the_account_link_opens_the_profile(client, make_user):
    sign_in(client, make_user("member"))
    home = client.get("/").get_data(as_text=True)
    assert 'href="/account/profile"' in home
    page = client.get("/account/profile")
    assert page.status_code == 200 and "How we contact you" in page.get_data(as_text=True)


def test_a_member_saves_name_language_and_contact_preferences(app, client, make_user):
    user = make_user("member")
    sign_in(client, user)
    response = save(client)
    assert response.status_code == 303
    page = client.get("/account/profile").get_data(as_text=True)
    assert '<html lang="pt-BR" dir="ltr">' in page  # the chosen language at once
    assert "Text only, never voicemail" in page and "+447911123456" in page and 'value="Star"' in page

    with app.app_context(), connection():
        from core.accounts.models import User
        from core.accounts.profile import AccountProfile

        stored = User.get_by_id(user.id)
        assert stored.locale == "pt_BR" and stored.working_name == "Star"
        profile = AccountProfile.get(AccountProfile.user == user.id)
        assert profile.contact_email and profile.contact_sms and profile.region == "Wales"
        assert profile.work_type_list == ["Agency"]
        raw = repr(db.execute_sql("SELECT * FROM account_profile").fetchall())
        raw += repr(db.execute_sql('SELECT working_name FROM "user"').fetchall())
    assert "voicemail" not in raw and "7911" not in raw and "Wales" not in raw and "Agency" not in raw
    assert "Star" not in raw


def test_contact_choices_must_be_possible(client, make_user):
    sign_in(client, make_user("member"))
    no_mobile = save(client, mobile="", contact_sms="y")
    assert no_mobile.status_code == 422 and "add a mobile number" in no_mobile.get_data(as_text=True)
    bad = save(client, mobile="12")
    assert bad.status_code == 422 and "mobile number we can text" in bad.get_data(as_text=True)
    unknown = save(client, locale="xx")
    assert unknown.status_code == 422 and "languages listed" in unknown.get_data(as_text=True)
    region = save(client, region="Narnia")
    assert region.status_code == 422 and "from the list" in region.get_data(as_text=True)
    assert save(client, mobile="", contact_sms=None).status_code == 303


def test_staff_see_no_member_questions(app, client, make_user):
    sign_in(client, make_user("partner"))
    page = client.get("/account/profile").get_data(as_text=True)
    assert "About your work" not in page and 'name="region"' not in page
    assert save(client, region="Narnia", work_types=["Pirate"]).status_code == 303  # ignored for staff


def test_a_person_can_delete_their_own_account(app, client, make_user):
    user = make_user("member")
    sign_in(client, user)
    save(client, locale="en")
    page = client.get("/account/delete")
    assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
    wrong = post_form(client, "/account/delete", {"password": "not my password at all"}, token_from="/account/delete")
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    done = post_form(client, "/account/delete", {"password": TEST_PASSWORD}, token_from="/account/delete")
    assert done.status_code == 303
    assert client.get("/account/profile").status_code == 302  # signed out

    with app.app_context(), connection():
        from core.accounts.erasure import is_erased
        from core.accounts.models import User, UserRole
        from core.accounts.profile import AccountProfile
        from core.audit import AuditEntry

        shell = User.get_or_none(User.id == user.id)  # on SQLite an empty row keeps the number
        assert is_erased(user.id) and (shell is None or (not shell.active and shell.email is None))
        assert UserRole.select().where(UserRole.user == user.id).count() == 0
        assert AccountProfile.select().count() == 0
        assert AuditEntry.select().where(AuditEntry.action == "account.erased").count() == 1
    again = post_form(app.test_client(), "/account/login", {"email": user.email, "password": TEST_PASSWORD},
                      token_from="/account/login")
    assert again.status_code != 302


def test_the_last_administrator_cannot_delete_their_account(app, make_user):
    first = make_user("admin")
    client = app.test_client()
    sign_in(client, first)
    assert "only administrator" in client.get("/account/delete").get_data(as_text=True)
    refused = post_form(client, "/account/delete", {"password": TEST_PASSWORD}, token_from="/account/delete")
    assert refused.status_code == 409
    make_user("admin")
    done = post_form(client, "/account/delete", {"password": TEST_PASSWORD, "code": next_two_factor_code(app, first)},
                     token_from="/account/delete")
    assert done.status_code == 303


def test_the_profile_needs_a_signed_in_person(client):
    assert client.get("/account/profile").status_code == 302
    assert client.get("/account/delete").status_code == 302
