"""Training sessions: booking, the waitlist and its promotion (also under real concurrent threads),
cut-off, approval, the online link only for people with a place, e-mails with .ics files that
update and cancel (same UID, rising SEQUENCE), reminders at most once, and the API.

Courses, enrolments and sessions are made with the models and the service; every learner's and
trainer's action then goes through the real pages, API and queue (immediate in tests).
"""

from __future__ import annotations

import datetime
import email
import json
import threading
from email import policy
from pathlib import Path

import pytest
from casework_common import bearer, token_for
from helpers import enable, post_form, sign_in
from icalendar import Calendar

from core.db import connection, utcnow

LINK = "https://meet.example.org/room-4821"


@pytest.fixture
def app(make_app):
    app = make_app({"MAIL_BACKEND": "file", "BASE_URL": "https://training.example.org"})
    enable(app, "training")
    return app


@pytest.fixture
def trainer(make_user):
    return make_user("trainer", email="trainer@example.org")


def make_course(app, title="Responding without judgement") -> int:
    from plugins.training.models import Course

    with app.app_context(), connection():
        return Course.create(title=title, status="published").id


def enrol(app, course_id, *users) -> None:
    from plugins.training.models import Enrolment

    with app.app_context(), connection():
        for user in users:
            Enrolment.create(course=course_id, user=user.id, status="active")


def make_session(app, course_id, starts_in=datetime.timedelta(days=7), hours=3, dates=1, **values) -> int:
    from plugins.training import sessions

    start = utcnow().replace(second=0, microsecond=0) + starts_in
    data = {"course_id": course_id, "title": "Session in Leeds", "venue": "Room 2, 1 Example Street",
            "online_link": None, "capacity": 10, "needs_approval": False, "cancel_cutoff_hours": 24,
            "counts_for_completion": True,
            "dates": [{"starts_at": start + datetime.timedelta(days=i), "ends_at": start + datetime.timedelta(days=i,
                                                                                                              hours=hours)}
                      for i in range(dates)], **values}
    with app.test_request_context(), connection():
        return sessions.create_session(None, data).id


def learners(make_user, count, prefix="learner"):
    return [make_user("learner", email=f"{prefix}{i}@example.org") for i in range(count)]


def statuses(app, session_id) -> dict[int, str]:
    from plugins.training.models import Booking

    with app.app_context(), connection():
        return {b.user_id: b.status for b in Booking.select().where(Booking.session == session_id)}


def browser_for(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def mails(app) -> list:
    folder = Path(app.instance_path) / "mail"
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def mails_to(app, address: str) -> list:
    return [m for m in mails(app) if m["To"] == address]


def calendars(message) -> list:
    """(METHOD, VEVENT) of each calendar attachment."""
    found = []
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            calendar = Calendar.from_ical(part.get_payload(decode=True))
            events = [c for c in calendar.walk() if c.name == "VEVENT"]
            assert len(events) == 1
            found.append((str(calendar["METHOD"]), events[0]))
    return found


def date_rows(app, session_id):
    from plugins.training.models import SessionDate

    with app.app_context(), connection():
        return list(SessionDate.select().where(SessionDate.session == session_id).order_by(SessionDate.id))


# -- booking and the waitlist ------------------------------------------------------------------------


def test_a_full_session_waitlists_the_next_booking_and_a_cancellation_promotes_exactly_one(app, make_user):
    course = make_course(app)
    people = learners(make_user, 4)
    enrol(app, course, *people)
    session_id = make_session(app, course, capacity=2)
    browsers = [browser_for(app, p) for p in people]
    for client in browsers:
        response = post_form(client, f"/training/sessions/{session_id}/book",
                             token_from=f"/training/sessions/{session_id}")
        assert response.status_code == 303
    assert [statuses(app, session_id)[p.id] for p in people] == ["booked", "booked", "waitlisted", "waitlisted"]
    page = browsers[3].get(f"/training/sessions/{session_id}").get_data(as_text=True)
    assert "number 2 in the queue" in page

    response = post_form(browsers[0], f"/training/sessions/{session_id}/cancel",
                         token_from=f"/training/sessions/{session_id}")
    assert response.status_code == 303
    assert [statuses(app, session_id)[p.id] for p in people] == ["cancelled", "booked", "booked", "waitlisted"]
    promoted = mails_to(app, people[2].email)
    assert [m["Subject"] for m in promoted] == ["You are on a waiting list", "A place has come free for you"]
    assert [method for method, _event in calendars(promoted[-1])] == ["REQUEST"]

    # Booking again while a booking stands changes nothing; booking after cancelling joins the end.
    post_form(browsers[1], f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    post_form(browsers[0], f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    assert [statuses(app, session_id)[p.id] for p in people] == ["waitlisted", "booked", "booked", "waitlisted"]
    from plugins.training.models import Booking

    with app.app_context(), connection():
        order = [b.user_id for b in Booking.select().where((Booking.session == session_id)
                                                              & (Booking.status == "waitlisted"))
                 .order_by(Booking.updated_at, Booking.id)]
    assert order == [people[3].id, people[0].id]


def test_a_learner_not_enrolled_sees_no_session_and_cannot_book(app, make_user):
    course = make_course(app)
    outsider = make_user("learner", email="outsider@example.org")
    session_id = make_session(app, course)
    client = browser_for(app, outsider)
    assert client.get(f"/training/sessions/{session_id}").status_code == 404
    assert post_form(client, f"/training/sessions/{session_id}/book").status_code == 404
    assert client.get("/training/sessions/").status_code == 200
    assert statuses(app, session_id) == {}


def test_the_online_link_is_shown_only_to_a_learner_with_a_place_and_stored_encrypted(app, make_user):
    from casework_common import raw_database_text

    course = make_course(app)
    first, second = learners(make_user, 2)
    enrol(app, course, first, second)
    session_id = make_session(app, course, capacity=1, venue=None, online_link=LINK)
    one, two = browser_for(app, first), browser_for(app, second)
    assert LINK not in one.get(f"/training/sessions/{session_id}").get_data(as_text=True)
    post_form(one, f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    post_form(two, f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    assert LINK in one.get(f"/training/sessions/{session_id}").get_data(as_text=True)
    assert LINK not in two.get(f"/training/sessions/{session_id}").get_data(as_text=True)  # waitlisted
    assert LINK in mails_to(app, first.email)[0].get_body(("plain",)).get_content()
    assert LINK not in mails_to(app, second.email)[0].as_string()
    assert LINK not in raw_database_text(app)

    token = token_for(app, second)
    listed = app.test_client().get("/api/v1/sessions", headers=bearer(token)).get_json()
    assert listed[0]["online"] is True and listed[0]["online_link"] is None
    assert listed[0]["booking"] == {"session_id": session_id, "status": "waitlisted", "waitlist_position": 1}


def test_a_place_cannot_be_cancelled_after_the_cut_off_but_a_waitlist_entry_can(app, make_user):
    course = make_course(app)
    first, second = learners(make_user, 2)
    enrol(app, course, first, second)
    session_id = make_session(app, course, capacity=1, starts_in=datetime.timedelta(hours=10), cancel_cutoff_hours=24)
    one, two = browser_for(app, first), browser_for(app, second)
    post_form(one, f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    post_form(two, f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    refused = post_form(one, f"/training/sessions/{session_id}/cancel", token_from=f"/training/sessions/{session_id}")
    assert refused.status_code == 409
    assert "too late to cancel" in refused.get_data(as_text=True)
    assert post_form(two, f"/training/sessions/{session_id}/cancel",
                     token_from=f"/training/sessions/{session_id}").status_code == 303
    assert statuses(app, session_id) == {first.id: "booked", second.id: "cancelled"}
    left = mails_to(app, second.email)[-1]
    assert "no longer waiting" in left.get_body(("plain",)).get_content() and calendars(left) == []


def test_approval_by_a_trainer_gives_a_place_and_a_decline_tells_the_learner(app, make_user, trainer):
    course = make_course(app)
    first, second = learners(make_user, 2)
    enrol(app, course, first, second)
    session_id = make_session(app, course, needs_approval=True)
    for person in (first, second):
        post_form(browser_for(app, person), f"/training/sessions/{session_id}/book",
                  token_from=f"/training/sessions/{session_id}")
    assert set(statuses(app, session_id).values()) == {"requested"}
    staff = browser_for(app, trainer)
    from plugins.training.models import Booking

    with app.app_context(), connection():
        ids = {b.user_id: b.id for b in Booking.select()}
    page = f"/training/author/sessions/{session_id}"
    assert post_form(staff, f"{page}/bookings/{ids[first.id]}/approve", token_from=page).status_code == 303
    assert post_form(staff, f"{page}/bookings/{ids[second.id]}/decline", token_from=page).status_code == 303
    assert statuses(app, session_id) == {first.id: "booked", second.id: "cancelled"}
    assert mails_to(app, first.email)[-1]["Subject"] == "Your place on a training session"
    assert "was not approved" in mails_to(app, second.email)[-1].get_body(("plain",)).get_content()
    # A learner cannot reach the trainers' pages.
    assert post_form(browser_for(app, first), f"{page}/bookings/{ids[second.id]}/approve").status_code == 403


def test_an_organisation_manager_approves_only_their_own_people(app, make_user):
    from core.organisations import Organisation, OrganisationMember

    course = make_course(app)
    mine, other = learners(make_user, 2)
    manager = make_user("organisation_manager", email="manager@example.org")
    enrol(app, course, mine, other)
    with app.app_context(), connection():
        force = Organisation.create(name="Example Police", kind="police")
        elsewhere = Organisation.create(name="Example Trust", kind="health")
        OrganisationMember.create(organisation=force, user=manager.id)
        OrganisationMember.create(organisation=force, user=mine.id)
        OrganisationMember.create(organisation=elsewhere, user=other.id)
    session_id = make_session(app, course, needs_approval=True)
    for person in (mine, other):
        post_form(browser_for(app, person), f"/training/sessions/{session_id}/book",
                  token_from=f"/training/sessions/{session_id}")
    client = browser_for(app, manager)
    page = client.get("/training/sessions/approvals").get_data(as_text=True)
    assert mine.email in page and other.email not in page
    from plugins.training.models import Booking

    with app.app_context(), connection():
        ids = {b.user_id: b.id for b in Booking.select()}
    assert post_form(client, "/training/sessions/approvals", {"booking": ids[other.id], "decision": "approve"},
                     token_from="/training/sessions/approvals").status_code == 404
    assert post_form(client, "/training/sessions/approvals", {"booking": ids[mine.id], "decision": "approve"},
                     token_from="/training/sessions/approvals").status_code == 303
    assert statuses(app, session_id) == {mine.id: "booked", other.id: "requested"}


# -- concurrency: real threads, real database -----------------------------------------------------------


def _in_threads(app, work, people) -> list:
    """Run work(user) for every person at once, each in its own thread with its own connection."""
    barrier = threading.Barrier(len(people))
    errors: list = []

    def run(person):
        try:
            with app.test_request_context(), connection():
                barrier.wait(timeout=30)
                work(person)
        except Exception as exc:  # noqa: BLE001  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_twenty_simultaneous_bookings_for_ten_places_give_ten_places_and_ten_waiting(app, make_user):
    from plugins.training import sessions
    from plugins.training.models import Session

    course = make_course(app)
    people = learners(make_user, 20)
    enrol(app, course, *people)
    session_id = make_session(app, course, capacity=10)

    def book(person):
        sessions.book(Session.get_by_id(session_id), person)

    assert _in_threads(app, book, people) == []
    found = list(statuses(app, session_id).values())
    assert found.count("booked") == 10 and found.count("waitlisted") == 10


def test_two_simultaneous_cancellations_promote_exactly_two_in_order(app, make_user):
    from plugins.training import sessions
    from plugins.training.models import Session

    course = make_course(app)
    holders = learners(make_user, 3, "holder")
    waiting = learners(make_user, 3, "waiting")
    enrol(app, course, *holders, *waiting)
    session_id = make_session(app, course, capacity=3)
    with app.test_request_context(), connection():
        for person in holders + waiting:  # one after another: the waitlist's order is known
            sessions.book(Session.get_by_id(session_id), person)

    def cancel(person):
        sessions.cancel_booking(Session.get_by_id(session_id), person)

    assert _in_threads(app, cancel, holders[:2]) == []
    found = statuses(app, session_id)
    assert [found[p.id] for p in holders] == ["cancelled", "cancelled", "booked"]
    assert [found[p.id] for p in waiting] == ["booked", "booked", "waitlisted"]
    assert len(mails_to(app, waiting[0].email)) == 2 and len(mails_to(app, waiting[2].email)) == 1


# -- calendar files ---------------------------------------------------------------------------------------


def test_ics_keeps_its_uid_raises_its_sequence_and_cancels(app, make_user, trainer):
    course = make_course(app)
    learner = make_user("learner", email="sam@example.org")
    enrol(app, course, learner)
    session_id = make_session(app, course, dates=2)
    first, second = date_rows(app, session_id)
    client = browser_for(app, learner)
    post_form(client, f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    booked = calendars(mails_to(app, learner.email)[-1])
    assert [(m, str(e["UID"]), int(e["SEQUENCE"])) for m, e in booked] == [("REQUEST", first.uid, 0),
                                                                            ("REQUEST", second.uid, 0)]
    assert booked[0][1]["DTSTART"].dt.replace(tzinfo=None) == first.starts_at
    assert "Room 2" in str(booked[0][1]["LOCATION"])

    # The trainer moves the first date: same UID, SEQUENCE 1, still a REQUEST, with the new time.
    staff = browser_for(app, trainer)
    page = f"/training/author/sessions/{session_id}"
    new_start = first.starts_at + datetime.timedelta(days=1)
    response = post_form(staff, f"{page}/dates/{first.id}", {
        "starts_at": new_start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (new_start + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")}, token_from=page)
    assert response.status_code == 303
    changed = calendars(mails_to(app, learner.email)[-1])
    assert mails_to(app, learner.email)[-1]["Subject"] == "A training session has changed"
    assert [(m, str(e["UID"]), int(e["SEQUENCE"])) for m, e in changed] == [("REQUEST", first.uid, 1),
                                                                             ("REQUEST", second.uid, 0)]
    assert changed[0][1]["DTSTART"].dt.replace(tzinfo=None) == new_start

    # The learner cancels: both events become CANCEL with a SEQUENCE above any they had.
    post_form(client, f"/training/sessions/{session_id}/cancel", token_from=f"/training/sessions/{session_id}")
    cancelled = calendars(mails_to(app, learner.email)[-1])
    assert [(m, str(e["UID"]), int(e["SEQUENCE"]), str(e["STATUS"])) for m, e in cancelled] == [
        ("CANCEL", first.uid, 2, "CANCELLED"), ("CANCEL", second.uid, 1, "CANCELLED")]

    # Booked again: a REQUEST newer than the CANCEL; then the trainer cancels the whole session.
    post_form(client, f"/training/sessions/{session_id}/book", token_from=f"/training/sessions/{session_id}")
    again = calendars(mails_to(app, learner.email)[-1])
    assert [(m, int(e["SEQUENCE"])) for m, e in again] == [("REQUEST", 3), ("REQUEST", 2)]
    assert post_form(staff, f"{page}/cancel", token_from=page).status_code == 303
    gone = calendars(mails_to(app, learner.email)[-1])
    assert [(m, str(e["UID"]), int(e["SEQUENCE"])) for m, e in gone] == [("CANCEL", first.uid, 4),
                                                                          ("CANCEL", second.uid, 3)]
    assert statuses(app, session_id) == {learner.id: "cancelled"}
    # Every message was recorded in core's outbox, with no address in it.
    from core.mail import OutgoingMail

    with app.app_context(), connection():
        rows = [(row.kind, json.loads(row.task_args)[1]) for row in OutgoingMail.select().order_by(OutgoingMail.id)]
        assert all("@" not in row.target for row in OutgoingMail.select())
    assert rows == [("training_booking", kind) for kind in ("booked", "changed", "cancelled", "booked",
                                                             "session_cancelled")]


def test_a_cancelled_date_sends_its_cancel_and_the_last_date_cannot_be_cancelled_alone(app, make_user, trainer):
    course = make_course(app)
    learner = make_user("learner", email="sam@example.org")
    enrol(app, course, learner)
    session_id = make_session(app, course, dates=2)
    first, second = date_rows(app, session_id)
    post_form(browser_for(app, learner), f"/training/sessions/{session_id}/book",
              token_from=f"/training/sessions/{session_id}")
    staff = browser_for(app, trainer)
    page = f"/training/author/sessions/{session_id}"
    assert post_form(staff, f"{page}/dates/{second.id}/cancel", token_from=page).status_code == 303
    events = calendars(mails_to(app, learner.email)[-1])
    assert [(m, str(e["UID"]), int(e["SEQUENCE"])) for m, e in events] == [("REQUEST", first.uid, 0),
                                                                            ("CANCEL", second.uid, 1)]
    refused = post_form(staff, f"{page}/dates/{first.id}/cancel", token_from=page)
    assert refused.status_code == 409 and "at least one date" in refused.get_data(as_text=True)


def test_mail_is_in_the_learners_language(app, make_user):
    from core.accounts.models import User

    course = make_course(app)
    learner = make_user("learner", email="ana@example.org")
    with app.app_context(), connection():
        User.update(locale="es").where(User.id == learner.id).execute()
    enrol(app, course, learner)
    session_id = make_session(app, course)
    post_form(browser_for(app, learner), f"/training/sessions/{session_id}/book",
              token_from=f"/training/sessions/{session_id}")
    message = mails_to(app, learner.email)[-1]
    assert message["Content-Language"] == "es"
    weekday = date_rows(app, session_id)[0].starts_at.weekday()
    spanish = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"][weekday]
    assert spanish in message.get_body(("plain",)).get_content()


# -- reminders ----------------------------------------------------------------------------------------------


def test_reminders_go_once_per_booking_for_sessions_within_a_day(app, make_user):
    from plugins.training import sessions

    course = make_course(app)
    soon_person, later_person = learners(make_user, 2)
    enrol(app, course, soon_person, later_person)
    soon = make_session(app, course, starts_in=datetime.timedelta(hours=20))
    later = make_session(app, course, starts_in=datetime.timedelta(days=3))
    post_form(browser_for(app, soon_person), f"/training/sessions/{soon}/book", token_from=f"/training/sessions/{soon}")
    post_form(browser_for(app, later_person), f"/training/sessions/{later}/book",
              token_from=f"/training/sessions/{later}")
    with app.test_request_context(), connection():
        assert sessions.queue_due_reminders() == 1
        assert sessions.queue_due_reminders() == 0
    subjects = [m["Subject"] for m in mails_to(app, soon_person.email)]
    assert subjects.count("A reminder of your training session") == 1
    assert calendars(mails_to(app, soon_person.email)[-1])[0][0] == "REQUEST"
    assert "A reminder of your training session" not in [m["Subject"] for m in mails_to(app, later_person.email)]


# -- trainers' pages and the API -----------------------------------------------------------------------------


def test_a_trainer_makes_a_session_on_the_page_and_bad_input_is_a_422(app, trainer):
    course = make_course(app)
    staff = browser_for(app, trainer)
    start = (utcnow() + datetime.timedelta(days=5)).replace(microsecond=0)
    form = {"course_id": course, "title": "Evening session", "venue": "", "online_link": "", "capacity": "12",
            "cancel_cutoff_hours": "48", "counts_for_completion": "y",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    bad = post_form(staff, "/training/author/sessions/", form, token_from="/training/author/sessions/")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "The end must be after the start." in text and "Please give a venue or an online link." in text
    form.update(venue="Room 1", ends_at=(start + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                capacity="many")
    assert post_form(staff, "/training/author/sessions/", form, token_from="/training/author/sessions/").status_code \
        == 422
    form["capacity"] = "12"
    made = post_form(staff, "/training/author/sessions/", form, token_from="/training/author/sessions/")
    assert made.status_code == 303
    page = staff.get(made.headers["Location"])
    assert page.status_code == 200 and "Evening session" in page.get_data(as_text=True)
    assert "Evening session" in staff.get("/training/author/sessions/").get_data(as_text=True)


def test_the_api_lists_books_and_cancels_and_is_described(app, make_user):
    course = make_course(app)
    learner = make_user("learner", email="api@example.org")
    enrol(app, course, learner)
    session_id = make_session(app, course, online_link=LINK, capacity=1)
    client = app.test_client()
    headers = bearer(token_for(app, learner))
    assert client.post(f"/api/v1/sessions/{session_id}/book").status_code == 401
    booked = client.post(f"/api/v1/sessions/{session_id}/book", headers=headers)
    assert booked.status_code == 200
    body = booked.get_json()
    assert body["booking"]["status"] == "booked" and body["online_link"] == LINK and body["places_left"] == 0
    assert client.get("/api/v1/sessions", headers=headers).get_json()[0]["id"] == session_id
    cancelled = client.post(f"/api/v1/sessions/{session_id}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["booking"] is None
    again = client.post(f"/api/v1/sessions/{session_id}/cancel", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "no_booking"
    assert client.post(f"/api/v1/sessions/{2**63 - 1}/book", headers=headers).status_code == 404
    assert client.post(f"/api/v1/sessions/{2**63}/book", headers=headers).status_code == 404
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/sessions", "/sessions/{session_id}/book", "/sessions/{session_id}/cancel",
                 "/sessions/{session_id}/attendance", "/sessions/{session_id}/dates/{date_id}/attendance"):
        assert path in paths


def test_more_places_promote_the_waitlist_and_a_new_place_is_told_to_people_with_a_place(app, make_user, trainer):
    course = make_course(app)
    people = learners(make_user, 3)
    enrol(app, course, *people)
    session_id = make_session(app, course, capacity=1)
    for person in people:
        post_form(browser_for(app, person), f"/training/sessions/{session_id}/book",
                  token_from=f"/training/sessions/{session_id}")
    staff = browser_for(app, trainer)
    page = f"/training/author/sessions/{session_id}"
    form = {"course_id": course, "title": "Session in Leeds", "venue": "Room 9, 1 Example Street",
            "online_link": "", "capacity": "2", "cancel_cutoff_hours": "24", "counts_for_completion": "y"}
    assert post_form(staff, page, form, token_from=page).status_code == 303
    assert [statuses(app, session_id)[p.id] for p in people] == ["booked", "booked", "waitlisted"]
    first_events = calendars(mails_to(app, people[0].email)[-1])
    assert mails_to(app, people[0].email)[-1]["Subject"] == "A training session has changed"
    assert int(first_events[0][1]["SEQUENCE"]) == 1 and "Room 9" in str(first_events[0][1]["LOCATION"])
    assert mails_to(app, people[1].email)[-1]["Subject"] == "A place has come free for you"
    assert len(mails_to(app, people[2].email)) == 1  # still waiting: told nothing new
