"""Marshmallow schemas: the admin settings form and the API's answers."""

from core.api import ApiSchema
from marshmallow import Schema, fields
from marshmallow.validate import Length

from redumbrella_dropins import _l


class DropinsSettings(Schema):
    intro = fields.String(
        load_default="",
        validate=Length(max=300, error=_l("Please keep this under {max} characters.")),
        metadata={"label": _l("Text above the list"), "help": _l("For example, who the drop-ins are for.")},
    )
    show_opening_times = fields.Boolean(load_default=True, metadata={"label": _l("Show opening times")})


class DropInOut(Schema):
    id = fields.Integer()
    name = fields.String()
    area = fields.String()
    opening_times = fields.String()


class DropInList(Schema):
    dropins = fields.List(fields.Nested(DropInOut))


class DropInIn(ApiSchema):
    """API input: unknown fields are refused and messages are translated (core.api.ApiSchema)."""

    name = fields.String(required=True, validate=Length(min=1, max=120, error=_l("Please use 1 to 120 characters.")))
    area = fields.String(required=True, validate=Length(min=1, max=80, error=_l("Please use 1 to 80 characters.")))
    opening_times = fields.String(load_default="", validate=Length(max=500, error=_l("Please shorten this.")))
