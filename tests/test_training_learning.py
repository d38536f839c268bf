"""Training: learners read lessons in order, mark them done, see their progress, and complete a
course under its rule ("all", or the chosen set) with lessons, passed quizzes and attended sessions.
Only enrolled learners (and trainers) read a course; everyone else gets 404.
"""

from __future__ import annotations

import datetime
import secrets

import pytest
from helpers import enable, post_form, sign_in

from core.db import connection, utcnow


@pytest.fixture
def app(make_app):
    app = make_app()
    enable(app, "training")
    return app


@pytest.fixture
def learner(make_user):
    return make_user("learner", email="learner@example.org")


def build(app, status="published", rule="all", counts=(True, True, True), title="Course"):
    """A course with one module of len(counts) lessons; returns (course id, [lesson ids])."""
    from plugins.training.models import Course, Lesson, Module

    with app.app_context(), connection():
        course = Course.create(title=title, status=status, completion_rule=rule)
        module = Module.create(course=course, title="Module", position=1)
        lessons = [Lesson.create(module=module, title=f"Lesson {i + 1}", position=i + 1,
                                 body=f"Body **{i + 1}** <script>alert(1)</script>", counts_for_completion=c).id
                   for i, c in enumerate(counts)]
        return course.id, lessons


def enrol(app, course_id, user, status="active"):
    from plugins.training.models import Enrolment

    with app.app_context(), connection():
        return Enrolment.create(course=course_id, user=user.id, status=status).id


def the(app, name, row_id):
    from plugins.training import models

    with app.app_context(), connection():
        return getattr(models, name).get_by_id(row_id)


def progress_of(app, enrolment_id):
    from plugins.training import learning
    from plugins.training.models import Enrolment

    with app.app_context(), connection():
        return learning.progress(Enrolment.get_by_id(enrolment_id))


def check(app, enrolment_id):
    from plugins.training import learning
    from plugins.training.models import Enrolment

    with app.app_context(), connection():
        return learning.check_completion(Enrolment.get_by_id(enrolment_id))


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def done(client, lesson_id):
    page = f"/training/learn/lessons/{lesson_id}"
    return post_form(client, f"{page}/done", {}, token_from=page)


def test_lessons_in_order_with_previous_next_and_mark_as_done(app, learner):
    course_id, (one, two, three) = build(app)
    enrolment_id = enrol(app, course_id, learner)
    client = signed_in(app, learner)

    first = client.get(f"/training/learn/lessons/{one}")
    assert first.status_code == 200
    text = first.get_data(as_text=True)
    assert "<strong>1</strong>" in text and "<script>alert" not in text and "&lt;script&gt;" in text
    assert f"/training/learn/lessons/{two}" in text and "Mark as done" in text and "Lesson 1 of 3" in text
    middle = client.get(f"/training/learn/lessons/{two}").get_data(as_text=True)
    assert f'href="/training/learn/lessons/{one}" rel="prev"' in middle
    assert f'href="/training/learn/lessons/{three}" rel="next"' in middle

    response = done(client, one)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/training/learn/lessons/{two}")
    assert done(client, one).status_code == 303  # twice changes nothing
    progress = progress_of(app, enrolment_id)
    assert (progress["done"], progress["total"], progress["percent"], progress["complete"]) == (1, 3, 33, False)
    assert [(i["kind"], i["id"], i["done"]) for i in progress["items"]] == [
        ("lesson", one, True), ("lesson", two, False), ("lesson", three, False)]
    contents = client.get(f"/training/learn/courses/{course_id}").get_data(as_text=True)
    assert "Done: 1 of 3" in contents and f"/training/learn/lessons/{two}" in contents

    done(client, two)
    last = done(client, three)
    assert last.headers["Location"].endswith(f"/training/learn/courses/{course_id}")
    enrolment = the(app, "Enrolment", enrolment_id)
    assert enrolment.status == "completed" and enrolment.completed_at is not None
    assert "You have completed this course." in client.get(f"/training/learn/courses/{course_id}").get_data(
        as_text=True)


def test_only_enrolled_learners_read_and_drafts_are_for_trainers(app, learner, make_user):
    course_id, (lesson_id, *_rest) = build(app)
    other_course, (other_lesson, *_more) = build(app, title="Other")
    draft_course, (draft_lesson, *_d) = build(app, status="draft", title="Draft")
    enrol(app, course_id, learner)
    enrol(app, draft_course, learner)
    from plugins.training.models import LessonFile

    with app.app_context(), connection():
        other_file = LessonFile.create(lesson=other_lesson, filename="a.txt", content_type="text/plain", size=2,
                                       data="aGk=").id
        own_file = LessonFile.create(lesson=lesson_id, filename="b.txt", content_type="text/plain", size=2,
                                     data="aGk=").id
    client = signed_in(app, learner)
    assert client.get(f"/training/learn/lessons/{lesson_id}").status_code == 200
    assert client.get(f"/training/learn/files/{own_file}").status_code == 200
    # Another course's lessons, files and contents: exactly as if they did not exist.
    for path in (f"/training/learn/lessons/{other_lesson}", f"/training/learn/files/{other_file}",
                 f"/training/learn/courses/{other_course}", "/training/learn/lessons/999999",
                 f"/training/learn/lessons/{draft_lesson}", f"/training/learn/courses/{draft_course}"):
        assert client.get(path).status_code == 404, path
    assert post_form(client, f"/training/learn/lessons/{other_lesson}/done", {},
                     token_from=f"/training/learn/lessons/{lesson_id}").status_code == 404

    withdrawn = make_user("learner", email="withdrawn@example.org")
    enrol(app, course_id, withdrawn, status="withdrawn")
    assert signed_in(app, withdrawn).get(f"/training/learn/lessons/{lesson_id}").status_code == 404
    requested = make_user("learner", email="requested@example.org")
    enrol(app, course_id, requested, status="requested")
    assert signed_in(app, requested).get(f"/training/learn/lessons/{lesson_id}").status_code == 404

    trainer = make_user("trainer", email="trainer@example.org")
    preview = signed_in(app, trainer)
    page = preview.get(f"/training/learn/lessons/{draft_lesson}")
    assert page.status_code == 200 and "Mark as done" not in page.get_data(as_text=True)
    assert app.test_client().get(f"/training/learn/lessons/{lesson_id}").status_code == 302  # sign in first


def quiz_and_session(app, course_id, *, quiz_counts=True, session_counts=True, dates=2):
    from plugins.training.models import Quiz, Session, SessionDate

    with app.app_context(), connection():
        quiz = Quiz.create(course=course_id, title="Check", counts_for_completion=quiz_counts)
        session = Session.create(course=course_id, title="Workshop", counts_for_completion=session_counts)
        start = utcnow() - datetime.timedelta(days=10)
        date_ids = [SessionDate.create(session=session, starts_at=start + datetime.timedelta(days=i),
                                       ends_at=start + datetime.timedelta(days=i, hours=2),
                                       uid=secrets.token_hex(8)).id for i in range(dates)]
        return quiz.id, session.id, date_ids


def test_completion_under_all_needs_lessons_a_passed_quiz_and_attendance_on_every_date(app, learner):
    from plugins.training.models import Attempt, Attendance, Booking

    course_id, lessons = build(app, rule="all", counts=(True, False))
    quiz_id, session_id, date_ids = quiz_and_session(app, course_id, session_counts=False)
    enrolment_id = enrol(app, course_id, learner)
    client = signed_in(app, learner)

    progress = progress_of(app, enrolment_id)
    # "all": every lesson, the quiz, and one "attend a session" item (not booked yet), whatever they say.
    assert progress["total"] == 4
    assert [i["kind"] for i in progress["items"]] == ["lesson", "lesson", "quiz", "session"]
    assert progress["items"][-1]["id"] is None

    for lesson_id in lessons:
        done(client, lesson_id)
    with app.app_context(), connection():
        Attempt.create(quiz=quiz_id, user=learner.id, submitted_at=utcnow(), score=40, passed=False)
        Booking.create(session=session_id, user=learner.id, status="booked")
    assert progress_of(app, enrolment_id)["done"] == 2  # a failed attempt does not count
    with app.app_context(), connection():
        Attempt.create(quiz=quiz_id, user=learner.id, submitted_at=utcnow(), score=90, passed=True)
        Attendance.create(session_date=date_ids[0], user=learner.id, status="present")
        Attendance.create(session_date=date_ids[1], user=learner.id, status="absent")
    progress = progress_of(app, enrolment_id)
    assert progress["done"] == 3 and progress["items"][-1] == {"kind": "session", "id": session_id,
                                                               "title": "Workshop", "done": False}
    assert check(app, enrolment_id) is False
    assert the(app, "Enrolment", enrolment_id).status == "active"

    with app.app_context(), connection():
        Attendance.update(status="late").where(Attendance.session_date == date_ids[1]).execute()
    assert check(app, enrolment_id) is True
    first = the(app, "Enrolment", enrolment_id)
    assert first.status == "completed" and first.completed_at is not None
    assert check(app, enrolment_id) is True  # again: nothing changes
    assert the(app, "Enrolment", enrolment_id).completed_at == first.completed_at


def test_completion_under_chosen_counts_only_what_is_marked(app, learner):
    course_id, (counted, optional) = build(app, rule="chosen", counts=(True, False))
    quiz_and_session(app, course_id, quiz_counts=False, session_counts=False)
    enrolment_id = enrol(app, course_id, learner)
    progress = progress_of(app, enrolment_id)
    assert (progress["total"], [i["id"] for i in progress["items"]]) == (1, [counted])

    client = signed_in(app, learner)
    done(client, optional)
    assert the(app, "Enrolment", enrolment_id).status == "active"
    done(client, counted)
    assert the(app, "Enrolment", enrolment_id).status == "completed"


def test_chosen_with_a_counted_quiz_completes_when_t3s_passed_attempt_arrives(app, learner):
    from plugins.training.models import Attempt

    course_id, (lesson_id,) = build(app, rule="chosen", counts=(True,))
    quiz_id, _session, _dates = quiz_and_session(app, course_id, quiz_counts=True, session_counts=False)
    enrolment_id = enrol(app, course_id, learner)
    done(signed_in(app, learner), lesson_id)
    assert the(app, "Enrolment", enrolment_id).status == "active"
    assert progress_of(app, enrolment_id)["percent"] == 50
    with app.app_context(), connection():
        Attempt.create(quiz=quiz_id, user=learner.id, submitted_at=utcnow(), score=100, passed=True)
    assert check(app, enrolment_id) is True
    assert progress_of(app, enrolment_id)["percent"] == 100


def test_an_empty_course_never_completes_and_undoing_keeps_a_completion(app, learner):
    course_id, _lessons = build(app, counts=())
    enrolment_id = enrol(app, course_id, learner)
    assert progress_of(app, enrolment_id)["total"] == 0
    assert check(app, enrolment_id) is False

    course_id, (lesson_id,) = build(app, counts=(True,), title="One lesson")
    enrolment_id = enrol(app, course_id, learner)
    client = signed_in(app, learner)
    done(client, lesson_id)
    assert the(app, "Enrolment", enrolment_id).status == "completed"
    page = f"/training/learn/lessons/{lesson_id}"
    assert post_form(client, f"{page}/done", {"undo": "1"}, token_from=page).status_code == 303
    assert progress_of(app, enrolment_id)["done"] == 0
    assert the(app, "Enrolment", enrolment_id).status == "completed"  # a certificate is not taken back


def test_the_course_page_shows_progress_and_links_to_the_lessons(app, learner):
    course_id, (one, _two) = build(app, counts=(True, True))
    enrol(app, course_id, learner)
    client = signed_in(app, learner)
    done(client, one)
    page = client.get(f"/training/courses/{course_id}").get_data(as_text=True)
    assert "Done: 1 of 2" in page and f'href="/training/learn/courses/{course_id}"' in page
    outsider = app.test_client().get(f"/training/courses/{course_id}").get_data(as_text=True)
    assert "Done:" not in outsider


def test_a_cancelled_date_does_not_keep_a_session_from_counting(app, learner):
    from plugins.training.models import Attendance, Booking, SessionDate

    course_id, lessons = build(app, rule="chosen", counts=(False, False))
    _quiz_id, session_id, date_ids = quiz_and_session(app, course_id, quiz_counts=False, dates=2)
    enrolment_id = enrol(app, course_id, learner)
    with app.app_context(), connection():
        Booking.create(session=session_id, user=learner.id, status="booked")
        Attendance.create(session_date=date_ids[0], user=learner.id, status="present")
    assert check(app, enrolment_id) is False  # the second date is still to come
    with app.app_context(), connection():
        SessionDate.update(cancelled_at=utcnow()).where(SessionDate.id == date_ids[1]).execute()
    assert check(app, enrolment_id) is True  # nobody can attend a cancelled date


def test_a_course_reads_in_its_own_direction_whatever_the_page_language(app, learner):
    """An Arabic course on an English page reads right to left; an English one, left to right."""
    from plugins.training.models import Course

    arabic_id, (lesson,) = build(app, counts=(True,), title="دورة")
    with app.app_context(), connection():
        Course.update(language="ar").where(Course.id == arabic_id).execute()
    english_id, (english_lesson,) = build(app, counts=(True,))
    enrol(app, arabic_id, learner)
    enrol(app, english_id, learner)
    client = app.test_client()
    sign_in(client, learner)
    assert '<article lang="ar" dir="rtl">' in client.get(f"/training/learn/lessons/{lesson}").get_data(as_text=True)
    contents = client.get(f"/training/learn/courses/{arabic_id}").get_data(as_text=True)
    assert '<h1 lang="ar" dir="rtl">' in contents
    english = client.get(f"/training/learn/lessons/{english_lesson}").get_data(as_text=True)
    assert '<article lang="en" dir="ltr">' in english
