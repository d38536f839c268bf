"""Helpers for tests: act on the app the way a browser or an operator would."""

from __future__ import annotations

import re

from core.db import db

TEST_PASSWORD = "a long test passphrase"  # noqa: S105


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token of the client's session, read from a real page like a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict | None = None, token_from: str = "/", **kwargs):
    """POST a form the way a browser does: with the token from a page of the same session."""
    payload = {"csrf_token": csrf_token(client, token_from), **(data or {})}
    return client.post(path, data=payload, **kwargs)


def sign_in(client, user_or_email, password: str = TEST_PASSWORD, *, enrol: bool = True):
    """Sign in through the real pages, completing the two-factor step when the account has one.

    Staff accounts (moderator, caseworker, trainer, admin) must use two-factor sign-in, so with
    enrol=True (the default) one that has not set it up is enrolled first (enrol_two_factor);
    the code step is then answered with a real TOTP code made from the stored secret. Pass
    enrol=False to sign a staff account in without it (it then meets the setup page).
    """
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    app = client.application
    if enrol:
        _enrol_staff_if_needed(app, email)
    response = post_form(client, "/account/login", {"email": email, "password": password}, token_from="/account/login")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"].split("?")[0].endswith("/account/login/code"):
        code = next_two_factor_code(app, email)
        response = post_form(client, "/account/login/code", {"code": code}, token_from="/account/login/code")
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def enable(app, *names: str) -> None:
    from core.plugins import get_registry

    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            for name in names:
                get_registry(app).set_enabled(name, True)
        finally:
            db.close()


# -- two-factor sign-in for tests (staff accounts must have it) -----------------------------------

# Unused recovery codes by TOTP secret: a secret is random per enrolment, so codes from an earlier
# test (whose database and user ids are reused) can never be mistaken for this one's.
_RECOVERY_CODES: dict[str, list[str]] = {}


def _user_by_email(email: str):
    from core.accounts.models import User

    user = User.by_email(email)
    assert user is not None, f"no account for {email}"
    return user


def enrol_two_factor(app, user_or_email) -> str:
    """Set up two-factor sign-in for an account the way the setup page does (a pending secret,
    confirmed with a real code); returns the TOTP secret. Recovery codes are kept for sign_in."""
    from core.accounts import totp
    from core.db import connection

    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    with app.app_context(), connection():
        user = _user_by_email(email)
        secret = totp.begin_enrolment(user)
        codes = totp.confirm_enrolment(user, totp.code_for_step(secret, totp.current_step()))
        assert codes, "enrolment failed"
        # Confirming used this time step; forget it so the next few sign-ins have fresh codes
        # (a real person would simply wait for the next code).
        totp.TotpDevice.update(last_step=None).where(totp.TotpDevice.user == user.id).execute()
        _RECOVERY_CODES[secret] = list(codes)
    return secret


def _enrol_staff_if_needed(app, email: str) -> None:
    from core.accounts import totp
    from core.db import connection

    with app.app_context(), connection():
        user = _user_by_email(email)
        needed = totp.needs_enrolment(user)
    if needed:
        enrol_two_factor(app, email)


def next_two_factor_code(app, user_or_email) -> str:
    """A code the sign-in page will accept now: a TOTP code for a time step not used yet (the
    current or next 30-second step), else one of the account's unused recovery codes."""
    from core.accounts import totp
    from core.db import connection

    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    with app.app_context(), connection():
        user = _user_by_email(email)
        device = totp.device(user)
        assert device is not None and device.secret, f"{email} has no two-factor sign-in"
        now = totp.current_step()
        # The current step first, then the next (both stay valid for at least 30 more seconds).
        for step in (now, now + 1):
            if device.last_step is None or step > device.last_step:
                return totp.code_for_step(device.secret, step)
        spare = _RECOVERY_CODES.get(device.secret) or []
        assert spare, "no unused TOTP time step or recovery code left for this account in this test"
        return spare.pop()


def browser_sign_in_two_factor(page, base_url: str, app, user, password: str = TEST_PASSWORD, *, enrol: bool = True):
    """Sign in through the real form in a Playwright page, answering the two-factor step with a
    real code (staff accounts are enrolled first, as sign_in does)."""
    if enrol:
        _enrol_staff_if_needed(app, user.email)
    page.goto(f"{base_url}/account/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if "/account/login/code" in page.url:
        page.get_by_label("Code").fill(next_two_factor_code(app, user))
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
    assert "/account/login" not in page.url, "sign-in did not succeed"
