"""Web forms of the alerts plugin (Flask-WTF, so every POST carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.form_fields import CheckboxesField
from plugins.alerts import _, _l


class CheckForm(FlaskForm):
    identifier = StringField(
        _l("Phone number, e-mail, number plate or online name"),
        validators=[DataRequired(message=_l("Please enter what you want to check.")), Length(max=254)],
    )
    kind = SelectField(
        _l("What is it?"),
        choices=[SelectChoice("", _l("Work it out for me")), SelectChoice("phone", _l("Phone number")),
                 SelectChoice("email", _l("E-mail address")), SelectChoice("plate", _l("Number plate")),
                 SelectChoice("handle", _l("Online name or profile")), SelectChoice("website", _l("Website"))],
        default="",
    )


class HowField(RadioField):
    """One choice of how to be told (subscriptions.HOW_CHANNELS). A page from before this was one
    question sent ticks (channels=email&channels=web); those still read as the choice they meant."""

    def process_formdata(self, valuelist):
        if len(valuelist) > 1:
            sent = [value for value in ("email", "sms") if value in valuelist]
            valuelist = ["both" if len(sent) == 2 else (sent[0] if sent else valuelist[0])]
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.data not in {choice.value for choice in self.choices or []}:
            raise ValidationError(_("Please choose how you want to be told about new alerts."))


class SubscriptionForm(FlaskForm):
    channels = HowField(_l("How should we tell you about a new alert?"), validate_choice=True)
    all_regions = BooleanField(_l("All regions, now and later"))
    regions = CheckboxesField(_l("Regions"))
    frequency = RadioField(
        _l("How often?"),
        choices=[SelectChoice("immediate", _l("Straight away")),
                 SelectChoice("daily", _l("Once a day, in one message"))],
        default="immediate",
    )
    sms_number = TelField(_l("Mobile number for text messages"), validators=[Optional(), Length(max=40)])


class NewAlertForm(FlaskForm):
    reports = CheckboxesField(_l("Reports this alert is about"))
    summary = TextAreaField(
        _l("Summary for members"),
        validators=[DataRequired(message=_l("Please write a summary for members.")), Length(max=5000)],
    )
    include_perpetrators = BooleanField(
        _l("Start with the phone numbers, e-mails, plates and online names given in these reports"), default=True)


class NewNoticeForm(FlaskForm):
    category = SelectField(_l("What is this notice about?"),
                           validators=[DataRequired(message=_l("Please choose what this notice is about."))])
    summary = TextAreaField(
        _l("Summary for members"),
        validators=[DataRequired(message=_l("Please write a summary for members.")), Length(max=5000)],
    )
    regions = CheckboxesField(_l("Regions"))
    reports = CheckboxesField(_l("Reports it is based on (optional)"))


class AlertForm(FlaskForm):
    category = SelectField(_l("What is this notice about?"), validators=[Optional()], default="")
    title = StringField(_l("Headline"), validators=[Optional(), Length(max=200)])
    summary = TextAreaField(_l("Summary for members"), validators=[Length(max=5000)])
    severity = RadioField(_l("Severity"), choices=[SelectChoice("low", _l("Be aware")),
                                                   SelectChoice("medium", _l("Take care")),
                                                   SelectChoice("high", _l("Serious danger"))], default="medium")
    incident_types = CheckboxesField(_l("What happened"))
    regions = CheckboxesField(_l("Regions"))
    occurred_on = DateField(_l("Date it happened"), validators=[Optional()])
    expires_on = DateField(_l("Show until"), validators=[Optional()])
    review_on = DateField(_l("Review on"), validators=[Optional()])
    identifiers = TextAreaField(
        _l("Phone numbers, e-mails, plates, online names and websites to publish"),
        validators=[Length(max=5000)],
    )
    perpetrators = HiddenField()  # filled from the per-person fields by the view


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why (for staff only)"), validators=[Length(max=1000)])


class FeedTokenForm(FlaskForm):
    """A new partner feed token: for one of the organisations (core.organisations), or, where none
    fits, a name typed in."""

    organisation = SelectField(_l("Partner organisation"), validate_choice=False)
    label = StringField(_l("Its name, if it is not listed"), validators=[Length(max=120)])

    def validate_organisation(self, field):
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError(_("Please choose one of the organisations listed."))

    def validate_label(self, field):
        if not self.organisation.data and not (field.data or "").strip():
            raise ValidationError(_("Please choose the partner organisation, or type its name."))


class PublishForm(FlaskForm):
    """Publish exactly the previewed alert: the version and content digest the preview showed."""

    version = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired(), Length(max=64)])


class EmptyForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
