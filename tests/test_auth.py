"""Signing in: passwords, identical answers, throttling, two-factor sign-in, audit."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from helpers import TEST_PASSWORD, csrf_token, enrol_two_factor, next_two_factor_code, post_form, sign_in

from core.db import connection


@contextmanager
def in_db(app):
    with app.app_context(), connection():
        yield


def login(client, email, password, **kwargs):
    return post_form(client, "/account/login", {"email": email, "password": password}, token_from="/account/login",
                     **kwargs)


def signed_in(client) -> bool:
    response = client.get("/account/security")
    return response.status_code == 200


def audit_actions(app) -> list[tuple[str, str, int | None]]:
    from core.audit import AuditEntry

    with in_db(app):
        return [(e.action, e.target, e.actor_id) for e in AuditEntry.select().order_by(AuditEntry.id)]


# -- passwords ------------------------------------------------------------------------------------


def test_breached_password_is_refused_with_a_clear_message(app):
    from core.accounts.service import AccountError, create_account

    with in_db(app), app.test_request_context():
        with pytest.raises(AccountError, match="list of passwords known to attackers"):
            create_account("breached@example.org", "password123", ["member"])
        with pytest.raises(AccountError, match="known to attackers"):
            create_account("breached@example.org", "Password123", ["member"])  # case variants too
        with pytest.raises(AccountError, match="at least 10 characters"):
            create_account("short@example.org", "tiny pass", ["member"])
        with pytest.raises(AccountError, match="at most 1024"):
            create_account("huge@example.org", "x" * 1025, ["member"])
        passphrase = "seven purple otters juggle quietly at dawn " * 20  # 860 characters
        user = create_account("long@example.org", passphrase, ["member"])
        assert user.password_hash.startswith("$argon2id$")


def test_breached_password_refused_on_the_change_password_page(client, make_user):
    user = make_user("member")
    sign_in(client, user)
    response = post_form(client, "/account/password",
                         {"current_password": TEST_PASSWORD, "new_password": "iloveyou123",
                          "confirm_password": "iloveyou123"}, token_from="/account/password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "known to attackers" in page and 'aria-describedby="new_password-hint new_password-error"' in page


# -- the same answer for unknown accounts and wrong passwords -------------------------------------


def _normalised(response, email: str) -> str:
    page = response.get_data(as_text=True).replace(email, "EMAIL")
    return re.sub(r'name="csrf_token"([^>]*)value="[^"]+"', r'name="csrf_token"\1value="X"', page)


def test_unknown_account_wrong_password_and_disabled_account_answer_identically(app, make_user):
    make_user("member", email="known@example.org")
    disabled = make_user("member", email="disabled@example.org")
    from core.accounts.models import User

    with in_db(app):
        User.update(active=False).where(User.id == disabled.id).execute()

    answers = []
    for email, password in [
        ("known@example.org", "not the right passphrase"),
        ("nobody@example.org", "not the right passphrase"),
        ("disabled@example.org", TEST_PASSWORD),  # right password, disabled account
        ("not-an-email", "not the right passphrase"),
    ]:
        response = login(app.test_client(), email, password)
        answers.append((response.status_code, sorted(response.headers.keys()), _normalised(response, email)))
    assert answers[0][0] == 400
    assert "That email and password do not match an account." in answers[0][2]
    assert all(answer == answers[0] for answer in answers[1:])
    assert not signed_in(app.test_client())


def test_failed_and_successful_sign_ins_are_audited_without_personal_data(app, client, make_user):
    user = make_user("member", email="audited@example.org")
    login(client, "audited@example.org", "wrong passphrase here")
    login(client, "ghost@example.org", "wrong passphrase here")
    sign_in(client, user)
    entries = audit_actions(app)
    assert ("auth.sign_in_failed", f"user:{user.id}", None) in entries
    assert ("auth.sign_in_failed", "", None) in entries  # the unknown account: no reference at all
    assert ("auth.signed_in", f"user:{user.id}", user.id) in entries
    from core.audit import AuditEntry

    with in_db(app):
        text = " ".join(f"{e.action} {e.target}" for e in AuditEntry.select())
    assert "audited" not in text and "ghost" not in text and "@" not in text


# -- throttling -----------------------------------------------------------------------------------


def test_one_throttled_account_does_not_lock_out_another(make_app, make_user):
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 3, "LOGIN_MAX_FAILURES_PER_ADDRESS": 100})
    target = make_user("member", email="target@example.org")
    other = make_user("member", email="other@example.org")
    attacker = app.test_client()
    for _ in range(3):
        assert login(attacker, "target@example.org", "guessing guessing").status_code == 400
    # Now even the right password is not checked for this account, from any address...
    blocked = login(app.test_client(), "target@example.org", TEST_PASSWORD,
                    environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # ...while another account signs in from the very same address.
    neighbour = app.test_client()
    assert login(neighbour, "other@example.org", TEST_PASSWORD).status_code == 302
    assert signed_in(neighbour)
    assert ("auth.throttled", f"user:{target.id}", None) in audit_actions(app)
    assert other.id != target.id


def test_throttling_an_address_leaves_other_addresses_alone(make_app, make_user):
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 100, "LOGIN_MAX_FAILURES_PER_ADDRESS": 3})
    make_user("member", email="person@example.org")
    busy = {"REMOTE_ADDR": "203.0.113.9"}
    for n in range(3):  # different accounts, one address
        response = login(app.test_client(), f"guess{n}@example.org", "guessing guessing", environ_base=busy)
        assert response.status_code == 400
    assert login(app.test_client(), "person@example.org", TEST_PASSWORD, environ_base=busy).status_code == 429
    elsewhere = app.test_client()
    assert login(elsewhere, "person@example.org", TEST_PASSWORD,
                 environ_base={"REMOTE_ADDR": "192.0.2.44"}).status_code == 302


def test_throttled_answers_are_the_same_for_real_and_unknown_accounts(make_app, make_user):
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 2, "LOGIN_MAX_FAILURES_PER_ADDRESS": 100})
    make_user("member", email="real@example.org")
    answers = []
    for email in ("real@example.org", "unreal@example.org"):
        for _ in range(2):
            login(app.test_client(), email, "guessing guessing")
        response = login(app.test_client(), email, "guessing guessing")
        answers.append((response.status_code, _normalised(response, email)))
    assert answers[0][0] == 429 and answers[0] == answers[1]


def test_throttle_rows_hold_no_clear_address_or_email(make_app, make_user):
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 50})
    login(app.test_client(), "someone@example.org", "guessing guessing", environ_base={"REMOTE_ADDR": "198.51.100.23"})
    from core.throttle import ThrottleCount

    with in_db(app):
        rows = list(ThrottleCount.select())
    assert {row.scope for row in rows} == {"login"} and len(rows) == 2  # the account's key and the address's
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row.key)
        assert "198.51.100.23" not in row.key and "someone" not in row.key


def test_a_successful_sign_in_forgets_the_accounts_failures(make_app, make_user):
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 3, "LOGIN_MAX_FAILURES_PER_ADDRESS": 100})
    make_user("member", email="forgetful@example.org")
    for _ in range(2):
        login(app.test_client(), "forgetful@example.org", "guessing guessing")
    assert login(app.test_client(), "forgetful@example.org", TEST_PASSWORD).status_code == 302
    for _ in range(2):
        login(app.test_client(), "forgetful@example.org", "guessing guessing")
    assert login(app.test_client(), "forgetful@example.org", TEST_PASSWORD).status_code == 302


# -- two-factor sign-in ---------------------------------------------------------------------------


def _wrong_code(app, email) -> str:
    from core.accounts import totp
    from core.accounts.models import User

    with in_db(app):
        secret = totp.device(User.by_email(email)).secret
        now = totp.current_step()
        valid = {totp.code_for_step(secret, s) for s in range(now - 3, now + 4)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def test_staff_without_two_factor_are_sent_to_setup_until_enrolled(app, client, make_user):
    import pyotp

    admin = make_user("admin")
    sign_in(client, admin, enrol=False)
    for path in ("/", "/admin/plugins", "/account/security", "/account/tokens"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/account/two-factor"), path
    assert client.get("/api/v1/account").status_code == 403
    setup = client.get("/account/two-factor")
    assert setup.status_code == 200 and "needs two-factor sign-in" in setup.get_data(as_text=True)

    # Setting up through the pages: password again, then a code from the shown key.
    assert post_form(client, "/account/two-factor/begin", {"password": "wrong password!!"},
                     token_from="/account/two-factor").status_code == 422
    response = post_form(client, "/account/two-factor/begin", {"password": TEST_PASSWORD},
                         token_from="/account/two-factor")
    assert response.status_code == 303
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    assert 'src="data:image/svg+xml' in page  # the QR code is drawn on the server
    done = post_form(client, "/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()},
                     token_from="/account/two-factor")
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{4}(?:-[0-9a-f]{4}){3})</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/admin/plugins").status_code == 200
    assert ("auth.two_factor_enabled", f"user:{admin.id}", admin.id) in audit_actions(app)


def test_a_totp_code_is_accepted_once_only(app, make_user):
    from core.accounts import totp
    from core.accounts.models import User

    user = make_user("caseworker", email="caseworker@example.org")
    enrol_two_factor(app, user)
    code = next_two_factor_code(app, user)

    first = app.test_client()
    assert login(first, user.email, TEST_PASSWORD).location.endswith("/account/login/code")
    assert post_form(first, "/account/login/code", {"code": code}, token_from="/account/login/code").status_code == 302
    assert signed_in(first)

    second = app.test_client()
    assert login(second, user.email, TEST_PASSWORD).status_code == 302
    with in_db(app):
        used_step = totp.device(User.by_email(user.email)).last_step
        assert used_step >= totp.current_step() - totp.DRIFT_STEPS  # still inside the accepted window
    reused = post_form(second, "/account/login/code", {"code": code}, token_from="/account/login/code")
    assert reused.status_code == 400
    assert "Each code works once only" in reused.get_data(as_text=True)
    assert not signed_in(second)


def test_a_wrong_code_is_rejected_and_counted(make_app, make_user):
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 3, "LOGIN_MAX_FAILURES_PER_ADDRESS": 100})
    user = make_user("moderator", email="mod@example.org")
    enrol_two_factor(app, user)
    client = app.test_client()
    login(client, user.email, TEST_PASSWORD)
    wrong = _wrong_code(app, user.email)
    for _ in range(3):
        response = post_form(client, "/account/login/code", {"code": wrong}, token_from="/account/login/code")
        assert response.status_code == 400
    assert not signed_in(client)
    assert ("auth.two_factor_failed", f"user:{user.id}", None) in audit_actions(app)
    # Guessing codes runs into the account's throttle: even a right code now waits.
    right = next_two_factor_code(app, user)
    late = post_form(client, "/account/login/code", {"code": right}, token_from="/account/login/code")
    assert late.status_code == 429


def test_wrong_codes_count_against_the_account_until_the_whole_sign_in_succeeds(make_app, make_user):
    """Someone holding a staff password cannot try codes without end by typing the password again
    between guesses, nor by spreading the guesses over several addresses."""
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 10, "LOGIN_MAX_FAILURES_PER_ADDRESS": 50})
    user = make_user("moderator", email="guarded@example.org")
    enrol_two_factor(app, user)
    wrong = _wrong_code(app, user.email)
    statuses = []
    for round_number in range(6):  # 6 rounds x 3 addresses x 2 codes: 36 guesses if nothing stopped them
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            where = {"REMOTE_ADDR": address}
            client = app.test_client()
            step_one = login(client, user.email, TEST_PASSWORD, environ_base=where)
            if step_one.status_code == 429:
                statuses.append(429)
                continue
            assert step_one.location.endswith("/account/login/code")
            for _ in range(2):
                answer = post_form(client, "/account/login/code", {"code": wrong}, token_from="/account/login/code",
                                   environ_base=where)
                statuses.append(answer.status_code)
    assert statuses.count(400) == 10  # exactly the account's limit of wrong codes were checked
    assert 429 in statuses and statuses[10:] == [429] * (len(statuses) - 10)
    assert ("auth.throttled", f"user:{user.id}", None) in audit_actions(app)

    # From a fresh address the right password and then the right code both wait, in the reader's language.
    client = app.test_client()
    spanish = {"Accept-Language": "es"}
    fresh = {"REMOTE_ADDR": "192.0.2.200"}
    refused = login(client, user.email, TEST_PASSWORD, environ_base=fresh, headers=spanish)
    assert refused.status_code == 429 and "Demasiados intentos" in refused.get_data(as_text=True)
    assert not signed_in(client)


def test_the_code_step_answers_429_once_the_account_reached_its_limit(make_app, make_user):
    """A sign-in whose password step was passed before the limit was reached is refused at the code step."""
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 4, "LOGIN_MAX_FAILURES_PER_ADDRESS": 50})
    user = make_user("moderator", email="waiting@example.org")
    enrol_two_factor(app, user)
    wrong = _wrong_code(app, user.email)
    patient = app.test_client()  # passes the password step, then waits
    assert login(patient, user.email, TEST_PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 302
    for n in range(4):
        guesser = app.test_client()
        where = {"REMOTE_ADDR": f"198.51.100.{20 + n}"}
        assert login(guesser, user.email, TEST_PASSWORD, environ_base=where).status_code == 302
        assert post_form(guesser, "/account/login/code", {"code": wrong}, token_from="/account/login/code",
                         environ_base=where).status_code == 400
    right = next_two_factor_code(app, user)
    late = post_form(patient, "/account/login/code", {"code": right}, token_from="/account/login/code",
                     environ_base={"REMOTE_ADDR": "192.0.2.10"}, headers={"Accept-Language": "es"})
    assert late.status_code == 429 and "Demasiados intentos" in late.get_data(as_text=True)
    assert not signed_in(patient)


def test_a_whole_sign_in_with_its_code_clears_the_accounts_failures(make_app, make_user):
    app = make_app({"LOGIN_MAX_FAILURES_PER_ACCOUNT": 3, "LOGIN_MAX_FAILURES_PER_ADDRESS": 50})
    user = make_user("moderator", email="careful@example.org")
    enrol_two_factor(app, user)
    wrong = _wrong_code(app, user.email)
    for _round in range(2):
        client = app.test_client()
        assert login(client, user.email, TEST_PASSWORD).status_code == 302
        for _ in range(2):
            assert post_form(client, "/account/login/code", {"code": wrong},
                             token_from="/account/login/code").status_code == 400
        code = post_form(client, "/account/login/code", {"code": next_two_factor_code(app, user)},
                         token_from="/account/login/code")
        assert code.status_code == 302 and signed_in(client)  # two wrong, then right: all forgotten


def test_the_code_step_needs_the_password_step_first(client, make_user):
    response = client.get("/account/login/code")
    assert response.status_code == 302 and response.location.endswith("/account/login")


def test_recovery_codes_work_once_each(app, make_user):
    user = make_user("trainer", email="trainer@example.org")
    enrol_two_factor(app, user)
    client = app.test_client()
    sign_in(client, user)
    page = post_form(client, "/account/two-factor/recovery-codes", {"password": TEST_PASSWORD},
                     token_from="/account/two-factor")
    assert page.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f-]{19})</code></li>", page.get_data(as_text=True))
    assert len(codes) == 10

    phone_lost = app.test_client()
    login(phone_lost, user.email, TEST_PASSWORD)
    used = post_form(phone_lost, "/account/login/code", {"code": codes[0].upper().replace("-", " ")},
                     token_from="/account/login/code")
    assert used.status_code == 302 and signed_in(phone_lost)
    assert ("auth.recovery_code_used", f"user:{user.id}", user.id) in audit_actions(app)

    again = app.test_client()
    login(again, user.email, TEST_PASSWORD)
    assert post_form(again, "/account/login/code", {"code": codes[0]},
                     token_from="/account/login/code").status_code == 400


def test_secrets_and_recovery_codes_are_not_stored_in_clear(app, make_user):
    from core.db import db

    user = make_user("admin", email="keeper@example.org")
    secret = enrol_two_factor(app, user)
    client = app.test_client()
    sign_in(client, user)
    page = post_form(client, "/account/two-factor/recovery-codes", {"password": TEST_PASSWORD},
                     token_from="/account/two-factor").get_data(as_text=True)
    codes = re.findall(r"<li><code>([0-9a-f-]{19})</code></li>", page)
    with in_db(app):
        device_rows = db.execute_sql("SELECT secret, pending_secret FROM totp_device").fetchall()
        code_rows = db.execute_sql("SELECT code_hash FROM recovery_code").fetchall()
    stored = " ".join(str(value) for row in device_rows + code_rows for value in row)
    assert secret not in stored and secret.lower() not in stored
    assert codes and not any(code in stored or code.replace("-", "") in stored for code in codes)


def test_members_may_turn_two_factor_off_but_staff_may_not(app, make_user):
    member = make_user("member", email="member@example.org")
    enrol_two_factor(app, member)
    client = app.test_client()
    sign_in(client, member)
    response = post_form(client, "/account/two-factor/disable", {"password": TEST_PASSWORD},
                         token_from="/account/two-factor")
    assert response.status_code == 303
    assert ("auth.two_factor_disabled", f"user:{member.id}", member.id) in audit_actions(app)
    fresh = app.test_client()
    assert login(fresh, member.email, TEST_PASSWORD).location.endswith("/")  # no code step any more

    admin = make_user("admin", email="boss@example.org")
    staff = app.test_client()
    sign_in(staff, admin)
    post_form(staff, "/account/two-factor/disable", {"password": TEST_PASSWORD}, token_from="/account/two-factor")
    from core.accounts import totp

    with in_db(app):
        assert totp.is_enrolled(admin)


def test_sign_in_follows_only_same_site_next(app, make_user):
    user = make_user("member")
    client = app.test_client()
    token = csrf_token(client, "/account/login")
    response = client.post("/account/login?next=https://evil.example/", data={
        "csrf_token": token, "email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.location == "/"
    other = app.test_client()
    token = csrf_token(other, "/account/login")
    response = other.post("/account/login?next=/account/security", data={
        "csrf_token": token, "email": user.email, "password": TEST_PASSWORD})
    assert response.location == "/account/security"


def test_sign_in_helper_signs_staff_in_again_and_again(app, make_user):
    """Colleagues' tests sign staff in several times within one 30-second step: codes run out, so
    the helper moves on to recovery codes, each working once, as a person would."""
    admin = make_user("admin", email="often@example.org")
    clients = [app.test_client() for _ in range(5)]
    for client in clients:
        sign_in(client, admin)
    assert all(signed_in(client) for client in clients)
    from core.accounts import totp

    with in_db(app):
        assert totp.recovery_codes_left(admin) >= 10 - 3
