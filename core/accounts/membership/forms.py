"""The membership forms: applying (public), approving and declining (staff)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from core.accounts.membership.settings import choice_label, core_settings
from core.form_fields import CheckboxesField
from core.identifiers import InvalidIdentifier, normalise_email, normalise_mobile

TOO_LONG = _l("Please use at most %(max)d characters.")


def check_mobile(field) -> None:
    """A form field's check: empty, or a mobile number we can text, kept in E.164 (the application
    form and the profile page)."""
    if field.data:
        try:
            field.data = normalise_mobile(field.data, current_app.config["DEFAULT_COUNTRY"])
        except InvalidIdentifier:
            raise ValidationError(_("Please enter a mobile number we can text, like 07911 123456.")) from None


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
        check_mobile(field)

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


def fill_choices(form: ApplicationForm) -> None:
    settings = core_settings()
    form.work_types.choices = [SelectChoice(value, choice_label(value)) for value in settings["work_types"]]
    form.region.choices = [SelectChoice("", _("Choose a region"))] + [
        SelectChoice(value, choice_label(value)) for value in settings["regions"]]
