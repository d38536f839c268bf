"""core.fields: the one set of checked marshmallow fields every plugin's schemas use (issue 13).

Each field is loaded through a real schema inside a request of a real app, so its messages go
through flask-babel as they do for the API and the forms.
"""

from __future__ import annotations

import datetime

import pytest
from marshmallow import Schema, ValidationError

from core import fields as checked


def load(schema: Schema, data: dict):
    try:
        return schema.load(data), None
    except ValidationError as exc:
        return None, exc.messages


@pytest.fixture
def request_in(app):
    def enter(language: str = "en"):
        return app.test_request_context("/", headers={"Accept-Language": language})

    return enter


class TextSchema(Schema):
    line = checked.Text(max_length=10)
    lines = checked.Text(max_length=50, multiline=True)
    needed = checked.Text(required=True, allow_none=False)
    not_none = checked.Text(allow_none=False)
    kept_empty = checked.Text(empty_as_none=False, load_default="")
    kept_needed = checked.Text(empty_as_none=False, required=True)
    said_elsewhere = checked.Text(required=True, allow_none=False, refuse_empty=False)


GIVEN = {"needed": "x", "kept_needed": "y", "said_elsewhere": "z"}


def test_text_is_trimmed_and_keeps_emoji_joiners_and_line_breaks(request_in):
    family = "\U0001f469\u200d\U0001f467"
    with request_in():
        data, errors = load(TextSchema(), {**GIVEN, "line": f"  {family} ok\t", "lines": "one\r\ntwo\n"})
    assert errors is None
    assert data["line"] == f"{family} ok" and data["lines"] == "one\ntwo"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("line", "a\nb", "Please remove the special characters from this text."),
    ("lines", "a\x07b", "Please remove the special characters from this text."),
    ("line", "+44\u202e321", "invisible formatting characters"),
    ("line", "half \ud83d", "a character was cut in half"),
    ("line", "x" * 11, "Please keep this under 10 characters (it has 11)."),
    ("line", " " + "x" * 10 + " ", None),
    ("line", 12, "Not a valid string."),
])
def test_text_refuses_what_core_text_refuses_and_what_is_too_long(request_in, name, value, message):
    with request_in():
        _data, errors = load(TextSchema(), {**GIVEN, name: value})
    if message is None:
        assert errors is None
    else:
        assert message in errors[name][0]


def test_empty_text_becomes_none_or_is_refused_as_the_field_says(request_in):
    with request_in():
        data, errors = load(TextSchema(), {"line": "   ", "needed": "x", "kept_needed": "y", "said_elsewhere": ""})
        assert errors is None
        assert data["line"] is None and data["kept_empty"] == "" and data["said_elsewhere"] is None
        _data, errors = load(TextSchema(), {"needed": " ", "not_none": "", "kept_needed": "", "kept_empty": ""})
    assert errors == {"needed": ["This cannot be empty."], "not_none": ["This cannot be empty."],
                      "kept_needed": ["This cannot be empty."], "said_elsewhere": ["Missing data for required field."]}
    assert "kept_empty" not in errors, "empty text that stays empty is refused only when required"


def test_messages_follow_the_language_of_the_request(request_in):
    with request_in("es"):
        _data, errors = load(TextSchema(), {"needed": ""})
    assert errors["needed"] == ["Esto no puede quedar vacío."]


def test_a_code_is_checked_against_the_list_at_the_time_it_is_loaded(request_in):
    listed = ["north", "south"]

    class CodeSchema(Schema):
        region = checked.Code(lambda: listed)
        kind = checked.Code(lambda: ["a"], unknown=lambda code: f"{code} is not ours.")

    with request_in():
        assert load(CodeSchema(), {"region": " north "}) == ({"region": "north"}, None)
        assert load(CodeSchema(), {"region": ""}) == ({"region": None}, None)
        listed.remove("north")
        _data, errors = load(CodeSchema(), {"region": "north", "kind": "b"})
        assert errors == {"region": ["Please choose one of the listed options."], "kind": ["b is not ours."]}
        _data, errors = load(CodeSchema(), {"region": "x" * 65})
    assert errors == {"region": ["Please keep this under 64 characters (it has 65)."]}


def test_strict_boolean_takes_only_true_and_false(request_in):
    class Consent(Schema):
        given = checked.StrictBoolean()

    with request_in():
        assert load(Consent(), {"given": False}) == ({"given": False}, None)
        for value in ("true", "yes", 1, "on", None):
            _data, errors = load(Consent(), {"given": value})
            assert errors["given"] in (["Please answer true or false."], ["Field may not be null."]), value


def test_dates_are_iso_days_in_the_right_direction(request_in):
    class Days(Schema):
        happened = checked.PastDate()
        review = checked.FutureDate()
        any_day = checked.IsoDate()

    today = datetime.date.today()
    with request_in():
        data, errors = load(Days(), {"happened": f" {today} ", "review": str(today), "any_day": "2001-02-03"})
        assert errors is None and data["happened"] == today and data["any_day"] == datetime.date(2001, 2, 3)
        _data, errors = load(Days(), {"happened": str(today + datetime.timedelta(days=3)),
                                      "review": str(today - datetime.timedelta(days=1)), "any_day": 20010203})
        assert errors == {"happened": ["This date is in the future. Please check it."],
                          "review": ["This date has passed. Please choose today or a later day."],
                          "any_day": ["Please give a date like 2030-03-31."]}
        _data, errors = load(Days(), {"happened": "1949-12-31", "review": "31/12/2030"})
    assert errors == {"happened": ["Please check the year."], "review": ["Please give a date like 2030-03-31."]}


def test_a_bounded_list_counts_its_items_and_refuses_null_inside(request_in):
    class Listing(Schema):
        names = checked.bounded_list(checked.Text(), 2)

    with request_in():
        assert load(Listing(), {"names": ["a", "b"]}) == ({"names": ["a", "b"]}, None)
        _data, errors = load(Listing(), {"names": ["a", "b", "c"]})
        assert errors == {"names": ["Please give at most 2."]}
        _data, errors = load(Listing(), {"names": ["a", None]})
    assert errors == {"names": {1: ["Field may not be null."]}}
    assert Listing().fields["names"].metadata["maxItems"] == 2


def test_settings_lists_of_codes_and_numbers(request_in):
    from plugins.reporting.options import parse_line

    class Settings(Schema):
        regions = checked.code_lines({"north": "North", "south": "South"}, "Regions", "One a line", parse_line)
        days = checked.setting_number(30, "Days", "0 keeps them", high=365)

    with request_in():
        assert load(Settings(), {}) == ({"regions": ["north", "south"], "days": 30}, None)
        assert load(Settings(), {"regions": ["east | East side"]})[1] is None
        long_line = "Not a code " + "x" * 100
        _data, errors = load(Settings(), {"regions": [long_line], "days": 366})
        assert errors["regions"] == [f"“{long_line[:80]}” does not start with a code (lower-case letters, digits, "
                                     "_ or -)."]
        assert errors["days"] == ["Must be greater than or equal to 0 and less than or equal to 365."]
        assert load(Settings(), {"regions": ["a", "b | B", "a | Again"]})[1] == {
            "regions": ["The code “a” is listed twice."]}
        assert load(Settings(), {"regions": []})[1] == {"regions": ["Please keep at least one entry."]}


def test_every_built_in_plugin_takes_its_checked_fields_from_core():
    """No plugin keeps its own copy of a text, code or true-or-false field."""
    from plugins.alerts import schemas as alerts
    from plugins.casework import plans_api
    from plugins.casework import schemas as casework
    from plugins.reporting import schemas as reporting
    from plugins.training import quiz_api, sessions

    uses = [
        reporting.ReportSchema().fields["location"], reporting.ReportSchema().fields["region"],
        reporting.ConsentSchema().fields["share_alert"], reporting.ReportSchema().fields["occurred_on"],
        alerts.AlertFieldsSchema().fields["title"], alerts.AlertFieldsSchema().fields["regions"].inner,
        alerts.AlertFieldsSchema().fields["category"], alerts.AlertFieldsSchema().fields["may_pass_on"],
        alerts.AlertFieldsSchema().fields["review_on"], alerts.SubscriptionInSchema().fields["sms_number"],
        casework.ContactInSchema().fields["note"], casework.ContactInSchema().fields["outbound"],
        quiz_api.QuizIn().fields["title"], quiz_api.QuizIn().fields["counts_for_completion"],
        sessions.SessionInSchema().fields["title"],
    ]
    shared = (checked.Text, checked.StrictBoolean, checked.IsoDate)
    assert [field for field in uses if not isinstance(field, shared)] == []
    assert isinstance(reporting.ReportSchema().fields["region"], checked.Code)
    assert isinstance(alerts.AlertFieldsSchema().fields["category"], checked.Code)
    assert plans_api.StrictBoolean is checked.StrictBoolean and plans_api.Text is checked.Text
