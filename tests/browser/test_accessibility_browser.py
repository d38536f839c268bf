"""axe-core (bundled by axe-playwright-python, injected by the test) on every page of the site, for
every role, in English and in Arabic (right to left), on a 360 px phone and at desktop width: no
violation of any impact, colour contrast included, and no page wider than the screen."""

from __future__ import annotations

import pytest

from browser.site_pages import LANGUAGES, NOT_CRAWLED, ROLES, crawl, fill_demo, pages_of, seeds, sign_in

# Markup, layout and contrast do not depend on the database: run in the SQLite pass only.
pytestmark = [pytest.mark.browser, pytest.mark.once]

@pytest.mark.parametrize("width", [360, 1280], ids=["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_page_for_every_role_has_no_accessibility_violation(app, make_app, serve_app, neutral_site, browser_page,
                                                                  axe_violations, screenshot, language, width):
    """The demo instance (every module on, sample data everywhere), walked by each of its accounts
    and by someone not signed in: every kind of page each one reaches by links, and the pages that
    are reached otherwise (seeds). A page already checked for one role is checked again for another
    only when it is that role's home page (each role's navigation differs); the two-factor code page
    is checked on the way in. Every page answers in the language asked for, in its direction."""
    accounts = fill_demo(app)
    base = serve_app(make_app({"QUICK_EXIT_URL": neutral_site, "LOCALES": LANGUAGES}))
    start = seeds(app)
    direction = "rtl" if language == "ar" else "ltr"
    problems: dict[str, list[str]] = {}
    checked: set[str] = set()
    reached: dict[str, str] = {}

    def check(page, role: str, key: str, path: str) -> None:
        assert page.evaluate("document.documentElement.lang").startswith(language), path
        assert page.evaluate("document.documentElement.dir") == direction, path
        found = axe_violations(page)
        width_used = page.evaluate("document.scrollingElement.scrollWidth")
        if width_used > width:
            found.append(f"the page is {width_used} px wide on a {width} px screen")
        if found:
            screenshot(page, f"axe-{language}-{width}-{role}-{key}")
            problems[f"{role} {path}"] = found
        checked.add(key)

    for role in ROLES:
        page = browser_page(viewport=(width, 800), locale=language)
        if role != "anonymous":
            sign_in(page, base, app, accounts[role],
                    code_page=lambda page, role=role: check(page, role, "auth.login_code", "/account/login/code")
                    if "auth.login_code" not in checked else None)

        def visit(key: str, path: str, page=page, role=role) -> None:
            if key not in checked or key == "core.index":
                check(page, role, key, path)

        reached.update(crawl(page, base, app, start[role], visit))

    assert problems == {}
    unchecked = pages_of(app) - checked - set(reached) - set(NOT_CRAWLED)  # reached: downloads, redirects
    assert unchecked == set(), ("pages no role reached: link to them, add them to seeds() in site_pages.py, "
                                "or list them in NOT_CRAWLED with the reason")


def test_sign_in_errors_are_accessible(live_server, browser_page, axe_serious, screenshot):
    page = browser_page(viewport=(360, 640))
    page.goto(f"{live_server}/account/login")
    page.get_by_label("Email").fill("not an email")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("main .error").count() >= 1
    screenshot(page, "axe-360-sign-in-errors")
    assert axe_serious(page) == []


def test_axe_does_catch_a_contrast_failure(live_server, browser_page, axe_serious):
    """The check itself works offline and would fail on a real problem."""
    page = browser_page()
    page.goto(f"{live_server}/")
    assert axe_serious(page) == []
    page.evaluate("document.querySelector('main h1').style.color = '#cccccc'")
    assert any(line.startswith("color-contrast (serious)") for line in axe_serious(page))


def test_the_strict_check_catches_a_moderate_violation(live_server, browser_page, axe_serious, axe_violations):
    """axe_violations is stricter than axe_serious: a page without its one top heading is only a
    moderate violation, which the serious check lets through."""
    page = browser_page(viewport=(360, 640))
    page.goto(f"{live_server}/")
    assert axe_violations(page) == []
    page.evaluate("const h1 = document.querySelector('main h1'); h1.outerHTML = `<p>${h1.textContent}</p>`")
    assert axe_serious(page) == []
    assert any(line.startswith("page-has-heading-one (moderate)") for line in axe_violations(page))


def test_axe_checks_pages_opened_without_javascript(live_server, browser_page, axe_serious):
    """A no-JavaScript page (here the answer to a POST) is checked on a copy of its DOM, and a real
    problem in it is still found."""
    page = browser_page(javascript=False, viewport=(360, 640))
    page.goto(f"{live_server}/account/login")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("main .error").count() >= 1
    assert axe_serious(page) == []
    page.evaluate("document.querySelector('label[for=email]').remove()")
    assert any(line.startswith("label (critical)") for line in axe_serious(page))
