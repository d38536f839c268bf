"""Training in a real browser with JavaScript switched off, on a 360 px phone, following links as
people do: (a) a trainer writes a course (a module, a lesson, a quiz with one question, a session
with a date) and publishes it, a learner books the session and the trainer marks them present;
(b) a learner joins an open course, reads the lessons, passes the quiz, is marked present, names
their certificate, and anyone without an account checks it on the public page."""

from __future__ import annotations

import datetime

import pytest
from helpers import enable

from core.db import connection

pytestmark = pytest.mark.browser

PHONE = (360, 740)


@pytest.fixture
def training(app):
    enable(app, "training")
    return app


def _submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def _follow(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("link", name=name, exact=True).first.click()


def _fits(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0], page.url  # no sideways scrolling


def _mark_present(page, live_server, session_title: str, learner) -> None:
    """The trainer opens the session from "Run sessions" and marks the learner present."""
    page.goto(f"{live_server}/training/author/sessions/")
    _follow(page, session_title)
    _follow(page, "Attendance and check-in code")
    _fits(page)
    page.locator(f"#mark-{learner.id}-present").check()
    _submit(page, "Save attendance")
    assert "Attendance saved." in page.content()


def test_a_trainer_writes_a_course_and_marks_a_booked_learner_present(training, live_server, browser_page,
                                                                       browser_sign_in, make_user):
    from plugins.training.models import Attendance, Booking, Course, Question, Quiz, SessionDate

    trainer_account = make_user("trainer", email="trainer@example.org")
    learner_account = make_user("learner", email="learner@example.org")

    # 1. A new course, a module and a lesson.
    page = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(page, live_server, trainer_account)
    page.goto(f"{live_server}/training/author/")
    _follow(page, "Start a new course")
    _fits(page)
    page.get_by_label("Title").fill("Listening without judgement")
    page.get_by_label("Summary").fill("For front-desk staff.")
    page.get_by_label("Hours (shown on the certificate)").fill("2")
    _submit(page, "Save the course")
    assert "The course is saved as a draft." in page.content()
    course_url = page.url.split("#")[0]
    _fits(page)
    page.get_by_label("Title").fill("First contact")
    _submit(page, "Add the module")
    assert "The module is added." in page.content()
    _follow(page, "Add a lesson to First contact")
    page.get_by_label("Title").fill("Listening first")
    page.get_by_label("Text").fill("Ask what the person **needs**.")
    _submit(page, "Save the lesson")
    _fits(page)

    # 2. A quiz with one question, reached from the course page.
    page.goto(course_url)
    _follow(page, "Quizzes of this course")
    page.get_by_label("Title").fill("Check your understanding")
    page.get_by_label("Pass mark (percent)").fill("100")
    page.get_by_label("Questions per attempt").fill("1")
    _submit(page, "Add the quiz")
    assert "The quiz is added." in page.content()
    page.get_by_label("Kind of question").select_option("single")
    _submit(page, "Add a question")
    _fits(page)
    page.get_by_label("The question").fill("What do you do first?")
    page.get_by_label("Option 1").fill("Listen")
    page.locator("#f-choice-0-correct").check()
    page.get_by_label("Option 2").fill("Lecture")
    _submit(page, "Save the question")
    assert "What do you do first?" in page.content()

    # 3. Published.
    page.goto(course_url)
    _submit(page, "Publish")
    assert "The course is published" in page.content()

    # 4. A session with a date, from "Run sessions".
    page.goto(course_url)
    _follow(page, "Run sessions")
    _fits(page)
    page.get_by_label("Course", exact=True).select_option(label="Listening without judgement")
    page.get_by_label("Title", exact=True).fill("Evening session, Leeds")
    page.get_by_label("Venue").fill("Community hall, room 2")
    page.get_by_label("Places").fill("10")
    when = datetime.date.today() + datetime.timedelta(days=10)
    page.get_by_label("First date starts").fill(f"{when.isoformat()}T18:00")
    page.get_by_label("First date ends").fill(f"{when.isoformat()}T20:00")
    _submit(page, "Save the session")
    assert "The session is saved." in page.content()
    _fits(page)

    with training.app_context(), connection():
        course = Course.get(Course.title == "Listening without judgement")
        assert course.status == "published" and course.hours == 2
        quiz = Quiz.get(Quiz.course == course.id)
        assert Question.select().where(Question.quiz == quiz.id).count() == 1
        date = SessionDate.get()
        assert date.session.course_id == course.id and date.ends_at > date.starts_at

    # 5. A learner finds the course, joins, and books the session from their course page.
    learner = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(learner, live_server, learner_account)
    learner.goto(f"{live_server}/training/")
    _follow(learner, "Listening without judgement")
    _submit(learner, "Join this course")
    _follow(learner, "Start the lessons")
    _fits(learner)
    _follow(learner, "Attend a session")  # not booked yet: the course page leads to its sessions
    _follow(learner, "Evening session, Leeds")
    _fits(learner)
    _submit(learner, "Book a place")
    assert "You have a place." in learner.content()

    # 6. The trainer marks them present.
    _mark_present(page, live_server, "Evening session, Leeds", learner_account)
    with training.app_context(), connection():
        assert Booking.get(Booking.user == learner_account.id).status == "booked"
        mark = Attendance.get(Attendance.user == learner_account.id)
        assert mark.status == "present" and mark.marked_by_id == trainer_account.id


def _open_course():
    """A published open course: two lessons, a one-question quiz, a session in ten days."""
    from core.accounts.models import User
    from plugins.training import authoring, quizzes, sessions

    author = User.by_email("author@example.org")
    course = authoring.create_course(author, {"title": "Responding to reports", "summary": "For police staff.",
                                              "hours": 3, "certificate_valid_days": 365, "enrolment": "open"})
    authoring.add_trainer(course, author, "Sam (trainer)")
    module = authoring.add_module(course, author, "Reports")
    authoring.add_lesson(module, author, {"title": "Why people do not report", "body": "Trust is earned."})
    authoring.add_lesson(module, author, {"title": "Taking a report", "body": "Believe first."})
    quiz = quizzes.create_quiz(course, author, {"title": "Reports quiz", "pass_mark": 100, "draw": 1})
    quizzes.add_question(quiz, author, {"kind": "single", "text": "Who decides what happens next?",
                                        "choices": [{"text": "The person reporting", "correct": True},
                                                    {"text": "The officer"}]})
    starts = datetime.datetime.combine(datetime.date.today() + datetime.timedelta(days=10), datetime.time(9, 0))
    sessions.create_session(author, {"course_id": course.id, "title": "Morning session", "venue": "Room 1",
                                     "capacity": 5, "cancel_cutoff_hours": 24,
                                     "dates": [{"starts_at": starts, "ends_at": starts + datetime.timedelta(hours=3)}]})
    authoring.set_status(course, author, "publish")


def test_a_learner_completes_a_course_and_anyone_can_check_the_certificate(training, live_server, browser_page,
                                                                            browser_sign_in, make_user, axe_serious):
    from plugins.training.models import Certificate, Enrolment

    trainer_account = make_user("trainer", email="author@example.org")
    learner_account = make_user("learner", email="learner@example.org")
    with training.test_request_context(), connection():
        _open_course()

    # 1. Enrol from the catalogue.
    page = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(page, live_server, learner_account)
    page.goto(f"{live_server}/training/")
    _fits(page)
    _follow(page, "Responding to reports")
    _submit(page, "Join this course")
    _follow(page, "Start the lessons")

    # 2. Read both lessons, marking each done.
    _follow(page, "Continue: Why people do not report")
    assert "Trust is earned." in page.content()
    _fits(page)
    _submit(page, "Mark as done")  # on to the next lesson
    assert page.get_by_role("heading", name="Taking a report").is_visible()
    _submit(page, "Mark as done")  # the last one: back to the course's contents
    assert "Done: 2 of 4" in page.content()  # two lessons of two lessons, a quiz and a session

    # 3. Pass the quiz.
    _follow(page, "Quiz: Reports quiz")
    _submit(page, "Start the quiz")
    _fits(page)
    page.get_by_label("The person reporting").check()
    _submit(page, "Submit my answers")
    assert "You passed. Well done." in page.content()
    _fits(page)

    # 4. Book the session; the trainer marks them present; the course is complete.
    page.goto(f"{live_server}/training/")
    _follow(page, "Responding to reports")
    _follow(page, "Continue the lessons")
    _follow(page, "Attend a session")
    _follow(page, "Morning session")
    _submit(page, "Book a place")
    trainer = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(trainer, live_server, trainer_account)
    _mark_present(trainer, live_server, "Morning session", learner_account)
    with training.app_context(), connection():
        assert Enrolment.get(Enrolment.user == learner_account.id).status == "completed"

    # 5. The certificate: the learner gives their name, and it is signed.
    page.goto(f"{live_server}/training/")
    _follow(page, "Responding to reports")
    _follow(page, "Continue the lessons")
    assert "You have completed this course." in page.content()
    _follow(page, "Your certificates")
    _follow(page, "Responding to reports")
    _fits(page)
    page.get_by_label("Your name on the certificate").fill("Alex Example")
    _submit(page, "Make my certificate")
    assert "Alex Example" in page.content()
    _fits(page)
    assert axe_serious(page) == []
    verify_link = page.locator("main a[href*='/training/verify/']").first.get_attribute("href")
    with training.app_context(), connection():
        certificate = Certificate.get(Certificate.user == learner_account.id)
        assert certificate.signature and certificate.learner_name == "Alex Example"
        assert certificate.code.replace("-", "") in verify_link.replace("-", "")

    # 6. Anyone, signed out, checks it on the public page.
    stranger = browser_page(javascript=False, viewport=PHONE)
    stranger.goto(verify_link if verify_link.startswith("http") else f"{live_server}{verify_link}")
    status = stranger.locator("#certificate-status")
    assert status.get_attribute("data-status") == "valid"
    assert "Valid" in status.inner_text()
    assert "Alex Example" in stranger.content() and "Responding to reports" in stranger.content()
    assert "Sign out" not in stranger.content()
    _fits(stranger)
    assert axe_serious(stranger) == []
