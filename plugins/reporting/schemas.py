"""Marshmallow schemas of the reporting plugin."""

from marshmallow import Schema, fields

from plugins.reporting import _l


class ReportingSettings(Schema):
    allow_anonymous = fields.Boolean(
        load_default=True,
        metadata={
            "label": _l("Accept anonymous reports"),
            "help": _l("People can report without an account and get a receipt to follow up."),
        },
    )
