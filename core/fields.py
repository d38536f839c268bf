"""Marshmallow fields every plugin's schemas share, so one kind of input is checked one way.

- Text: text people send, under core.text's rule (no broken characters, control characters or
  invisible formatting), trimmed, with a length cap counted on what was sent; empty becomes None.
- Code: one code from a list the instance configures (regions, incident types...).
- StrictBoolean: true or false only, never "yes", 1 or "on", so a mistake is never read as consent.
- IsoDate, PastDate, FutureDate: a day written YYYY-MM-DD, and where it may fall.
- bounded_list: a list with a maximum number of items.
- For a plugin's settings schema: setting_number, and code_lines with its validator
  valid_code_lines, for the "code | Name" lists an instance adapts.

Every message is translated when the field loads (flask-babel's gettext: a plugin's own domain
while it serves the request, core's otherwise).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection

from flask_babel import gettext as _
from marshmallow import ValidationError, fields, validate

from core import text as text_rule

MAX_SHORT = 200


def too_long_message(limit: int, length: int) -> str:
    return _("Please keep this under %(count)d characters (it has %(length)d).", count=limit, length=length)


class Text(fields.String):
    """Text under core.text's rule, trimmed, at most max_length characters.

    Empty text becomes None (`allow_none` is then on unless said otherwise) and is refused with
    "This cannot be empty." when the field is required or does not allow None. With
    `empty_as_none=False` empty text stays "" and is refused only when required.
    `refuse_empty=False` never refuses it (the schema says what is missing in its own words).
    """

    def __init__(self, max_length: int = MAX_SHORT, multiline: bool = False, *, empty_as_none: bool = True,
                 refuse_empty: bool | None = None, **kwargs):
        if empty_as_none:
            kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
        self.max_length = max_length
        self.multiline = multiline
        self.empty_as_none = empty_as_none
        self.refuse_empty = refuse_empty
        self.metadata.setdefault("maxLength", max_length)

    def kept(self, text: str) -> str:
        """The text to keep (core.text.clean); raises TextRefused."""
        return text_rule.clean(text, self.multiline)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text = self.kept(text)
        except text_rule.TextRefused as exc:
            raise ValidationError(text_rule.message(exc.problem)) from None
        if len(text) > self.max_length:
            raise ValidationError(too_long_message(self.max_length, len(text)))
        if not text:
            refuse = self.refuse_empty
            if refuse is None:
                refuse = self.required or (self.empty_as_none and not self.allow_none)
            if refuse:
                raise ValidationError(_("This cannot be empty."))
            return None if self.empty_as_none else text
        return text


class Code(Text):
    """One code from a list: `allowed()` gives the codes allowed when the value is loaded (an
    instance may change its lists at any time). `unknown(code)` says why a code is refused;
    without it, "Please choose one of the listed options."."""

    def __init__(self, allowed: Callable[[], Collection[str]], *, unknown: Callable[[str], str] | None = None,
                 max_length: int = 64, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.allowed = allowed
        self.unknown = unknown

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if code is None:
            return None
        if code not in self.allowed():
            raise ValidationError(self.unknown(code) if self.unknown else _("Please choose one of the listed options."))
        return code


class StrictBoolean(fields.Boolean):
    """true or false only (not "yes", 1 or "on"), so a client's mistake is caught."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError(_("Please answer true or false."))
        return value


class IsoDate(fields.Date):
    """A day as YYYY-MM-DD. Subclasses say where it may fall (check) and how to write one (example)."""

    def example(self) -> str:
        return _("Please give a date like 2030-03-31.")

    def check(self, day: datetime.date) -> None:
        """Raise ValidationError when the day is not one this field takes."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(self.example())
        try:
            day = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(self.example()) from None
        self.check(day)
        return day


class PastDate(IsoDate):
    """A day that is not in the future and not implausibly long ago (when something happened)."""

    def example(self) -> str:
        return _("Please give a date like 2024-03-31.")

    def check(self, day: datetime.date) -> None:
        if day > datetime.date.today() + datetime.timedelta(days=1):
            raise ValidationError(_("This date is in the future. Please check it."))
        if day.year < 1950:
            raise ValidationError(_("Please check the year."))


class FutureDate(IsoDate):
    """Today or a later day."""

    def check(self, day: datetime.date) -> None:
        if day < datetime.date.today():
            raise ValidationError(_("This date has passed. Please choose today or a later day."))


def bounded_list(inner: fields.Field, max_items: int, **kwargs) -> fields.List:
    """A list of at most max_items; null inside it is refused (a mistake worth telling the client
    about)."""

    def check(items):
        if len(items) > max_items:
            raise ValidationError(_("Please give at most %(count)d.", count=max_items))

    inner.allow_none = False
    metadata = {"maxItems": max_items, **kwargs.pop("metadata", {})}
    return fields.List(inner, validate=check, metadata=metadata, **kwargs)


# -- a plugin's settings --------------------------------------------------------------------------


def setting_number(default: int, label, help_text, low: int = 0, high: int = 3650) -> fields.Integer:
    """A whole number for the settings page, from low to high."""
    return fields.Integer(load_default=default, validate=validate.Range(min=low, max=high),
                          metadata={"label": label, "help": help_text})


def valid_code_lines(parse_line: Callable[[str], tuple[str, str | None]]) -> Callable[[list[str]], None]:
    """A validator for "code" or "code | Name" lines: each starts with a code parse_line takes (it
    raises ValueError otherwise), no code twice, at least one line."""

    def check(lines: list[str]) -> None:
        seen = set()
        for line in lines:
            try:
                code, _name = parse_line(line)
            except ValueError:
                raise ValidationError(
                    _("“%(line)s” does not start with a code (lower-case letters, digits, _ or -).", line=line[:80])
                ) from None
            if code in seen:
                raise ValidationError(_("The code “%(code)s” is listed twice.", code=code))
            seen.add(code)
        if not lines:
            raise ValidationError(_("Please keep at least one entry."))

    return check


def code_lines(default: Collection[str], label, help_text, parse_line, **metadata) -> fields.List:
    """A settings list of "code | Name" lines (one a line on the settings page), starting as the
    default codes."""
    return fields.List(
        fields.String(validate=validate.Length(max=MAX_SHORT)),
        load_default=lambda: list(default),
        validate=valid_code_lines(parse_line),
        metadata={"label": label, "help": help_text, **metadata},
    )
