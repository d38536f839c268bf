"""The "Check and send" page says what was given: a place typed without an area chosen is the
answer, not "Not given (near the station)"."""

from __future__ import annotations

import re

from helpers import enable
from test_reporting_common import WHEN, fill_in


def _area(page: str) -> str:
    return re.sub(r"\s+", " ", re.search(r"<dt>Area</dt><dd>(.*?)</dd>", page, re.S).group(1)).strip()


def test_the_area_line_shows_what_was_given(app):
    enable(app, "reporting")
    only_place = fill_in(app.test_client(), when={**WHEN, "region": ""}).get_data(as_text=True)
    assert _area(only_place) == "near the station"
    both = fill_in(app.test_client()).get_data(as_text=True)
    assert _area(both).endswith("(near the station)") and not _area(both).startswith("Not given")
    neither = fill_in(app.test_client(), when={**WHEN, "region": "", "location": ""}).get_data(as_text=True)
    assert _area(neither) == "Not given"
