"""Every page of the site as each role meets it, for the browser tests that go through all of them
(test_accessibility_browser.py, test_rtl_browser.py, test_docs_screenshots_browser.py).

- ``LANGUAGES``: the LOCALES of the app these tests serve (English, Arabic, French).
- ``fill_demo(app)``: the test database filled as `redumbrella demo` fills an instance (every module
  on, one account per role, sample alerts, cases, courses), plus the team's contact lines.
- ``seeds(app, accounts)``: where each role starts: the home page, and the pages that are reached
  from an e-mail, a form or a typed address rather than from a link.
- ``sign_in(page, base_url, app, user)``: sign in through the real form in any language (fields are
  found by their ids, not their English labels); staff are enrolled in two-factor sign-in first.
- ``crawl(page, base_url, app, seeds, visit)``: open each seed, follow every link on this site
  breadth first, and call ``visit(key, path)`` once per kind of page (its Flask endpoint) the
  person reaches: the list of alerts and one alert are each checked once, not every alert.
  Downloads (CSV, calendar files, PDFs) and redirects are noted but not opened as pages.
- ``NOT_CRAWLED``: the pages no crawl opens, each with the reason.

For the report form's browser tests (test_reporting_browser.py, test_reporting_quick_exit_browser.py):

- ``with_reporting``: a fixture, the app with the reporting module on; a test file takes it under
  the name its tests ask for with one line, ``reporting = with_reporting``.
- ``save_and_continue(page)``: press "Save and continue" on the report form and wait for the next page.

For casework's (test_casework_browser.py, test_casework_support_language.py): ``with_casework``,
taken the same way (``casework = with_casework``).
"""

from __future__ import annotations

from collections import deque
from urllib.parse import urlsplit

import pytest
from helpers import TEST_PASSWORD, enable, enrol_two_factor, next_two_factor_code
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

LANGUAGES = ["en", "ar", "fr"]
ROLES = ("anonymous", "member", "partner", "moderator", "admin", "caseworker", "casework_supervisor",
         "trainer", "learner", "organisation_manager")
CONTACT = ["Call or text 0800 000 0000 (Monday to Friday, 10 to 6)", "help@example.org"]
MISSING = "/no-such-page"  # the "not found" page, checked like any other

# Pages no crawl opens. Each is a page, but reached only with a secret from an e-mail or a form
# (POST), or a file rather than a page. Its own tests open it.
NOT_CRAWLED = {
    "auth.reset_password": "a link with a token, from an e-mail",
    "invitations.accept": "a link with a token, from an e-mail",
    "invitations.set_password": "a link with a token, from an e-mail",
    "casework_plans.feedback": "a link with a token, from an e-mail",
    "training_sessions.check_in": "a link with a token, from the trainer's screen at the session",
    "membership.applied": "shown after the membership form is sent",
    "profile.deleted": "shown after an account is deleted",
    "training_quiz.attempt": "an attempt is started with a form (POST)",
    "training_quiz.learner_results": "exists once a learner has answered the quiz",
    "membership.application": "exists once someone has applied",
    "training_feedback.answer": "exists once a trainer adds a questionnaire to a course",
    "casework_plans.approval": "exists once a caseworker asks for an approval",
    "casework_plans.safety_plan_version": "exists once a safety plan has been saved",
    "casework_work.appointment": "exists once an appointment is booked",
    "casework_work.appointment_ics": "a calendar file, exists once an appointment is booked",
    "casework_work.referral_print": "exists once a referral out is made",
    "reporting.my_report": "the demo's reports were sent anonymously",
    "reporting_moderate.attachment": "an image, not a page",
    "training_learn.download": "a file, not a page",
    "core.healthz": "JSON, not a page",
    "federation_admin.peer": "exists once another instance is added as a peer",
    "federation_admin.group": "exists once a group of peers is made",
    "webhooks.show": "exists once a webhook is added",
}


def fill_demo(app) -> dict:
    """The test database filled as `redumbrella demo` fills an instance, plus the team's contact
    lines (so the Contact us page exists); returns the demo accounts by role."""
    from core.db import connection
    from core.demo import fill
    from core.settings import plugin_settings, save_settings, schema_for

    with app.app_context(), connection():
        accounts, _password = fill(app, TEST_PASSWORD)
        save_settings("core", {**schema_for("core").dump(plugin_settings("core")), "contact": CONTACT})
    return accounts


def seeds(app) -> dict[str, list[str]]:
    """Where each role starts: its home page, then pages no link leads to (or whose first link found
    leads to an empty one: a course without a quiz)."""
    from core.db import connection
    from plugins.alerts.models import Alert
    from plugins.reporting.models import Report
    from plugins.training.models import Certificate, Course, Question, Quiz

    with app.app_context(), connection():
        alert = Alert.select().where(Alert.kind != "notice").order_by(Alert.id).first()
        report = Report.select().order_by(Report.id).first()
        quiz = Quiz.select().order_by(Quiz.id).first()
        question = Question.select().where(Question.quiz == quiz.id).order_by(Question.id).first()
        course = Course.get_by_id(quiz.course_id)
        certificate = Certificate.select().order_by(Certificate.id).first()
    account = ["/account/profile", "/account/security", "/account/password", "/account/tokens", "/account/delete"]
    every = {role: ["/"] for role in ROLES}
    every["anonymous"] += ["/account/login", "/account/reset", "/join", "/contact", "/reporting/follow-up",
                           "/training/verify", f"/training/verify/{certificate.code}", "/casework/support",
                           "/casework/my-support/", MISSING]
    every["member"] += [*account, "/reporting/mine", "/casework/my-support/", "/n/", f"/n/{alert.id}"]
    every["admin"] += ["/admin/wording/ar/?q=Quick+exit"]  # the search's answers link to each message
    every["moderator"] += [f"/reporting/moderate/{report.reference}", f"/alerts/manage/{alert.id}/preview"]
    every["trainer"] += [f"/training/author/quizzes/{quiz.id}", f"/training/author/quizzes/{quiz.id}/results",
                         f"/training/author/quizzes/{quiz.id}/questions/new",
                         f"/training/author/quizzes/{quiz.id}/questions/{question.id}",
                         "/training/certificates/issued", f"/training/manage/courses/{course.id}/enrolments"]
    every["learner"] += [f"/training/quiz/{quiz.id}"]
    return every


def endpoint_of(app, path: str) -> str | None:
    """The Flask endpoint that serves a path on this site (None when nothing does)."""
    adapter = app.url_map.bind("127.0.0.1")
    try:
        endpoint, _args = adapter.match(urlsplit(path).path, method="GET")
    except RequestRedirect as redirect:
        return endpoint_of(app, urlsplit(redirect.new_url).path)
    except HTTPException:
        return None
    return endpoint


def pages_of(app) -> set[str]:
    """Every endpoint answering GET outside the JSON API and static files."""
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and not rule.rule.startswith("/api/") and not rule.endpoint.endswith("static")
            and not rule.rule.startswith(("/.well-known/", "/federation/"))}  # those two: JSON for other instances


def sign_in(page, base_url: str, app, user, password: str = TEST_PASSWORD, code_page=None) -> None:
    """Sign in through the real form, in whatever language the page is in. ``code_page(page)`` is
    called on the two-factor code page when there is one."""
    from core.accounts import totp
    from core.accounts.models import User
    from core.db import connection

    with app.app_context(), connection():
        needs_two_factor = totp.needs_enrolment(User.by_email(user.email))
    if needs_two_factor:
        enrol_two_factor(app, user)
    page.goto(f"{base_url}/account/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if "/account/login/code" in page.url:
        if code_page is not None:
            code_page(page)
        page.locator("#code").fill(next_two_factor_code(app, user))
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
    assert "/account/login" not in page.url, "sign-in did not succeed"


LINKS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"


def crawl(page, base_url: str, app, start, visit, skip=frozenset()) -> dict[str, str]:
    """Visit one page of each kind reachable from ``start`` by links; return {key: path}, where the
    key is the page's endpoint (or the address of a page that does not exist)."""
    here = urlsplit(base_url).netloc
    queue = deque(start)
    seen: dict[str, str] = {}
    while queue:
        path = queue.popleft()
        endpoint = endpoint_of(app, path)
        key = endpoint or path
        if key in seen or key in skip or key.endswith("static") or (endpoint is None and path not in start):
            continue
        fetched = page.request.get(f"{base_url}{path}", max_redirects=0)
        if 300 <= fetched.status < 400:
            target = urlsplit(fetched.headers["location"])
            if target.netloc in ("", here):
                queue.appendleft(target.path + (f"?{target.query}" if target.query else ""))
            seen[key] = path
            continue
        seen[key] = path
        if not fetched.headers.get("content-type", "").startswith("text/html"):
            continue  # a download: CSV, calendar file, PDF, JSON
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.status == (404 if endpoint is None else 200), (path, response.status)
        visit(key, path)
        for href in page.evaluate(LINKS):
            link = urlsplit(href)
            if link.netloc == here and link.scheme in ("http", "https"):
                queue.append(link.path + (f"?{link.query}" if link.query else ""))
    return seen


# -- the report form ------------------------------------------------------------------------------------


@pytest.fixture
def with_reporting(app):
    """The app with the reporting module on."""
    enable(app, "reporting")
    return app


@pytest.fixture
def with_casework(app):
    """The app with the casework module on."""
    enable(app, "casework")
    return app


def save_and_continue(page) -> None:
    """Press "Save and continue" on the report form and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
