"""Marshmallow schemas of the alerts plugin: its settings, and the API's input and output.

Input schemas subclass core.api.ApiSchema (unknown fields refused, messages translated) and use
core's checked fields (core.fields: capped text, codes from the reporting plugin's configured lists).
"""

from __future__ import annotations

from functools import partial

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from core.api import ApiSchema
from core.fields import (
    Code,
    FutureDate,
    IsoDate,
    PastDate,
    StrictBoolean,
    Text,
    bounded_list,
    code_lines,
    setting_number,
)
from core.identifiers import KINDS, InvalidIdentifier, NotAMobile, normalise_mobile
from plugins.alerts import _, _l
from plugins.alerts.models import ALERT_KINDS, CHANNELS, FREQUENCIES, SEVERITIES, STATUSES
from plugins.reporting.options import parse_line  # alerts requires reporting

MAX_SUMMARY = 5_000
MAX_TITLE = 200


# -- settings ----------------------------------------------------------------------------------

# What a safety notice (an alert not about one person) can be about: the default list of the
# notice_categories setting. A listed code shows this translated name; "code | Name" adds an
# instance's own, shown as written (as the reporting plugin's lists do).
NOTICE_CATEGORIES = {
    "pattern": _l("A pattern of attacks or robberies in an area"),
    "fake_advertiser": _l("Fake agency or advertiser"),
    "scam": _l("Scam or fraud"),
    "unsafe_venue": _l("Unsafe place or venue"),
    "operation": _l("Police or immigration operation"),
    "harm_reduction": _l("Harm reduction (drugs, health)"),
    "other": _l("Something else"),
}


_number = setting_number


def _wording(label, help_text) -> fields.String:
    return fields.String(load_default="", validate=validate.Length(max=300),
                         metadata={"label": label, "help": help_text})


class AlertsSettings(Schema):
    check_limit_account = _number(30, _l("Checks per account per day"),
                                  _l("After this many checks in a day, an account is asked to wait until tomorrow."),
                                  1, 1_000_000_000)
    check_limit_address = _number(30, _l("Checks per internet address per day"),
                                  _l("The same limit for everything coming from one address."), 1, 1_000_000_000)
    similar_warning = _number(8, _l("Warn staff after this many similar checks"),
                              _l("Numbers that differ only in their last digits, checked by one account in a day."),
                              2, 1_000_000)
    check_peers = fields.Boolean(load_default=False, metadata={
        "label": _l("Check numbers with our peers too"),
        "help": _l("A member's check also asks the instances we exchange alerts with, without the number ever "
                   "leaving this instance. The answer looks the same as a local one."),
    })
    peer_check_limit = _number(30, _l("Checks a peer instance may ask per day"),
                               _l("Each question from a peer instance counts, however many members it has. 0: "
                                  "answer none."), 0, 1_000_000_000)
    peer_check_warning = _number(20, _l("Warn staff after this many checks from one peer in a day"),
                                 _l("A peer's questions are blinded, so they cannot be watched for similar numbers "
                                    "as a member's are: a peer that asks a lot is shown to staff instead."),
                                 1, 1_000_000_000)
    default_expiry_days = _number(180, _l("Alerts end after (days)"),
                                  _l("A new alert's end date, which moderators can change. 0: no end date."), 0, 3650)
    digest_hour = _number(18, _l("Daily digest hour"),
                          _l("Hour of the day (0 to 23, the instance's time zone) the daily digest goes out."), 0, 23)
    email_subject = _wording(_l("E-mail subject"), _l("Leave empty for our neutral, translated wording. It shows on "
                                                      "lock screens: keep it neutral."))
    email_text = _wording(_l("E-mail text"), _l("Leave empty for our neutral, translated wording. {link} is replaced "
                                                "by the link."))
    sms_text = _wording(_l("Text message"), _l("Leave empty for our neutral, translated wording. {link} is replaced "
                                               "by the link. Keep it short."))
    email_details = fields.Boolean(load_default=False, metadata={
        "label": _l("Put the alert's details in the e-mail"),
        "help": _l("Off: the e-mail only says there is something new, with a link. On: the title, regions and "
                   "summary follow a few blank lines below."),
    })
    max_attempts = _number(8, _l("Delivery attempts"), _l("A message that failed this many times is shown to staff "
                                                          "as failed."), 1, 50)
    retry_seconds = _number(60, _l("First retry after (seconds)"),
                            _l("Each later retry waits twice as long, up to six hours."), 1, 3600)
    keep_check_days = _number(30, _l("Keep check records for (days)"),
                              _l("Records of checks (never the number checked) are deleted after this. 0 keeps "
                                 "them."), 0, 3650)
    keep_delivery_days = _number(90, _l("Keep sent messages' records for (days)"),
                                 _l("Records of sent, failed or cancelled messages are deleted after this. 0 keeps "
                                    "them."), 0, 3650)
    claim_lease_seconds = _number(600, _l("Worker lease (seconds)"),
                                  _l("Messages held by a worker that has stopped answering for this long are "
                                     "handed to another."), 30, 86400)
    notice_categories = code_lines(
        NOTICE_CATEGORIES, _l("Safety notice categories"),
        _l("What a safety notice (not about one person) can be about. One a line. A listed code shows our "
           "translated name; write “code | Name” to add your own."), parse_line)


# -- API input ---------------------------------------------------------------------------------


def _unknown_code(code: str) -> str:
    return _("“%(code)s” is not one of this service's codes.", code=code[:64])


def _choice_codes(kind: str):
    from plugins.alerts.labels import choice_labels

    return choice_labels(kind)


def _code(kind: str) -> Code:
    """A code from one of the reporting plugin's configured lists (regions, incident types)."""
    return Code(partial(_choice_codes, kind), unknown=_unknown_code,
                metadata={"description": f"A code from GET /{kind.replace('_', '-')}."})


def _notice_categories():
    from plugins.alerts.labels import notice_category_labels

    return notice_category_labels()


def _category(**kwargs) -> Code:
    """A code from the notice_categories setting."""
    metadata = {"description": "A safety notice's category: a code from the module's notice_categories setting "
                               "(pattern, fake_advertiser, scam, unsafe_venue, operation, harm_reduction, other by "
                               "default).", **kwargs.pop("metadata", {})}
    return Code(_notice_categories, unknown=_unknown_code, metadata=metadata, **kwargs)


class Phone(Text):
    """A mobile number for text messages in any usual form, returned in E.164: a number in use
    (phonenumbers' is_valid_number) of mobile type, so a mistyped "12345" never becomes +4412345
    and texts a stranger."""

    def _deserialize(self, value, attr, data, **kwargs):
        from flask import current_app

        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        try:
            return normalise_mobile(text, current_app.config["DEFAULT_COUNTRY"])
        except InvalidIdentifier as exc:
            raise ValidationError(sms_number_message(exc)) from None


def sms_number_message(error: InvalidIdentifier) -> str:
    """What to tell someone whose text-message number was refused (the API and the page alike)."""
    if isinstance(error, NotAMobile):
        return _("Text messages can only go to a mobile number, and this looks like a landline or another "
                 "kind of number. Please check it.")
    return _("This does not look like a mobile number. Please check it and write the whole number, with the "
             "country code if it is from another country.")


def _one_of(choices) -> validate.Validator:
    def check(value):
        if value not in choices:
            raise ValidationError(_("Please choose one of: %(choices)s.", choices=", ".join(choices)))

    return check


def _list(inner, max_items: int = 20, **kwargs) -> fields.List:
    return bounded_list(inner, max_items, **kwargs)


class EndDate(IsoDate):
    """An alert's end date (YYYY-MM-DD). One that has passed is refused by the service
    (content.value_problems), with the message that points to Withdraw, for the API and the web
    form alike."""


class CheckInSchema(ApiSchema):
    identifier = Text(max_length=254, required=True, allow_none=False, refuse_empty=False,
                      metadata={"description": "A phone number, e-mail address, number plate, online handle or "
                                               "website."})
    kind = fields.String(validate=_one_of(KINDS), metadata={
        "description": "Optional: phone, email, plate, handle or website. Without it, every kind the text can be "
                       "is tried."})


class SubscriptionInSchema(ApiSchema):
    regions = _list(_code("regions"), max_items=100, load_default=list)
    all_regions = StrictBoolean(load_default=False, metadata={"description": "Every region, now and later."})
    channels = _list(fields.String(validate=_one_of(CHANNELS)), max_items=3, load_default=lambda: ["web"],
                     metadata={"description": "email and sms are messages (email needs an address on the "
                                              "account, sms a service that sends texts and sms_number); web: the "
                                              "alert list opens on the caller's region. The web page saves "
                                              "[email, web], [sms, web], [email, sms, web] or [web]."})
    frequency = fields.String(load_default="immediate", validate=_one_of(FREQUENCIES),
                              metadata={"description": "immediate, or daily for one digest a day."})
    sms_number = Phone(max_length=40, metadata={"description": "Needed when channels has sms."})

    @post_load
    def _clean(self, data, **kwargs):
        data["regions"] = list(dict.fromkeys(data["regions"]))
        data["channels"] = list(dict.fromkeys(data["channels"]))
        return data


class IdentifierInSchema(ApiSchema):
    kind = fields.String(required=True, validate=_one_of(KINDS))
    value = Text(max_length=254, required=True, allow_none=False, refuse_empty=False)


class DescriptionInSchema(ApiSchema):
    gender = Text()
    age_range = Text()
    height = Text()
    build = Text()
    hair = Text()
    features = Text(max_length=1000, multiline=True)
    languages = Text()


class VehicleInSchema(ApiSchema):
    make = Text()
    model = Text()
    colour = Text()


class PerpetratorInSchema(ApiSchema):
    description = fields.Nested(DescriptionInSchema, allow_none=True)
    vehicle = fields.Nested(VehicleInSchema, allow_none=True)


class AlertFieldsSchema(ApiSchema):
    title = Text(max_length=MAX_TITLE, metadata={"description": "A short headline; empty: made from the types."})
    summary = Text(max_length=MAX_SUMMARY, multiline=True,
                   metadata={"description": "What members should know, written by a moderator."})
    severity = fields.String(validate=_one_of(SEVERITIES), metadata={"description": "low, medium or high."})
    regions = _list(_code("regions"), max_items=50)
    incident_types = _list(_code("incident_types"), max_items=20)
    occurred_on = PastDate(allow_none=True)
    expires_on = EndDate(allow_none=True, metadata={
        "description": "After this day the alert is no longer shown. Today or later: to take it down, withdraw it."})
    review_on = FutureDate(allow_none=True, metadata={"description": "A reminder for staff to look at it again."})
    identifiers = _list(fields.Nested(IdentifierInSchema), max_items=30)
    perpetrators = _list(fields.Nested(PerpetratorInSchema), max_items=10, metadata={
        "description": "Alerts about a person only: a safety notice describes no person (422)."})
    category = _category(allow_none=True, metadata={"description": "Safety notices only (422 on an alert about "
                                                                   "a person)."})
    distribution = fields.String(validate=validate.Length(max=80), metadata={
        "description": "Who it is shared with once published: \"local\" (this instance only, the default), "
                       "\"peers\" (every peer instance) or \"group:NAME\" (a sharing group). Peers get what "
                       "members see of it, never its identifiers, reports or moderators (docs/federation.md)."})
    may_pass_on = StrictBoolean(metadata={"description": "Whether peers may pass it on to their own peers "
                                                         "(default false)."})


class AlertCreateSchema(AlertFieldsSchema):
    reports = _list(Text(max_length=16, allow_none=False, refuse_empty=False), max_items=20, required=True,
                    metadata={"description": "References of verified reports whose reporter agreed to a warning."})
    summary = Text(max_length=MAX_SUMMARY, multiline=True, required=True, allow_none=False, refuse_empty=False)
    include_perpetrators = StrictBoolean(load_default=True, metadata={
        "description": "Copy the phone numbers, e-mails, plates and online names the reports give for the "
                       "perpetrator (default true). Their description and vehicle are the reporter's own words "
                       "and are never copied: write them in `perpetrators` yourself."})

    @validates_schema
    def _summary_given(self, data, **kwargs):
        if not (data.get("summary") or "").strip():
            raise ValidationError({"summary": [_("Please write a summary for members.")]})


class NoticeCreateSchema(AlertFieldsSchema):
    """POST /notices: a safety notice, about a condition rather than one person."""

    reports = _list(Text(max_length=16, allow_none=False, refuse_empty=False), max_items=50, load_default=list,
                    metadata={"description": "Optional: references of verified reports whose reporter agreed to a "
                                             "warning, when the notice is about a pattern. None: the notice comes "
                                             "from the group's own knowledge."})
    summary = Text(max_length=MAX_SUMMARY, multiline=True, required=True, allow_none=False, refuse_empty=False)
    category = _category(required=True, allow_none=False)

    @validates_schema
    def _summary_given(self, data, **kwargs):
        if not (data.get("summary") or "").strip():
            raise ValidationError({"summary": [_("Please write a summary for members.")]})


class WithdrawInSchema(ApiSchema):
    reason = Text(max_length=1000, multiline=True, metadata={"description": "For staff; never shown to members."})


# -- API output (for the OpenAPI document) --------------------------------------------------------


class CodeLabel(Schema):
    code = fields.String()
    label = fields.String()


class IdentifierOut(Schema):
    kind = fields.String(metadata={"enum": list(KINDS)})
    value = fields.String()


class PerpetratorOut(Schema):
    description = fields.Dict(keys=fields.String(), values=fields.String())
    vehicle = fields.Dict(keys=fields.String(), values=fields.String())


class AlertOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(ALERT_KINDS), "description": "person: a warning about someone "
                                   "who did harm; notice: a safety notice about a condition (an area, a scam, a "
                                   "venue...)."})
    kind_label = fields.String(metadata={"description": "The kind in words, translated."})
    category = fields.Nested(CodeLabel, allow_none=True, metadata={"description": "A notice's category; null on "
                                                                                  "an alert about a person."})
    title = fields.String()
    summary = fields.String()
    severity = fields.String(metadata={"enum": list(SEVERITIES)})
    severity_label = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    incident_types = fields.List(fields.Nested(CodeLabel))
    occurred_on = fields.Date(allow_none=True)
    regions = fields.List(fields.Nested(CodeLabel))
    published_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True, metadata={"description": "Last correction, if any."})
    expires_on = fields.Date(allow_none=True)
    identifiers = fields.List(fields.Nested(IdentifierOut))
    perpetrators = fields.List(fields.Nested(PerpetratorOut))
    version = fields.Integer(metadata={"description": "Moderators only."})
    review_on = fields.Date(allow_none=True, metadata={"description": "Moderators only."})
    created_at = fields.DateTime(metadata={"description": "Moderators only: when the draft was made."})
    withdrawn_at = fields.DateTime(allow_none=True, metadata={"description": "Moderators only."})
    reports = fields.List(fields.String(), metadata={"description": "Moderators only: source report references."})
    reviewed = fields.Boolean(metadata={
        "description": "Moderators only: a draft whose current content a moderator reviewed, so it may be published."})
    reviewed_at = fields.DateTime(allow_none=True, metadata={"description": "Moderators only: the last review."})
    from_peer = fields.String(allow_none=True, metadata={
        "description": "For an alert received from a peer instance: where it came from, in words; else null."})
    distribution = fields.String(metadata={"description": "Moderators only: local, peers or group:NAME."})
    may_pass_on = fields.Boolean(metadata={"description": "Moderators only: whether peers may pass it on."})


class RecipientsOut(Schema):
    people = fields.Integer(metadata={"description": "People who get a message (e-mail and/or text)."})
    channels = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "Messages per channel: email, and sms where offered."})
    daily = fields.Integer(metadata={"description": "Of the people, those who get it in their daily message."})
    on_site_only = fields.Integer(metadata={
        "description": "Subscribers to its regions who chose the site only: no message."})


class AlertPreviewOut(Schema):
    alert = fields.Nested(AlertOut, metadata={"description": "The alert exactly as members will see it."})
    recipients = fields.Nested(RecipientsOut)
    message = fields.String(metadata={"description": "\"12 people will be told.\" and per channel, translated."})
    version = fields.Integer(metadata={"description": "The version reviewed."})
    digest = fields.String(metadata={"description": "SHA-256 of the content reviewed."})


class AlertListOut(Schema):
    alerts = fields.List(fields.Nested(AlertOut))
    page = fields.Integer()
    pages = fields.Integer()


class CheckOut(Schema):
    result = fields.String(metadata={"enum": ["no_record", "caution"]})
    alerts = fields.List(fields.Nested(AlertOut), metadata={"description": "caution only: the alerts to read."})
    kinds = fields.List(fields.String(metadata={"enum": list(ALERT_KINDS)}), metadata={
        "description": "caution only: which kinds of published warning matched (person, notice); empty when "
                       "the caution comes from a report with no published warning."})
    message = fields.String(metadata={"description": "The answer in words, translated."})


class SubscriptionOut(Schema):
    regions = fields.List(fields.String())
    all_regions = fields.Boolean()
    channels = fields.List(fields.String())
    frequency = fields.String()
    sms_number = fields.String(allow_none=True)

