"""Signing in (a password, then a code from the authenticator app or a recovery code) and out."""

from __future__ import annotations

import time
from urllib.parse import urlparse

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user

from core.accounts import sessions, throttle, totp
from core.accounts.auth.forms import CodeForm, LoginForm
from core.accounts.auth.login_session import clear_session, start_fresh_session
from core.accounts.auth.pages import bp, throttled_page, user_ref
from core.accounts.models import User
from core.accounts.passwords import hash_password, hasher, verify_password
from core.audit import record
from core.identifiers import InvalidIdentifier
from core.permissions import PUBLIC, SIGNED_IN, requires

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60  # the second step must follow the first within five minutes


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in."""
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    form = LoginForm()
    if request.method == "GET":
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400

    account_key = throttle.account_key(form.email.data)
    address_key = throttle.address_key()
    if throttle.is_throttled(account_key, address_key):
        return throttled_page(form, "auth/login.html")

    try:
        user = User.by_email(form.email.data)
    except InvalidIdentifier:
        user = None
    # verify_password costs the same when there is no account (it checks a dummy hash).
    matches = verify_password(user.password_hash if user else None, form.password.data)
    if not (matches and user is not None and user.active):
        reached = throttle.record_failure(account_key, address_key)
        record("auth.sign_in_failed", target=user_ref(user), actor_id=None)
        if reached:
            record("auth.throttled", target=user_ref(user), actor_id=None)
        flash(_("That email and password do not match an account."), "error")
        return render_template("auth/login.html", form=form), 400

    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(form.password.data)
        user.save(only=[User.password_hash])
    next_path = safe_next(request.args.get("next"))
    if totp.is_enrolled(user):
        clear_session()
        session[PENDING_KEY] = {
            "user": user.id,
            "version": user.session_version,
            "at": int(time.time()),
            "next": next_path,
        }
        # The account's failures are not forgotten yet: wrong codes keep counting against it
        # until a code is right too, however often the password is typed again.
        return redirect(url_for("auth.login_code"))
    throttle.clear_account(account_key)
    return _finish_sign_in(user, next_path, "password")


def _finish_sign_in(user: User, next_path: str | None, method: str):
    start_fresh_session(user)
    record("auth.signed_in", target=user_ref(user), actor_id=user.id)
    if method == "recovery":
        record("auth.recovery_code_used", target=user_ref(user), actor_id=user.id)
        left = totp.recovery_codes_left(user)
        # Three whole sentences, so each language can say "1 code" and "5 codes" its own way.
        flash(
            " ".join(
                [
                    _("You signed in with a recovery code."),
                    ngettext("%(num)d recovery code is left.", "%(num)d recovery codes are left.", left),
                    _("You can make new ones on the two-factor page."),
                ]
            ),
            "info",
        )
    return redirect(next_path or url_for("core.index"))


def _pending_user() -> tuple[User | None, dict]:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, {}
    if int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None, {}
    user = User.get_or_none(User.id == pending.get("user"))
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None, {}
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
@requires(PUBLIC)
def login_code():
    """The second step: a code from the authenticator app, or a recovery code."""
    user, pending = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if request.method == "GET":
        return render_template("auth/login_code.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login_code.html", form=form), 400
    # The same account key as the password step: a wrong code counts against the account from
    # any address, and past the limit every code waits, whichever address sends it.
    account_key = throttle.account_key(user.email or "")
    address_key = throttle.address_key()
    if throttle.is_throttled(account_key, address_key):
        return throttled_page(form, "auth/login_code.html")
    method = totp.verify_second_factor(user, form.code.data)
    if method is None:
        reached = throttle.record_failure(account_key, address_key)
        record("auth.two_factor_failed", target=user_ref(user), actor_id=None)
        if reached:
            record("auth.throttled", target=user_ref(user), actor_id=None)
        flash(
            _(
                "That code did not work. Each code works once only: if you have just used one, wait for "
                "the next code in your app."
            ),
            "error",
        )
        return render_template("auth/login_code.html", form=form), 400
    throttle.clear_account(account_key)
    return _finish_sign_in(user, pending.get("next"), method)


@bp.route("/logout", methods=["POST"])
@requires(SIGNED_IN)
def logout():
    """Signing out ends every session of the account, on every device."""
    user = current_user._get_current_object()
    sessions.end_all_sessions(user)
    record("auth.signed_out", target=user_ref(user), actor_id=user.id)
    logout_user()
    clear_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("core.index"))
