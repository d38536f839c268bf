"""Arabic, right to left, in a real browser on a 360 px phone (issue #12): the main pages of the demo
instance have dir="rtl" and a mirrored layout (the site's name on the right, the quick exit on the
left, headings starting on the right), never scroll sideways, keep phone numbers left to right inside
the Arabic text, and show no English words of ours. The trends charts stay left to right and keep
every label inside the chart.

Every page is compared with what the same page does in English, so the test says "mirrored", not
merely "different". The whole site's accessibility in Arabic is test_accessibility_browser.py's.
"""

from __future__ import annotations

import re

import pytest

from browser.site_pages import LANGUAGES, fill_demo, sign_in
from core.db import connection

# Markup, layout and contrast do not depend on the database: run in the SQLite pass only.
pytestmark = [pytest.mark.browser, pytest.mark.once]

PHONE = (360, 740)

# Where things are, in CSS pixels from the left of the screen, whatever the direction.
LAYOUT = """() => {
  const box = (selector) => { const e = document.querySelector(selector); if (!e) return null;
                              const r = e.getBoundingClientRect(); return {left: r.left, right: r.right}; };
  const h1 = document.querySelector('main h1');
  const range = document.createRange(); range.selectNodeContents(h1);
  const words = range.getBoundingClientRect();
  return {lang: document.documentElement.lang, dir: document.documentElement.dir,
          width: document.scrollingElement.scrollWidth, screen: window.innerWidth,
          name: box('.site-name'), logo: box('.site-name .logo'), exit: box('.quick-exit'),
          main: box('main'), h1: {left: words.left, right: words.right}, menu: box('.nav-toggle')};
}"""

# The visible text of the page that is in the page's own language: text inside an element that
# says it is in another language (lang="en" on a message's English original, the language menu's
# names) or kept left to right on purpose (<bdi dir="ltr">: numbers, e-mails, plates, names), and
# what people typed into fields, is left out.
OWN_TEXT = """() => {
  const lang = document.documentElement.lang;
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.textContent.trim() || element.closest('script, style, bdi[dir="ltr"], textarea, code')) continue;
    const marked = element.closest('[lang]');
    if (marked && marked.lang !== lang) continue;
    if (!element.checkVisibility({visibilityProperty: true}) && !element.closest('.visually-hidden')) continue;
    out.push(node.textContent.trim());
  }
  for (const element of document.querySelectorAll('[aria-label], [title], [placeholder], img[alt]'))
    for (const name of ['aria-label', 'title', 'placeholder', 'alt'])
      if (element.getAttribute(name)) out.push(element.getAttribute(name));
  return out;
}"""
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
# An example of what to type, inside a sentence: name@example.com, @someone, AB12 CDE, 07700 900123.
IDENTIFIER = re.compile(r"\S*@\S+|\b\w*\d\w*\b")

# English a page may show in Arabic: the site's name, and the demo's own made-up content (alerts,
# courses, case notes are written by people, in whatever language they write in). Nothing else.
SITE_NAME = "Red Umbrella"


def _demo_words(app) -> set[str]:
    """Every Latin word of the content the demo wrote (alert titles and summaries, course and lesson
    titles, case messages, regions, identifiers), which may rightly stay in English."""
    from plugins.alerts.demo import SAMPLE_NOTICE, SAMPLES
    from plugins.training.models import Course, Lesson, Module, Session

    texts = [SITE_NAME, SAMPLE_NOTICE["title"], SAMPLE_NOTICE["summary"], "fake-agency.example"]
    texts += [fields["title"] + " " + fields["summary"] for _kind, fields in SAMPLES]
    with app.app_context(), connection():
        texts += [c.title + " " + c.summary for c in Course.select()]
        texts += [m.title for m in Module.select()] + [lesson.title for lesson in Lesson.select()]
        texts += [s.title + " " + (s.venue or "") for s in Session.select()]
    texts += ["DEMO: made-up message. I have the leaflet about housing for you. Shall we meet on Thursday?",
              "Demo trainer", "Demo co-trainer (lived experience)", "DEMO Jules", "Demo member"]
    return {word for text in texts for word in LATIN_WORD.findall(text)}


def _english_left(page, allowed: set[str]) -> list[str]:
    found = []
    for text in page.evaluate(OWN_TEXT):
        words = [w for w in LATIN_WORD.findall(IDENTIFIER.sub(" ", text))
                 if w not in allowed and w.lower() not in ALLOWED_LOWER and not ABBREVIATION.fullmatch(w)]
        if words:
            found.append(text)
    return found


ABBREVIATION = re.compile(r"[A-Z]{2,5}")  # IP, SMS, PDF, CSV: written in Latin letters in Arabic too
ALLOWED_LOWER = {"demo", "esc", "shift"}  # and the names of keys, as printed on keyboards


@pytest.fixture
def site(app, make_app, serve_app, neutral_site):
    """The demo instance served in English, Arabic and French; (base URL, demo accounts, allowed words)."""
    accounts = fill_demo(app)
    base = serve_app(make_app({"QUICK_EXIT_URL": neutral_site, "LOCALES": LANGUAGES}))
    return base, accounts, _demo_words(app)


def _pages(browser_page, app, base, user=None):
    """An Arabic and an English page in their own browser contexts, signed in as the same person."""
    pages = {}
    for language in ("ar", "en"):
        page = browser_page(viewport=PHONE, locale=language)
        if user is not None:
            sign_in(page, base, app, user)
        pages[language] = page
    return pages


def _check_mirrored(pages, path: str, allowed: set[str] | None = None) -> None:
    """The page in Arabic is the English page mirrored, fits the phone, and (when allowed words are
    given: the pages members see) has no English of ours left."""
    ar, en = (pages[language].evaluate(LAYOUT) for language in ("ar", "en"))
    screen = ar["screen"]
    assert (ar["lang"], ar["dir"], en["dir"]) == ("ar", "rtl", "ltr"), path
    assert ar["width"] <= screen and en["width"] <= screen, (path, ar["width"], en["width"])
    # The header: site name and logo at the start of the line (the right in Arabic), quick exit at
    # its end (the left), each as far from its edge as in English.
    assert en["logo"]["left"] < en["exit"]["left"] and ar["logo"]["left"] > ar["exit"]["right"], path
    assert abs(ar["name"]["right"] - (screen - en["name"]["left"])) <= 1, path
    assert abs(ar["exit"]["left"] - (screen - en["exit"]["right"])) <= 1, path
    if en["menu"] is not None:
        assert abs(ar["menu"]["right"] - (screen - en["menu"]["left"])) <= 1, path
    # The heading starts at the right edge of the content, as the English one starts at the left.
    assert abs(ar["main"]["right"] - ar["h1"]["right"] - (en["h1"]["left"] - en["main"]["left"])) <= 1, path
    if allowed is not None:
        left = _english_left(pages["ar"], allowed)
        assert left == [], f"{path} shows English in Arabic (not translated yet, or not marked for translation): {left}"


def _goto(pages, base: str, path: str) -> None:
    for page in pages.values():
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path


def test_the_main_pages_in_arabic_are_mirrored_fit_a_phone_and_are_all_in_arabic(app, site, browser_page,
                                                                              screenshot):
    base, accounts, allowed = site
    from plugins.alerts.models import Alert

    with app.app_context(), connection():
        alert = Alert.select().where(Alert.kind != "notice").order_by(Alert.id).first()

    visitor = _pages(browser_page, app, base)
    for path in ("/", "/account/login", "/training/", "/reporting/"):
        _goto(visitor, base, path)
        _check_mirrored(visitor, path, allowed)
        screenshot(visitor["ar"], f"rtl-{path.strip('/').replace('/', '-') or 'home'}")

    member = _pages(browser_page, app, base, accounts["member"])
    for path in ("/", "/alerts/", f"/alerts/{alert.id}", "/alerts/check", "/account/profile",
                 "/casework/my-support/", "/training/"):
        _goto(member, base, path)
        _check_mirrored(member, path, allowed)
        screenshot(member["ar"], f"rtl-member-{path.strip('/').replace('/', '-') or 'home'}")

    # The check's answer.
    for page in member.values():
        page.goto(f"{base}/alerts/check")
        page.locator("#identifier").fill("07700 900123")
        with page.expect_navigation():
            page.locator("main form button.primary").click()
        assert "check-caution" in page.locator("section.check-answer").get_attribute("class")
    _check_mirrored(member, "/alerts/check (answer)", allowed)
    screenshot(member["ar"], "rtl-member-check-answer")

    # Staff pages: mirrored and fitting too (their English words are not counted: staff pick their
    # language, and an admin's settings page shows the module's own names).
    admin = _pages(browser_page, app, base, accounts["admin"])
    for path in ("/admin/plugins", "/admin/audit/"):
        _goto(admin, base, path)
        _check_mirrored(admin, path)
        screenshot(admin["ar"], f"rtl-admin-{path.strip('/').replace('/', '-')}")


NARRATIVE = {"ar": "أخذ المال مني مرة أخرى عند الباب.", "en": "He took the money back at the door."}


def test_the_report_form_in_arabic_step_by_step(app, site, browser_page, screenshot):
    """Every step of the report form, in both languages side by side, to the last one, which shows
    the phone number typed as a phone number, left to right."""
    base, _accounts, allowed = site
    pages = _pages(browser_page, app, base)
    _goto(pages, base, "/reporting/report")
    steps = []
    for _ in range(10):
        step = pages["ar"].locator("input[name=step]").first.get_attribute("value")
        assert step == pages["en"].locator("input[name=step]").first.get_attribute("value")
        _check_mirrored(pages, f"/reporting/report ({step})", allowed)
        screenshot(pages["ar"], f"rtl-report-{step}")
        steps.append(step)
        if step == "check":
            break
        for language, page in pages.items():
            if step == "what":
                page.locator("#f-incident_types-robbery").check()
                page.locator("#f-narrative").fill(NARRATIVE[language])
            elif step == "who":
                page.locator("textarea[name$=phones]").first.fill("07700 900123")
            elif step == "wishes":
                for radio in page.locator("input[type=radio][value=no]").all():
                    radio.check()
            with page.expect_navigation():
                page.locator("main form button.primary[name=action][value=next]").click()
    assert steps[0] == "what" and steps[-1] == "check" and len(steps) >= 5, steps
    number = pages["ar"].locator("main bdi[dir=ltr]", has_text="900123")
    assert number.count() == 1
    _assert_left_to_right(number)


LETTERS = """(element) => {
  const text = element.firstChild; const places = [];
  for (let i = 0; i < text.length; i++) {
    if (!text.data[i].trim()) continue;
    const range = document.createRange(); range.setStart(text, i); range.setEnd(text, i + 1);
    places.push(range.getBoundingClientRect().left);
  }
  return {direction: getComputedStyle(element).direction, text: text.data, places};
}"""


def _assert_left_to_right(locator) -> None:
    """Each character of the number stands to the right of the one before: read left to right."""
    found = locator.evaluate(LETTERS)
    assert found["direction"] == "ltr"
    assert found["places"] == sorted(found["places"]) and len(set(found["places"])) == len(found["places"]), found


def test_phone_numbers_stay_left_to_right_inside_arabic_text(app, site, browser_page):
    base, accounts, _allowed = site
    from plugins.alerts.models import Alert

    with app.app_context(), connection():
        alert = Alert.select().where(Alert.kind != "notice").order_by(Alert.id).first()
    page = browser_page(viewport=PHONE, locale="ar")
    sign_in(page, base, app, accounts["member"])
    page.goto(f"{base}/alerts/{alert.id}")
    number = page.locator("main bdi[dir=ltr]", has_text="900123").first
    assert number.inner_text() == "07700 900123"
    _assert_left_to_right(number)
    # Without the <bdi>, the same characters in Arabic text would not read left to right: the check
    # above can fail.
    number.evaluate("e => { const s = document.createElement('span'); s.textContent = '+' + e.textContent; "
                    "e.replaceWith(s); s.id = 'bare'; }")
    bare = page.locator("#bare").evaluate(LETTERS)
    assert bare["places"] != sorted(bare["places"])


def test_the_trends_charts_stay_left_to_right_with_every_label_inside(app, site, browser_page, screenshot):
    base, accounts, _allowed = site
    page = browser_page(viewport=PHONE, locale="ar")
    sign_in(page, base, app, accounts["moderator"])
    page.goto(f"{base}/reporting/trends/")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    charts = page.locator("svg.trend-chart")
    assert charts.count() >= 2
    for index in range(charts.count()):
        chart = charts.nth(index)
        found = chart.evaluate("""(svg) => {
          const box = svg.getBoundingClientRect();
          const out = [];
          for (const text of svg.querySelectorAll('text')) {
            const r = text.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5) out.push(text.textContent);
          }
          return {direction: getComputedStyle(svg).direction, outside: out};
        }""")
        assert found == {"direction": "ltr", "outside": []}, index
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0]
    screenshot(page, "rtl-trends")


def test_the_home_page_cards_point_the_way_the_page_reads(site, browser_page):
    base, _accounts, _allowed = site
    arrows = {}
    for language in ("ar", "en"):
        page = browser_page(viewport=PHONE, locale=language)
        page.goto(f"{base}/")
        arrows[language] = page.locator(".cards .card").first.evaluate(
            "e => getComputedStyle(e, '::after').content")
    assert "←" in arrows["ar"] and "→" in arrows["en"]
