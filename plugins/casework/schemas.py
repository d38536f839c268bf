"""Marshmallow schemas of the casework plugin: its settings, and what its JSON API takes and gives.

Settings (CaseworkSettings) are shared by the casework modules: intake and cases (decline reasons,
retention, caseload), assessments (needs domains) and the justice journey (its stages). Lists of
codes take "code | Name" lines for an instance's own entries, as reporting's lists do: a known
code shows our translated name, an own entry is shown as written.
"""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from core.api import ApiSchema, UtcDateTime
from core.fields import StrictBoolean, Text, code_lines, setting_number
from plugins.casework import _, _l
from plugins.casework.models import CONTACT_CHANNELS, CONTACT_METHODS, CONTACT_OUTCOMES, STAGES

MAX_TEXT = 10_000

# Why a referral was declined: fixed codes, each told to the person in neutral words with where else
# to turn. Staff pick a code; any detail they add stays with staff (Referral.decline_note).
DECLINE_REASONS = {
    "capacity": _l("We cannot take on new people for support at the moment."),
    "outside_area": _l("Our support service does not cover the area you are in."),
    "not_our_service": _l("Another service is better placed to give you the support you asked for."),
    "could_not_reach": _l("We tried to reach you in the way you chose but could not."),
    "already_supported": _l("You are already being supported by our team or by a service we work with."),
    "other": _l("We are not able to offer you casework support this time."),
}

# The needs and risk assessment's domains (UK defaults; a group outside the UK adapts them).
NEEDS_DOMAINS = {
    "safety": _l("Safety"),
    "sexual_health": _l("Sexual health and forensic examination"),
    "mental_health": _l("Mental health"),
    "housing": _l("Housing"),
    "money": _l("Money and benefits"),
    "immigration": _l("Immigration"),
    "substances": _l("Drugs and alcohol"),
    "work_safety": _l("Safety at work"),
    "dependants": _l("Children and dependants"),
}

# The criminal-justice journey in England and Wales (the default list of stages).
JUSTICE_STAGES = {
    "reported": _l("Reported to the police"),
    "interview": _l("Police interview"),
    "forensic_exam": _l("Forensic examination"),
    "arrest": _l("Arrest"),
    "bail": _l("Bail"),
    "released_under_investigation": _l("Released under investigation"),
    "file_to_cps": _l("File sent to the Crown Prosecution Service"),
    "charge": _l("Charge"),
    "no_further_action": _l("No further action"),
    "right_to_review": _l("Victims' right to review requested"),
    "hearing": _l("Court hearing"),
    "special_measures": _l("Special measures"),
    "verdict": _l("Verdict"),
    "sentence": _l("Sentence"),
    "victim_personal_statement": _l("Victim personal statement"),
}

# Compensation claim statuses (the Criminal Injuries Compensation Authority's steps by default).
COMPENSATION_STATUSES = {
    "considering": _l("Thinking about it"),
    "applied": _l("Applied"),
    "awaiting_decision": _l("Waiting for a decision"),
    "offered": _l("Award offered"),
    "review_requested": _l("Review asked for"),
    "appeal": _l("Appeal"),
    "paid": _l("Paid"),
    "refused": _l("Refused"),
    "withdrawn": _l("Claim withdrawn"),
}

# What a worker checks before asking to close a case.
CLOSURE_CHECKLIST = {
    "client_told": _l("The client knows the case is closing"),
    "referrals_closed": _l("Referrals to other services are closed or handed over"),
    "safety_plan_reviewed": _l("The safety plan was reviewed with the client"),
    "feedback_offered": _l("The client was offered a way to give feedback"),
    "outcomes_recorded": _l("Closure outcome measures are recorded (or declined)"),
}

# Why a case closes.
CLOSURE_REASONS = {
    "goals_met": _l("The client's goals were met"),
    "client_ended": _l("The client chose to end support"),
    "no_contact": _l("We could not stay in contact"),
    "referred_on": _l("Support continues with another service"),
    "moved_away": _l("The client moved out of our area"),
    "other": _l("Another reason"),
}

LINE = re.compile(r"^([a-z0-9_-]{1,32})\s*(?:\|\s*(.{1,100}))?$")


def parse_line(line: str) -> tuple[str, str | None]:
    match = LINE.match(line.strip())
    if not match:
        raise ValueError(line)
    return match.group(1), (match.group(2) or "").strip() or None


def choices(lines: list[str], known: dict) -> list[tuple[str, str]]:
    """(code, label) pairs of a configured list: our translated name for a known code."""
    found = []
    for line in lines:
        try:
            code, name = parse_line(line)
        except ValueError:
            continue
        found.append((code, name or str(known.get(code, code))))
    return found


def _valid_reasons(codes: list[str]) -> None:
    unknown = [code for code in codes if code not in DECLINE_REASONS]
    if unknown:
        raise ValidationError(_("Choose from: %(allowed)s.", allowed=", ".join(DECLINE_REASONS)))
    if not codes:
        raise ValidationError(_("Please keep at least one entry."))


def _lines(default: dict, label, help_text) -> fields.List:
    return code_lines(default, label, help_text, parse_line)


_number = setting_number


LINES_HELP = _l("One a line. A listed code shows our translated name; write “code | Name” to add your own.")


class CaseworkSettings(Schema):
    allow_self_referral = fields.Boolean(load_default=True, metadata={
        "label": _l("People can ask for support themselves"),
        "help": _l("A public “Get support” page, also for people without an account."),
    })
    decline_reasons = fields.List(fields.String(), load_default=lambda: list(DECLINE_REASONS),
                                  validate=_valid_reasons, metadata={
        "label": _l("Reasons a referral can be declined"),
        "help": _l("One code a line, from: %(codes)s. The person is told each in neutral words.",
                   codes=", ".join(DECLINE_REASONS)),
    })
    where_else = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "label": _l("Where else to turn"),
        "help": _l("Shown with a declined referral: other services and how to reach them. Empty: general words."),
    })
    keep_closed_cases_days = _number(2190, _l("Delete closed cases after (days)"),
                                     _l("Counted from closure; 0 keeps them. 2190 days is six years."), high=7300)
    keep_declined_referrals_days = _number(365, _l("Delete declined and withdrawn referrals after (days)"),
                                           _l("0 keeps them."))
    caseload_warning = _number(20, _l("Caseload warning (open cases per worker)"),
                               _l("Supervisors see a warning for a worker with more open cases."), low=1, high=500)
    needs_domains = _lines(NEEDS_DOMAINS, _l("Needs and risk assessment domains"), LINES_HELP)
    justice_stages = _lines(JUSTICE_STAGES, _l("Criminal-justice stages"), LINES_HELP)
    review_request_days = _number(90, _l("Days to ask for a review after “no further action”"),
                                  _l("The deadline shown for a victims' right to review request."), low=1, high=3650)
    compensation_scheme = fields.String(load_default="CICA", validate=validate.Length(min=1, max=100), metadata={
        "label": _l("Compensation scheme"),
        "help": _l("Its name as workers and clients know it, e.g. CICA."),
    })
    compensation_statuses = _lines(COMPENSATION_STATUSES, _l("Compensation claim statuses"), LINES_HELP)
    closure_checklist = _lines(CLOSURE_CHECKLIST, _l("Closure checklist"), LINES_HELP)
    closure_reasons = _lines(CLOSURE_REASONS, _l("Reasons a case closes"), LINES_HELP)


# -- API ------------------------------------------------------------------------------------------


class SafeContactSchema(ApiSchema):
    """How and when it is safe to reach someone (only for support)."""

    contact_method = fields.String(allow_none=True, validate=validate.OneOf(CONTACT_METHODS),
                                   metadata={"enum": list(CONTACT_METHODS)})
    contact = Text(metadata={"description": "A phone number, e-mail or other way to reach them."})
    safe_times = Text(metadata={"description": "Safe ways and times, e.g. 'text only after 6pm'."})
    may_leave_message = StrictBoolean(allow_none=True, load_default=None)
    language = fields.String(allow_none=True, validate=validate.Length(max=16))


class DeclineSchema(ApiSchema):
    reason = fields.String(required=True, validate=validate.OneOf(DECLINE_REASONS),
                           metadata={"enum": list(DECLINE_REASONS)})
    note = Text(max_length=MAX_TEXT, multiline=True, metadata={"description": "Staff only; never shown to the person."})


class AcceptSchema(ApiSchema):
    worker = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                            metadata={"description": "Supervisors: the account id of the worker; default the caller."})


class ReferralOutSchema(Schema):
    id = fields.Integer()
    source = fields.String()
    status = fields.String()
    created_at = UtcDateTime()
    report_reference = fields.String(allow_none=True)
    working_name = fields.String(allow_none=True)
    contact_method = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    safe_times = fields.String(allow_none=True)
    may_leave_message = fields.Boolean(allow_none=True)
    language = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    needs = fields.String(allow_none=True)
    partner_referral = fields.Boolean()


class AcceptedSchema(Schema):
    case = fields.String(required=True, metadata={"description": "The new case's reference (its id in the API).",
                                                  "example": "C-7KQ2XW"})


class CaseSummarySchema(Schema):
    reference = fields.String(metadata={"example": "C-7KQ2XW"})
    stage = fields.String(metadata={"enum": list(STAGES)})
    worker = fields.Integer(allow_none=True)
    risk_level = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class CaseDetailSchema(CaseSummarySchema):
    working_name = fields.String(allow_none=True)
    contact_method = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    safe_times = fields.String(allow_none=True)
    may_leave_message = fields.Boolean(allow_none=True)
    language = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    supervisor = fields.Integer(allow_none=True)
    reports = fields.List(fields.String(), metadata={"description": "References of the linked reports."})
    closed_at = UtcDateTime(allow_none=True)


class CaseQuerySchema(ApiSchema):
    stage = fields.String(validate=validate.OneOf(STAGES), load_default=None)
    worker = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), load_default=None)


class ContactInSchema(ApiSchema):
    happened_at = UtcDateTime(load_default=None, metadata={"description": "Default: now."})
    channel = fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS),
                            metadata={"enum": list(CONTACT_CHANNELS)})
    outbound = StrictBoolean(load_default=True)
    minutes = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=24 * 60))
    outcome = fields.String(required=True, validate=validate.OneOf(CONTACT_OUTCOMES),
                            metadata={"enum": list(CONTACT_OUTCOMES)})
    note = Text(max_length=MAX_TEXT, multiline=True)


class ContactOutSchema(Schema):
    id = fields.Integer()
    happened_at = UtcDateTime()
    channel = fields.String()
    outbound = fields.Boolean()
    minutes = fields.Integer(allow_none=True)
    outcome = fields.String()
    note = fields.String(allow_none=True)
    by = fields.Integer(allow_none=True)


class TaskInSchema(ApiSchema):
    title = Text(required=True, allow_none=False)
    due_on = fields.Date(allow_none=True, load_default=None)


class TaskPatchSchema(ApiSchema):
    title = Text(allow_none=False)
    due_on = fields.Date(allow_none=True)
    done = StrictBoolean()


class TaskOutSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    due_on = fields.Date(allow_none=True)
    done = fields.Boolean()
    done_at = UtcDateTime(allow_none=True)
    assigned_to = fields.Integer(allow_none=True)


class StageInSchema(ApiSchema):
    stage = fields.String(required=True, validate=validate.OneOf(STAGES), metadata={"enum": list(STAGES)})
