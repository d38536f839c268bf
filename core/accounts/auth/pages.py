"""The blueprints the sign-in and account-security pages are served from, and what they share."""

from __future__ import annotations

from flask import Blueprint, flash, render_template
from flask_babel import gettext as _

from core.accounts import throttle
from core.accounts.models import User
from core.accounts.passwords import verify_password

bp = Blueprint("auth", __name__, url_prefix="/account")
api_bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


def user_ref(user: User | None) -> str:
    """The audit target for an account (empty when there is none)."""
    return f"user:{user.id}" if user is not None else ""


def throttled_page(form, template: str, **context):
    flash(_("Too many attempts. Please wait a while and try again."), "error")
    return render_template(template, form=form, **context), 429


def password_confirmed(user: User, field) -> bool:
    """Check a re-typed password, counting wrong ones against the account's throttle."""
    account_key = throttle.account_key(user.email or "")
    address_key = throttle.address_key()
    if throttle.is_throttled(account_key, address_key):
        field.errors.append(_("Too many attempts. Please wait a while and try again."))
        return False
    if verify_password(user.password_hash, field.data or ""):
        return True
    throttle.record_failure(account_key, address_key)
    field.errors.append(_("That is not your current password."))
    return False
