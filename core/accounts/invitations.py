"""One-time links: staff invitations, and set-your-password links for approved members.

A link carries a random token (256 bits); only its keyed hash is stored (core.tokens), it
expires (the core setting link_valid_hours, 72 by default) and it works once. Links are made inside queue tasks
whose only argument is a record id, so no address, token or text ever sits in the queue storage:
a retried task simply makes a fresh link, and the older one stops working.

Staff accounts come by invitation: an administrator names an email, the role(s) and the language
of the message; the invitee opens the link, chooses a password (checked by
core.accounts.service.check_password, through create_account) and signs in, where two-factor
enrolment follows for staff roles.
"""

from __future__ import annotations

import datetime
import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from core import tokens
from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, db, utcnow
from core.form_fields import CheckboxesField
from core.identifiers import InvalidIdentifier, normalise_email
from core.mail import MAIL_RETRIES, MAIL_RETRY_DELAY, queue_mail, tracked
from core.permissions import PUBLIC, requires, role_table, roles_offered
from core.queue import task

log = logging.getLogger("redumbrella.accounts")
bp = Blueprint("invitations", __name__)
MANAGE_USERS = "admin.users"
TOKEN_KIND = "one-time-link"  # noqa: S105  # nosec B105  # the blind-index kind, not a secret

TOO_LONG = _l("That is too long.")


def role_labels() -> dict[str, object]:
    """Every installed role's label, for listing invitations made before a module was turned off."""
    return {name: role.label for name, role in role_table(current_app).items()}


# -- tokens --------------------------------------------------------------------------------


def new_token() -> tuple[str, str]:
    """A fresh random token and the keyed hash that is stored in its place."""
    raw = tokens.new_token()
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return tokens.hash_token(raw, TOKEN_KIND)


def link_lifetime() -> datetime.timedelta:
    from core.settings import plugin_settings

    return datetime.timedelta(hours=int(plugin_settings("core")["link_valid_hours"]))


class PasswordLink(BaseModel):
    """A one-time link with which an account without a password (an approved member) sets one."""

    user = ForeignKeyField(User, on_delete="CASCADE", backref="password_links")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)
    used_at = DateTimeField(null=True)

    @classmethod
    def issue(cls, user: User) -> str:
        """Make a new link for the account (older unused ones stop working); returns the raw token."""
        raw, hashed = new_token()
        with db.atomic():
            cls.delete().where((cls.user == user) & cls.used_at.is_null()).execute()
            cls.create(user=user, token_hash=hashed, expires_at=utcnow() + link_lifetime())
        return raw

    @classmethod
    def usable(cls, raw: str) -> PasswordLink | None:
        link = cls.get_or_none(cls.token_hash == token_hash(raw))
        if link is None or link.used_at is not None or link.expires_at <= utcnow():
            return None
        return link


class Invitation(BaseModel):
    """An invitation to create a (staff) account. Deleted once accepted or revoked."""

    email_index = CharField(max_length=64, index=True)
    email = EncryptedTextField()
    roles = CharField(max_length=255)  # role names, comma-separated
    locale = CharField(max_length=16)
    token_hash = CharField(max_length=64, null=True, unique=True)
    invited_by = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True, index=True)
    organisation_id = IntegerField(null=True)  # core.organisations: where the person will belong

    @property
    def role_list(self) -> list[str]:
        return [role for role in self.roles.split(",") if role]

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    def issue(self) -> str:
        raw, hashed = new_token()
        self.token_hash = hashed
        self.expires_at = utcnow() + link_lifetime()
        self.save(only=[Invitation.token_hash, Invitation.expires_at])
        return raw

    @classmethod
    def usable(cls, raw: str) -> Invitation | None:
        found = cls.get_or_none(cls.token_hash == token_hash(raw))
        if found is None or found.expired:
            return None
        return found


# -- queue tasks: ids only -----------------------------------------------------------------


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_password_link(user_id: int) -> bool:
    """Email an approved member a fresh set-your-password link, in their language."""
    from core.mail import external_url, render_message, send_message

    user = User.get_or_none(User.id == user_id)
    if user is None or not user.active or not user.email or user.password_hash:
        return False  # deleted, disabled, no address, or the password is already set
    raw = PasswordLink.issue(user)
    link = PasswordLink.usable(raw)
    url = external_url("invitations.set_password", token=raw)
    send_message(render_message(user.email, "mail/set_password.txt", user.locale, link=url, expires_at=link.expires_at))
    return True


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_invitation(invitation_id: int) -> bool:
    """Email an invitation with a fresh one-time link, in the language the administrator chose."""
    from core.mail import external_url, render_message, send_message

    invitation = Invitation.get_or_none(Invitation.id == invitation_id)
    if invitation is None:
        return False  # revoked or accepted meanwhile
    raw = invitation.issue()
    link = external_url("invitations.accept", token=raw)
    send_message(
        render_message(invitation.email, "mail/invitation.txt", invitation.locale, link=link,
                       expires_at=invitation.expires_at)
    )
    return True


# -- forms ---------------------------------------------------------------------------------


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[InputRequired(message=_l("Please enter an email address.")), Length(max=254, message=TOO_LONG)],
    )
    roles = CheckboxesField(_l("Roles"), validate_choice=False)
    locale = SelectField(_l("Language of the invitation email"), validate_choice=False)
    organisation = SelectField(_l("Organisation (optional)"), validate_choice=False)

    def validate_email(self, field):
        try:
            field.data = normalise_email(field.data)
        except InvalidIdentifier:
            raise ValidationError(_("Please enter a valid email address.")) from None

    def validate_roles(self, field):
        if not field.data:
            raise ValidationError(_("Please choose at least one role."))
        if set(field.data) - {choice.value for choice in self.roles.choices}:
            raise ValidationError(_("Please choose from the roles listed."))

    def validate_locale(self, field):
        if field.data not in current_app.config["LOCALES"]:
            raise ValidationError(_("Please choose one of the languages listed."))

    def validate_organisation(self, field):
        if (field.data or "") not in {choice.value for choice in self.organisation.choices}:
            raise ValidationError(_("Please choose one of the organisations listed."))


def _password_fields():
    return (
        PasswordField(
            _l("New password"),
            validators=[InputRequired(message=_l("Please choose a password.")), Length(max=1024, message=TOO_LONG)],
        ),
        PasswordField(
            _l("The same password again"), validators=[InputRequired(message=_l("Please type the password again."))]
        ),
    )


class AcceptForm(FlaskForm):
    working_name = StringField(
        _l("Name shown to colleagues (optional)"),
        validators=[Optional(), Length(max=100, message=_l("Please use at most %(max)d characters."))],
    )
    password, confirm = _password_fields()

    def validate_confirm(self, field):
        if field.data != self.password.data:
            raise ValidationError(_("The two passwords are not the same."))


class SetPasswordForm(FlaskForm):
    email = EmailField(_l("Email address to sign in with"), validators=[Optional(), Length(max=254, message=TOO_LONG)])
    password, confirm = _password_fields()

    def validate_confirm(self, field):
        if field.data != self.password.data:
            raise ValidationError(_("The two passwords are not the same."))


def _organisation_choices():
    from core.organisations import Organisation

    return [SelectChoice("", _("None"))] + [SelectChoice(str(row.id), row.name)
                                            for row in Organisation.select().order_by(Organisation.name)]


def _locale_choices():
    from core.i18n import language_name

    return [SelectChoice(code, language_name(code)) for code in current_app.config["LOCALES"]]


# -- administrator pages -------------------------------------------------------------------


@bp.route("/admin/invitations", methods=["GET", "POST"])
@requires(MANAGE_USERS)
def invitations():
    """Invite someone to a (staff) account, and see, resend or revoke open invitations."""
    from core.audit import record

    form = InviteForm()
    form.roles.choices = [SelectChoice(role.name, role.label) for role in roles_offered(current_app)]
    form.locale.choices = _locale_choices()
    form.organisation.choices = _organisation_choices()
    if request.method == "GET":
        form.locale.data = current_app.config["DEFAULT_LOCALE"]
    status = 200
    if form.validate_on_submit():
        email_index = User.email_lookup(form.email.data)
        if User.get_or_none(User.email_index == email_index) is not None:
            form.email.errors.append(_("An account with that email already exists."))
            status = 422
        else:
            roles = ",".join(role for role in role_table(current_app) if role in form.roles.data)
            with db.atomic():
                invitation = Invitation.get_or_none(Invitation.email_index == email_index)
                if invitation is None:
                    invitation = Invitation(email_index=email_index, email=form.email.data)
                invitation.roles = roles
                invitation.locale = form.locale.data
                invitation.organisation_id = int(form.organisation.data) if form.organisation.data else None
                invitation.invited_by = current_user.id
                invitation.created_at = utcnow()
                invitation.save()
                record("invitation.created", target=f"invitation:{invitation.id} roles:{roles}")
            queue_mail(mail_invitation, "invitation", f"invitation:{invitation.id}", invitation.id)
            flash(_("We are sending the invitation. If it cannot be sent, it will be listed under "
                    "Messages not sent."), "info")
            return redirect(url_for("invitations.invitations"), code=303)
    elif request.method == "POST":
        status = 422
    open_invitations = list(Invitation.select().order_by(Invitation.created_at.desc()))
    return (
        render_template(
            "admin/members_invitations.html", form=form, invitations=open_invitations, role_labels=role_labels()
        ),
        status,
    )


def _invitation_or_404(invitation_id: int) -> Invitation:
    invitation = Invitation.get_or_none(Invitation.id == invitation_id)
    if invitation is None:
        abort(404)
    return invitation


@bp.route("/admin/invitations/<int:invitation_id>/resend", methods=["POST"])
@requires(MANAGE_USERS)
def resend(invitation_id: int):
    from core.audit import record

    invitation = _invitation_or_404(invitation_id)
    record("invitation.resent", target=f"invitation:{invitation.id}")
    queue_mail(mail_invitation, "invitation", f"invitation:{invitation.id}", invitation.id)
    flash(_("We are sending a new link. The old link no longer works. If it cannot be sent, it will be "
            "listed under Messages not sent."), "info")
    return redirect(url_for("invitations.invitations"), code=303)


@bp.route("/admin/invitations/<int:invitation_id>/revoke", methods=["POST"])
@requires(MANAGE_USERS)
def revoke(invitation_id: int):
    from core.audit import record

    invitation = _invitation_or_404(invitation_id)
    invitation.delete_instance()
    record("invitation.revoked", target=f"invitation:{invitation_id}")
    flash(_("The invitation is withdrawn. Its link no longer works."), "info")
    return redirect(url_for("invitations.invitations"), code=303)


# -- pages reached from a link -------------------------------------------------------------


def link_not_usable():
    from core.views.errors import render_error

    return render_error(
        404,
        _("This link does not work any more. It may have been used already, or it has expired. "
          "Please ask us for a new one."),
    )


def after_password_set():
    """Send the person to sign in; staff then go on to two-factor enrolment if it is available."""
    for endpoint in ("auth.two_factor_setup", "auth.totp_setup", "auth.two_factor", "auth.enrol"):
        if endpoint in current_app.view_functions:
            return redirect(url_for("auth.login", next=url_for(endpoint)), code=303)
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/invitation/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def accept(token: str):
    """The invitee chooses a password; the account is created with the invited roles."""
    from core.accounts.service import AccountError, create_account
    from core.audit import record

    invitation = Invitation.usable(token)
    if invitation is None:
        return link_not_usable()
    form = AcceptForm()
    status = 200
    if form.validate_on_submit():
        try:
            with db.atomic():
                # Re-read under the transaction: two tabs submitting at once make one account.
                locked = Invitation.usable(token)
                if locked is None:
                    return link_not_usable()
                user = create_account(locked.email, form.password.data, locked.role_list,
                                      working_name=form.working_name.data or None)
                user.locale = locked.locale
                user.save(only=[User.locale])
                _join_organisation(user, locked.organisation_id)
                locked.delete_instance()
                record("invitation.accepted", target=f"user:{user.id}", actor_id=user.id)
        except AccountError as exc:
            form.password.errors.append(str(exc))
            status = 422
        else:
            flash(_("Your account is ready. Please sign in with your email and new password."), "info")
            return after_password_set()
    elif request.method == "POST":
        status = 422
    return render_template("account/accept_invitation.html", form=form, invitation=invitation), status


def _join_organisation(user: User, organisation_id: int | None) -> None:
    """Put the new account in the organisation the invitation named, if it still exists."""
    from core.organisations import Organisation, set_organisation

    organisation = Organisation.get_or_none(Organisation.id == organisation_id) if organisation_id else None
    if organisation is not None:
        set_organisation(user, organisation)


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def set_password(token: str):
    """An approved member sets the password of the account staff made for them."""
    from core.accounts.passwords import hash_password
    from core.accounts.service import AccountError, check_password
    from core.audit import record

    link = PasswordLink.usable(token)
    if link is None:
        return link_not_usable()
    user = link.user
    needs_email = not user.email
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        email = None
        if needs_email:
            try:
                email = normalise_email(form.email.data or "")
            except InvalidIdentifier:
                form.email.errors.append(_("Please enter an email address: you will sign in with it."))
            else:
                if User.get_or_none(User.email_index == User.email_lookup(email)) is not None:
                    form.email.errors.append(_("That email address is already used by another account."))
        try:
            check_password(form.password.data)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        if not form.email.errors and not form.password.errors:
            with db.atomic():
                if PasswordLink.usable(token) is None:
                    return link_not_usable()
                if email:
                    user.email, user.email_index = email, User.email_lookup(email)
                user.password_hash = hash_password(form.password.data)
                user.session_version += 1
                user.save()
                PasswordLink.update(used_at=utcnow()).where(PasswordLink.id == link.id).execute()
                PasswordLink.delete().where((PasswordLink.user == user) & PasswordLink.used_at.is_null()).execute()
                record("account.password_set", target=f"user:{user.id}", actor_id=user.id)
            flash(_("Your password is set. Please sign in."), "info")
            return after_password_set()
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("account/set_password.html", form=form, needs_email=needs_email), status
