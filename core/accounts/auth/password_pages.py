"""The account's security page, changing a password, and a forgotten password (a reset link by
e-mail, core.accounts.reset)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import reset, sessions, throttle, tokens, totp
from core.accounts.auth.forms import PasswordChangeForm, ResetPasswordForm, ResetRequestForm
from core.accounts.auth.login_session import clear_session, end_everywhere_and_continue
from core.accounts.auth.pages import bp, password_confirmed, user_ref
from core.accounts.models import User
from core.accounts.passwords import hash_password, password_problem
from core.audit import record
from core.identifiers import InvalidIdentifier
from core.permissions import PUBLIC, SIGNED_IN, requires


def _save_new_password(user: User, form, template: str):
    """Save the form's new password when the password rules accept it; else the page again (422)."""
    problem = password_problem(form.new_password.data)
    if problem:
        form.new_password.errors.append(problem)
        return render_template(template, form=form), 422
    user.password_hash = hash_password(form.new_password.data)
    user.save(only=[User.password_hash])
    return None


@bp.route("/security")
@requires(SIGNED_IN)
def security():
    return render_template(
        "auth/security.html",
        enrolled=totp.is_enrolled(current_user),
        required=totp.is_required(current_user),
        codes_left=totp.recovery_codes_left(current_user),
        token_count=sum(1 for t in tokens.tokens_of(current_user) if t.active),
    )


@bp.route("/password", methods=["GET", "POST"])
@requires(SIGNED_IN)
def change_password():
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_template("auth/password.html", form=form)
    user = current_user._get_current_object()
    if not form.validate_on_submit() or not password_confirmed(user, form.current_password):
        return render_template("auth/password.html", form=form), 422
    refused = _save_new_password(user, form, "auth/password.html")
    if refused:
        return refused
    record("auth.password_changed", target=user_ref(user), actor_id=user.id)
    end_everywhere_and_continue(user)
    flash(_("Your password is changed. You are signed out on every other device."), "info")
    return redirect(url_for("auth.security"), code=303)


@bp.route("/reset", methods=["GET", "POST"])
@requires(PUBLIC)
def request_reset():
    """Ask for a reset link. The answer is the same whether or not the email has an account."""
    form = ResetRequestForm()
    if request.method == "GET":
        return render_template("auth/reset_request.html", form=form, sent=False)
    if not form.validate_on_submit():
        return render_template("auth/reset_request.html", form=form, sent=False), 400
    account_key = throttle.account_key(form.email.data, kind=throttle.RESET)
    address_key = throttle.address_key(kind=throttle.RESET)
    if throttle.is_throttled(account_key, address_key, kind=throttle.RESET):
        return render_template("auth/reset_request.html", form=form, sent=True)  # the same answer
    throttle.record_failure(account_key, address_key, kind=throttle.RESET)
    try:
        user = User.by_email(form.email.data)
    except InvalidIdentifier:
        user = None
    wanted = user is not None and user.active
    record("auth.reset_requested", target=user_ref(user if wanted else None), actor_id=None)
    # Queued either way (a task for account 0 does nothing), so both answers cost the same.
    reset.send_reset_link(user if wanted else None)
    return render_template("auth/reset_request.html", form=form, sent=True)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def reset_password(token: str):
    from core.views.errors import render_error

    user = reset.user_for_token(token)
    if user is None:
        return render_error(
            404, _("This link does not work any more. It may have been used already, or it has expired.")
        )
    form = ResetPasswordForm()
    if request.method == "GET":
        return render_template("auth/reset_password.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/reset_password.html", form=form), 422
    refused = _save_new_password(user, form, "auth/reset_password.html")
    if refused:
        return refused
    sessions.end_all_sessions(user)
    throttle.clear_account(throttle.account_key(user.email or ""))
    record("auth.password_reset", target=user_ref(user), actor_id=user.id)
    clear_session()
    flash(_("Your new password is saved. Please sign in."), "info")
    return redirect(url_for("auth.login"), code=303)
