"""Core's settings (the core plugin's page, /admin/plugins/core/settings): the application
form's lists, how people reach the team, how long links work and declined applications are kept."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from marshmallow.validate import Length as SchemaLength
from marshmallow.validate import Range

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
