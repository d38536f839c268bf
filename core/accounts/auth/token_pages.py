"""Personal access tokens (core.accounts.tokens): made after the password is typed again, shown
once, revocable; and GET /api/v1/account, for partner systems to check their token."""

from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import tokens, totp
from core.accounts.auth.forms import TokenForm
from core.accounts.auth.pages import api_bp, bp, password_confirmed
from core.audit import record
from core.permissions import SIGNED_IN, requires


def _tokens_page(form, new_token: str | None = None, status: int = 200):
    return (
        render_template("auth/tokens.html", form=form, tokens=tokens.tokens_of(current_user), new_token=new_token),
        status,
    )


@bp.route("/tokens", methods=["GET", "POST"])
@requires(SIGNED_IN)
def access_tokens():
    form = TokenForm()
    if request.method == "GET":
        return _tokens_page(form)
    user = current_user._get_current_object()
    if not form.validate_on_submit() or not password_confirmed(user, form.password):
        return _tokens_page(form, status=422)
    token_record, token = tokens.create_token(user, form.label.data)
    record("auth.token_created", target=f"token:{token_record.id}", actor_id=user.id)
    form.label.data = ""
    return _tokens_page(form, new_token=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(SIGNED_IN)
def revoke_token(token_id: int):
    if not tokens.revoke(current_user, token_id):
        abort(404)
    record("auth.token_revoked", target=f"token:{token_id}")
    flash(_("The token is revoked: it no longer works."), "info")
    return redirect(url_for("auth.access_tokens"), code=303)


@api_bp.route("/account")
@requires(SIGNED_IN)
def api_account():
    """Who the token (or session) acts as: for partner systems to check their token."""
    return jsonify(
        {
            "id": current_user.id,
            "roles": sorted(current_user.role_names),
            "two_factor": totp.is_enrolled(current_user),
            "via_token": g.get("access_token_id") is not None,
        }
    )
