"""Casework appointments: the worker's pages and API, .ics files that update and cancel, client reminders.

Cases are made directly with the models (the intake pages are tested in their own files); every
change then goes through the real pages, API and queue.
"""

from __future__ import annotations

import datetime
import json
import secrets
from pathlib import Path

import pytest
from conftest import using_postgres
from helpers import enable, enrol_two_factor, post_form, sign_in
from icalendar import Calendar

from core.db import connection, utcnow


@pytest.fixture
def app(make_app):
    app = make_app({"MAIL_BACKEND": "file", "BASE_URL": "https://notes.example.org"})
    enable(app, "reporting", "casework")
    return app


@pytest.fixture
def worker(make_user):
    return make_user("caseworker", email="worker@example.org")


@pytest.fixture
def other_worker(make_user):
    return make_user("caseworker", email="other@example.org")


def make_case(app, worker, client_user=None, **values):
    """A case as intake leaves it: assigned to `worker`, in the assessment stage."""
    from plugins.casework.models import Case

    with app.app_context(), connection():
        case = Case.create(reference="C-" + secrets.token_hex(3).upper(), worker=worker.id, stage="assessment",
                           client=getattr(client_user, "id", None), working_name="Sam", **values)
        return case.reference


def worker_client(app, user):
    browser = app.test_client()
    sign_in(browser, user)
    return browser


def rows(app, model_path: str, **where):
    import importlib

    module, _sep, name = model_path.rpartition(".")
    model = getattr(importlib.import_module(module), name)
    with app.app_context(), connection():
        query = model.select()
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(query)


def the_case(app, reference):
    from plugins.casework.models import Case

    with app.app_context(), connection():
        return Case.get(Case.reference == reference)


def parse(body: bytes):
    calendar = Calendar.from_ical(body)
    events = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    return calendar, events[0]


def _new(browser, reference, **values):
    data = {"kind": "police", "starts_at": "2030-03-04T10:30", "place": "", "note": "", **values}
    return post_form(browser, f"/casework/cases/{reference}/appointments", data,
                     token_from=f"/casework/cases/{reference}/appointments")


def test_ics_updates_keep_their_uid_raise_the_sequence_and_a_cancel_says_cancel(app, worker):
    reference = make_case(app, worker)
    browser = worker_client(app, worker)
    place = "cnry" + secrets.token_hex(6)
    response = _new(browser, reference, place=place, accompanied="y")
    assert response.status_code == 303
    (appointment,) = rows(app, "plugins.casework.models.Appointment")
    ics_path = f"/casework/cases/{reference}/appointments/{appointment.id}.ics"

    first = browser.get(ics_path)
    assert first.status_code == 200 and first.mimetype == "text/calendar"
    calendar, event = parse(first.data)
    assert str(calendar["METHOD"]) == "REQUEST"
    uid = str(event["UID"])
    assert int(event["SEQUENCE"]) == 0
    assert str(event["SUMMARY"]) == f"Casework appointment {reference}"
    assert "Sam" not in first.get_data(as_text=True)  # no client name anywhere
    assert event.decoded("DTSTART") == datetime.datetime(2030, 3, 4, 10, 30, tzinfo=datetime.UTC)
    assert b"DTSTART:20300304T103000Z" in first.data and b"DTSTAMP:" in first.data
    assert place.encode() not in first.data and "LOCATION" not in event  # the place stays out by default

    with_place = browser.get(ics_path + "?place=1")
    assert place.encode() in with_place.data  # only when the worker asks for it

    changed = post_form(browser, f"/casework/cases/{reference}/appointments/{appointment.id}",
                        {"kind": "police", "starts_at": "2030-03-04T11:00", "place": place},
                        token_from=f"/casework/cases/{reference}/appointments/{appointment.id}")
    assert changed.status_code == 303
    calendar, event = parse(browser.get(ics_path).data)
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == datetime.datetime(2030, 3, 4, 11, 0, tzinfo=datetime.UTC)

    cancelled = post_form(browser, f"/casework/cases/{reference}/appointments/{appointment.id}/cancel", {},
                          token_from=f"/casework/cases/{reference}/appointments/{appointment.id}")
    assert cancelled.status_code == 303
    calendar, event = parse(browser.get(ics_path).data)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2

    kinds = [e.kind for e in rows(app, "plugins.casework.models.CaseEvent")]
    assert kinds == ["appointment", "appointment_changed", "appointment_cancelled"]
    # A cancelled appointment is not changed again: make a new one.
    refused = post_form(browser, f"/casework/cases/{reference}/appointments/{appointment.id}",
                        {"kind": "police", "starts_at": "2030-03-05T11:00"},
                        token_from=f"/casework/cases/{reference}/appointments")
    assert refused.status_code == 409


def test_times_are_typed_in_the_instance_zone_and_stored_in_utc(make_app, worker):
    app = make_app({"DEFAULT_TIMEZONE": "Europe/London"})
    enable(app, "casework")
    reference = make_case(app, worker)
    browser = worker_client(app, worker)
    assert _new(browser, reference, starts_at="2030-07-01T10:00").status_code == 303  # British summer time
    (appointment,) = rows(app, "plugins.casework.models.Appointment")
    assert appointment.starts_at == datetime.datetime(2030, 7, 1, 9, 0)
    _calendar, event = parse(browser.get(f"/casework/cases/{reference}/appointments/{appointment.id}.ics").data)
    assert event.decoded("DTSTART") == datetime.datetime(2030, 7, 1, 9, 0, tzinfo=datetime.UTC)


def test_bad_input_is_answered_422_with_the_form_again(app, worker):
    reference = make_case(app, worker)
    browser = worker_client(app, worker)
    for values in ({"starts_at": ""}, {"starts_at": "tomorrow"}, {"kind": "spa"},
                   {"starts_at": "2030-03-04T10:30", "ends_at": "2030-03-04T09:00"}, {"place": "x" * 501}):
        response = _new(browser, reference, **values)
        assert response.status_code == 422, values
        assert "Please check the following" in response.get_data(as_text=True)
    assert rows(app, "plugins.casework.models.Appointment") == []


def test_attendance_and_time_spent_are_recorded_without_changing_the_calendar(app, worker):
    reference = make_case(app, worker)
    browser = worker_client(app, worker)
    _new(browser, reference, starts_at="2020-01-02T10:00")
    (appointment,) = rows(app, "plugins.casework.models.Appointment")
    page = f"/casework/cases/{reference}/appointments/{appointment.id}"
    response = post_form(browser, page + "/attendance", {"attended": "yes", "accompanied": "y",
                                                         "minutes_spent": "95"}, token_from=page)
    assert response.status_code == 303
    (saved,) = rows(app, "plugins.casework.models.Appointment")
    assert saved.attended is True and saved.accompanied is True and saved.minutes_spent == 95
    assert saved.sequence == 0
    assert post_form(browser, page + "/attendance", {"attended": "no", "minutes_spent": "lots"},
                     token_from=page).status_code == 422
    assert "attended" in browser.get(f"/casework/cases/{reference}/appointments").get_data(as_text=True)


def test_only_the_worker_sees_the_appointments(app, worker, other_worker):
    reference = make_case(app, worker)
    _new(worker_client(app, worker), reference)
    (appointment,) = rows(app, "plugins.casework.models.Appointment")
    stranger = worker_client(app, other_worker)
    base = f"/casework/cases/{reference}/appointments"
    assert stranger.get(base).status_code == 404
    assert stranger.get(f"{base}/{appointment.id}.ics").status_code == 404
    assert stranger.get("/casework/cases/C-NOSUCH/appointments").status_code == 404
    assert post_form(stranger, f"{base}/{appointment.id}/cancel", {}).status_code == 404
    assert rows(app, "plugins.casework.models.Appointment")[0].cancelled_at is None
    # An appointment of another case, through this case's address: 404 too.
    mine = make_case(app, other_worker)
    assert stranger.get(f"/casework/cases/{mine}/appointments/{appointment.id}").status_code == 404


def _token(app, user) -> str:
    from core.accounts.tokens import create_token

    enrol_two_factor(app, user)
    with app.app_context(), connection():
        _record, token = create_token(user, "tests")
    return token


def test_the_api_arranges_changes_and_cancels_with_the_same_uid(app, client, worker, other_worker):
    reference = make_case(app, worker)
    bearer = {"Authorization": f"Bearer {_token(app, worker)}"}
    base = f"/api/v1/cases/{reference}/appointments"
    created = client.post(base, json={"kind": "court", "starts_at": "2030-05-06T09:00:00+02:00",
                                      "remind_client": True}, headers=bearer)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["starts_at"] == "2030-05-06T07:00:00Z" and body["sequence"] == 0
    changed = client.put(f"{base}/{body['id']}", json={"kind": "court", "starts_at": "2030-05-07T09:00:00Z"},
                         headers=bearer)
    assert changed.status_code == 200 and changed.get_json()["sequence"] == 1
    assert changed.get_json()["uid"] == body["uid"]
    gone = client.post(f"{base}/{body['id']}/cancel", headers=bearer)
    assert gone.status_code == 200 and gone.get_json()["sequence"] == 2
    again = client.post(f"{base}/{body['id']}/cancel", headers=bearer)
    assert again.get_json()["sequence"] == 2  # cancelling twice changes nothing
    ics = client.get(f"{base}/{body['id']}.ics", headers=bearer)
    assert b"METHOD:CANCEL" in ics.data and f"UID:{body['uid']}".encode() in ics.data
    assert client.get(f"{base}/{body['id']}.ics?place=maybe", headers=bearer).status_code == 422

    bad = client.post(base, json={"kind": "court", "starts_at": "soon"}, headers=bearer)
    assert bad.status_code == 422 and "starts_at" in bad.get_json()["error"]["fields"]
    assert client.post(base, json={"kind": "court", "starts_at": "2030-05-06T09:00:00Z", "x": 1},
                       headers=bearer).status_code == 422
    attendance = client.post(f"{base}/{body['id']}/attendance", json={"attended": False, "minutes_spent": 30},
                             headers=bearer)
    assert attendance.status_code == 200 and attendance.get_json()["attended"] is False

    stranger = {"Authorization": f"Bearer {_token(app, other_worker)}"}
    assert client.get(base, headers=stranger).status_code == 404
    assert client.get(base).status_code == 401
    document = client.get("/api/v1/openapi.json").get_json()
    assert "/cases/{reference}/appointments/{appointment_id}.ics" in document["paths"]


# -- reminders to the client ----------------------------------------------------------------------------


def _agree(app, reference, channel):
    from plugins.casework import appointments
    from plugins.casework.models import Case

    with app.test_request_context(), connection():
        appointments.set_reminders(Case.get(Case.reference == reference), None, channel, by_client=True)


def _appointment_tomorrow(app, reference, remind=True, hours=20):
    from plugins.casework import appointments
    from plugins.casework.models import Case

    with app.test_request_context(), connection():
        case = Case.get(Case.reference == reference)
        return appointments.create(case, None, {
            "kind": "sarc", "starts_at": utcnow() + datetime.timedelta(hours=hours), "place": "Secret street 1",
            "remind_client": remind}).id


def _run_reminders(app) -> int:
    from plugins.casework.appointments import remind_clients

    with app.test_request_context(), connection():
        return remind_clients.run_now()


def _mails(app) -> list[str]:
    folder = Path(app.instance_path) / "mail"
    return [p.read_text() for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def test_a_reminder_goes_the_day_before_in_the_clients_language_only_with_consent(app, worker, make_user):
    client_user = make_user(email="client@example.org")
    reference = make_case(app, worker, client_user, language="es")
    _appointment_tomorrow(app, reference)
    _appointment_tomorrow(app, reference, hours=60)  # not yet: more than a day ahead
    assert _run_reminders(app) == 0  # not agreed yet: nothing
    assert _mails(app) == []

    _agree(app, reference, "email")
    assert _run_reminders(app) == 1
    (mail,) = _mails(app)
    assert "To: client@example.org" in mail and "Content-Language: es" in mail
    assert "Subject: " in mail and "Secret street" not in mail and "sexual" not in mail.lower()
    assert reference not in mail and "Sam" not in mail
    assert _run_reminders(app) == 0  # once only
    assert len(_mails(app)) == 1

    _agree(app, reference, None)  # the client stopped them
    later = _appointment_tomorrow(app, reference, hours=10)
    assert _run_reminders(app) == 0
    assert rows(app, "plugins.casework.models.Appointment", id=later)[0].client_reminded_at is None


def test_text_reminders_need_the_alerts_sms_backend_else_fall_back_to_email(make_app, worker, make_user):
    app = make_app({"MAIL_BACKEND": "file", "SMS_BACKEND": "file"})
    enable(app, "casework")
    client_user = make_user(email="client2@example.org")
    reference = make_case(app, worker, client_user, contact_method="phone", contact="07700 900555")
    _agree(app, reference, "text")
    browser = worker_client(app, worker)
    page = browser.get(f"/casework/cases/{reference}/appointments").get_data(as_text=True)
    assert "reminders go by e-mail instead" in page  # alerts is off: said honestly
    _appointment_tomorrow(app, reference)
    assert _run_reminders(app) == 1
    assert len(_mails(app)) == 1
    outbox = Path(app.instance_path) / "sms" / "outbox.jsonl"
    assert not outbox.exists()

    enable(app, "alerts")
    _appointment_tomorrow(app, reference, hours=5)
    assert _run_reminders(app) == 1
    (line,) = outbox.read_text().splitlines()
    sent = json.loads(line)
    assert sent["to"] == "07700 900555" and "appointment" in sent["body"] and "Secret" not in sent["body"]
    assert len(_mails(app)) == 1


def test_place_and_note_are_not_in_clear_in_the_database(app, worker):
    reference = make_case(app, worker)
    browser = worker_client(app, worker)
    place, note = "cnry" + secrets.token_hex(6), "cnry" + secrets.token_hex(6)
    assert _new(browser, reference, place=place, note=note).status_code == 303
    (appointment,) = rows(app, "plugins.casework.models.Appointment")
    assert appointment.place == place and appointment.note == note
    ics = browser.get(f"/casework/cases/{reference}/appointments/{appointment.id}.ics").data
    assert place.encode() not in ics and note.encode() not in ics
    if using_postgres():
        from core.db import db

        with app.app_context(), connection():
            stored = db.execute_sql("SELECT place, note FROM casework_appointment").fetchall()
        assert all(place not in str(value) and note not in str(value) for row in stored for value in row)
    else:
        for path in Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.glob("*.sqlite3*"):
            data = path.read_bytes()
            assert place.encode() not in data and note.encode() not in data
