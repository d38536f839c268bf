"""The JSON API for a case's appointments, referrals out and ledger (described in /api/v1/openapi.json).

Under /api/v1/cases/{reference}/, with a bearer token (staff tokens need two-factor sign-in) and the
casework.cases permission; the case comes from access.case_for, so a case that is not the caller's
answers 404 exactly as one that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields

from core.api import ApiValidationError, UtcDateTime, error_responses, load_json
from core.permissions import requires
from plugins.casework import _, evidence
from plugins.casework import appointments as appointment_service
from plugins.casework import referrals_out as referral_service
from plugins.casework.access import CASES, case_for

bp = Blueprint("casework_work_api", __name__, url_prefix="/api/v1/cases/<reference>")


class AppointmentOutSchema(Schema):
    id = fields.Integer()
    uid = fields.String(metadata={"description": "The calendar UID: the same for the appointment's whole life."})
    sequence = fields.Integer(metadata={"description": "Goes up with every change a calendar shows."})
    kind = fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime(allow_none=True)
    place = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    accompanied = fields.Boolean()
    attended = fields.Boolean(allow_none=True)
    minutes_spent = fields.Integer(allow_none=True)
    remind_client = fields.Boolean()
    client_reminded_at = UtcDateTime(allow_none=True)
    cancelled_at = UtcDateTime(allow_none=True)


class ReferralOutOutSchema(Schema):
    id = fields.Integer()
    service_kind = fields.String()
    service_name = fields.String()
    shared = fields.String()
    consent_at = UtcDateTime(allow_none=True)
    consent_withdrawn_at = UtcDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    outcome_note = fields.String(allow_none=True)
    created_at = UtcDateTime()


class DisclosureOutSchema(Schema):
    id = fields.Integer()
    created_at = UtcDateTime()
    recipient = fields.String()
    what = fields.String()
    consent = fields.String(metadata={"description": "The consent it was made under: referral_out, "
                                                     "police_evidence_pack..."})
    referral_out = fields.Integer(allow_none=True)
    consent_withdrawn_at = UtcDateTime(allow_none=True, metadata={
        "description": "For a referral out: when the client withdrew their consent."})


def _me():
    return current_user._get_current_object()


def _case(reference: str, changing: bool = False):
    return case_for(reference, _me(), audit=None if changing else "case.viewed")


def _appointment(case, appointment_id: int):
    found = appointment_service.get_for_case(case, appointment_id)
    if found is None:
        abort(404)
    return found


def _referral(case, referral_id: int):
    found = referral_service.get_for_case(case, referral_id)
    if found is None:
        abort(404)
    return found


def _dump_disclosure(row) -> dict:
    withdrawn = row.referral_out.consent_withdrawn_at if row.referral_out_id else None
    return DisclosureOutSchema().dump({"id": row.id, "created_at": row.created_at, "recipient": row.recipient,
                                       "what": row.what, "consent": row.consent, "referral_out": row.referral_out_id,
                                       "consent_withdrawn_at": withdrawn})


@bp.route("/appointments", methods=["GET", "POST"])
@requires(CASES)
def appointments(reference: str):
    if request.method == "GET":
        case = _case(reference)
        return jsonify(AppointmentOutSchema(many=True).dump(appointment_service.of_case(case)))
    case = _case(reference, changing=True)
    data = load_json(appointment_service.AppointmentInSchema())
    created = appointment_service.create(case, _me(), data)
    return jsonify(AppointmentOutSchema().dump(created)), 201


@bp.route("/appointments/<int:appointment_id>", methods=["GET", "PUT"])
@requires(CASES)
def appointment(reference: str, appointment_id: int):
    if request.method == "GET":
        case = _case(reference)
        return jsonify(AppointmentOutSchema().dump(_appointment(case, appointment_id)))
    case = _case(reference, changing=True)
    found = _appointment(case, appointment_id)
    data = load_json(appointment_service.AppointmentInSchema())
    try:
        changed = appointment_service.update(found, _me(), data)
    except appointment_service.AppointmentClosed:
        return jsonify({"error": {"status": 409, "message": _("This appointment was cancelled: make a new one.")}}), 409
    return jsonify(AppointmentOutSchema().dump(changed))


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@requires(CASES)
def cancel(reference: str, appointment_id: int):
    case = _case(reference, changing=True)
    return jsonify(AppointmentOutSchema().dump(appointment_service.cancel(_appointment(case, appointment_id), _me())))


@bp.route("/appointments/<int:appointment_id>/attendance", methods=["POST"])
@requires(CASES)
def attendance(reference: str, appointment_id: int):
    case = _case(reference, changing=True)
    found = _appointment(case, appointment_id)
    data = load_json(appointment_service.AttendanceInSchema())
    return jsonify(AppointmentOutSchema().dump(appointment_service.record_attendance(found, _me(), data)))


@bp.route("/appointments/<int:appointment_id>.ics")
@requires(CASES)
def appointment_ics(reference: str, appointment_id: int):
    case = case_for(reference, _me(), audit="case.appointment_ics")
    found = _appointment(case, appointment_id)
    place = request.args.get("place", "0")
    if place not in ("0", "1"):
        raise ApiValidationError({"place": [_("Please answer 0 or 1.")]})
    body = appointment_service.ics(found, include_place=place == "1",
                                   attendee_email=getattr(current_user, "email", None))
    return Response(body, content_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{appointment_service.ics_filename(found)}"'})


@bp.route("/referrals-out", methods=["GET", "POST"])
@requires(CASES)
def referrals_out(reference: str):
    if request.method == "GET":
        case = _case(reference)
        return jsonify(ReferralOutOutSchema(many=True).dump(referral_service.of_case(case)))
    case = _case(reference, changing=True)
    data = load_json(referral_service.ReferralOutInSchema())
    return jsonify(ReferralOutOutSchema().dump(referral_service.create(case, _me(), data))), 201


@bp.route("/referrals-out/<int:referral_id>/outcome", methods=["POST"])
@requires(CASES)
def referral_outcome(reference: str, referral_id: int):
    case = _case(reference, changing=True)
    found = _referral(case, referral_id)
    data = load_json(referral_service.OutcomeInSchema())
    return jsonify(ReferralOutOutSchema().dump(referral_service.set_outcome(found, _me(), data["outcome"],
                                                                            data.get("note"))))


@bp.route("/referrals-out/<int:referral_id>/withdraw", methods=["POST"])
@requires(CASES)
def referral_withdraw(reference: str, referral_id: int):
    case = _case(reference, changing=True)
    found = _referral(case, referral_id)
    referral_service.withdraw(found, _me(), by_client=False)
    return jsonify(ReferralOutOutSchema().dump(referral_service.get_for_case(case, referral_id)))


@bp.route("/disclosures")
@requires(CASES)
def disclosures(reference: str):
    case = _case(reference)
    return jsonify([_dump_disclosure(row) | {"what": evidence.describe(row)} for row in referral_service.ledger(case)])


# -- the OpenAPI description ------------------------------------------------------------------------------


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _list(schema) -> dict:
    return {"content": {"application/json": {"schema": {"type": "array", "items": schema}}}}


def describe(spec) -> None:
    """Add these paths and schemas to the OpenAPI document (called from hooks.register_api)."""
    for name, schema in (("CaseworkAppointmentIn", appointment_service.AppointmentInSchema),
                         ("CaseworkAttendanceIn", appointment_service.AttendanceInSchema),
                         ("CaseworkAppointment", AppointmentOutSchema),
                         ("CaseworkReferralOutIn", referral_service.ReferralOutInSchema),
                         ("CaseworkReferralOutOutcomeIn", referral_service.OutcomeInSchema),
                         ("CaseworkReferralOut", ReferralOutOutSchema),
                         ("CaseworkDisclosure", DisclosureOutSchema)):
        spec.components.schema(name, schema=schema)
    tag = ["casework"]
    token = [{"bearerAuth": []}]
    reference = {"in": "path", "name": "reference", "required": True, "schema": {"type": "string", "maxLength": 16},
                 "example": "C-7KQ2XW", "description": "The case reference."}
    appointment_id = {"in": "path", "name": "appointment_id", "required": True,
                      "schema": {"type": "integer", "minimum": 0}}
    referral_id = {"in": "path", "name": "referral_id", "required": True, "schema": {"type": "integer", "minimum": 0}}
    reading = error_responses(401, 403, 404)
    writing = error_responses(401, 403, 404, 415, 422)
    spec.path(path="/cases/{reference}/appointments", operations={
        "get": {"tags": tag, "summary": "The case's appointments, oldest first.", "security": token,
                "parameters": [reference],
                "responses": {"200": {"description": "Appointments.", **_list(AppointmentOutSchema)}, **reading}},
        "post": {"tags": tag, "summary": "Arrange an appointment (a new calendar UID, SEQUENCE 0).", "security": token,
                 "parameters": [reference],
                 "requestBody": {"required": True, **_json(appointment_service.AppointmentInSchema)},
                 "responses": {"201": {"description": "Arranged.", **_json(AppointmentOutSchema)}, **writing}},
    })
    spec.path(path="/cases/{reference}/appointments/{appointment_id}", operations={
        "get": {"tags": tag, "summary": "One appointment.", "security": token,
                "parameters": [reference, appointment_id],
                "responses": {"200": {"description": "The appointment.", **_json(AppointmentOutSchema)}, **reading}},
        "put": {"tags": tag, "summary": "Change an appointment: same UID, SEQUENCE one higher.", "security": token,
                "parameters": [reference, appointment_id],
                "requestBody": {"required": True, **_json(appointment_service.AppointmentInSchema)},
                "responses": {"200": {"description": "Changed.", **_json(AppointmentOutSchema)},
                              **error_responses(401, 403, 404, 409, 415, 422)}},
    })
    spec.path(path="/cases/{reference}/appointments/{appointment_id}/cancel", operations={"post": {
        "tags": tag, "summary": "Cancel: SEQUENCE one higher, the .ics becomes METHOD:CANCEL. Repeating changes "
                                "nothing.", "security": token, "parameters": [reference, appointment_id],
        "responses": {"200": {"description": "Cancelled.", **_json(AppointmentOutSchema)}, **reading}}})
    spec.path(path="/cases/{reference}/appointments/{appointment_id}/attendance", operations={"post": {
        "tags": tag, "summary": "Record whether it took place, accompaniment and time spent.", "security": token,
        "parameters": [reference, appointment_id],
        "requestBody": {"required": True, **_json(appointment_service.AttendanceInSchema)},
        "responses": {"200": {"description": "Recorded.", **_json(AppointmentOutSchema)}, **writing}}})
    spec.path(path="/cases/{reference}/appointments/{appointment_id}.ics", operations={"get": {
        "tags": tag, "summary": "The appointment as an iCalendar file (RFC 5545, METHOD REQUEST or CANCEL).",
        "description": "The summary names only the case reference. The place is included only with place=1, "
                       "because calendars often sync to third parties.",
        "security": token,
        "parameters": [reference, appointment_id,
                       {"in": "query", "name": "place", "schema": {"type": "string", "enum": ["0", "1"],
                                                                   "default": "0"}}],
        "responses": {"200": {"description": "The calendar file.",
                              "content": {"text/calendar": {"schema": {"type": "string"}}}},
                      **error_responses(401, 403, 404, 422)}}})
    spec.path(path="/cases/{reference}/referrals-out", operations={
        "get": {"tags": tag, "summary": "Referrals to other services, newest first.", "security": token,
                "parameters": [reference],
                "responses": {"200": {"description": "Referrals.", **_list(ReferralOutOutSchema)}, **reading}},
        "post": {"tags": tag, "summary": "Record a referral made with the client's consent (adds to their ledger).",
                 "security": token, "parameters": [reference],
                 "requestBody": {"required": True, **_json(referral_service.ReferralOutInSchema)},
                 "responses": {"201": {"description": "Recorded.", **_json(ReferralOutOutSchema)}, **writing}},
    })
    spec.path(path="/cases/{reference}/referrals-out/{referral_id}/outcome", operations={"post": {
        "tags": tag, "summary": "Record the referral's outcome.", "security": token,
        "parameters": [reference, referral_id],
        "requestBody": {"required": True, **_json(referral_service.OutcomeInSchema)},
        "responses": {"200": {"description": "Recorded.", **_json(ReferralOutOutSchema)}, **writing}}})
    spec.path(path="/cases/{reference}/referrals-out/{referral_id}/withdraw", operations={"post": {
        "tags": tag, "summary": "Mark the client's consent to this referral as withdrawn (on their word).",
        "security": token, "parameters": [reference, referral_id],
        "responses": {"200": {"description": "Withdrawn.", **_json(ReferralOutOutSchema)}, **reading}}})
    spec.path(path="/cases/{reference}/disclosures", operations={"get": {
        "tags": tag, "summary": "The client's ledger: who received what about them, under which consent.",
        "security": token, "parameters": [reference],
        "responses": {"200": {"description": "Disclosures, newest first.", **_list(DisclosureOutSchema)}, **reading}}})
