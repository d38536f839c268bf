"""The reporting plugin's JSON API, under /api/v1 (described in /api/v1/openapi.json).

Public: POST /reports, POST /reports/status (and messages, consent withdrawal) with a receipt,
GET /regions, /incident-types, /work-settings, /contact-methods.
Moderators (reporting.moderate, with a bearer token): GET /reports, GET /reports/{reference},
POST /reports/{reference}/status, /notes, /messages, /consent/{purpose}/withdraw.
Receipts only ever travel in a POST body.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.routing import BaseConverter

from core.api import ApiValidationError, error_responses, load_json
from core.permissions import PUBLIC, requires
from plugins.reporting import _, options, service, wizard
from plugins.reporting.models import PURPOSES, Report
from plugins.reporting.schemas import (
    ChoiceSchema,
    ConsentChangeSchema,
    ConsentSchema,
    ConsentStateSchema,
    DescriptionSchema,
    IdentifierOutSchema,
    LinkOutSchema,
    MessageOutSchema,
    ModerationStatusSchema,
    PerpetratorOutSchema,
    PerpetratorSchema,
    QueueQuerySchema,
    ReceiptMessageSchema,
    ReceiptSchema,
    ReceiptWithdrawSchema,
    ReportCreatedSchema,
    ReportDetailSchema,
    ReportSchema,
    ReportSummarySchema,
    StaffTextSchema,
    StatusOutSchema,
    VehicleSchema,
)
from plugins.reporting.views import status_labels

MODERATE = "reporting.moderate"
bp = Blueprint("reporting_api", __name__, url_prefix="/api/v1")


class ReferenceConverter(BaseConverter):
    """A report reference (R-7KQ2XW, any case) in an address: /reports/status and /reports/messages
    are the receipt holders' POST routes, never a reference, so GET on them is a 405 with Allow."""

    regex = r"[Rr]-[A-Za-z0-9]{1,14}"


bp.record_once(lambda state: state.app.url_map.converters.setdefault("report_reference", ReferenceConverter))


def _error(status: int, message: str):
    return jsonify({"error": {"status": status, "message": message}}), status


# -- public --------------------------------------------------------------------------------------------


@bp.route("/reports", methods=["POST"])
@requires(PUBLIC)
def create_report():
    config = service.settings()
    signed_in = current_user.is_authenticated
    if not config["allow_anonymous"] and not signed_in:
        return _error(401, _("This service takes reports from signed-in accounts only."))
    schema = ReportSchema(required=tuple(config["required_fields"]),
                          may_report_for_others=wizard.may_report_for_others(current_user))
    data = load_json(schema)
    submitted = service.create_report(data, reporter=current_user._get_current_object() if signed_in else None,
                                      source="api")
    body = {"reference": submitted.report.reference, "status": submitted.report.status}
    if submitted.receipt:
        body["receipt"] = submitted.receipt
    return jsonify(ReportCreatedSchema().dump(body)), 201


def _by_receipt(schema) -> tuple[Report, dict]:
    data = load_json(schema)
    try:
        found = service.report_for_receipt(data["receipt"], None)
    except service.Throttled:  # only ever a wrong receipt: a right one always opens its report
        response, status = _error(429, service.throttled_message())
        response.status_code = status
        abort(response)
    if found is None:
        abort(404)
    return found, data


def status_body(report: Report) -> dict:
    return StatusOutSchema().dump({
        "reference": report.reference,
        "status": report.status,
        "status_label": status_labels()[report.status],
        "sent_on": report.created_at.date(),
        "messages": [
            {"sender": "staff" if m.kind == "to_reporter" else "reporter", "body": m.body, "sent_at": m.created_at}
            for m in service.reporter_messages(report)
        ],
        "consents": service.consent_states(report),
    })


@bp.route("/reports/status", methods=["POST"])
@requires(PUBLIC)
def receipt_status():
    found, _data = _by_receipt(ReceiptSchema())
    return jsonify(status_body(found))


@bp.route("/reports/messages", methods=["POST"])
@requires(PUBLIC)
def receipt_message():
    found, data = _by_receipt(ReceiptMessageSchema())
    service.add_message(found, "from_reporter", data["body"])
    if found.status == "needs_info":
        service.reporter_answered(found)
    return jsonify(status_body(found)), 201


@bp.route("/reports/consent/withdraw", methods=["POST"])
@requires(PUBLIC)
def receipt_withdraw():
    found, data = _by_receipt(ReceiptWithdrawSchema())
    service.withdraw_consent(found, data["purpose"], by="reporter")
    return jsonify(status_body(found))


@bp.route("/reports/consent", methods=["POST"])
@requires(PUBLIC)
def change_consent():
    """Give or withdraw a consent later: with a receipt, or as the signed-in reporter by reference."""
    data = load_json(ConsentChangeSchema())
    if data.get("receipt"):
        try:
            found = service.report_for_receipt(data["receipt"], None)
        except service.Throttled:
            return _error(429, service.throttled_message())
    elif current_user.is_authenticated:
        found = Report.get_or_none((Report.reference == data["reference"].upper())
                                   & (Report.reporter == current_user.id))
    else:
        return _error(401, _("Please sign in, or send the receipt."))
    if found is None:
        abort(404)
    user = current_user._get_current_object() if current_user.is_authenticated else None
    if data["given"]:
        contact = {name: data.get(name) for name in service.SUPPORT_FIELDS}
        service.give_consent(found, data["purpose"], user=user,
                             contact=contact if data["purpose"] == "wants_support" else None)
    else:
        service.withdraw_consent(found, data["purpose"], by="reporter", user=user)
    return jsonify(status_body(found))


_CHOICES = ChoiceSchema(many=True)  # one schema for every list, kept: building one costs more than dumping 14 rows


def _choices(kind: str):
    return jsonify(_CHOICES.dump([{"code": c.code, "name": str(c.label)} for c in options.configured(kind)]))


@bp.route("/regions")
@requires(PUBLIC)
def regions():
    """The same for every anonymous caller: kept per language (core.anonymous_cache)."""
    from core.anonymous_cache import cached

    return cached("reporting.regions", lambda: _choices("regions"))


@bp.route("/incident-types")
@requires(PUBLIC)
def incident_types():
    return _choices("incident_types")


@bp.route("/work-settings")
@requires(PUBLIC)
def work_settings():
    return _choices("work_settings")


@bp.route("/contact-methods")
@requires(PUBLIC)
def contact_methods():
    return _choices("contact_methods")


# -- moderators --------------------------------------------------------------------------------------


def _report(reference: str) -> Report:
    found = Report.get_or_none(Report.reference == reference.upper())
    if found is None:
        abort(404)
    return found


def _summary(report: Report, linked: int) -> dict:
    return {
        "reference": report.reference,
        "status": report.status,
        "urgency": report.urgency,
        "incident_types": report.incident_type_codes,
        "region": report.region,
        "sent_at": report.created_at,
        "linked": linked,
        "many_from_address": report.many_from_address,
    }


@bp.route("/reports")
@requires(MODERATE)
def list_reports():
    try:
        query = QueueQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        raise ApiValidationError(exc.messages) from None
    reports, total = service.queue(query["status"], query["page"])
    linked = service.linked_counts([r.id for r in reports])
    items = ReportSummarySchema(many=True).dump([_summary(r, linked.get(r.id, 0)) for r in reports])
    return jsonify({"total": total, "page": query["page"], "per_page": service.PAGE_SIZE, "reports": items})


@bp.route("/reports/<report_reference:reference>")
@requires(MODERATE)
def report_detail(reference: str):
    found = _report(reference)
    service.staff_view(found)
    identifiers = service.identifiers_by_perpetrator(found)
    body = {
        **_summary(found, 0),
        "occurred_on": found.occurred_on,
        "occurred_time": found.occurred_time,
        "location": found.location,
        "work_setting": found.work_setting,
        "contact_method": found.contact_method,
        "narrative": found.narrative,
        "anonymous": found.is_anonymous,
        "on_behalf": found.on_behalf,
        "perpetrators": [
            {
                "names": person.name_list,
                "identifiers": [{"kind": i.kind, "value": i.display} for i in identifiers.get(person.id, [])],
                "vehicle": person.vehicle_dict,
                "description": person.description_dict,
            }
            for person in service.perpetrators(found)
        ],
        "consents": service.consent_states(found),
        "messages": [
            {"sender": {"note": "note", "to_reporter": "staff", "from_reporter": "reporter"}[m.kind],
             "body": m.body, "sent_at": m.created_at}
            for m in service.all_messages(found)
        ],
        "links": [
            {"reference": link.report.reference, "status": link.report.status,
             "sent_on": link.report.created_at.date(),
             "shared": [{"kind": kind, "value": value} for kind, value in link.shared]}
            for link in service.links(found)
        ],
    }
    body["linked"] = len(body["links"])
    return jsonify(ReportDetailSchema().dump(body))


@bp.route("/reports/<report_reference:reference>/status", methods=["POST"])
@requires(MODERATE)
def moderate_status(reference: str):
    found = _report(reference)
    data = load_json(ModerationStatusSchema())
    try:
        service.set_status(found, data["status"], current_user._get_current_object(), data.get("duplicate_of"))
    except service.ModerationError as exc:
        raise ApiValidationError({"duplicate_of": [str(exc)]}) from None
    return jsonify(ReportSummarySchema().dump(_summary(found, 0)))


@bp.route("/reports/<report_reference:reference>/notes", methods=["POST"])
@requires(MODERATE)
def moderate_note(reference: str):
    found = _report(reference)
    data = load_json(StaffTextSchema())
    service.add_message(found, "note", data["body"], author=current_user._get_current_object())
    return jsonify({"reference": found.reference}), 201


@bp.route("/reports/<report_reference:reference>/messages", methods=["POST"])
@requires(MODERATE)
def moderate_message(reference: str):
    found = _report(reference)
    data = load_json(StaffTextSchema())
    service.add_message(found, "to_reporter", data["body"], author=current_user._get_current_object())
    return jsonify({"reference": found.reference}), 201


@bp.route("/reports/<report_reference:reference>/consent/<purpose>/withdraw", methods=["POST"])
@requires(MODERATE)
def moderate_withdraw(reference: str, purpose: str):
    found = _report(reference)
    if purpose not in PURPOSES:
        abort(404)
    service.withdraw_consent(found, purpose, by="staff", user=current_user._get_current_object())
    return jsonify({"reference": found.reference, "consents": ConsentStateSchema(many=True).dump(
        service.consent_states(found))})


# -- the OpenAPI description ----------------------------------------------------------------------------


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def describe(spec) -> None:
    """Add this plugin's schemas and paths to the instance's OpenAPI document."""
    components = [
        ("ReportingVehicle", VehicleSchema), ("ReportingDescription", DescriptionSchema),
        ("ReportingPerpetrator", PerpetratorSchema), ("ReportingConsent", ConsentSchema),
        ("ReportingReport", ReportSchema), ("ReportingCreated", ReportCreatedSchema),
        ("ReportingReceipt", ReceiptSchema), ("ReportingReceiptMessage", ReceiptMessageSchema),
        ("ReportingReceiptWithdraw", ReceiptWithdrawSchema), ("ReportingMessage", MessageOutSchema),
        ("ReportingConsentChange", ConsentChangeSchema),
        ("ReportingConsentState", ConsentStateSchema), ("ReportingStatus", StatusOutSchema),
        ("ReportingChoice", ChoiceSchema), ("ReportingModerationStatus", ModerationStatusSchema),
        ("ReportingStaffText", StaffTextSchema), ("ReportingIdentifier", IdentifierOutSchema),
        ("ReportingLink", LinkOutSchema), ("ReportingSummary", ReportSummarySchema),
        ("ReportingPerpetratorOut", PerpetratorOutSchema), ("ReportingDetail", ReportDetailSchema),
    ]
    for name, schema in components:
        spec.components.schema(name, schema=schema)
    tag = ["reporting"]
    token = [{"bearerAuth": []}]
    receipt_errors = error_responses(404, 415, 422, 429)
    spec.path(path="/reports", operations={
        "post": {
            "tags": tag, "summary": "Send a report (anonymous when no token is given, if the instance allows it).",
            "requestBody": {"required": True, **_json(ReportSchema)},
            "responses": {"201": {"description": "Stored. An anonymous report's receipt is shown only here.",
                                  **_json(ReportCreatedSchema)}, **error_responses(401, 415, 422)},
        },
        "get": {
            "tags": tag, "summary": "Moderation queue: urgent first, then the longest waiting.", "security": token,
            "parameters": [
                {"in": "query", "name": "status", "schema": {"type": "string", "default": "open"},
                 "description": "open (new, triage, needs_info) or one status."},
                {"in": "query", "name": "page", "schema": {"type": "integer", "default": 1}},
            ],
            "responses": {"200": {"description": "One page of reports.", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                    "reports": {"type": "array", "items": ReportSummarySchema}}}}}},
                **error_responses(401, 403, 422)},
        },
    })
    spec.path(path="/reports/status", operations={"post": {
        "tags": tag, "summary": "Status, consents and staff messages of the report a receipt opens.",
        "description": "Wrong and expired receipts get the same 404; repeated wrong receipts get 429.",
        "requestBody": {"required": True, **_json(ReceiptSchema)},
        "responses": {"200": {"description": "The report's status.", **_json(StatusOutSchema)}, **receipt_errors},
    }})
    spec.path(path="/reports/messages", operations={"post": {
        "tags": tag, "summary": "Write to the team or add information, with a receipt.",
        "requestBody": {"required": True, **_json(ReceiptMessageSchema)},
        "responses": {"201": {"description": "Sent.", **_json(StatusOutSchema)}, **receipt_errors},
    }})
    spec.path(path="/reports/consent/withdraw", operations={"post": {
        "tags": tag, "summary": "Withdraw one consent, with a receipt.",
        "requestBody": {"required": True, **_json(ReceiptWithdrawSchema)},
        "responses": {"200": {"description": "Withdrawn.", **_json(StatusOutSchema)}, **receipt_errors},
    }})
    spec.path(path="/reports/consent", operations={"post": {
        "tags": tag, "summary": "Give or withdraw one consent later, with a receipt or as the signed-in reporter.",
        "description": "Send `receipt`, or a bearer token of the reporter's account and `reference`. Giving "
                       "`wants_support` takes the safe contact details (`support_*`) and asks for support "
                       "(a referral, where casework is on). The history of each consent is kept.",
        "requestBody": {"required": True, **_json(ConsentChangeSchema)},
        "responses": {"200": {"description": "The report's status and consents.", **_json(StatusOutSchema)},
                      **error_responses(401, 404, 415, 422, 429)},
    }})
    for path, what in (("/regions", "regions"), ("/incident-types", "incident types"),
                       ("/work-settings", "work settings"), ("/contact-methods", "ways contact was made")):
        spec.path(path=path, operations={"get": {
            "tags": tag, "summary": f"The {what} this instance uses, with translated names (Accept-Language).",
            "responses": {"200": {"description": "Codes and names.", "content": {"application/json": {
                "schema": {"type": "array", "items": ChoiceSchema}}}}},
        }})
    reference = {"in": "path", "name": "reference", "required": True,
                 "schema": {"type": "string", "pattern": "^[Rr]-[A-Za-z0-9]{1,14}$"},
                 "example": "R-7KQ2XW"}
    spec.path(path="/reports/{reference}", operations={"get": {
        "tags": tag, "summary": "One report in full, with linked reports (the view is audited).", "security": token,
        "parameters": [reference],
        "responses": {"200": {"description": "The report.", **_json(ReportDetailSchema)},
                      **error_responses(401, 403, 404)},
    }})
    spec.path(path="/reports/{reference}/status", operations={"post": {
        "tags": tag, "summary": "Set a moderation status (verified emits report_verified).", "security": token,
        "parameters": [reference], "requestBody": {"required": True, **_json(ModerationStatusSchema)},
        "responses": {"200": {"description": "Changed.", **_json(ReportSummarySchema)},
                      **error_responses(401, 403, 404, 415, 422)},
    }})
    for path, what in (("notes", "Add an internal note."), ("messages", "Message the reporter.")):
        spec.path(path=f"/reports/{{reference}}/{path}", operations={"post": {
            "tags": tag, "summary": what, "security": token, "parameters": [reference],
            "requestBody": {"required": True, **_json(StaffTextSchema)},
            "responses": {"201": {"description": "Added."}, **error_responses(401, 403, 404, 415, 422)},
        }})
    spec.path(path="/reports/{reference}/consent/{purpose}/withdraw", operations={"post": {
        "tags": tag, "summary": "Withdraw a consent at the reporter's request.", "security": token,
        "parameters": [reference, {"in": "path", "name": "purpose", "required": True,
                                   "schema": {"type": "string", "enum": list(PURPOSES)}}],
        "responses": {"200": {"description": "Withdrawn."}, **error_responses(401, 403, 404)},
    }})
