"""The partner Atom feed is well-formed XML whatever the names in it hold (issue 9, item 7).

It was built as strings, and a region called 'The "Docks" area' (the quote sat in an attribute)
made the whole feed unreadable for every partner. These tests put quotes, apostrophes, '<', '&'
and emoji in a region's name and in alert titles and summaries, and parse the result with the
standard library's strict parser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree  # noqa: S405  # parses our own feed in a test

from alerts_fixtures import in_app
from helpers import post_form, sign_in
from test_alerts_helpers import make_report

ATOM = {"atom": "http://www.w3.org/2005/Atom"}
AWKWARD_REGION = "The \"Docks\" area & Bob's <corner> 🚨"
AWKWARD_TITLES = ['Man calling himself "Dave"', "Don't get in the <blue> car", "Rob & Co 🚕", '<"\'&>']
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _region_with_awkward_name(app) -> None:
    from core.settings import plugin_settings, save_settings

    def change():
        lines = list(plugin_settings("reporting")["regions"])
        save_settings("reporting", {**plugin_settings("reporting"), "regions": [*lines, f"docks | {AWKWARD_REGION}"]})

    in_app(app, change)


def _publish(app, moderator, title: str) -> None:
    from core.accounts.models import User
    from plugins.alerts import service

    def make():
        report = make_report(region="docks")
        actor = User.get_by_id(moderator.id)
        alert = service.create_from_reports([report], {"summary": f"Summary of {title}", "title": title}, actor)
        if hasattr(service, "review"):  # publishing needs a reviewed preview (issue 9, item 8)
            service.review(alert, actor)
        service.publish(alert, actor)

    in_app(app, make)


def _feed_token(app, moderator) -> str:
    staff = app.test_client()
    sign_in(staff, moderator)
    page = post_form(staff, "/alerts/manage/feeds", {"label": 'Outreach "Docks" & co'},
                     token_from="/alerts/manage/feeds")
    return page.get_data(as_text=True).split('<code class="token">')[1].split("<")[0]


def test_the_atom_feed_parses_with_quotes_ampersands_angle_brackets_and_emoji(on, moderator):
    _region_with_awkward_name(on)
    for title in AWKWARD_TITLES:
        _publish(on, moderator, title)
    token = _feed_token(on, moderator)

    answer = on.test_client().get("/api/v1/feeds/alerts.atom", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(answer.get_data())  # raises ParseError on anything not well-formed
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"

    entries = root.findall("atom:entry", ATOM)
    assert sorted(entry.find("atom:title", ATOM).text for entry in entries) == sorted(AWKWARD_TITLES)
    for entry in entries:
        labels = [category.get("label") for category in entry.findall("atom:category", ATOM)]
        assert AWKWARD_REGION in labels
        assert AWKWARD_REGION in entry.find("atom:summary", ATOM).text
        title = entry.find("atom:title", ATOM).text
        assert entry.find("atom:content", ATOM).text.startswith(f"Summary of {title}")
        # Atom's required elements, with ids that are addresses and times in RFC 3339 UTC.
        assert entry.find("atom:id", ATOM).text.startswith("http://")
        assert entry.find("atom:link[@rel='alternate']", ATOM).get("href") == entry.find("atom:id", ATOM).text
        assert RFC3339_UTC.fullmatch(entry.find("atom:updated", ATOM).text)
        assert RFC3339_UTC.fullmatch(entry.find("atom:published", ATOM).text)
    assert len({entry.find("atom:id", ATOM).text for entry in entries}) == len(AWKWARD_TITLES)
    assert RFC3339_UTC.fullmatch(root.find("atom:updated", ATOM).text)
    assert root.find("atom:id", ATOM).text.endswith("/api/v1/feeds/alerts.atom")
    assert root.find("atom:author/atom:name", ATOM).text


def test_the_atom_feed_leaves_out_characters_xml_cannot_carry(on, moderator):
    """A control character that reached stored text is dropped, not written into the feed raw."""
    _region_with_awkward_name(on)
    _publish(on, moderator, "Bell\x07 and form\x0cfeed")
    token = _feed_token(on, moderator)
    body = on.test_client().get(f"/api/v1/feeds/alerts.atom?token={token}").get_data()
    entry = ElementTree.fromstring(body).find("atom:entry", ATOM)
    assert entry.find("atom:title", ATOM).text == "Bell and formfeed"
