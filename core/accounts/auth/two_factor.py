"""Two-factor sign-in for an account: set it up (after the password is typed again), replace the
recovery codes, turn it off where the account's roles allow. Each change ends every other session."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import totp
from core.accounts.auth.forms import CodeForm, ConfirmPasswordForm
from core.accounts.auth.login_session import end_everywhere_and_continue
from core.accounts.auth.pages import bp, password_confirmed, user_ref
from core.audit import record
from core.permissions import SIGNED_IN, requires


@bp.route("/two-factor")
@requires(SIGNED_IN)
def two_factor_setup():
    user = current_user._get_current_object()
    secret = totp.pending_secret(user)
    context = {
        "enrolled": totp.is_enrolled(user),
        "required": totp.is_required(user),
        "codes_left": totp.recovery_codes_left(user),
        "secret": totp.group_secret(secret) if secret else None,
        "form": ConfirmPasswordForm(),
        "code_form": CodeForm(),
    }
    if secret:
        uri = totp.provisioning_uri(user, secret)
        context.update(uri=uri, qr=totp.qr_data_uri(uri))
    return render_template("auth/two_factor.html", **context)


@bp.route("/two-factor/begin", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_begin():
    """Make a new secret to scan (after the password is typed again)."""
    user = current_user._get_current_object()
    form = ConfirmPasswordForm()
    if not form.validate_on_submit() or not password_confirmed(user, form.password):
        return (
            render_template(
                "auth/two_factor.html",
                enrolled=totp.is_enrolled(user),
                required=totp.is_required(user),
                codes_left=totp.recovery_codes_left(user),
                secret=None,
                form=form,
                code_form=CodeForm(),
            ),
            422,
        )
    totp.begin_enrolment(user)
    return redirect(url_for("auth.two_factor_setup"), code=303)


@bp.route("/two-factor/confirm", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_confirm():
    user = current_user._get_current_object()
    form = CodeForm()
    replacing = totp.is_enrolled(user)
    codes = totp.confirm_enrolment(user, form.code.data or "") if form.validate_on_submit() else None
    if codes is None:
        flash(_("That code did not match. Please type the code your app shows now."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    record("auth.two_factor_replaced" if replacing else "auth.two_factor_enabled", target=user_ref(user),
           actor_id=user.id)
    end_everywhere_and_continue(user)
    return render_template("auth/two_factor_codes.html", codes=codes, first_time=not replacing)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_recovery_codes():
    user = current_user._get_current_object()
    form = ConfirmPasswordForm()
    if not totp.is_enrolled(user):
        abort(409)
    if not form.validate_on_submit() or not password_confirmed(user, form.password):
        flash(" ".join(str(e) for e in form.password.errors) or _("Please type your password."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    codes = totp.regenerate_recovery_codes(user)
    record("auth.recovery_codes_replaced", target=user_ref(user), actor_id=user.id)
    end_everywhere_and_continue(user)
    return render_template("auth/two_factor_codes.html", codes=codes, first_time=False)


@bp.route("/two-factor/disable", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_disable():
    user = current_user._get_current_object()
    if totp.is_required(user):
        flash(_("Your role needs two-factor sign-in, so it cannot be turned off."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    form = ConfirmPasswordForm()
    if not form.validate_on_submit() or not password_confirmed(user, form.password):
        flash(" ".join(str(e) for e in form.password.errors) or _("Please type your password."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    totp.remove(user)
    record("auth.two_factor_disabled", target=user_ref(user), actor_id=user.id)
    end_everywhere_and_continue(user)
    flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("auth.security"), code=303)
