"""Marshmallow schemas of the reporting plugin: its settings, and a report as the API and the web
form both take it (the web form builds the same payload, so both check input the same way).

Every message is translated when the schema is used; every text has a length cap; unknown fields
are refused. Identifiers come out normalised (a phone in E.164), ready for a blind index.
"""

from __future__ import annotations

from functools import partial

from flask import current_app
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from core.api import ApiSchema, UtcDateTime
from core.fields import (
    MAX_SHORT,
    Code,
    PastDate,
    StrictBoolean,
    Text,
    bounded_list,
    code_lines,
    setting_number,
    too_long_message,  # noqa: F401 - plugins/reporting/wizard.py imports it from here
)
from core.identifiers import InvalidIdentifier, normalise
from plugins.reporting import _, _l
from plugins.reporting.models import PURPOSES, STATUSES, SUPPORT_CONTACT_METHODS
from plugins.reporting.options import (
    CONTACT_METHODS,
    INCIDENT_TYPES,
    REGIONS,
    TIMES_OF_DAY,
    WORK_SETTINGS,
    configured,
    parse_line,
)

# Limits: enough for anything a person needs to say, small enough that nobody can fill the disk.
MAX_NARRATIVE = 20_000
MAX_MEDIUM = 1_000
MAX_ITEMS = 10
MAX_PERPETRATORS = 10
MAX_MESSAGE = 10_000
RECEIPT_DIGITS = 16

# Fields an instance may make required (the form and the API then insist on them).
TRENDS_AUDIENCES = ("staff", "members", "public")

REQUIRABLE = ("incident_types", "occurred_on", "region", "location", "work_setting", "contact_method",
              "narrative", "perpetrators")


# -- settings ----------------------------------------------------------------------------------


def _valid_required(names: list[str]) -> None:
    unknown = [name for name in names if name not in REQUIRABLE]
    if unknown:
        raise ValidationError(
            _("These cannot be required: %(names)s. Choose from: %(allowed)s.",
              names=", ".join(unknown), allowed=", ".join(REQUIRABLE))
        )


def _lines(default: dict, label, help_text) -> fields.List:
    return code_lines(default, label, help_text, parse_line, codes=default)  # the settings page shows the words


_days = setting_number


LINES_HELP = _l("One a line. A listed code shows our translated name; write “code | Name” to add your own.")


class ReportingSettings(Schema):
    allow_anonymous = fields.Boolean(
        load_default=True,
        metadata={
            "label": _l("Accept anonymous reports"),
            "help": _l("People can report without an account and get a receipt to follow up."),
        },
    )
    incident_types = _lines(INCIDENT_TYPES, _l("Incident types"), LINES_HELP)
    regions = _lines(REGIONS, _l("Regions"), LINES_HELP)
    work_settings = _lines(WORK_SETTINGS, _l("Work settings"), LINES_HELP)
    contact_methods = _lines(CONTACT_METHODS, _l("How contact was made"), LINES_HELP)
    required_fields = fields.List(
        fields.String(),
        load_default=list,
        validate=_valid_required,
        metadata={
            "label": _l("Required answers"),
            "help": _l("One a line, from: %(names)s. Ask for as little as you can.", names=", ".join(REQUIRABLE)),
        },
    )
    receipt_valid_days = _days(365, _l("Receipts work for (days)"),
                               _l("After this, a receipt no longer opens its report."), low=1)
    keep_rejected_days = _days(90, _l("Delete rejected reports after (days)"), _l("0 keeps them."))
    keep_duplicate_days = _days(90, _l("Delete duplicate reports after (days)"), _l("0 keeps them."))
    keep_verified_days = _days(0, _l("Delete verified reports after (days)"), _l("0 keeps them."))
    recent_days = _days(7, _l("A serious assault is urgent for (days)"),
                        _l("Reports of assault or rape this recent go to the top of the queue."), low=1, high=365)
    max_attachments = _days(5, _l("Photos or screenshots per report"), _l("0 turns attachments off."), high=20)
    max_attachment_mb = _days(5, _l("Largest photo (MB)"), _l("Bigger files are refused."), low=1, high=12)
    receipt_attempts_per_session = _days(5, _l("Wrong receipts allowed per visitor (per 15 minutes)"),
                                         _l("Then that visitor must wait."), low=1, high=100)
    trends_audience = fields.String(
        load_default="staff", validate=validate.OneOf(TRENDS_AUDIENCES),
        metadata={"label": _l("Who may see the trends page"),
                  "help": _l("Small numbers are hidden whoever sees it."),
                  "choice_labels": {"staff": _l("Staff only (moderators and administrators)"),
                                    "members": _l("Anyone signed in"), "public": _l("Everyone, without signing in")}},
    )
    research_k = _days(5, _l("Smallest group in a research export"),
                       _l("Every combination of answers in a research export is shared by at least this many "
                          "reports (5 or more)."), low=5, high=1000)
    draft_pictures_mb = _days(1000, _l("Pictures waiting in unsent reports, in total (MB)"),
                              _l("For the whole site, so that reports started and never sent cannot fill the "
                                 "disk (they are deleted after a few hours)."), low=10, high=1_000_000)
    reports_per_address = _days(5, _l("Anonymous reports from one address in a day"),
                                _l("Later ones are still taken, but marked, listed after the others and sent "
                                   "without an e-mail to moderators: a flood of false reports cannot bury real "
                                   "ones."), low=1, high=10_000)
    receipt_attempts_global = _days(100, _l("Wrong receipts allowed in total (per 15 minutes)"),
                                    _l("Then everyone must wait: this stops guessing from many places."),
                                    low=1, high=100_000)


# -- fields that check and clean input -------------------------------------------------------------


def _allowed_codes(kind: str) -> list[str]:
    return [choice.code for choice in configured(kind)] if kind != "times" else list(TIMES_OF_DAY)


def _code(kind: str, **kwargs) -> Code:
    """One code from a configured list (regions, incident types...)."""
    return Code(partial(_allowed_codes, kind), **kwargs)


class Identifier(Text):
    """A phone, email, plate or handle, returned normalised (phones in E.164)."""

    MESSAGES = {
        "phone": _l("This does not look like a phone number. Please check it, or put it in the description."),
        "email": _l("This does not look like an email address. Please check it, or put it in the description."),
        "plate": _l("This does not look like a number plate. Please check it, or put it in the description."),
        "handle": _l("This does not look like a name or address online. Please check it."),
    }

    def __init__(self, kind: str, max_length: int = MAX_SHORT, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.kind = kind

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        try:
            return normalise(self.kind, text, current_app.config["DEFAULT_COUNTRY"])
        except InvalidIdentifier:
            raise ValidationError(str(self.MESSAGES[self.kind])) from None


def _list(inner: fields.Field, max_items: int = MAX_ITEMS, **kwargs) -> fields.List:
    return bounded_list(inner, max_items, load_default=list, **kwargs)


def _clean_list(items) -> list:
    """Drop empty entries and repeats, keeping the order."""
    seen, result = set(), []
    for item in items or []:
        if item is not None and item not in seen:
            seen.add(item)
            result.append(item)
    return result


# -- a report, as submitted ----------------------------------------------------------------------


class VehicleSchema(ApiSchema):
    make = Text(metadata={"description": "Make, e.g. Ford."})
    model = Text()
    colour = Text()
    plate = Identifier("plate", max_length=20, metadata={"description": "Number plate; matched across reports."})


class DescriptionSchema(ApiSchema):
    gender = Text()
    age_range = Text()
    height = Text()
    build = Text()
    hair = Text()
    features = Text(max_length=MAX_MEDIUM, multiline=True, metadata={"description": "Distinguishing features."})
    languages = Text(metadata={"description": "Languages spoken or accent."})


class PerpetratorSchema(ApiSchema):
    names = _list(Text(), metadata={"description": "Names or nicknames used."})
    phones = _list(Identifier("phone", max_length=40), metadata={"description": "Phone numbers, any format."})
    emails = _list(Identifier("email", max_length=254))
    handles = _list(Identifier("handle"), metadata={"description": "Online handles or advert profile addresses."})
    vehicle = fields.Nested(VehicleSchema, allow_none=True)
    description = fields.Nested(DescriptionSchema, allow_none=True)

    @post_load
    def _clean(self, data, **kwargs):
        for key in ("names", "phones", "emails", "handles"):
            data[key] = _clean_list(data.get(key))
        for key in ("vehicle", "description"):
            value = {k: v for k, v in (data.get(key) or {}).items() if v}
            data[key] = value or None
        return data


def _has_content(person: dict) -> bool:
    return any(person.get(key) for key in ("names", "phones", "emails", "handles", "vehicle", "description"))


class ConsentSchema(ApiSchema):
    share_alert = StrictBoolean(
        load_default=False, metadata={"description": "Share a warning, without anything identifying the reporter."}
    )
    police_intelligence = StrictBoolean(
        load_default=False, metadata={"description": "Share anonymous intelligence with the police."}
    )
    police_report = StrictBoolean(load_default=False, metadata={"description": "Help to make a full police report."})
    wants_support = StrictBoolean(load_default=False, metadata={"description": "Support from a caseworker."})
    research = StrictBoolean(load_default=False, metadata={
        "description": "Include the report, de-identified, in research exports (only categories, months and "
                       "regions; never the reporter's words or anything identifying)."})


class ReportSchema(ApiSchema):
    """A new report. Everything is optional unless this instance requires it."""

    incident_types = _list(_code("incident_types"), max_items=20,
                           metadata={"description": "Codes from GET /incident-types."})
    occurred_on = PastDate(allow_none=True, metadata={"description": "ISO date, e.g. 2024-03-31."})
    occurred_time = _code("times", metadata={"description": "morning, afternoon, evening or night."})
    region = _code("regions", metadata={"description": "A code from GET /regions."})
    location = Text(max_length=MAX_SHORT, metadata={"description": "Roughly where; never an exact address."})
    work_setting = _code("work_settings")
    contact_method = _code("contact_methods")
    narrative = Text(max_length=MAX_NARRATIVE, multiline=True, metadata={"description": "What happened."})
    perpetrators = _list(fields.Nested(PerpetratorSchema), max_items=MAX_PERPETRATORS)
    consent = fields.Nested(ConsentSchema, load_default=lambda: dict.fromkeys(PURPOSES, False))
    support_contact = Text(max_length=MAX_SHORT, metadata={
        "description": "How a caseworker may reach the reporter (only kept when wants_support is true)."})
    support_safe_times = Text(max_length=MAX_SHORT, metadata={
        "description": "Safe ways and times, e.g. 'text only, no voicemail, after 6pm'."})
    support_contact_method = fields.String(allow_none=True, load_default=None,
                                           validate=validate.OneOf(SUPPORT_CONTACT_METHODS),
                                           metadata={"enum": list(SUPPORT_CONTACT_METHODS),
                                                     "description": "How the reporter would like to be reached."})
    support_may_leave_message = StrictBoolean(allow_none=True, load_default=None, metadata={
        "description": "Whether a caseworker may leave a message (voicemail, a message with someone else)."})
    on_behalf = StrictBoolean(load_default=False, metadata={
        "description": "A partner or caseworker is reporting for someone else."})
    on_behalf_consent = StrictBoolean(load_default=False, metadata={
        "description": "The person it happened to agreed to this report (required with on_behalf)."})

    def __init__(self, *args, required: tuple[str, ...] = (), may_report_for_others: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.required_names = tuple(required)
        self.may_report_for_others = may_report_for_others

    @post_load
    def _clean(self, data, **kwargs):
        data["incident_types"] = _clean_list(data.get("incident_types"))
        data["perpetrators"] = [person for person in data.get("perpetrators") or [] if _has_content(person)]
        if not data["consent"]["wants_support"]:
            # Collect the minimum: contact details are only kept for a caseworker to use.
            data["support_contact"] = data["support_safe_times"] = None
            data["support_contact_method"] = data["support_may_leave_message"] = None
        return data

    @validates_schema
    def _whole_report(self, data, **kwargs):
        errors = {}
        data = {
            **data,
            "incident_types": _clean_list(data.get("incident_types")),
            "perpetrators": [p for p in data.get("perpetrators") or [] if _has_content(p)],
        }
        for name in self.required_names:
            value = data.get(name)
            if value is None or value == [] or value == "":
                errors[name] = [_("Please answer this; this service asks everyone for it.")]
        if not any(data.get(name) for name in ("incident_types", "narrative", "perpetrators")) and not errors:
            errors["_schema"] = [
                _("Please tell us at least a little: choose what happened, describe it, or describe the person.")
            ]
        if data.get("on_behalf"):
            if not self.may_report_for_others:
                errors["on_behalf"] = [_("Only partner organisations and caseworkers can report for someone else.")]
            elif not data.get("on_behalf_consent"):
                errors["on_behalf_consent"] = [
                    _("Please only report for someone else once they have agreed to it.")
                ]
        if errors:
            raise ValidationError(errors)


class ReportCreatedSchema(Schema):
    reference = fields.String(required=True, metadata={"example": "R-7KQ2XW"})
    status = fields.String(required=True)
    receipt = fields.String(metadata={
        "description": "Anonymous reports only: shown once, never stored; keep it to follow up.",
        "example": "1234 5678 9012 3456"})


class ReceiptSchema(ApiSchema):
    receipt = Text(max_length=64, required=True, allow_none=False,
                   metadata={"description": "The receipt given when the report was sent."})


class ReceiptMessageSchema(ReceiptSchema):
    body = Text(max_length=MAX_MESSAGE, multiline=True, required=True, allow_none=False)


class ReceiptWithdrawSchema(ReceiptSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))


class SupportContactSchema(ApiSchema):
    """Safe contact details for support, given with wants_support (in a report, or later)."""

    support_contact_method = fields.String(allow_none=True, load_default=None,
                                           validate=validate.OneOf(SUPPORT_CONTACT_METHODS),
                                           metadata={"enum": list(SUPPORT_CONTACT_METHODS)})
    support_contact = Text(max_length=MAX_SHORT, metadata={"description": "How a caseworker may reach the reporter."})
    support_safe_times = Text(max_length=MAX_SHORT, metadata={"description": "Safe ways and times."})
    support_may_leave_message = StrictBoolean(allow_none=True, load_default=None)


class ConsentChangeSchema(SupportContactSchema):
    """Give or withdraw one consent later: with a receipt, or with a signed-in reporter's token and
    the report's reference. The support_* fields are used only when giving wants_support."""

    receipt = Text(max_length=64, metadata={"description": "The report's receipt (anonymous reports)."})
    reference = Text(max_length=16, metadata={"description": "With a bearer token: the reporter's own report.",
                                              "example": "R-7KQ2XW"})
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES), metadata={"enum": list(PURPOSES)})
    given = StrictBoolean(required=True, metadata={"description": "true gives the consent, false withdraws it."})

    @validates_schema
    def _one_way_in(self, data, **kwargs):
        if not data.get("receipt") and not data.get("reference"):
            raise ValidationError({"receipt": [_("Please send the receipt, or sign in and send the reference.")]})


class MessageOutSchema(Schema):
    sender = fields.String(metadata={"description": "'staff' or 'reporter'."})
    body = fields.String()
    sent_at = UtcDateTime()


class ConsentStateSchema(Schema):
    purpose = fields.String()
    given = fields.Boolean()
    given_at = UtcDateTime(allow_none=True)
    withdrawn_at = UtcDateTime(allow_none=True)


class StatusOutSchema(Schema):
    reference = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    status_label = fields.String(metadata={"description": "The status in words, translated."})
    sent_on = fields.Date()
    messages = fields.List(fields.Nested(MessageOutSchema))
    consents = fields.List(fields.Nested(ConsentStateSchema))


class ChoiceSchema(Schema):
    code = fields.String()
    name = fields.String(metadata={"description": "Translated name (Accept-Language)."})


class ModerationStatusSchema(ApiSchema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES[1:]),
                           metadata={"enum": list(STATUSES[1:])})
    duplicate_of = Text(max_length=16, metadata={"description": "With status duplicate: the original's reference."})


class StaffTextSchema(ApiSchema):
    body = Text(max_length=MAX_MESSAGE, multiline=True, required=True, allow_none=False)


class IdentifierOutSchema(Schema):
    kind = fields.String()
    value = fields.String()


class LinkOutSchema(Schema):
    reference = fields.String()
    status = fields.String()
    sent_on = fields.Date()
    shared = fields.List(fields.Nested(IdentifierOutSchema))


class ReportSummarySchema(Schema):
    reference = fields.String()
    status = fields.String()
    urgency = fields.Integer(metadata={"description": "2 urgent, 1 serious, 0 routine."})
    incident_types = fields.List(fields.String())
    region = fields.String(allow_none=True)
    sent_at = UtcDateTime()
    linked = fields.Integer(metadata={"description": "How many other reports share an identifier."})
    many_from_address = fields.Boolean(metadata={
        "description": "Anonymous, and sent after its address had sent the day's number of anonymous reports "
                       "(the reports_per_address setting): listed after the others of its urgency, no e-mail."})


class PerpetratorOutSchema(Schema):
    names = fields.List(fields.String())
    identifiers = fields.List(fields.Nested(IdentifierOutSchema))
    vehicle = fields.Dict()
    description = fields.Dict()


class ReportDetailSchema(ReportSummarySchema):
    occurred_on = fields.Date(allow_none=True)
    occurred_time = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    work_setting = fields.String(allow_none=True)
    contact_method = fields.String(allow_none=True)
    narrative = fields.String(allow_none=True)
    anonymous = fields.Boolean()
    on_behalf = fields.Boolean()
    perpetrators = fields.List(fields.Nested(PerpetratorOutSchema))
    consents = fields.List(fields.Nested(ConsentStateSchema))
    messages = fields.List(fields.Nested(MessageOutSchema))
    links = fields.List(fields.Nested(LinkOutSchema))


class QueueQuerySchema(ApiSchema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(("open", *STATUSES)), load_default="open")
    page = fields.Integer(validate=validate.Range(min=1, max=100_000), load_default=1)
