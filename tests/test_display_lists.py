"""Lists shown in a page, an e-mail or a feed are joined the way the reader's language joins them
(core.display.join_list), not with Latin commas in every script."""

from __future__ import annotations

import pytest

from core.display import join_list
from core.i18n import force_language


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Leeds, York and Hull"),
    ("fr", "Leeds, York et Hull"),
    ("ar", "Leeds وYork وHull"),
    ("zh_Hans", "Leeds、York和Hull"),
    ("th", "Leeds York และHull"),
])
def test_a_list_is_joined_as_the_language_joins_one(app, language, expected):
    with app.test_request_context(), force_language(language):
        assert join_list(["Leeds", "York", "Hull"]) == expected
        assert join_list(["Leeds"]) == "Leeds"
        assert join_list([]) == ""


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Dave, Big D"), ("pl", "Dave, Big D"), ("ar", "Dave\u060c Big D"), ("zh_Hans", "Dave、Big D"),
])
def test_several_names_of_one_person_are_separated_without_an_and(app, language, expected):
    with app.test_request_context(), force_language(language):
        assert join_list(["Dave", "Big D"], conjunction=False) == expected


def test_the_template_filter_escapes_what_it_joins(app):
    with app.test_request_context(), force_language("ar"):
        rendered = app.jinja_env.from_string("{{ names|join_list }}").render(names=["<b>a</b>", "b"])
    assert rendered == "&lt;b&gt;a&lt;/b&gt; وb"
