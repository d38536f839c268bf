"""Membership, as National Ugly Mugs runs it: sex workers apply, staff approve or decline.

The public form (/join) asks for a working name (never a legal name), an email and/or a mobile
number, how the person works and where. Everything they give is encrypted; the email and the
mobile are also kept as blind indexes, so staff see when an application repeats an earlier one
or an existing account without anyone's details being stored in clear.

Staff holding "admin.members" (administrators and moderators) work through the queue at
/admin/members: approving makes a member account and sends a one-time set-your-password link
(core.accounts.invitations); declining keeps the application, with an optional reason, until the
retention period (core setting declined_retention_days) has passed, then core.retention deletes
it. An instance switches the form off with the core setting accept_applications.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import Schema, fields
from marshmallow.validate import Length as SchemaLength
from marshmallow.validate import Range
from peewee import CharField, DateTimeField, IntegerField
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from core.accounts.invitations import CheckboxesField, PasswordLink, mail_password_link
from core.accounts.models import User
from core.crypto import EncryptedTextField, keyring
from core.db import BaseModel, db, utcnow
from core.i18n import current_language
from core.identifiers import InvalidIdentifier, normalise_email, normalise_mobile, normalise_phone
from core.mail import MAIL_RETRIES, MAIL_RETRY_DELAY, queue_mail, tracked
from core.permissions import PUBLIC, requires
from core.queue import task

log = logging.getLogger("redumbrella.membership")
bp = Blueprint("membership", __name__)
MANAGE_MEMBERS = "admin.members"
SEE_ACCOUNTS = "admin.users"  # told that an application matches an account: they can list accounts anyway
PHONE_KIND = "account-phone"
TOO_LONG = _l("Please use at most %(max)d characters.")

# The default lists; an instance edits them on its core settings page. Entries that keep these
# English values are shown translated; entries an administrator adds are shown as written.
WORK_TYPES = {
    "Independent escort": _l("Independent escort"),
    "Agency": _l("Agency"),
    "Street-based": _l("Street-based"),
    "Massage parlour or sauna": _l("Massage parlour or sauna"),
    "Online or webcam": _l("Online or webcam"),
    "Other": _l("Other"),
}
REGIONS = {
    "London": _l("London"),
    "South East England": _l("South East England"),
    "South West England": _l("South West England"),
    "East of England": _l("East of England"),
    "East Midlands": _l("East Midlands"),
    "West Midlands": _l("West Midlands"),
    "Yorkshire and the Humber": _l("Yorkshire and the Humber"),
    "North West England": _l("North West England"),
    "North East England": _l("North East England"),
    "Scotland": _l("Scotland"),
    "Wales": _l("Wales"),
    "Northern Ireland": _l("Northern Ireland"),
    "Outside the UK": _l("Outside the UK"),
}
KNOWN_LABELS = {**WORK_TYPES, **REGIONS}


def choice_label(value: str):
    """The words shown for a configured list entry: translated when it is one of the defaults."""
    return KNOWN_LABELS.get(value, value)


# -- core settings -------------------------------------------------------------------------


def _entries(label, help_text, default: dict):
    return fields.List(
        fields.String(validate=SchemaLength(min=1, max=80, error=_l("Each entry must be 1 to 80 characters."))),
        load_default=lambda: list(default),
        validate=SchemaLength(min=1, error=_l("Please give at least one entry, one a line.")),
        error_messages={"invalid": _l("Please give one entry a line.")},
        metadata={"label": label, "help": help_text},
    )


class CoreSettings(Schema):
    """The core plugin's settings page (/admin/plugins/core/settings)."""

    accept_applications = fields.Boolean(
        load_default=True,
        metadata={
            "label": _l("Accept membership applications"),
            "help": _l("When this is off, the application form says that applications are closed."),
        },
    )
    work_types = _entries(
        _l("Ways of working (application form)"),
        _l("One a line. People may tick several."),
        WORK_TYPES,
    )
    regions = _entries(_l("Regions (application form)"), _l("One a line."), REGIONS)
    declined_retention_days = fields.Integer(
        load_default=30,
        validate=Range(min=1, max=3650, error=_l("Please enter a number of days from {min} to {max}.")),
        error_messages={"invalid": _l("Please enter a whole number.")},
        metadata={
            "label": _l("Days to keep declined applications"),
            "help": _l("After this many days a declined application is deleted for good."),
        },
    )
    contact = fields.List(
        fields.String(validate=SchemaLength(min=1, max=200, error=_l("Each line must be 1 to 200 characters."))),
        load_default=list,
        validate=SchemaLength(max=12, error=_l("Please use at most {max} lines.")),
        error_messages={"invalid": _l("Please give one entry a line.")},
        metadata={
            "label": _l("How people can reach your team"),
            "help": _l("Phone numbers, e-mail, opening hours, a safe place to drop in: one a line. They are shown "
                       "on a Contact us page linked from every page. Leave empty to have no such page."),
        },
    )
    link_valid_hours = fields.Integer(
        load_default=72,
        validate=Range(min=1, max=720, error=_l("Please enter a number of hours from {min} to {max}.")),
        error_messages={"invalid": _l("Please enter a whole number.")},
        metadata={
            "label": _l("Hours an invitation or set-password link works"),
            "help": _l("Each link works once, and only for this long."),
        },
    )


def core_settings() -> dict:
    from core.settings import plugin_settings

    return plugin_settings("core")


# -- the application -----------------------------------------------------------------------


class MembershipApplication(BaseModel):
    working_name = EncryptedTextField()
    email = EncryptedTextField(null=True)
    email_index = CharField(max_length=64, null=True, index=True)  # same kind as User.email_index
    phone = EncryptedTextField(null=True)
    phone_index = CharField(max_length=64, null=True, index=True)
    work_types = EncryptedTextField(null=True)  # a JSON list
    region = EncryptedTextField(null=True)
    note = EncryptedTextField(null=True)
    locale = CharField(max_length=16)
    status = CharField(max_length=16, default="pending", index=True)  # pending, declined
    created_at = DateTimeField(default=utcnow, index=True)
    decided_at = DateTimeField(null=True, index=True)
    decided_by = IntegerField(null=True)
    decline_reason = EncryptedTextField(null=True)

    @property
    def work_type_list(self) -> list[str]:
        return json.loads(self.work_types) if self.work_types else []


def phone_lookup(normalised: str) -> str:
    return keyring().blind_index(PHONE_KIND, normalised)


def may_see_accounts() -> bool:
    """Whether the signed-in person may be told that an application matches an existing account."""
    from flask_login import current_user

    from core.permissions import user_has

    return user_has(current_app, current_user, SEE_ACCOUNTS)


def duplicates(application: MembershipApplication, include_accounts: bool = False) -> list[dict]:
    """Earlier applications with the same email or mobile and, only when include_accounts, that an
    account has it too (never which one).

    Applications are what everyone reviewing them sees anyway. Whether an address has an account
    is not: the join form is public, so anyone holding admin.members could apply with someone's
    email and read the answer here. So only those who can list every account (admin.users) are
    told, and approving answers the same either way (see approve).
    """
    from core.accounts.profile import AccountProfile

    found = []
    A = MembershipApplication
    for kind, index, column in (("email", application.email_index, A.email_index),
                                ("mobile", application.phone_index, A.phone_index)):
        if not index:
            continue
        for other in A.select(A.id, A.status).where((column == index) & (A.id != application.id)).order_by(A.id):
            found.append({"kind": kind, "what": "application", "id": other.id, "status": other.status})
        if not include_accounts:
            continue
        if kind == "email":
            users = User.select(User.id).where(User.email_index == index)
        else:
            users = User.select(User.id).join(AccountProfile).where(AccountProfile.phone_index == index)
        if users.exists():
            found.append({"kind": kind, "what": "account"})
    return found


class ApplicationForm(FlaskForm):
    working_name = StringField(
        _l("Your working name"),
        validators=[InputRequired(message=_l("Please tell us what to call you.")), Length(max=100, message=TOO_LONG)],
    )
    email = EmailField(_l("Email address"), validators=[Optional(), Length(max=254, message=TOO_LONG)])
    mobile = TelField(_l("Mobile number"), validators=[Optional(), Length(max=40, message=TOO_LONG)])
    work_types = CheckboxesField(_l("How do you work?"), validate_choice=False)
    region = SelectField(_l("Where do you mostly work?"), validate_choice=False)
    note = TextAreaField(
        _l("Anything else you would like us to know (optional)"),
        validators=[Optional(), Length(max=2000, message=TOO_LONG)],
    )

    def validate_email(self, field):
        if field.data:
            try:
                field.data = normalise_email(field.data)
            except InvalidIdentifier:
                raise ValidationError(_("Please enter a valid email address, like name@example.org.")) from None

    def validate_mobile(self, field):
        if field.data:
            try:
                field.data = normalise_mobile(field.data, current_app.config["DEFAULT_COUNTRY"])
            except InvalidIdentifier:
                raise ValidationError(_("Please enter a mobile number we can text, like 07911 123456.")) from None

    def validate_work_types(self, field):
        allowed = set(core_settings()["work_types"])
        if not field.data:
            raise ValidationError(_("Please tick at least one."))
        if set(field.data) - allowed:
            raise ValidationError(_("Please choose from the list."))

    def validate_region(self, field):
        if field.data not in core_settings()["regions"]:
            raise ValidationError(_("Please choose a region from the list."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.email.data and not self.mobile.data and not self.email.errors and not self.mobile.errors:
            self.email.errors.append(
                _("Please give an email address or a mobile number (or both), so we can reach you.")
            )
            valid = False
        return valid


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Optional(), Length(max=1000, message=TOO_LONG)])
    notify = BooleanField(_l("Send them a message that the application was not accepted"), default=True)


class ApproveForm(FlaskForm):
    pass


def _fill_choices(form: ApplicationForm) -> None:
    settings = core_settings()
    form.work_types.choices = [(value, choice_label(value)) for value in settings["work_types"]]
    form.region.choices = [("", _("Choose a region"))] + [(value, choice_label(value)) for value in settings["regions"]]


def applications_closed():
    return render_template("account/apply_closed.html"), 404


APPLY_SCOPE = "apply-address"
APPLY_LIMIT_SETTING = "APPLY_MAX_PER_ADDRESS"  # per sign-in throttle window (15 minutes by default)


def _applications_from_here() -> tuple[str, int]:
    """The throttle key of this client's address and how many applications it sent lately.

    Counted in the sign-in throttle's table under a scope of its own, with the address only as a
    keyed hash, so a flood from one address cannot fill the queue; other addresses are unaffected.
    """
    from core.accounts import throttle

    key = throttle.address_key(kind="apply")
    since = utcnow() - throttle.window()
    attempts = throttle.LoginAttempt
    count = attempts.select().where(
        (attempts.scope == APPLY_SCOPE) & (attempts.key == key) & (attempts.created_at >= since)
    ).count()
    return key, count


# -- public pages --------------------------------------------------------------------------


@bp.route("/join", methods=["GET", "POST"])
@requires(PUBLIC)
def apply():
    """The membership application form."""
    if not core_settings()["accept_applications"]:
        return applications_closed()
    form = ApplicationForm()
    _fill_choices(form)
    if request.method == "POST":
        throttle_key, recent = _applications_from_here()
        if recent >= current_app.config[APPLY_LIMIT_SETTING]:
            flash(_("Many applications were sent from this connection just now. Please wait a few minutes and "
                    "try again."), "error")
            return render_template("account/apply.html", form=form), 429
    if form.validate_on_submit():
        from core.accounts.throttle import LoginAttempt

        LoginAttempt.create(scope=APPLY_SCOPE, key=throttle_key, created_at=utcnow())
        country = current_app.config["DEFAULT_COUNTRY"]
        email = form.email.data or None
        phone = normalise_phone(form.mobile.data, country) if form.mobile.data else None
        application = MembershipApplication.create(
            working_name=form.working_name.data.strip(),
            email=email,
            email_index=User.email_lookup(email) if email else None,
            phone=phone,
            phone_index=phone_lookup(phone) if phone else None,
            work_types=json.dumps(form.work_types.data),
            region=form.region.data,
            note=(form.note.data or "").strip() or None,
            locale=current_language(),
        )
        log.info("membership application received", extra={"event": "membership_applied"})
        from core.audit import record

        record("membership.applied", target=f"application:{application.id}", actor_id=None)
        return redirect(url_for("membership.applied"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/apply.html", form=form), status


@bp.route("/join/thanks")
@requires(PUBLIC)
def applied():
    if not core_settings()["accept_applications"]:
        return applications_closed()
    return render_template("account/applied.html")


# -- staff pages ---------------------------------------------------------------------------


@bp.route("/admin/members")
@requires(MANAGE_MEMBERS)
def queue():
    """Applications waiting for a decision, oldest first."""
    A = MembershipApplication
    pending = list(A.select().where(A.status == "pending").order_by(A.created_at))
    declined = A.select().where(A.status == "declined").count()
    accounts = may_see_accounts()
    rows = [{"application": item, "duplicates": duplicates(item, accounts)} for item in pending]
    return render_template("admin/members.html", rows=rows, declined=declined,
                           accepting=core_settings()["accept_applications"])


def _pending_or_404(application_id: int) -> MembershipApplication:
    A = MembershipApplication
    found = A.get_or_none((A.id == application_id) & (A.status == "pending"))
    if found is None:
        abort(404)
    return found


@bp.route("/admin/members/applications/<int:application_id>")
@requires(MANAGE_MEMBERS)
def application(application_id: int):
    """One application in full; every view is recorded in the audit log."""
    from core.audit import record

    found = _pending_or_404(application_id)
    record("membership.application_viewed", target=f"application:{found.id}")
    return render_template(
        "admin/members_application.html",
        application=found,
        duplicates=duplicates(found, may_see_accounts()),
        approve_form=ApproveForm(),
        decline_form=DeclineForm(),
        label=choice_label,
    )


def approved_by_email_message() -> str:
    """What staff read after approving an application that gave an email address, whether or not
    the address already had an account (one answer, so approving cannot be used to look it up)."""
    return _("Approved. We are sending them a link to set their password. If it cannot be sent, it will "
             "be listed under Messages not sent.")


@bp.route("/admin/members/applications/<int:application_id>/approve", methods=["POST"])
@requires(MANAGE_MEMBERS)
def approve(application_id: int):
    """Make a member account from the application, then delete the application."""
    from core.accounts.profile import AccountProfile
    from core.audit import record

    found = _pending_or_404(application_id)
    existing = User.get_or_none(User.email_index == found.email_index) if found.email_index else None
    if existing is not None:
        # The address already has an account. Saying so here would make the public form a way to
        # look anyone up, so staff get the same answer as for a new member and no account is
        # made; the address's owner is told by e-mail, with a link to choose a new password.
        with db.atomic():
            found.delete_instance()
            record("membership.approved_existing_account", target=f"application:{application_id} user:{existing.id}")
        queue_mail(mail_existing_account, "existing_account", f"user:{existing.id}", existing.id)
        flash(approved_by_email_message(), "info")
        return redirect(url_for("membership.queue"), code=303)
    with db.atomic():
        user = User.create(
            email=found.email,
            email_index=found.email_index,
            working_name=found.working_name,
            password_hash=None,
            locale=found.locale,
        )
        user.grant("member")
        AccountProfile.create(
            user=user,
            phone=found.phone,
            phone_index=found.phone_index,
            contact_email=bool(found.email),
            contact_sms=bool(found.phone),
            region=found.region,
            work_types=found.work_types,
        )
        found.delete_instance()
        record("membership.approved", target=f"application:{application_id} user:{user.id}")
        link = None if user.email else PasswordLink.issue(user)
    if user.email:
        queue_mail(mail_password_link, "set_password", f"user:{user.id}", user.id)
        flash(approved_by_email_message(), "info")
        return redirect(url_for("membership.queue"), code=303)
    from core.mail import external_url

    # No email: staff pass the one-time link on (by text message, for example). Shown once.
    return render_template(
        "admin/members_approved.html",
        link=external_url("invitations.set_password", token=link),
        hours=int(core_settings()["link_valid_hours"]),
    )


@bp.route("/admin/members/applications/<int:application_id>/decline", methods=["POST"])
@requires(MANAGE_MEMBERS)
def decline(application_id: int):
    from core.audit import record

    found = _pending_or_404(application_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return render_template(
            "admin/members_application.html",
            application=found,
            duplicates=duplicates(found, may_see_accounts()),
            approve_form=ApproveForm(),
            decline_form=form,
            label=choice_label,
        ), 422
    found.status = "declined"
    found.decided_at = utcnow()
    found.decided_by = current_user.id
    found.decline_reason = (form.reason.data or "").strip() or None
    found.save()
    record("membership.declined", target=f"application:{found.id}")
    if form.notify.data and found.email:
        queue_mail(mail_application_declined, "application_declined", f"application:{found.id}", found.id)
    flash(_("Declined."), "info")
    return redirect(url_for("membership.queue"), code=303)


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_application_declined(application_id: int) -> bool:
    """Tell an applicant, in their language, that the application was not accepted."""
    from core.mail import render_message, send_message

    found = MembershipApplication.get_or_none(MembershipApplication.id == application_id)
    if found is None or found.status != "declined" or not found.email:
        return False
    send_message(render_message(found.email, "mail/application_declined.txt", found.locale,
                                reason=found.decline_reason))
    return True


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_existing_account(user_id: int) -> bool:
    """Tell an account holder that an application with their address was approved while they
    already have an account: nothing new was made; a link lets them choose a new password."""
    from core.accounts import reset
    from core.mail import external_url, render_message, send_message

    user = User.get_or_none(User.id == user_id)
    if user is None or not user.active or not user.email:
        return False
    url = external_url("auth.reset_password", token=reset.make_token(user))
    send_message(render_message(user.email, "mail/application_existing_account.txt", user.locale, link=url,
                                minutes=reset.link_minutes()))
    return True


def retention_rules() -> list:
    """Declined applications and spent links are deleted for good after their time."""
    import datetime

    from core.accounts.invitations import Invitation
    from core.retention import RetentionRule, days_setting

    return [
        RetentionRule(
            model=MembershipApplication,
            age_field=MembershipApplication.decided_at,
            max_age=days_setting("core", "declined_retention_days"),
            condition=lambda: MembershipApplication.status == "declined",
            label="declined membership applications",
        ),
        RetentionRule(
            model=PasswordLink,
            age_field=PasswordLink.expires_at,
            max_age=datetime.timedelta(days=1),
            label="used or expired set-password links",
        ),
        RetentionRule(
            model=Invitation,
            age_field=Invitation.expires_at,
            max_age=datetime.timedelta(days=30),
            label="expired invitations",
        ),
    ]
