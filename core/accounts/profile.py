"""A person's own settings: working name, language, how and how safely we may contact them.

Contact details and notes are encrypted; the mobile number is also kept as a blind index so a
repeat application can be spotted. A person can delete their own account here: the account row
and everything tied to it by a foreign key with ON DELETE CASCADE (sessions, two-factor, tokens,
this profile) go; records others keep (a report they made) lose the link to them (SET NULL).
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegrityError
from wtforms import BooleanField as CheckboxField
from wtforms import PasswordField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from core.accounts.invitations import CheckboxesField
from core.accounts.models import User, UserRole
from core.crypto import EncryptedTextField
from core.db import BaseModel, db, utcnow
from core.identifiers import InvalidIdentifier, normalise_mobile
from core.permissions import SIGNED_IN, requires

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
        if field.data:
            try:
                field.data = normalise_mobile(field.data, current_app.config["DEFAULT_COUNTRY"])
            except InvalidIdentifier:
                raise ValidationError(_("Please enter a mobile number we can text, like 07911 123456.")) from None

    def validate_contact_sms(self, field):
        if field.data and not self.mobile.data:
            raise ValidationError(_("Please add a mobile number, or untick text messages."))

    def validate_contact_email(self, field):
        if field.data and not current_user.email:
            raise ValidationError(_("There is no email address on this account."))


class DeleteForm(FlaskForm):
    password = PasswordField(
        _l("Your password"), validators=[InputRequired(message=_l("Please enter your password.")), Length(max=1024)]
    )


def _is_member(user) -> bool:
    return "member" in user.role_names


def _fill_choices(form: ProfileForm, profile: AccountProfile) -> None:
    from core.accounts.membership import choice_label, core_settings
    from core.i18n import language_name

    settings = core_settings()
    form.locale.choices = [(code, language_name(code)) for code in current_app.config["LOCALES"]]
    regions = list(settings["regions"])
    if profile.region and profile.region not in regions:
        regions.append(profile.region)  # an entry since removed from the list stays choosable
    form.region.choices = [("", _("Prefer not to say"))] + [(value, choice_label(value)) for value in regions]
    work_types = list(settings["work_types"])
    work_types += [value for value in profile.work_type_list if value not in work_types]
    form.work_types.choices = [(value, choice_label(value)) for value in work_types]


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
        allowed_regions = {value for value, _label in form.region.choices}
        allowed_work = {value for value, _label in form.work_types.choices}
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


def only_admin(user) -> bool:
    """Whether this is the last active administrator (who must not delete themselves)."""
    if "admin" not in user.role_names:
        return False
    others = (
        UserRole.select()
        .join(User)
        .where((UserRole.role == "admin") & (User.active == True) & (User.id != user.id))  # noqa: E712
        .count()
    )
    return others == 0


def erase_account(user: User) -> None:
    """Delete the account for real; if something still refers to it, empty it instead."""
    from core.audit import record

    user_id = user.id
    try:
        with db.atomic():
            User.delete().where(User.id == user_id).execute()
    except IntegrityError:
        # A table outside core points at the account without ON DELETE: keep an empty shell.
        with db.atomic():
            AccountProfile.delete().where(AccountProfile.user == user_id).execute()
            UserRole.delete().where(UserRole.user == user_id).execute()
            User.update(
                email=None, email_index=None, working_name=None, password_hash=None, locale=None,
                active=False, session_version=User.session_version + 1,
            ).where(User.id == user_id).execute()
    record("account.deleted", target=f"user:{user_id}", actor_id=user_id)


@bp.route("/delete", methods=["GET", "POST"])
@requires(SIGNED_IN)
def delete_account():
    """Delete one's own account, after typing the password again."""
    from core.accounts.passwords import verify_password

    user = current_user._get_current_object()
    form = DeleteForm()
    blocked = only_admin(user)
    status = 200
    if form.validate_on_submit() and not blocked:
        if verify_password(user.password_hash, form.password.data):
            erase_account(user)
            logout_user()
            session.clear()
            flash(_("Your account is deleted."), "info")
            return redirect(url_for("core.index"), code=303)
        form.password.errors.append(_("That password is not right."))
    if request.method == "POST":
        status = 409 if blocked else 422
    return render_template("account/delete.html", form=form, blocked=blocked), status
