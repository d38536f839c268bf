"""Every step of a course can be reached by following links: a trainer finds the course's quizzes
and sessions from its page; a learner finds the quiz and the session from their course page, and
their certificates from a finished course."""

from __future__ import annotations

import re

from helpers import TEST_PASSWORD, sign_in

from core.db import connection
from core.demo import fill


def _hrefs(html: str) -> set[str]:
    """The links in the page's main content (the menu has its own links)."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    return set(re.findall(r'href="([^"]+)"', main))


def test_the_steps_of_a_course_are_linked(app):
    from plugins.training.models import Course, Quiz, Session

    with app.app_context(), connection():
        fill(app, TEST_PASSWORD)
        course = Course.get(Course.title == "Demo: working with sex workers without judgement")
        short = Course.get(Course.title == "Demo: a short introduction")
        quiz = Quiz.get(Quiz.course == course.id)
        session = Session.get(Session.course == course.id)

    trainer = app.test_client()
    sign_in(trainer, "trainer@demo.invalid")
    page = trainer.get(f"/training/author/courses/{course.id}").get_data(as_text=True)
    assert {f"/training/author/quizzes/courses/{course.id}", "/training/author/sessions/"} <= _hrefs(page)

    learner = app.test_client()
    sign_in(learner, "learner@demo.invalid")
    page = learner.get(f"/training/learn/courses/{course.id}").get_data(as_text=True)
    assert {f"/training/quiz/{quiz.id}", f"/training/sessions/{session.id}"} <= _hrefs(page)
    assert "/training/certificates" in _hrefs(learner.get(f"/training/learn/courses/{short.id}").get_data(as_text=True))


def test_a_learner_not_booked_yet_is_led_to_the_sessions(app, make_user):
    from plugins.training.models import Course

    with app.app_context(), connection():
        fill(app, TEST_PASSWORD)
        course = Course.get(Course.title == "Demo: working with sex workers without judgement")
    newcomer = make_user("learner")
    client = app.test_client()
    sign_in(client, newcomer)
    client.post(f"/training/courses/{course.id}/enrol",
                data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', client.get(
                    f"/training/courses/{course.id}").get_data(as_text=True)).group(1)})
    page = client.get(f"/training/learn/courses/{course.id}").get_data(as_text=True)
    assert "/training/sessions/" in _hrefs(page)
    assert "/training/certificates" not in _hrefs(page)  # nothing completed yet
