"""A person's own settings: working name, language, how and how safely we may contact them.

Contact details and notes are encrypted; the mobile number is also kept as a blind index so a
repeat application can be spotted. A person can delete their own account and data here
(/account/delete, or DELETE /api/v1/me with a token): the page says what goes and what stays,
asks for the password again (and the two-factor code when the account has one), and
core.accounts.erasure does the rest, for core and every module, in one transaction.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField
from wtforms import BooleanField as CheckboxField
from wtforms import PasswordField, SelectChoice, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, db, utcnow
from core.form_fields import CheckboxesField
from core.permissions import PUBLIC, SIGNED_IN, requires

bp = Blueprint("profile", __name__, url_prefix="/account")
TOO_LONG = _l("Please use at most %(max)d characters.")


class AccountProfile(BaseModel):
    """Contact preferences and (for members) region and ways of working; one row per account."""

    user = ForeignKeyField(User, on_delete="CASCADE", unique=True, backref="profiles")
    phone = EncryptedTextField(null=True)
    phone_index = CharField(max_length=64, null=True, index=True)
    contact_email = BooleanField(default=False)
    contact_sms = BooleanField(default=False)
    safe_contact_note = EncryptedTextField(null=True)
    region = EncryptedTextField(null=True)
    work_types = EncryptedTextField(null=True)  # a JSON list
    updated_at = DateTimeField(default=utcnow)

    @property
    def work_type_list(self) -> list[str]:
        return json.loads(self.work_types) if self.work_types else []

    @classmethod
    def for_user(cls, user) -> AccountProfile:
        found = cls.get_or_none(cls.user == user.id)
        return found if found is not None else cls(user=user.id)


class ProfileForm(FlaskForm):
    working_name = StringField(
        _l("Name we use for you"),
        validators=[Optional(), Length(max=100, message=TOO_LONG)],
    )
    locale = SelectField(_l("Language for pages and messages"), validate_choice=False)
    mobile = TelField(_l("Mobile number"), validators=[Optional(), Length(max=40, message=TOO_LONG)])
    contact_email = CheckboxField(_l("Email"))
    contact_sms = CheckboxField(_l("Text message (SMS)"))
    safe_contact_note = TextAreaField(
        _l("How to contact you safely (optional)"),
        validators=[Optional(), Length(max=500, message=TOO_LONG)],
    )
    region = SelectField(_l("Where you mostly work"), validate_choice=False)
    work_types = CheckboxesField(_l("How you work"), validate_choice=False)

    def validate_locale(self, field):
        if field.data not in current_app.config["LOCALES"]:
            raise ValidationError(_("Please choose one of the languages listed."))

    def validate_mobile(self, field):
        from core.accounts.membership.forms import check_mobile

        check_mobile(field)

    def validate_contact_sms(self, field):
        if field.data and not self.mobile.data:
            raise ValidationError(_("Please add a mobile number, or untick text messages."))

    def validate_contact_email(self, field):
        if field.data and not current_user.email:
            raise ValidationError(_("There is no email address on this account."))


def _is_member(user) -> bool:
    return "member" in user.role_names


def _fill_choices(form: ProfileForm, profile: AccountProfile) -> None:
    from core.accounts.membership import choice_label, core_settings
    from core.i18n import language_name

    settings = core_settings()
    form.locale.choices = [SelectChoice(code, language_name(code)) for code in current_app.config["LOCALES"]]
    regions = list(settings["regions"])
    if profile.region and profile.region not in regions:
        regions.append(profile.region)  # an entry since removed from the list stays choosable
    form.region.choices = [SelectChoice("", _("Prefer not to say"))] + [
        SelectChoice(value, choice_label(value)) for value in regions]
    work_types = list(settings["work_types"])
    work_types += [value for value in profile.work_type_list if value not in work_types]
    form.work_types.choices = [SelectChoice(value, choice_label(value)) for value in work_types]


@bp.route("/profile", methods=["GET", "POST"])
@requires(SIGNED_IN)
def profile():
    """The person's own settings."""
    from core.accounts.membership import phone_lookup
    from core.audit import record

    user = current_user._get_current_object()
    account_profile = AccountProfile.for_user(user)
    member = _is_member(user)
    form = ProfileForm()
    _fill_choices(form, account_profile)
    if request.method == "GET":
        form.working_name.data = user.working_name
        form.locale.data = user.locale or current_app.config["DEFAULT_LOCALE"]
        form.mobile.data = account_profile.phone
        form.contact_email.data = account_profile.contact_email
        form.contact_sms.data = account_profile.contact_sms
        form.safe_contact_note.data = account_profile.safe_contact_note
        form.region.data = account_profile.region or ""
        form.work_types.data = account_profile.work_type_list
    elif form.validate_on_submit():
        allowed_regions = {choice.value for choice in form.region.choices}
        allowed_work = {choice.value for choice in form.work_types.choices}
        if member and (form.region.data not in allowed_regions or set(form.work_types.data or []) - allowed_work):
            form.region.errors.append(_("Please choose from the list."))
        else:
            with db.atomic():
                user.working_name = (form.working_name.data or "").strip() or None
                user.locale = form.locale.data
                user.save(only=[User.working_name, User.locale])
                phone = form.mobile.data or None
                account_profile.phone = phone
                account_profile.phone_index = phone_lookup(phone) if phone else None
                account_profile.contact_email = bool(form.contact_email.data)
                account_profile.contact_sms = bool(form.contact_sms.data)
                account_profile.safe_contact_note = (form.safe_contact_note.data or "").strip() or None
                if member:
                    account_profile.region = form.region.data or None
                    account_profile.work_types = json.dumps(form.work_types.data or [])
                account_profile.updated_at = utcnow()
                account_profile.save()
                record("profile.updated", target=f"user:{user.id}")
            flash(_("Your settings are saved."), "info")
            return redirect(url_for("profile.profile"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/profile.html", form=form, member=member), status


# -- deleting one's own account and data (core.accounts.erasure) ----------------------------------


def _second_factor_wanted(user) -> bool:
    from core.accounts import totp

    return totp.is_enrolled(user)


class TooManyAttempts(Exception):
    """The account or the address has had too many wrong passwords or codes lately (429)."""


def confirm_identity(user, password: str, code: str | None, second_factor: bool = True) -> dict[str, str]:
    """Check the password typed again (and, with second_factor, the two-factor code when the account
    has one), counting wrong ones against the account's sign-in throttle. {} when right, else
    {field: message}; raises TooManyAttempts while the throttle holds, before anything is checked."""
    from core.accounts import throttle, totp
    from core.accounts.passwords import verify_password

    account_key = throttle.account_key(user.email or "")
    address_key = throttle.address_key()
    if throttle.is_throttled(account_key, address_key):
        raise TooManyAttempts()
    if not verify_password(user.password_hash, password or ""):
        throttle.record_failure(account_key, address_key)
        return {"password": _("That password is not right.")}
    if second_factor and _second_factor_wanted(user) and (not code or totp.verify_second_factor(user, code) is None):
        throttle.record_failure(account_key, address_key)
        return {"code": _("That code is not right. Type the code your app shows now, or a recovery code.")}
    return {}


class DeleteForm(FlaskForm):
    password = PasswordField(
        _l("Your password"), validators=[InputRequired(message=_l("Please enter your password.")), Length(max=1024)]
    )
    code = StringField(_l("Code from your authenticator app"), validators=[Optional(), Length(max=32)])


@bp.route("/delete", methods=["GET", "POST"])
@requires(SIGNED_IN)
def delete_account():
    """Delete one's own account and data: what goes and what stays, then the password (and code)."""
    from core.accounts.erasure import ErasureRefused, erase_account, only_admin

    user = current_user._get_current_object()
    form = DeleteForm()
    blocked = only_admin(user)
    two_factor = _second_factor_wanted(user)
    status = 200
    if request.method == "POST":
        status = 409 if blocked else 422
        if not blocked and form.validate_on_submit():
            try:
                problems = confirm_identity(user, form.password.data, form.code.data if two_factor else None)
            except TooManyAttempts:
                problems, status = {"password": _("Too many attempts. Please wait a while and try again.")}, 429
            for name, message in problems.items():
                form[name].errors = [*form[name].errors, message]
            if not problems:
                try:
                    erase_account(user.id, actor_id=user.id)
                except ErasureRefused:  # another administrator left in the meantime
                    blocked, status = True, 409
                else:
                    logout_user()
                    session.clear()
                    return redirect(url_for("profile.deleted"), code=303)
    return render_template("account/delete.html", form=form, blocked=blocked, two_factor=two_factor), status


@bp.route("/deleted")
@requires(PUBLIC)
def deleted():
    """Said once the account is gone (the person is signed out by then)."""
    return render_template("account/deleted.html")


# -- the same through the API: DELETE /api/v1/me ----------------------------------------------------

api_bp = Blueprint("profile_api", __name__, url_prefix="/api/v1")
# Registered with the account pages: when the app registers `bp`, it registers `api_bp` too.
bp.record_once(lambda state: state.app.register_blueprint(api_bp))


def _erasure_schema():
    from marshmallow import fields, validate

    from core.api import ApiSchema

    class EraseIn(ApiSchema):
        password = fields.String(required=True,
                                 validate=validate.Length(min=1, max=1024, error=_l("Please enter your password.")),
                                 metadata={"description": "The account's password, typed again."})
        code = fields.String(load_default=None, validate=validate.Length(max=32, error=_l("That is too long.")),
                             metadata={"description": "The two-factor code (or a recovery code), when the "
                                                      "account uses two-factor sign-in."})

    return EraseIn


@api_bp.route("/me", methods=["DELETE"])
@requires(SIGNED_IN)
def api_delete_me():
    """Delete the calling account and its data, as the page does; 204 when done."""
    from core.accounts.erasure import ErasureRefused, erase_account, last_admin_message, only_admin
    from core.api import load_json, validation_response
    from core.views.errors import render_error

    user = current_user._get_current_object()
    data = load_json(_erasure_schema()())
    if only_admin(user):
        return render_error(409, last_admin_message())
    try:
        problems = confirm_identity(user, data["password"], data.get("code"))
    except TooManyAttempts:
        return render_error(429, _("Too many attempts. Please wait a while and try again."))
    if problems:
        return validation_response({name: [message] for name, message in problems.items()})
    try:
        erase_account(user.id, actor_id=user.id)
    except ErasureRefused as exc:
        return render_error(409, str(exc))
    logout_user()
    return "", 204


def describe_api(spec) -> None:
    """DELETE /api/v1/me in the OpenAPI document (core.api.build_spec calls this)."""
    from core.api import error_responses

    spec.components.schema("AccountErasure", schema=_erasure_schema())
    spec.path(path="/me", operations={"delete": {
        "summary": "Delete the calling account and its data (what is kept: docs/accounts.md). Needs the "
                   "password again, and the two-factor code when the account uses it.",
        "tags": ["core"],
        "security": [{"bearerAuth": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "AccountErasure"}}},
        "responses": {"204": {"description": "The account and its data are deleted; the token no longer works."},
                      **error_responses(409, 429)},
    }})
