"""The base layout in a real browser: quick exit, no third-party requests, language switcher without
JavaScript, 360 px phones, keyboard use and the neutral title."""

from __future__ import annotations

import pytest
from helpers import enable

# Markup, layout and contrast do not depend on the database: run in the SQLite pass only.
pytestmark = [pytest.mark.browser, pytest.mark.once]

PUBLIC_PLUGINS = ("reporting", "training")


def _exit_link(page):
    return page.get_by_role("link", name="Quick exit")


def _history_length(page) -> int:
    return page.evaluate("window.history.length")


# -- quick exit ---------------------------------------------------------------------------------


def test_quick_exit_button_replaces_the_page_so_back_does_not_return(live_server, neutral_site, browser_page):
    page = browser_page()
    before = f"{neutral_site}?visited-before"
    page.goto(before)
    page.goto(f"{live_server}/account/login")
    entries = _history_length(page)

    with page.expect_navigation(url=neutral_site):
        _exit_link(page).click()
    assert page.url == neutral_site
    assert page.title() == "Weather"
    # The page that was left was replaced, not stacked: Back goes to what came before it.
    assert _history_length(page) == entries
    page.go_back()
    assert page.url == before
    assert not page.url.startswith(live_server)


def test_escape_key_leaves_even_while_typing(live_server, neutral_site, browser_page):
    page = browser_page()
    before = f"{neutral_site}?visited-before"
    page.goto(before)
    page.goto(f"{live_server}/account/login")
    page.get_by_label("Email").fill("someone@example.org")  # focus is in a field, mid-typing

    with page.expect_navigation(url=neutral_site):
        page.keyboard.press("Escape")
    assert page.url == neutral_site
    page.go_back()
    assert page.url == before


def test_quick_exit_is_a_plain_link_without_javascript(live_server, neutral_site, browser_page):
    page = browser_page(javascript=False)
    page.goto(f"{live_server}/")
    link = _exit_link(page)
    assert link.get_attribute("href") == neutral_site
    with page.expect_navigation(url=neutral_site):
        link.click()
    assert page.title() == "Weather"


def _visible_text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_back_after_quick_exit_does_not_bring_the_site_back(live_server, neutral_site, browser_page):
    """As the home page says with JavaScript on: pages of the site open before the exit are
    replaced by the neutral site when reached again with Back, before they are drawn."""
    page = browser_page()
    before = f"{neutral_site}?visited-before"
    page.goto(before)
    page.goto(f"{live_server}/")
    page.goto(f"{live_server}/account/login")
    entries = _history_length(page)
    with page.expect_navigation(url=neutral_site):
        _exit_link(page).click()

    shown = []
    page.on("framenavigated", lambda frame: shown.append(frame.url) if frame == page.main_frame else None)
    page.go_back()  # to where the home page was: it is left again at once
    page.wait_for_url(neutral_site)
    assert page.title() == "Weather"
    assert _history_length(page) == entries  # replaced, not stacked
    page.go_back()
    assert page.url == before
    page.go_forward()
    page.wait_for_url(neutral_site)
    assert page.title() == "Weather"
    assert all(not url.startswith(live_server) or url == f"{live_server}/" for url in shown)

    # Coming back on purpose (the address typed again) works, and so does Back between pages
    # opened since.
    page.goto(f"{live_server}/")
    assert page.locator("main h1").is_visible()
    page.goto(f"{live_server}/account/login")
    page.go_back()
    assert page.url == f"{live_server}/" and page.locator("main h1").is_visible()


def test_pressing_shift_three_times_leaves_and_is_announced(live_server, neutral_site, browser_page):
    page = browser_page()
    page.goto(f"{live_server}/account/login")
    field = page.get_by_label("Email")
    field.focus()
    status = page.locator(".site-header [role=status]")
    page.keyboard.press("Shift")
    assert status.inner_text() == "Shift, press 2 more times to leave this site."
    page.keyboard.press("Shift+A")  # Shift used for a capital letter: the count starts again
    assert "three times in a row" in status.inner_text()
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    assert status.inner_text() == "Shift, press 1 more time to leave this site."
    assert page.url == f"{live_server}/account/login"
    with page.expect_navigation(url=neutral_site):
        page.keyboard.press("Shift")
    assert page.title() == "Weather"


def test_the_words_about_quick_exit_match_what_it_does_with_javascript(live_server, browser_page):
    page = browser_page()
    page.goto(f"{live_server}/")
    safety = _visible_text(page, ".safety")
    assert "press Shift three times" in safety
    assert "pressing Back takes you to that website again" in safety
    assert "history list still shows this site" in safety
    assert "cannot clear your browser's history" not in safety
    assert "press Shift three times" in _visible_text(page, ".quick-exit-tip")
    assert page.locator(".quick-exit-key").first.is_visible()  # "Esc" shown on the button (desktop)


def test_without_javascript_the_words_say_back_brings_the_site_back_and_it_does(live_server, neutral_site,
                                                                                browser_page):
    page = browser_page(javascript=False)
    page.goto(f"{live_server}/")
    safety = _visible_text(page, ".safety")
    assert "It cannot clear your browser's history, so pressing Back brings this site back" in safety
    assert "Esc" not in safety and "Shift" not in safety  # keys do nothing without JavaScript
    tip = _visible_text(page, ".quick-exit-tip")
    assert "Esc" not in tip and "Use the Quick exit button" in tip
    assert not page.locator(".quick-exit-key").first.is_visible()
    assert "Esc" not in (_exit_link(page).get_attribute("title") or "")
    with page.expect_navigation(url=neutral_site):
        _exit_link(page).click()
    page.go_back()  # exactly as the page said
    assert page.url == f"{live_server}/"


# -- nothing from elsewhere ---------------------------------------------------------------------


def test_every_request_a_page_makes_goes_to_our_own_origin(app, live_server, browser_page):
    enable(app, *PUBLIC_PLUGINS)
    page = browser_page()
    for path in ("/", "/account/login", "/reporting/", "/training/", "/no-such-page"):
        page.requested_urls.clear()
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        assert page.requested_urls, path
        elsewhere = [url for url in page.requested_urls if not url.startswith(f"{live_server}/")]
        assert elsewhere == [], (path, elsewhere)
        # The stylesheet and the quick-exit script really were loaded, from here.
        assert f"{live_server}/static/css/app.css" in page.requested_urls, path
        assert f"{live_server}/static/js/quick-exit.js" in page.requested_urls, path
        assert _exit_link(page).is_visible(), path  # every page, error pages included


# -- language switcher --------------------------------------------------------------------------


def test_language_switcher_works_without_javascript_and_sets_html_lang(live_server, browser_page):
    page = browser_page(javascript=False)
    page.goto(f"{live_server}/account/login")
    assert page.locator("html").get_attribute("lang") == "en-GB"

    page.get_by_label("Language").select_option("es")
    with page.expect_navigation():
        page.locator(".language-switcher button[type=submit]").click()
    assert page.url == f"{live_server}/account/login"  # back on the page where the choice was made
    assert page.locator("html").get_attribute("lang") == "es"

    page.locator("#language-select").select_option("pt_BR")
    with page.expect_navigation():
        page.locator(".language-switcher button[type=submit]").click()
    assert page.locator("html").get_attribute("lang") == "pt-BR"
    page.goto(f"{live_server}/")  # the choice sticks for the rest of the visit
    assert page.locator("html").get_attribute("lang") == "pt-BR"


# -- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/account/login", "/reporting/", "/training/"])
def test_phone_width_has_no_sideways_scrolling_and_quick_exit_in_view(app, live_server, browser_page, screenshot,
                                                                      path):
    enable(app, *PUBLIC_PLUGINS)
    page = browser_page(viewport=(360, 640))
    page.goto(f"{live_server}{path}")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    screenshot(page, "phone-360-" + (path.strip("/").replace("/", "-") or "home"))

    def exit_in_view() -> bool:
        box = _exit_link(page).bounding_box()
        return bool(box) and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 360 \
            and box["y"] + box["height"] <= 640

    assert _exit_link(page).is_visible()
    assert exit_in_view()
    # Still reachable at the bottom of a long page: the bar with the quick exit stays on screen.
    page.evaluate("""() => {
        const filler = document.createElement("div");
        filler.style.height = "2000px";
        document.querySelector("main").append(filler);
        window.scrollTo(0, document.scrollingElement.scrollHeight);
    }""")
    assert page.evaluate("window.scrollY") > 1000
    assert exit_in_view()


def test_home_page_fits_a_phone_with_every_module_switched_on(app, live_server, browser_page, browser_sign_in,
                                                              make_user):
    enable(app, "reporting", "alerts", "casework", "training")
    page = browser_page(viewport=(360, 640))
    browser_sign_in(page, live_server, make_user("moderator", "caseworker", "admin"))
    page.goto(f"{live_server}/")
    assert page.locator("main .cards a").count() >= 5  # every module plus settings
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360


# -- keyboard -----------------------------------------------------------------------------------


def test_first_tab_reaches_the_skip_link_which_moves_focus_to_main(live_server, browser_page):
    page = browser_page()
    page.goto(f"{live_server}/")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, document.activeElement.getAttribute('href')]")
    assert focused == ["skip-link", "#content"]
    box = page.locator(".skip-link").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0  # shown on screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.tagName + '#' + document.activeElement.id") == "MAIN#content"


def test_focus_is_clearly_visible(live_server, browser_page):
    page = browser_page()
    page.goto(f"{live_server}/account/login")
    page.get_by_label("Email").focus()
    page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert style[0] != "none" and style[1] >= 2


# -- neutral title ------------------------------------------------------------------------------


def test_neutral_title_replaces_the_site_name_everywhere(make_app, serve_app, neutral_site, browser_page,
                                                         screenshot):
    base = serve_app(make_app({"NEUTRAL_TITLE": "Notes", "QUICK_EXIT_URL": neutral_site}))
    page = browser_page(viewport=(360, 640))
    for path in ("/", "/account/login", "/no-such-page"):
        page.goto(f"{base}{path}")
        if path == "/":
            screenshot(page, "phone-360-neutral-title-home")
        assert page.title() == "Notes", path
        assert page.locator("header .site-name").inner_text().strip() == "Notes"
        html = page.content()
        assert "Red Umbrella" not in html, path
        assert "umbrella" not in page.locator("head link[rel=icon]").get_attribute("href"), path
        assert page.locator("header svg.logo").count() == 0, path  # the umbrella mark would give it away


# -- print --------------------------------------------------------------------------------------


def test_printing_shows_the_content_without_the_site_chrome(live_server, browser_page):
    page = browser_page()
    page.goto(f"{live_server}/")
    chrome = ".site-header, .main-nav, .site-footer, .skip-link"
    assert page.locator(".site-header").is_visible()
    page.emulate_media(media="print")
    hidden = page.evaluate(
        f"[...document.querySelectorAll('{chrome}')].map(el => getComputedStyle(el).display)"
    )
    assert hidden == ["none"] * 4
    assert page.locator("main h1").is_visible()


# -- the menu on phones and desktops ------------------------------------------------------------

ROLES = {"visitor": (), "member": ("member",), "moderator": ("member", "moderator")}


def _nav(page):
    return page.get_by_role("navigation", name="Main")


def _focused(page) -> str:
    return page.evaluate("document.activeElement.outerHTML.slice(0, 80)")


def _tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching selector has focus (fails after limit presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}; focus is on {_focused(page)}")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("role", list(ROLES))
def test_on_a_phone_the_menu_is_collapsed_and_opens_by_keyboard(app, live_server, browser_page, browser_sign_in,
                                                                make_user, screenshot, role, javascript):
    enable(app, "reporting", "alerts", "casework", "training")
    page = browser_page(viewport=(360, 640), javascript=javascript)
    if ROLES[role]:
        browser_sign_in(page, live_server, make_user(*ROLES[role]))
    page.goto(f"{live_server}/")
    links = _nav(page).locator("a, button")
    assert links.count() >= 3
    # The page starts near the top: only the bar with the quick exit and one "Menu" row above it.
    assert page.locator("main").bounding_box()["y"] <= 120, role
    assert page.locator("main h1").bounding_box()["y"] <= 160, role
    for index in range(links.count()):
        assert not links.nth(index).is_visible(), (role, index)
    screenshot(page, f"phone-360-menu-closed-{role}-{'js' if javascript else 'nojs'}")

    # The quick exit is on screen and reached by keyboard before the menu.
    exit_box = _exit_link(page).bounding_box()
    assert _exit_link(page).is_visible() and exit_box["y"] + exit_box["height"] <= 640
    _tab_to(page, ".quick-exit")

    # The menu is one button away, opened from the keyboard, and every item is then reachable.
    toggle = _nav(page).locator("summary")
    assert toggle.inner_text().strip() == "Menu"
    assert toggle.evaluate("el => el.getAttribute('aria-expanded') ?? el.parentElement.open") in (False, "false")
    _tab_to(page, ".nav-menu > summary")
    page.keyboard.press("Enter")
    assert toggle.evaluate("el => el.parentElement.open") is True
    screenshot(page, f"phone-360-menu-open-{role}-{'js' if javascript else 'nojs'}")
    for index in range(links.count()):
        link = links.nth(index)
        assert link.is_visible(), (role, index)
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (role, index)
        page.keyboard.press("Tab")
        assert link.evaluate("el => el === document.activeElement"), (role, index, _focused(page))
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert _exit_link(page).is_visible()
    # And it closes again.
    toggle.click()
    assert not links.first.is_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_on_a_desktop_the_menu_is_shown_open(app, live_server, browser_page, browser_sign_in, make_user,
                                             javascript):
    enable(app, "reporting", "alerts", "casework", "training")
    page = browser_page(javascript=javascript)
    browser_sign_in(page, live_server, make_user("member", "moderator"))
    page.goto(f"{live_server}/")
    assert not _nav(page).locator("summary").is_visible()
    links = _nav(page).locator("a, button")
    assert links.count() >= 5
    for index in range(links.count()):
        assert links.nth(index).is_visible(), index
        box = links.nth(index).bounding_box()
        assert box["y"] + box["height"] <= page.locator("main").bounding_box()["y"], index  # above the page
    _tab_to(page, ".quick-exit")
    for index in range(links.count()):
        page.keyboard.press("Tab")
        assert links.nth(index).evaluate("el => el === document.activeElement"), (index, _focused(page))
