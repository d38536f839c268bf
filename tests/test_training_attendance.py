"""Attendance at training sessions: the trainer's marks, closing (unmarked people become absent, by
the trainer or by the periodic task), QR self check-in only inside the date's window and only for
people with a place, the token stored hashed, completion counted, and the trainers' API."""

from __future__ import annotations

import datetime

import pytest
from casework_common import bearer, raw_database_text, token_for
from helpers import enable, post_form, sign_in
from test_training_sessions import browser_for, date_rows, enrol, make_course, make_session

from core.db import connection, utcnow


@pytest.fixture
def app(make_app):
    app = make_app({"MAIL_BACKEND": "file", "BASE_URL": "https://training.example.org"})
    enable(app, "training")
    return app


@pytest.fixture
def trainer(make_user):
    return make_user("trainer", email="trainer@example.org")


def book_all(app, session_id, *people):
    from plugins.training import sessions
    from plugins.training.models import Session

    with app.test_request_context(), connection():
        for person in people:
            sessions.book(Session.get_by_id(session_id), person)


def marks(app, date_id) -> dict[int, tuple[str, bool]]:
    from plugins.training.models import Attendance

    with app.app_context(), connection():
        return {a.user_id: (a.status, a.self_check_in) for a in Attendance.select().where(Attendance.session_date
                                                                                           == date_id)}


def shift(app, session_id, starts_in: datetime.timedelta, hours: float = 2):
    """Move the session's first date (as if time had passed) without going through the pages."""
    from plugins.training.models import SessionDate

    start = utcnow().replace(microsecond=0) + starts_in
    with app.app_context(), connection():
        date = date_rows(app, session_id)[0]
        SessionDate.update(starts_at=start, ends_at=start + datetime.timedelta(hours=hours)).where(
            SessionDate.id == date.id).execute()
    return date.id


def test_trainer_marks_and_closing_sets_everyone_unmarked_absent(app, make_user, trainer):
    course = make_course(app)
    people = [make_user("learner", email=f"p{i}@example.org") for i in range(4)]
    enrol(app, course, *people)
    session_id = make_session(app, course, capacity=3)
    book_all(app, session_id, *people)  # the fourth is on the waitlist: not on the register
    date_id = date_rows(app, session_id)[0].id
    staff = browser_for(app, trainer)
    page = f"/training/author/sessions/{session_id}/dates/{date_id}/attendance"
    listing = staff.get(page).get_data(as_text=True)
    assert people[0].email in listing and people[3].email not in listing
    saved = post_form(staff, page, {f"mark-{people[0].id}": "present", f"mark-{people[1].id}": "excused"},
                      token_from=page)
    assert saved.status_code == 303
    assert marks(app, date_id) == {people[0].id: ("present", False), people[1].id: ("excused", False)}
    assert post_form(staff, page, {f"mark-{people[3].id}": "present"}, token_from=page).status_code == 409
    assert post_form(staff, page, {f"mark-{people[0].id}": "asleep"}, token_from=page).status_code == 422

    closed = post_form(staff, page, {f"mark-{people[0].id}": "late", "close": "y"}, token_from=page)
    assert closed.status_code == 303
    assert marks(app, date_id) == {people[0].id: ("late", False), people[1].id: ("excused", False),
                                   people[2].id: ("absent", False)}
    assert date_rows(app, session_id)[0].attendance_closed_at is not None
    assert post_form(browser_for(app, people[0]), page, {f"mark-{people[0].id}": "present"}).status_code == 403


def test_the_periodic_task_closes_only_dates_that_ended_hours_ago(app, make_user):
    from plugins.training.attendance import close_due

    course = make_course(app)
    person = make_user("learner", email="p@example.org")
    enrol(app, course, person)
    old = make_session(app, course)
    recent = make_session(app, course)
    book_all(app, old, person)
    book_all(app, recent, person)
    old_date = shift(app, old, -datetime.timedelta(hours=10))  # ended 8 hours ago
    recent_date = shift(app, recent, -datetime.timedelta(hours=3))  # ended an hour ago
    from core.queue import current_queue
    from plugins.training.tasks import close_attendance

    with app.test_request_context(), connection():
        assert {"training.close_attendance", "training.remind_learners", "training.mail_booking"} <= set(
            current_queue().names)
        assert close_attendance.run_now() == 1
        assert close_due() == 0
    assert marks(app, old_date) == {person.id: ("absent", False)}
    assert marks(app, recent_date) == {}


def test_qr_check_in_works_only_inside_the_window_and_only_with_a_place(app, make_user, trainer):
    from plugins.training.models import CheckInCode

    course = make_course(app)
    booked, waiting = make_user("learner", email="booked@example.org"), make_user("learner", email="w@example.org")
    enrol(app, course, booked, waiting)
    session_id = make_session(app, course, capacity=1)
    book_all(app, session_id, booked, waiting)
    date_id = shift(app, session_id, datetime.timedelta(hours=2))  # opens 30 minutes before: not yet
    staff = browser_for(app, trainer)
    page = f"/training/author/sessions/{session_id}/dates/{date_id}/attendance"
    shown = post_form(staff, f"/training/author/sessions/{session_id}/dates/{date_id}/check-in-code", token_from=page)
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "<svg" in text
    url = text.split("https://training.example.org/training/sessions/check-in/")[1].split('"')[0]
    token = url.split("<")[0]
    with app.app_context(), connection():
        assert CheckInCode.select().count() == 1
    assert token not in raw_database_text(app)  # only its keyed hash is stored
    path = f"/training/sessions/check-in/{token}"

    learner = browser_for(app, booked)
    early = learner.get(path)
    assert early.status_code == 409 and "Check-in opens at" in early.get_data(as_text=True)
    assert post_form(learner, path, token_from="/training/sessions/").status_code == 409
    assert marks(app, date_id) == {}

    shift(app, session_id, -datetime.timedelta(minutes=5))  # started five minutes ago: within
    other = browser_for(app, waiting)
    assert other.get(path).status_code == 409
    assert "Only people with a place" in post_form(other, path, token_from="/training/sessions/").get_data(as_text=True)
    assert learner.get(path).status_code == 200
    done = post_form(learner, path, token_from="/training/sessions/")
    assert done.status_code == 200 and "You are checked in" in done.get_data(as_text=True)
    assert marks(app, date_id) == {booked.id: ("present", True)}
    assert "already recorded" in post_form(learner, path, token_from="/training/sessions/").get_data(as_text=True)

    shift(app, session_id, -datetime.timedelta(hours=3))  # ended an hour ago: closed
    late_path = path
    from plugins.training.models import Attendance

    with app.app_context(), connection():
        Attendance.delete().execute()
    after = post_form(learner, late_path, token_from="/training/sessions/")
    assert after.status_code == 409 and "has closed" in after.get_data(as_text=True)
    assert marks(app, date_id) == {}

    # A new code replaces the old one; an unknown code is a 404.
    post_form(staff, f"/training/author/sessions/{session_id}/dates/{date_id}/check-in-code", token_from=page)
    assert learner.get(path).status_code == 404
    assert learner.get("/training/sessions/check-in/not-a-code").status_code == 404


def test_checking_in_after_the_first_minutes_marks_late_and_never_overwrites_a_trainers_mark(app, make_user, trainer):
    from plugins.training import attendance
    from plugins.training.models import SessionDate

    course = make_course(app)
    first, second = make_user("learner", email="a@example.org"), make_user("learner", email="b@example.org")
    enrol(app, course, first, second)
    session_id = make_session(app, course)
    book_all(app, session_id, first, second)
    date_id = shift(app, session_id, -datetime.timedelta(minutes=20))
    with app.test_request_context(), connection():
        date = SessionDate.get_by_id(date_id)
        raw = attendance.issue_code(date, trainer)
        attendance.mark(date, trainer, {second.id: "excused"})
        code = attendance.code_for(raw)
        assert attendance.check_in(code, first) == "late"
        assert attendance.check_in(code, second) == "done"
    assert marks(app, date_id) == {first.id: ("late", True), second.id: ("excused", False)}


def test_attendance_counts_towards_completion(app, make_user, trainer):
    from plugins.training.models import Enrolment

    course = make_course(app)  # no lessons or quizzes: the session is all there is to do
    person = make_user("learner", email="p@example.org")
    enrol(app, course, person)
    session_id = make_session(app, course)
    book_all(app, session_id, person)
    date_id = date_rows(app, session_id)[0].id
    staff = browser_for(app, trainer)
    page = f"/training/author/sessions/{session_id}/dates/{date_id}/attendance"
    post_form(staff, page, {f"mark-{person.id}": "absent"}, token_from=page)
    with app.app_context(), connection():
        assert Enrolment.get(Enrolment.user == person.id).status == "active"
    post_form(staff, page, {f"mark-{person.id}": "present"}, token_from=page)
    with app.app_context(), connection():
        assert Enrolment.get(Enrolment.user == person.id).status == "completed"


def test_trainers_mark_and_close_through_the_api_with_a_token(app, make_user, trainer):
    course = make_course(app)
    first, second = make_user("learner", email="a@example.org"), make_user("learner", email="b@example.org")
    enrol(app, course, first, second)
    session_id = make_session(app, course)
    book_all(app, session_id, first, second)
    date_id = date_rows(app, session_id)[0].id
    client = app.test_client()
    staff = bearer(token_for(app, trainer))
    learner = bearer(token_for(app, first))
    url = f"/api/v1/sessions/{session_id}/dates/{date_id}/attendance"
    assert client.post(url, json={"marks": []}, headers=learner).status_code == 403
    assert client.post(url, json={"marks": [{"user_id": first.id, "status": "maybe"}]},
                       headers=staff).status_code == 422
    assert client.post(url, data="x", headers=staff).status_code == 415
    answer = client.post(url, json={"marks": [{"user_id": first.id, "status": "present"}], "close": True},
                         headers=staff)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["closed_at"] is not None
    assert {m["user_id"]: m["status"] for m in body["marks"]} == {first.id: "present", second.id: "absent"}
    listed = client.get(f"/api/v1/sessions/{session_id}/attendance", headers=staff).get_json()
    assert listed[0]["date"]["id"] == date_id
    assert client.post(f"/api/v1/sessions/{session_id}/dates/{date_id + 1000}/attendance", json={},
                       headers=staff).status_code == 404
    assert client.post(url, json={"marks": [{"user_id": 99999, "status": "present"}]},
                       headers=staff).status_code == 409


def test_the_pages_render_for_trainers_and_learners(app, make_user, trainer):
    course = make_course(app)
    person = make_user("learner", email="p@example.org")
    enrol(app, course, person)
    session_id = make_session(app, course, dates=2, needs_approval=True)
    staff = browser_for(app, trainer)
    for path in ("/training/author/sessions/", "/training/author/sessions/?past=1",
                 f"/training/author/sessions/{session_id}"):
        response = staff.get(path)
        assert response.status_code == 200, path
        assert "<main" in response.get_data(as_text=True)
    learner = app.test_client()
    sign_in(learner, person)
    listing = learner.get("/training/sessions/").get_data(as_text=True)
    assert "Session in Leeds" in listing and "and 1 more date" in listing
    assert "Ask for a place" in learner.get(f"/training/sessions/{session_id}").get_data(as_text=True)
    assert learner.get("/training/author/sessions/").status_code == 403
    assert app.test_client().get("/training/sessions/").status_code == 302  # sign in first
