"""The demo data (`redumbrella demo`) seen in a real browser on a 360 px phone with JavaScript off:
the key training and casework screens, each one checked (its heading, no sideways scrolling, no
serious axe violation).

These pages are the screenshots of docs/modules/training.md and docs/modules/casework.md. To make
them again after changing a page:

    REDUMBRELLA_DOCS_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_docs_screenshots_browser.py

which writes small PNGs (360 px wide, 64 colours) into docs/modules/img/. Without the variable the
pages go to test-artifacts/ like every other browser test's screenshots.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from helpers import TEST_PASSWORD

from core.db import connection

# Markup, layout and contrast do not depend on the database: run in the SQLite pass only.
pytestmark = [pytest.mark.browser, pytest.mark.once]

PHONE = (360, 740)
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "modules" / "img"
MAX_HEIGHT = 1800  # a long page is cut here: the docs show its top


@pytest.fixture
def demo(app):
    """The test database filled exactly as `redumbrella demo` fills an instance."""
    from core.demo import fill

    with app.app_context(), connection():
        accounts, _password = fill(app, TEST_PASSWORD)
    return accounts


@pytest.fixture
def shoot(screenshot, axe_serious):
    """Check the page, then save it for the docs when asked to (small PNG), else as a test artifact."""

    def take(page, name: str, heading: str) -> None:
        assert page.get_by_role("heading", name=heading, level=1).is_visible(), page.url
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0], page.url
        assert axe_serious(page) == [], page.url
        if os.environ.get("REDUMBRELLA_DOCS_SCREENSHOTS") != "1":
            screenshot(page, name)
            return
        from PIL import Image

        image = Image.open(io.BytesIO(page.screenshot(full_page=True)))
        if image.height > MAX_HEIGHT:
            image = image.crop((0, 0, image.width, MAX_HEIGHT))
        image = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        image.save(DOCS_IMAGES / f"{name}.png", optimize=True)

    return take


def _signed_in(browser_page, browser_sign_in, live_server, user):
    page = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(page, live_server, user, TEST_PASSWORD)
    return page


def test_training_screens_from_the_demo(app, demo, live_server, browser_page, browser_sign_in, shoot):
    from plugins.training.models import Certificate, Course, Lesson, Module, Quiz, Session

    with app.app_context(), connection():
        course = Course.get(Course.title == "Demo: working with sex workers without judgement")
        lesson = (Lesson.select().join(Module).where(Module.course == course.id)
                  .order_by(Module.position, Lesson.position).first())
        quiz = Quiz.get(Quiz.course == course.id)
        session = Session.get(Session.course == course.id)
        certificate = Certificate.get(Certificate.user == demo["learner"].id)

    page = _signed_in(browser_page, browser_sign_in, live_server, demo["learner"])
    page.goto(f"{live_server}/training/")
    assert "Demo: working with sex workers without judgement" in page.content()
    shoot(page, "training-catalogue", "Training for professionals")

    page.goto(f"{live_server}/training/learn/lessons/{lesson.id}")
    assert "DEMO: made-up sample text." in page.content()
    shoot(page, "training-lesson", lesson.title)

    page.goto(f"{live_server}/training/quiz/{quiz.id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Start the quiz").click()
    assert "/training/quiz/attempt/" in page.url
    shoot(page, "training-quiz-attempt", quiz.title)

    page.goto(f"{live_server}/training/sessions/{session.id}")
    assert "Cancel my place" in page.content()  # the demo learner has a place
    shoot(page, "training-session", session.title)

    page.goto(f"{live_server}/training/certificates/{certificate.id}")
    assert "Demo Learner (made up)" in page.content()
    shoot(page, "training-certificate", "Certificate: Demo: a short introduction")

    trainer = _signed_in(browser_page, browser_sign_in, live_server, demo["trainer"])
    trainer.goto(f"{live_server}/training/author/courses/{course.id}")
    shoot(trainer, "training-author-course", course.title)

    stranger = browser_page(javascript=False, viewport=PHONE)
    stranger.goto(f"{live_server}/training/verify/{certificate.code}")
    assert stranger.locator("#certificate-status").get_attribute("data-status") == "valid"
    shoot(stranger, "training-verify", "Check a certificate")


def test_casework_screens_from_the_demo(app, demo, live_server, browser_page, browser_sign_in, shoot):
    from plugins.casework.models import Case

    with app.app_context(), connection():
        case = Case.get(Case.stage == "active")  # DEMO Ash (names are encrypted: not searchable)

    worker = _signed_in(browser_page, browser_sign_in, live_server, demo["caseworker"])
    worker.goto(f"{live_server}/casework/referrals")
    assert "DEMO Sky" in worker.content()
    shoot(worker, "casework-referrals", "Referrals")

    worker.goto(f"{live_server}/casework/cases/{case.reference}")
    assert "DEMO Ash" in worker.content()
    shoot(worker, "casework-case", f"Case {case.reference}")

    supervisor = _signed_in(browser_page, browser_sign_in, live_server, demo["casework_supervisor"])
    supervisor.goto(f"{live_server}/casework/dashboard")
    shoot(supervisor, "casework-dashboard", "Caseload")

    client = _signed_in(browser_page, browser_sign_in, live_server, demo["member"])
    client.goto(f"{live_server}/casework/my-support/")
    assert "Shall we meet on Thursday?" in client.content()
    shoot(client, "casework-your-support", "Your support")


def test_alerts_and_notice_screens_from_the_demo(app, demo, live_server, browser_page, browser_sign_in, shoot):
    """A member tells the demo's safety notice from its alerts about a person at a glance, and a
    check that matches the notice's website is unmistakably a caution, with its danger level in words."""
    from plugins.alerts.models import Alert

    with app.app_context(), connection():
        notice = Alert.get(Alert.kind == "notice")

    member = _signed_in(browser_page, browser_sign_in, live_server, demo["member"])
    member.goto(f"{live_server}/alerts/")
    cards = member.locator("article.alert-card")
    assert member.locator("article.alert-card.kind-notice").count() == 1
    assert cards.count() >= 2
    assert "Safety notice" in member.locator("article.kind-notice .kind-badge").inner_text()
    shoot(member, "alerts-list-with-notice", "Alerts")

    member.goto(f"{live_server}/alerts/{notice.id}")
    assert "fake-agency.example" in member.content()
    shoot(member, "alerts-notice", notice.title)

    member.goto(f"{live_server}/alerts/check")
    member.get_by_label("Phone number, e-mail, number plate or online name").fill("fake-agency.example")
    with member.expect_navigation():
        member.get_by_role("button", name="Check", exact=True).click()
    answer = member.locator("section.check-answer")
    assert "check-caution" in answer.get_attribute("class")
    heading = answer.get_by_role("heading", level=2).inner_text()
    assert "Caution" in heading and "Take care" in heading  # the level in words, not colour alone
    assert float(answer.evaluate("e => parseFloat(getComputedStyle(e).borderTopWidth)")) >= 3
    assert "This matches a safety notice we published" in answer.inner_text()
    assert "Checked as an online name and as a website." in answer.inner_text()
    shoot(member, "alerts-check-notice", "Check a number, e-mail, plate or online name")


# -- Other languages: Arabic (right to left) and French, for docs/right-to-left.md -----------------


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_screens_in_other_languages(app, make_app, serve_app, neutral_site, browser_page, shoot, language):
    """The home page, the report form's first step, the member's alerts and a check's answer, in
    Arabic and in French: docs/modules/img/i18n-<language>-*.png. Each page is in the language asked
    for (its heading is not the English one) and, in Arabic, runs right to left."""
    from browser.site_pages import LANGUAGES, fill_demo, sign_in

    accounts = fill_demo(app)
    base = serve_app(make_app({"QUICK_EXIT_URL": neutral_site, "LOCALES": LANGUAGES}))
    english = {}
    for path in ("/", "/reporting/report", "/alerts/", "/alerts/check"):
        page = browser_page(javascript=False, viewport=PHONE)
        if path.startswith("/alerts/"):
            sign_in(page, base, app, accounts["member"])
        page.goto(f"{base}{path}")
        english[path] = page.locator("main h1").inner_text()

    def take(page, name: str, path: str) -> None:
        heading = page.locator("main h1").inner_text()
        assert heading != english[path], f"{path} is not in {language}"
        assert page.evaluate("document.documentElement.lang") == language
        assert page.evaluate("document.documentElement.dir") == ("rtl" if language == "ar" else "ltr")
        shoot(page, f"i18n-{language}-{name}", heading)

    visitor = browser_page(javascript=False, viewport=PHONE, locale=language)
    visitor.goto(f"{base}/")
    take(visitor, "home", "/")
    visitor.goto(f"{base}/reporting/report")
    take(visitor, "report-step-1", "/reporting/report")

    member = browser_page(javascript=False, viewport=PHONE, locale=language)
    sign_in(member, base, app, accounts["member"])
    member.goto(f"{base}/alerts/")
    assert member.locator("article.alert-card").count() >= 2
    take(member, "alerts", "/alerts/")
    member.goto(f"{base}/alerts/check")
    member.locator("#identifier").fill("07700 900123")
    with member.expect_navigation():
        member.locator("main form button.primary").click()
    assert "check-caution" in member.locator("section.check-answer").get_attribute("class")
    take(member, "check-answer", "/alerts/check")
