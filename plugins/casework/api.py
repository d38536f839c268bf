"""The casework plugin's JSON API for intake and the case core, under /api/v1 (bearer tokens; staff
tokens need two-factor sign-in).

GET /casework/referrals, POST /casework/referrals/{id}/accept (201 {"case": "C-..."}: a case's id
in the API is its reference), POST /casework/referrals/{id}/decline; GET /cases, GET
/cases/{reference} (404 for a case the caller may not see, exactly as for one that does not
exist), GET/POST /cases/{reference}/contacts and /tasks, PATCH /cases/{reference}/tasks/{id},
POST /cases/{reference}/stage.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from marshmallow import ValidationError

from core.api import ApiValidationError, error_responses, load_json
from core.permissions import requires
from plugins.casework import service
from plugins.casework.access import CASES, case_for, is_supervisor, visible_cases
from plugins.casework.models import Case, Referral
from plugins.casework.schemas import (
    AcceptedSchema,
    AcceptSchema,
    CaseDetailSchema,
    CaseQuerySchema,
    CaseSummarySchema,
    ContactInSchema,
    ContactOutSchema,
    DeclineSchema,
    ReferralOutSchema,
    StageInSchema,
    TaskInSchema,
    TaskOutSchema,
    TaskPatchSchema,
)

bp = Blueprint("casework_api", __name__, url_prefix="/api/v1")


def _me():
    return current_user._get_current_object()


def _conflict(message: str):
    response = jsonify({"error": {"status": 409, "message": message}})
    response.status_code = 409
    abort(response)


def _referral_body(referral: Referral) -> dict:
    return {**{name: getattr(referral, name) for name in (
        "id", "source", "status", "created_at", "report_reference", "working_name", "contact_method", "contact",
        "safe_times", "may_leave_message", "language", "region", "needs")},
        "partner_referral": referral.referred_by_id is not None}


def _summary(case: Case) -> dict:
    return {"reference": case.reference, "stage": case.stage, "worker": case.worker_id,
            "risk_level": case.risk_level, "created_at": case.created_at, "updated_at": case.updated_at}


def _detail(case: Case) -> dict:
    return {**_summary(case), "working_name": case.working_name, "contact_method": case.contact_method,
            "contact": case.contact, "safe_times": case.safe_times, "may_leave_message": case.may_leave_message,
            "language": case.language, "region": case.region, "supervisor": case.supervisor_id,
            "reports": service.linked_reports(case), "closed_at": case.closed_at}


# -- referrals -------------------------------------------------------------------------------------


@bp.route("/casework/referrals")
@requires(CASES)
def list_referrals():
    return jsonify({"referrals": ReferralOutSchema(many=True).dump(
        [_referral_body(r) for r in service.open_referrals()])})


def _referral(referral_id: int) -> Referral:
    found = service.referral_or_none(referral_id)
    if found is None:
        abort(404)
    return found


@bp.route("/casework/referrals/<int:referral_id>/accept", methods=["POST"])
@requires(CASES)
def accept(referral_id: int):
    referral = _referral(referral_id)
    data = load_json(AcceptSchema()) if request.get_data() else {"worker": None}
    try:
        case = service.accept_referral(referral, _me(), data.get("worker"))
    except service.Conflict as exc:
        _conflict(str(exc))
    except service.CaseworkError as exc:
        raise ApiValidationError({"worker": [str(exc)]}) from None
    return jsonify(AcceptedSchema().dump({"case": case.reference})), 201


@bp.route("/casework/referrals/<int:referral_id>/decline", methods=["POST"])
@requires(CASES)
def decline(referral_id: int):
    referral = _referral(referral_id)
    data = load_json(DeclineSchema())
    try:
        service.decline_referral(referral, _me(), data["reason"], data.get("note"))
    except service.Conflict as exc:
        _conflict(str(exc))
    except service.CaseworkError as exc:
        raise ApiValidationError({"reason": [str(exc)]}) from None
    return jsonify(ReferralOutSchema().dump(_referral_body(service.referral_or_none(referral.id))))


# -- cases ---------------------------------------------------------------------------------------------


@bp.route("/cases")
@requires(CASES)
def list_cases():
    try:
        query = CaseQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        raise ApiValidationError(exc.messages) from None
    user = _me()
    worker = query.get("worker") if is_supervisor(user) else None
    cases = service.filtered_cases(visible_cases(user), query.get("stage"), worker).limit(1000)
    return jsonify({"cases": CaseSummarySchema(many=True).dump([_summary(c) for c in cases])})


@bp.route("/cases/<reference>")
@requires(CASES)
def case_detail(reference: str):
    return jsonify(CaseDetailSchema().dump(_detail(case_for(reference, _me()))))


@bp.route("/cases/<reference>/stage", methods=["POST"])
@requires(CASES)
def case_stage(reference: str):
    found = case_for(reference, _me(), audit=None)
    data = load_json(StageInSchema())
    try:
        changed = service.set_stage(found, data["stage"], _me())
    except service.CaseworkError as exc:
        raise ApiValidationError({"stage": [str(exc)]}) from None
    return jsonify(CaseSummarySchema().dump(_summary(changed)))


def _contact(row) -> dict:
    return {"id": row.id, "happened_at": row.happened_at, "channel": row.channel, "outbound": row.outbound,
            "minutes": row.minutes, "outcome": row.outcome, "note": row.note, "by": row.by_id}


@bp.route("/cases/<reference>/contacts", methods=["GET"])
@requires(CASES)
def list_contacts(reference: str):
    found = case_for(reference, _me())
    return jsonify({"contacts": ContactOutSchema(many=True).dump([_contact(c) for c in service.contacts(found)])})


@bp.route("/cases/<reference>/contacts", methods=["POST"])
@requires(CASES)
def add_contact(reference: str):
    found = case_for(reference, _me(), audit=None)
    data = load_json(ContactInSchema())
    return jsonify(ContactOutSchema().dump(_contact(service.add_contact(found, _me(), data)))), 201


def _task(row) -> dict:
    return {"id": row.id, "title": row.title, "due_on": row.due_on, "done": row.done_at is not None,
            "done_at": row.done_at, "assigned_to": row.assigned_to_id}


@bp.route("/cases/<reference>/tasks", methods=["GET"])
@requires(CASES)
def list_tasks(reference: str):
    found = case_for(reference, _me())
    return jsonify({"tasks": TaskOutSchema(many=True).dump([_task(t) for t in service.tasks(found)])})


@bp.route("/cases/<reference>/tasks", methods=["POST"])
@requires(CASES)
def add_task(reference: str):
    found = case_for(reference, _me(), audit=None)
    data = load_json(TaskInSchema())
    return jsonify(TaskOutSchema().dump(_task(service.add_task(found, _me(), data["title"], data.get("due_on"))))), 201


@bp.route("/cases/<reference>/tasks/<int:task_id>", methods=["PATCH"])
@requires(CASES)
def change_task(reference: str, task_id: int):
    found = case_for(reference, _me(), audit=None)
    task = service.task_of(found, task_id)
    if task is None:
        abort(404)
    data = load_json(TaskPatchSchema())
    changed = service.update_task(found, task, _me(), done=data.get("done"), title=data.get("title"),
                                  due_on=data.get("due_on", ...))
    return jsonify(TaskOutSchema().dump(_task(changed)))


# -- the OpenAPI description -------------------------------------------------------------------------------


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _wrapped(key: str, schema) -> dict:
    return {"content": {"application/json": {"schema": {
        "type": "object", "properties": {key: {"type": "array", "items": schema}}}}}}


def describe(spec) -> None:
    """Add intake's and the case core's schemas and paths to the instance's OpenAPI document."""
    for name, schema in (
        ("CaseworkReferral", ReferralOutSchema), ("CaseworkAcceptIn", AcceptSchema),
        ("CaseworkAccepted", AcceptedSchema), ("CaseworkDeclineIn", DeclineSchema),
        ("CaseworkCaseSummary", CaseSummarySchema), ("CaseworkCaseDetail", CaseDetailSchema),
        ("CaseworkStageIn", StageInSchema), ("CaseworkContactIn", ContactInSchema),
        ("CaseworkContact", ContactOutSchema), ("CaseworkTaskIn", TaskInSchema),
        ("CaseworkTaskPatch", TaskPatchSchema), ("CaseworkTask", TaskOutSchema),
    ):
        spec.components.schema(name, schema=schema)
    tag = ["casework"]
    token = [{"bearerAuth": []}]
    reference = {"in": "path", "name": "reference", "required": True, "schema": {"type": "string", "maxLength": 16},
                 "example": "C-7KQ2XW", "description": "The case's reference, which is its id in this API."}
    referral_id = {"in": "path", "name": "id", "required": True, "schema": {"type": "integer", "minimum": 0}}
    task_id = {"in": "path", "name": "task_id", "required": True, "schema": {"type": "integer", "minimum": 0}}
    hidden = "A case the caller may not see answers 404, exactly as one that does not exist."
    spec.path(path="/casework/referrals", operations={"get": {
        "tags": tag, "summary": "Open referrals waiting for a caseworker, oldest first.", "security": token,
        "responses": {"200": {"description": "The queue.", **_wrapped("referrals", ReferralOutSchema)},
                      **error_responses(401, 403)},
    }})
    spec.path(path="/casework/referrals/{id}/accept", operations={"post": {
        "tags": tag, "summary": "Accept a referral: a case opens at stage new, assigned to the caller "
                                "(or, for a supervisor, to `worker`).",
        "description": "The answer's `case` is the new case's reference, which is the case's id in this API. "
                       "The body is optional.",
        "security": token, "parameters": [referral_id],
        "requestBody": {"required": False, **_json(AcceptSchema)},
        "responses": {"201": {"description": "The case is open.", **_json(AcceptedSchema)},
                      **error_responses(401, 403, 404, 409, 415, 422)},
    }})
    spec.path(path="/casework/referrals/{id}/decline", operations={"post": {
        "tags": tag, "summary": "Decline a referral with a reason code; the person is told in neutral words, "
                                "with where else to turn.",
        "security": token, "parameters": [referral_id], "requestBody": {"required": True, **_json(DeclineSchema)},
        "responses": {"200": {"description": "Declined.", **_json(ReferralOutSchema)},
                      **error_responses(401, 403, 404, 409, 415, 422)},
    }})
    spec.path(path="/cases", operations={"get": {
        "tags": tag, "summary": "The caller's caseload; every case for supervisors (who may filter by worker).",
        "security": token,
        "parameters": [{"in": "query", "name": "stage", "schema": {"type": "string", "enum": list(
            CaseSummarySchema().fields["stage"].metadata["enum"])}},
                       {"in": "query", "name": "worker", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "Cases, last changed first.", **_wrapped("cases", CaseSummarySchema)},
                      **error_responses(401, 403, 422)},
    }})
    spec.path(path="/cases/{reference}", operations={"get": {
        "tags": tag, "summary": "One case (the view is audited).", "description": hidden, "security": token,
        "parameters": [reference],
        "responses": {"200": {"description": "The case.", **_json(CaseDetailSchema)},
                      **error_responses(401, 403, 404)},
    }})
    spec.path(path="/cases/{reference}/stage", operations={"post": {
        "tags": tag, "summary": "Move the case to another stage (closing and closed need the supervisor's "
                                "approval of the closure; a closed case reopens at assessment).",
        "description": hidden, "security": token, "parameters": [reference],
        "requestBody": {"required": True, **_json(StageInSchema)},
        "responses": {"200": {"description": "Changed.", **_json(CaseSummarySchema)},
                      **error_responses(401, 403, 404, 415, 422)},
    }})
    spec.path(path="/cases/{reference}/contacts", operations={
        "get": {"tags": tag, "summary": "The contact log, newest first (failed and unsafe attempts too).",
                "description": hidden, "security": token, "parameters": [reference],
                "responses": {"200": {"description": "Contacts.", **_wrapped("contacts", ContactOutSchema)},
                              **error_responses(401, 403, 404)}},
        "post": {"tags": tag, "summary": "Record a contact or an attempt.", "description": hidden,
                 "security": token, "parameters": [reference],
                 "requestBody": {"required": True, **_json(ContactInSchema)},
                 "responses": {"201": {"description": "Recorded.", **_json(ContactOutSchema)},
                               **error_responses(401, 403, 404, 415, 422)}},
    })
    spec.path(path="/cases/{reference}/tasks", operations={
        "get": {"tags": tag, "summary": "The case's tasks: open ones first, by due date.", "description": hidden,
                "security": token, "parameters": [reference],
                "responses": {"200": {"description": "Tasks.", **_wrapped("tasks", TaskOutSchema)},
                              **error_responses(401, 403, 404)}},
        "post": {"tags": tag, "summary": "Add a task with an optional due date (the worker is reminded).",
                 "description": hidden, "security": token, "parameters": [reference],
                 "requestBody": {"required": True, **_json(TaskInSchema)},
                 "responses": {"201": {"description": "Added.", **_json(TaskOutSchema)},
                               **error_responses(401, 403, 404, 415, 422)}},
    })
    spec.path(path="/cases/{reference}/tasks/{task_id}", operations={"patch": {
        "tags": tag, "summary": "Mark a task done or open again, or change its title or due date.",
        "description": hidden, "security": token, "parameters": [reference, task_id],
        "requestBody": {"required": True, **_json(TaskPatchSchema)},
        "responses": {"200": {"description": "Changed.", **_json(TaskOutSchema)},
                      **error_responses(401, 403, 404, 415, 422)},
    }})
