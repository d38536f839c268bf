"""Browser harness: the test app on a live local server, and Playwright pages in Debian's chromium.

Mark every test here @pytest.mark.browser (scripts/dev.py deselects them where chromium is absent).
Nothing leaves the machine: pages only reach 127.0.0.1, and any other request is blocked and fails
the test.

Fixtures for anyone's browser test:

- ``live_server``: base URL (``http://127.0.0.1:PORT``) of an app built like ``app`` on the same
  test database (so ``make_user``, ``enable(app, ...)`` and friends set it up), whose
  QUICK_EXIT_URL is ``neutral_site``. Server errors fail the test with the traceback.
- ``serve_app(app)``: serve another app, e.g. ``serve_app(make_app({"NEUTRAL_TITLE": "Notes"}))``.
- ``neutral_site``: URL of a tiny neutral page on a second local server (a different origin).
- ``browser_page(javascript=True, viewport=(1280, 800), locale="en")``: a fresh page in its own
  browser context (own cookies). ``page.requested_urls`` lists every URL the page asked for.
  Note: with javascript=False, ``page.evaluate`` of anything asynchronous never settles.
- ``browser_sign_in(page, base_url, user)``: sign in through the real form (two-factor included).
- ``axe_serious(page)``: serious and critical axe-core violations on the page (axe-core is bundled
  by the axe-playwright-python test dependency and injected by the test, never by our pages).
  Works on javascript=False pages too (checked on a JavaScript-enabled copy of their DOM).
- ``axe_violations(page)``: the same, stricter: every violation whatever its impact.
- ``screenshot(page, name)``: save a full-page PNG under test-artifacts/ (gitignored; or the folder
  named by REDUMBRELLA_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import threading
import traceback
from pathlib import Path
from urllib.parse import urlparse

import pytest
from helpers import TEST_PASSWORD
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = os.environ.get("REDUMBRELLA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ARTIFACTS = Path(os.environ.get("REDUMBRELLA_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request would drown the test output
        pass


class _ErrorRecorder:
    """WSGI wrapper that keeps the traceback of any exception the app raised while serving."""

    def __init__(self, app):
        self.app = app
        self.errors: list[str] = []

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except Exception:
            self.errors.append(f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}\n{traceback.format_exc()}")
            raise


class _Server:
    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"live-server-{self.url}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


NEUTRAL_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weather</title></head>
<body><main><h1>Weather</h1><p>Light rain later.</p></main></body></html>"""


def _neutral_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")])
    return [NEUTRAL_PAGE]


@pytest.fixture(scope="session")
def neutral_site():
    """A stand-in for the neutral site the quick exit goes to: a second local server, another origin."""
    server = _Server(_neutral_app)
    yield f"{server.url}/weather"
    server.stop()


@pytest.fixture
def serve_app():
    """Serve apps on 127.0.0.1 for this test; returns each one's base URL. Server errors fail the test."""
    running: list[tuple[_Server, _ErrorRecorder]] = []

    def serve(app) -> str:
        recorder = _ErrorRecorder(app)
        server = _Server(recorder)
        running.append((server, recorder))
        return server.url

    yield serve
    errors = []
    for server, recorder in running:
        server.stop()
        errors.extend(recorder.errors)
    if errors:
        pytest.fail("the live server raised:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def live_server(app, make_app, serve_app, neutral_site) -> str:
    """Base URL of the test app (same database as `app`), quick exit pointing at neutral_site."""
    return serve_app(make_app({"QUICK_EXIT_URL": neutral_site}))


@pytest.fixture(scope="session")
def _browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need chromium at {CHROMIUM} (apt-get install chromium, or set "
                    "REDUMBRELLA_CHROMIUM); deselect them with -m 'not browser'", pytrace=False)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


def _local_only(blocked: list[str]):
    """A route handler that lets requests to this machine through and blocks (and notes) the rest."""

    def guard(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    return guard


@pytest.fixture
def browser_page(_browser):
    """Make pages, each in a fresh context; off-machine requests are blocked and fail the test."""
    contexts = []
    blocked: list[str] = []

    def make(javascript: bool = True, viewport: tuple[int, int] = (1280, 800), locale: str = "en", **options):
        context = _browser.new_context(
            java_script_enabled=javascript,
            viewport={"width": viewport[0], "height": viewport[1]},
            locale=locale,
            **options,
        )
        contexts.append(context)

        context.route("**/*", _local_only(blocked))
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.javascript_enabled = javascript
        page.requested_urls = []
        page.on("request", lambda request: page.requested_urls.append(request.url))
        return page

    yield make
    for context in contexts:
        context.close()
    if blocked:
        pytest.fail(f"a page tried to reach another machine: {blocked}", pytrace=False)


@pytest.fixture
def browser_sign_in(app):
    """Sign in through the real form; staff accounts get two-factor set up and answer a real code."""
    from helpers import enrol_two_factor, next_two_factor_code

    from core.accounts import totp
    from core.accounts.models import User
    from core.db import connection

    def sign_in(page, base_url: str, user, password: str = TEST_PASSWORD) -> None:
        with app.app_context(), connection():
            needs_two_factor = totp.needs_enrolment(User.by_email(user.email))
        if needs_two_factor:
            enrol_two_factor(app, user)
        page.goto(f"{base_url}/account/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        if "/account/login/code" in page.url:
            page.get_by_label("Code").fill(next_two_factor_code(app, user))
            with page.expect_navigation():
                page.locator("main form button[type=submit]").click()
        assert "/account/login" not in page.url, "sign-in did not succeed"

    return sign_in


def _axe_check(browser, impacts: set[str] | None):
    """A check that runs axe-core on a page and returns its violations of the given impacts (all of
    them when impacts is None) as readable lines.

    axe needs JavaScript. For a page opened with javascript=False, the page as it stands (its DOM,
    styled by our real stylesheet from the live server) is copied into a JavaScript-enabled page at
    the same address and checked there, so no-JavaScript flows, POST results included, are checked
    too.
    """
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def violations(target) -> list[str]:
        found = []
        for violation in axe.run(target).response["violations"]:
            if impacts is None or violation["impact"] in impacts:
                for node in violation["nodes"]:
                    found.append(f"{violation['id']} ({violation['impact']}) at {node['target']}: "
                                 f"{node.get('failureSummary', '')}")
        return found

    def check(page) -> list[str]:
        if getattr(page, "javascript_enabled", True):
            return violations(page)
        html, url = page.content(), page.url
        blocked: list[str] = []
        context = browser.new_context(viewport=page.viewport_size)
        try:
            context.route("**/*", _local_only(blocked))
            copy = context.new_page()
            copy.set_default_timeout(10_000)
            copy.route(url, lambda route: route.fulfill(status=200, body=html,
                                                        content_type="text/html; charset=utf-8"))
            copy.goto(url)
            found = violations(copy)
        finally:
            context.close()
        assert not blocked, f"the page tried to reach another machine: {blocked}"
        return found

    return check


@pytest.fixture(scope="session")
def axe_serious(_browser):
    """Run axe-core on a page; return its serious and critical violations as readable lines."""
    return _axe_check(_browser, {"serious", "critical"})


@pytest.fixture(scope="session")
def axe_violations(_browser):
    """Run axe-core on a page; return every violation, minor and moderate ones too."""
    return _axe_check(_browser, None)


@pytest.fixture(scope="session")
def screenshot():
    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
