"""In Arabic on a small phone, in a real browser: the "Get support" receipt reads left to right
(its four groups in the order they must be typed), the receipt and contact boxes take text left to
right, and a long site name is cut at its own end ("Red Umbr…"), not at its start ("…d Umbrella")."""

from __future__ import annotations

import pytest
from helpers import enable

pytestmark = [pytest.mark.browser, pytest.mark.once]

PHONE = (320, 568)
LONG_NAME = "Red Umbrella Northern Safety Network"

# Where every visible character under the element is (its line's top, its left edge), in reading
# (logical) order. A receipt may wrap between its groups on a small phone: lines go top to bottom.
PLACES = """(element) => {
  const places = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode())
    for (let i = 0; i < text.length; i++) {
      if (!text.data[i].trim()) continue;
      const range = document.createRange(); range.setStart(text, i); range.setEnd(text, i + 1);
      const box = range.getBoundingClientRect();
      places.push([Math.round(box.top), box.left]);
    }
  return places;
}"""


@pytest.fixture
def server(app, make_app, serve_app, neutral_site):
    enable(app, "casework")
    return serve_app(make_app({"QUICK_EXIT_URL": neutral_site, "LOCALES": ["en", "ar"], "SITE_NAME": LONG_NAME}))


def test_the_support_receipt_reads_left_to_right_in_arabic(server, browser_page):
    page = browser_page(javascript=False, viewport=PHONE, locale="ar")
    page.goto(f"{server}/casework/support")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    contact = page.locator("#f-contact")
    assert contact.evaluate("e => getComputedStyle(e).direction") == "ltr"
    contact.fill("07700 900322")
    with page.expect_navigation():
        page.locator("main form button.primary[name=action][value=send]").click()
    receipt = page.locator("#receipt")
    text = receipt.inner_text().strip()
    assert len(text.split()) == 4, text
    places = [tuple(place) for place in receipt.evaluate(PLACES)]
    assert places == sorted(places) and len(set(places)) == len(places), (text, places)

    page.goto(f"{server}/casework/my-support/")
    box = page.locator("#f-receipt")
    assert box.evaluate("e => getComputedStyle(e).direction") == "ltr"


def test_a_long_site_name_is_cut_at_its_end_in_arabic(server, browser_page):
    page = browser_page(viewport=PHONE, locale="ar")
    page.goto(f"{server}/")
    name = page.locator("header .site-name span")
    cut = name.evaluate("e => e.scrollWidth > e.clientWidth")
    assert cut, "the name should be too long for a 320 px phone in this test"
    box = name.bounding_box()
    places = name.evaluate(PLACES)
    assert places[0][1] >= box["x"] - 1, (places[:3], box)  # "R" is on screen: the cut is at the end
