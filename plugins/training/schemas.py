"""Marshmallow schemas of the training plugin: its settings (and, later, the API's input)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from core.fields import setting_number
from plugins.training import _, _l

GATEABLE = ("alerts.read", "alerts.check")

_number = setting_number


def _course_id(value):
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(_("Choose a course by its number, or leave this empty.")) from None
    if number < 1 or number > 2_147_483_647:
        raise ValidationError(_("Choose a course by its number, or leave this empty."))
    return number


class CourseId(fields.Field):
    """A course's id, or empty (None)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return _course_id(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class TrainingSettings(Schema):
    partner_gate_course = CourseId(load_default=None, allow_none=True, metadata={
        "label": _l("Course partners must hold a current certificate of"),
        "help": _l("Leave empty to switch the gate off. When set, partners without a current certificate of "
                   "this course are paused from the permissions below until they renew."),
    })
    gate_permissions = fields.List(
        fields.String(validate=validate.OneOf(GATEABLE)), load_default=lambda: list(GATEABLE),
        metadata={"label": _l("What the gate covers"),
                  "help": _l("alerts.read: reading alerts. alerts.check: the number check.")})
    renewal_reminder_days = _number(30, _l("Remind about renewal (days before a certificate ends)"),
                                    _l("Learners get one reminder this many days before their certificate "
                                       "ends. 0: no reminder."), 0, 365)
    verify_per_minute = _number(30, _l("Certificate checks per minute per internet address"),
                                _l("The public certificate check page answers this many lookups a minute "
                                   "from one address."), 1, 10_000)
