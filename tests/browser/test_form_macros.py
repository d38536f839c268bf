"""core/templates/macros.html: every field labelled, hints and errors linked to the input.

Rendered through the real Jinja environment (no browser needed); the browser tests run axe on the
pages that use these macros."""

from __future__ import annotations

import re

from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired


class SampleForm(FlaskForm):
    class Meta:
        csrf = False

    nickname = StringField("Nickname", validators=[DataRequired(message="Please give a name.")])
    agree = BooleanField("I agree", validators=[DataRequired(message="Please tick the box.")])
    contact = RadioField("Contact by", choices=[SelectChoice("email", "Email"), SelectChoice("sms", "Text message")],
                         validators=[DataRequired(message="Please choose one.")])


TEMPLATE = """{% from "macros.html" import field, error_summary %}
{{ error_summary(form) }}
{{ field(form.nickname, hint="A working name is enough.", autocomplete="nickname") }}
{{ field(form.agree, hint="You can change this later.") }}
{{ field(form.contact) }}"""


def _render(app, data=None) -> str:
    with app.test_request_context("/", method="POST" if data is not None else "GET", data=data or {}):
        form = SampleForm()
        if data is not None:
            form.validate()
        return render_template_string(TEMPLATE, form=form)


def _tag(html: str, element_id: str) -> str:
    match = re.search(rf'<input[^>]*id="{element_id}"[^>]*>', html)
    assert match, f"no input #{element_id}"
    return match.group(0)


def test_fields_without_errors_have_labels_and_hints_but_no_invalid_flag(app):
    html = _render(app)
    assert '<label for="nickname">Nickname</label>' in html
    nickname = _tag(html, "nickname")
    assert 'aria-describedby="nickname-hint"' in nickname
    assert 'autocomplete="nickname"' in nickname
    assert "aria-invalid" not in html and "None" not in html
    # A checkbox comes before its label; radio buttons are grouped under a legend.
    assert html.index('id="agree"') < html.index('<label for="agree">')
    assert re.search(r'<fieldset[^>]*id="contact"[^>]*>\s*<legend>Contact by</legend>', html)
    assert 'class="error-summary"' not in html


def test_errors_are_shown_linked_and_summarised(app):
    html = _render(app, data={"nickname": ""})
    nickname = _tag(html, "nickname")
    assert 'aria-describedby="nickname-hint nickname-error"' in nickname
    assert 'aria-invalid="true"' in nickname
    assert '<p class="error" id="nickname-error">Please give a name.</p>' in html
    agree = _tag(html, "agree")
    assert 'aria-describedby="agree-hint agree-error"' in agree and 'aria-invalid="true"' in agree
    assert re.search(r'<fieldset class="field has-error" id="contact" aria-describedby="contact-error">', html)
    # The summary at the top links to each field with a problem.
    summary = html[html.index('class="error-summary"'):html.index("</div>")]
    for field_id, message in [("nickname", "Please give a name."), ("agree", "Please tick the box."),
                              ("contact", "Please choose one.")]:
        assert f'href="#{field_id}"' in summary and message in summary
