"""Changing the language in the middle of a report keeps what was typed on that page: on the form,
the footer's switcher belongs to the step's form (base.html's language_form), so it posts the
answers with the new language, without JavaScript. Elsewhere it is the plain switcher."""

from __future__ import annotations

import re

from helpers import enable
from test_reporting_common import FORM, step

TYPED = {"incident_types": ["robbery"], "narrative": "He took my phone and the money."}


def _switcher(page: str) -> str:
    return re.search(r'<form[^>]*id="language".*?</form>', page, re.S).group(0)


def test_changing_language_mid_step_keeps_the_answers_and_shows_the_step_in_it(app):
    enable(app, "reporting")
    client = app.test_client()
    first = client.get(FORM).get_data(as_text=True)
    switcher = _switcher(first)
    assert 'name="locale" form="report-form"' in switcher
    assert 'form="report-form" name="action" value="language"' in switcher

    page = step(client, {**TYPED, "locale": "pl"}, action="language", step_code="what")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<html lang="pl"' in text
    assert "He took my phone and the money." in text  # the step, again, with what was typed
    assert re.search(r'value="robbery"[^>]*checked', text)


def test_other_pages_keep_the_plain_switcher(app):
    enable(app, "reporting")
    switcher = _switcher(app.test_client().get("/").get_data(as_text=True))
    assert 'form="' not in switcher and 'value="language"' not in switcher
