"""The JSON API for sessions (described in /api/v1/openapi.json).

Learners (training.learn): GET /sessions (sessions of the courses they are enrolled on, with their
booking; the online link only with a place), POST /sessions/{id}/book and /sessions/{id}/cancel.
A session of a course the caller is not enrolled on answers 404 as one that does not exist.

Trainers (training.manage, a bearer token; staff tokens need two-factor sign-in):
GET /sessions/{id}/attendance, POST /sessions/{id}/dates/{date_id}/attendance (marks, and
optionally close: everyone unmarked becomes absent).
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify
from flask_login import current_user
from marshmallow import Schema, fields, validate

from core.api import ApiSchema, UtcDateTime, error_responses, load_json
from core.permissions import requires
from plugins.training import _
from plugins.training import attendance as attendance_service
from plugins.training import sessions as service
from plugins.training.models import ATTENDANCE, BOOKING_STATUSES, Session, SessionDate

LEARN = "training.learn"
MANAGE = "training.manage"
bp = Blueprint("training_sessions_api", __name__, url_prefix="/api/v1")


class DateOutSchema(Schema):
    id = fields.Integer()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    uid = fields.String(metadata={"description": "The calendar UID: the same for the date's whole life."})
    sequence = fields.Integer(metadata={"description": "Goes up with every change a calendar shows."})


class BookingOutSchema(Schema):
    session_id = fields.Integer()
    status = fields.String(metadata={"enum": list(BOOKING_STATUSES)})
    waitlist_position = fields.Integer(allow_none=True, metadata={"description": "1 is the next to get a place."})


class SessionOutSchema(Schema):
    id = fields.Integer()
    course_id = fields.Integer()
    title = fields.String()
    venue = fields.String(allow_none=True)
    online = fields.Boolean(metadata={"description": "The session has an online link."})
    online_link = fields.String(allow_none=True, metadata={"description": "Only for a caller with a place."})
    capacity = fields.Integer()
    places_left = fields.Integer()
    needs_approval = fields.Boolean()
    cancel_cutoff_hours = fields.Integer()
    dates = fields.List(fields.Nested(DateOutSchema))
    booking = fields.Nested(BookingOutSchema, allow_none=True)


class MarkInSchema(ApiSchema):
    user_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**63 - 1))
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE), metadata={"enum": list(ATTENDANCE)})


class AttendanceInSchema(ApiSchema):
    marks = fields.List(fields.Nested(MarkInSchema), load_default=list, validate=validate.Length(max=1000))
    close = fields.Boolean(load_default=False, metadata={
        "description": "Close the date's attendance after these marks: everyone with a place still unmarked "
                       "becomes absent."})


class MarkOutSchema(Schema):
    user_id = fields.Integer()
    status = fields.String(allow_none=True, metadata={"enum": list(ATTENDANCE), "description": "null: not marked."})
    self_check_in = fields.Boolean()


class DateAttendanceOutSchema(Schema):
    date = fields.Nested(DateOutSchema)
    closed_at = UtcDateTime(allow_none=True)
    marks = fields.List(fields.Nested(MarkOutSchema))


def _me():
    return current_user._get_current_object()


def _booking_out(session: Session, booking) -> dict | None:
    if booking is None or booking.status == "cancelled":
        return None
    position = None
    if booking.status == "waitlisted":
        position = next((i for i, b in enumerate(service.waitlist(session), 1) if b.id == booking.id), None)
    return {"session_id": session.id, "status": booking.status, "waitlist_position": position}


def _session_out(session: Session, user) -> dict:
    booking = service.booking_of(session, user)
    has_place = booking is not None and booking.status == "booked" and session.cancelled_at is None
    return SessionOutSchema().dump({
        "id": session.id, "course_id": session.course_id, "title": session.title, "venue": session.venue,
        "online": bool(session.online_link), "online_link": session.online_link if has_place else None,
        "capacity": session.capacity, "places_left": max(0, session.capacity - service.booked_count(session)),
        "needs_approval": session.needs_approval, "cancel_cutoff_hours": session.cancel_cutoff_hours,
        "dates": service.dates_of(session), "booking": _booking_out(session, booking),
    })


def _conflict(exc: service.SessionError):
    return jsonify({"error": {"status": 409, "message": exc.message(), "code": exc.code}}), 409


def _visible(session_id: int) -> Session:
    found = Session.get_or_none(Session.id == session_id)
    if found is None or service.enrolment_for(found, _me()) is None:
        abort(404)
    return found


@bp.route("/sessions")
@requires(LEARN)
def sessions():
    me = _me()
    return jsonify([_session_out(s, me) for s in service.learner_sessions(me)])


@bp.route("/sessions/<int:session_id>/book", methods=["POST"])
@requires(LEARN)
def book(session_id: int):
    session = _visible(session_id)
    try:
        service.book(session, _me())
    except service.SessionError as exc:
        return _conflict(exc)
    return jsonify(_session_out(Session.get_by_id(session.id), _me()))


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@requires(LEARN)
def cancel(session_id: int):
    session = _visible(session_id)
    try:
        service.cancel_booking(session, _me())
    except service.SessionError as exc:
        return _conflict(exc)
    return jsonify(_session_out(Session.get_by_id(session.id), _me()))


def _date_attendance(date: SessionDate) -> dict:
    return DateAttendanceOutSchema().dump({
        "date": date, "closed_at": date.attendance_closed_at,
        "marks": [{"user_id": user.id, "status": mark.status if mark else None,
                   "self_check_in": bool(mark and mark.self_check_in)}
                  for user, mark in attendance_service.roster(date)],
    })


def _managed(session_id: int) -> Session:
    found = Session.get_or_none(Session.id == session_id)
    if found is None:
        abort(404)
    return found


@bp.route("/sessions/<int:session_id>/attendance")
@requires(MANAGE)
def attendance(session_id: int):
    session = _managed(session_id)
    return jsonify([_date_attendance(d) for d in service.dates_of(session)])


@bp.route("/sessions/<int:session_id>/dates/<int:date_id>/attendance", methods=["POST"])
@requires(MANAGE)
def mark(session_id: int, date_id: int):
    session = _managed(session_id)
    date = SessionDate.get_or_none((SessionDate.id == date_id) & (SessionDate.session == session.id))
    if date is None:
        abort(404)
    data = load_json(AttendanceInSchema())
    try:
        attendance_service.mark(date, _me(), {m["user_id"]: m["status"] for m in data["marks"]})
        if data["close"]:
            attendance_service.close(date, _me())
    except attendance_service.AttendanceError as exc:
        message = _("This date was cancelled.") if exc.code == "cancelled" else _(
            "Only people with a place can be marked.")
        return jsonify({"error": {"status": 409, "message": message, "code": exc.code}}), 409
    return jsonify(_date_attendance(SessionDate.get_by_id(date.id)))


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _list(schema) -> dict:
    return {"content": {"application/json": {"schema": {"type": "array", "items": schema}}}}


def describe(spec) -> None:
    """Add these paths and schemas to the OpenAPI document (called from hooks.register_api)."""
    for name, schema in (("TrainingSessionDate", DateOutSchema), ("TrainingBooking", BookingOutSchema),
                         ("TrainingSession", SessionOutSchema), ("TrainingMarkIn", MarkInSchema),
                         ("TrainingAttendanceIn", AttendanceInSchema), ("TrainingMark", MarkOutSchema),
                         ("TrainingDateAttendance", DateAttendanceOutSchema)):
        spec.components.schema(name, schema=schema)
    tag = ["training"]
    token = [{"bearerAuth": []}]
    session_id = {"in": "path", "name": "session_id", "required": True, "schema": {"type": "integer", "minimum": 0}}
    date_id = {"in": "path", "name": "date_id", "required": True, "schema": {"type": "integer", "minimum": 0}}
    spec.path(path="/sessions", operations={"get": {
        "tags": tag, "summary": "Sessions of the courses the caller is enrolled on that are not over, soonest first.",
        "description": "Each with the caller's booking; the online link only when the caller has a place.",
        "security": token,
        "responses": {"200": {"description": "Sessions.", **_list(SessionOutSchema)}, **error_responses(401, 403)}}})
    spec.path(path="/sessions/{session_id}/book", operations={"post": {
        "tags": tag, "summary": "Book a place: booked, waitlisted when full, or requested when approval is needed.",
        "description": "Booking again while a booking stands changes nothing. 409 when the session is not taking "
                       "bookings or the caller is not enrolled.",
        "security": token, "parameters": [session_id],
        "responses": {"200": {"description": "The session with the caller's booking.", **_json(SessionOutSchema)},
                      **error_responses(401, 403, 404, 409)}}})
    spec.path(path="/sessions/{session_id}/cancel", operations={"post": {
        "tags": tag, "summary": "Cancel the caller's booking; a freed place goes to the first person waiting.",
        "description": "A place can be cancelled only until the session's cut-off (409 after it); a waitlist "
                       "entry or a request at any time.",
        "security": token, "parameters": [session_id],
        "responses": {"200": {"description": "The session with the caller's booking.", **_json(SessionOutSchema)},
                      **error_responses(401, 403, 404, 409)}}})
    spec.path(path="/sessions/{session_id}/attendance", operations={"get": {
        "tags": tag, "summary": "Trainers: each date's attendance for everyone with a place.", "security": token,
        "parameters": [session_id],
        "responses": {"200": {"description": "Per date.", **_list(DateAttendanceOutSchema)},
                      **error_responses(401, 403, 404)}}})
    spec.path(path="/sessions/{session_id}/dates/{date_id}/attendance", operations={"post": {
        "tags": tag, "summary": "Trainers: mark attendance (present, late, excused, absent), optionally closing it.",
        "security": token, "parameters": [session_id, date_id],
        "requestBody": {"required": True, **_json(AttendanceInSchema)},
        "responses": {"200": {"description": "The date's attendance now.", **_json(DateAttendanceOutSchema)},
                      **error_responses(401, 403, 404, 409, 415, 422)}}})
