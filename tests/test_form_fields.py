"""core.form_fields.CheckboxesField, the one "tick all that apply" field every form uses: a value
not offered is refused in the form's own (translated) words and never repeated back, and the
page shows the boxes as a group whose name is the question."""

from __future__ import annotations

import re

from flask import render_template_string
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from core.form_fields import CheckboxesField


class ColoursForm(FlaskForm):
    class Meta:
        csrf = False

    colours = CheckboxesField("Colours", choices=[SelectChoice("red", "Red"), SelectChoice("blue", "Blue")])
    numbers = CheckboxesField("Numbers", coerce=int, choices=[SelectChoice(1, "One"), SelectChoice(2, "Two")],
                              choice_message="Please choose among the numbers listed.")
    free = CheckboxesField("Anything", validate_choice=False, choices=[SelectChoice("a", "A")])


def _form(app, data, language="en"):
    with app.test_request_context("/", headers={"Accept-Language": language}):
        form = ColoursForm(formdata=MultiDict(data))
        valid = form.validate()
        return valid, {name: [str(error) for error in errors] for name, errors in form.errors.items()}


def test_choices_offered_are_taken(app):
    valid, errors = _form(app, [("colours", "red"), ("colours", "blue"), ("numbers", "2")])
    assert valid and not errors


def test_a_value_not_offered_is_refused_in_the_forms_words_and_not_repeated(app):
    valid, errors = _form(app, [("colours", "red"), ("colours", "<script>x</script>"), ("numbers", "3")])
    assert not valid
    assert errors["colours"] == ["Please choose from the options listed."]
    assert errors["numbers"] == ["Please choose among the numbers listed."]
    assert "script" not in repr(errors)


def test_a_value_that_is_not_a_number_gets_the_same_words_not_wtforms_english(app):
    valid, errors = _form(app, [("numbers", "two")])
    assert not valid and errors["numbers"] == ["Please choose among the numbers listed."]


def test_the_default_message_is_translated(app):
    valid, errors = _form(app, [("colours", "green")], language="fr")
    assert not valid and errors["colours"] == ["Choisissez parmi les options proposées."]


def test_without_validate_choice_the_form_decides(app):
    valid, errors = _form(app, [("free", "anything at all")])
    assert valid and not errors


def test_the_field_macro_shows_a_fieldset_named_by_the_question(app):
    with app.test_request_context("/"):
        form = ColoursForm(formdata=MultiDict([("colours", "blue")]))
        html = render_template_string('{% from "macros.html" import field %}{{ field(form.colours) }}', form=form)
    boxes = dict(re.findall(r'(<input [^>]*type="checkbox"[^>]*>)\s*<label for="(colours-\d)"', html))
    assert "<legend>Colours</legend>" in html
    ticked = '<input checked id="colours-1" name="colours" type="checkbox" value="blue">'
    assert [tag for tag in boxes if "checked" in tag] == [ticked]
    assert len(boxes) == 2  # each box before its own label
