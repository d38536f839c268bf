"""The JSON API for a case's substance, under /api/v1/cases/{reference}/ (see plans.py):
assessments, outcomes, safety-plan, goals, justice, compensation, approvals, closure and a
feedback link. Caseworkers and supervisors with a bearer token (staff tokens need two-factor
sign-in); a case the caller may not see is 404, exactly like one that does not exist. Input the
service cannot take is 422; a change the case's state does not allow (closed, already waiting for
a supervisor...) is 409. Described in the OpenAPI document by describe(spec), which the plugin's
register_api hook calls.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, jsonify, url_for
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.api import ApiSchema, ApiValidationError, UtcDateTime, error_responses, load_json
from core.fields import StrictBoolean, Text
from core.permissions import requires
from plugins.casework import _, plans
from plugins.casework.access import CASES, SUPERVISE, case_for
from plugins.casework.models import (
    APPROVAL_KINDS,
    GOAL_STATUSES,
    JUSTICE_PATHS,
    OUTCOME_POINTS,
    RISK_LEVELS,
    STAGES,
    Approval,
    Case,
)
from plugins.casework.schemas import MAX_TEXT

bp = Blueprint("casework_plans_api", __name__, url_prefix="/api/v1")

SCORES = ("1", "2", "3", "4", "5", plans.PREFER_NOT)


# -- schemas ------------------------------------------------------------------------------------------------


class Score(fields.Field):
    """1 to 5, or "prefer_not"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or str(value) not in SCORES:
            raise ValidationError(_("Please answer from 1 to 5, or “prefer_not”."))
        return str(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class NeedIn(ApiSchema):
    domain = fields.String(required=True, validate=validate.Length(max=32))
    level = fields.String(required=True, validate=validate.OneOf(plans.NEED_LEVELS),
                          metadata={"enum": list(plans.NEED_LEVELS)})
    note = Text(max_length=MAX_TEXT, multiline=True)


class AssessmentIn(ApiSchema):
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS),
                                metadata={"enum": list(RISK_LEVELS)})
    review_on = fields.Date(allow_none=True, load_default=None)
    summary = Text(max_length=MAX_TEXT, multiline=True)
    needs = fields.List(fields.Nested(NeedIn), load_default=list, validate=validate.Length(max=50))


class NeedOut(Schema):
    domain = fields.String()
    level = fields.String()
    note = fields.String(allow_none=True)


class AssessmentOut(Schema):
    id = fields.Integer()
    risk_level = fields.String()
    review_on = fields.Date(allow_none=True)
    summary = fields.String(allow_none=True)
    needs = fields.List(fields.Nested(NeedOut))
    created_at = UtcDateTime()
    by = fields.Integer(allow_none=True)


class OutcomesIn(ApiSchema):
    point = fields.String(required=True, validate=validate.OneOf(OUTCOME_POINTS),
                           metadata={"enum": list(OUTCOME_POINTS)})
    answers = fields.Dict(keys=fields.String(validate=validate.OneOf(list(plans.OUTCOME_QUESTIONS))),
                          values=Score(), required=True,
                          metadata={"description": "Question code to 1-5 or \"prefer_not\"; leave a question out "
                                                   "if it was not asked.",
                                    "additionalProperties": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 5},
                                                                       {"type": "string", "enum": ["prefer_not"]}]}})


class OutcomesOut(Schema):
    id = fields.Integer()
    point = fields.String()
    answers = fields.Dict()
    created_at = UtcDateTime()


class SafetyPlanIn(ApiSchema):
    content = Text(required=True, allow_none=False, max_length=MAX_TEXT, multiline=True)
    shared_with_client = StrictBoolean(load_default=False)


class ShareIn(ApiSchema):
    shared = StrictBoolean(required=True)


class SafetyPlanOut(Schema):
    version = fields.Integer()
    content = fields.String()
    shared_with_client = fields.Boolean()
    created_at = UtcDateTime()
    by = fields.Integer(allow_none=True)


class GoalIn(ApiSchema):
    domain = fields.String(required=True, validate=validate.Length(max=32))
    text = Text(required=True, allow_none=False, max_length=2000, multiline=True)


class GoalPatch(ApiSchema):
    status = fields.String(required=True, validate=validate.OneOf(GOAL_STATUSES),
                            metadata={"enum": list(GOAL_STATUSES)})


class GoalOut(Schema):
    id = fields.Integer()
    domain = fields.String()
    text = fields.String()
    status = fields.String()
    updated_at = UtcDateTime()


class JusticePathIn(ApiSchema):
    path = fields.String(required=True, validate=validate.OneOf(JUSTICE_PATHS), metadata={"enum": list(JUSTICE_PATHS)})


class StepIn(ApiSchema):
    stage = fields.String(required=True, validate=validate.Length(max=32))
    happened_on = fields.Date(allow_none=True, load_default=None)
    deadline_on = fields.Date(allow_none=True, load_default=None,
                              metadata={"description": "After no_further_action, empty means the last day to ask "
                                                       "for a victims' right to review."})
    crime_reference = Text()
    note = Text(max_length=MAX_TEXT, multiline=True)


class StepOut(Schema):
    id = fields.Integer()
    stage = fields.String()
    happened_on = fields.Date(allow_none=True)
    deadline_on = fields.Date(allow_none=True)
    crime_reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class DeadlineOut(Schema):
    on = fields.Date()
    what = fields.String()


class JusticeOut(Schema):
    path = fields.String(metadata={"enum": list(JUSTICE_PATHS)})
    steps = fields.List(fields.Nested(StepOut))
    deadlines = fields.List(fields.Nested(DeadlineOut))


class ClaimIn(ApiSchema):
    status = fields.String(required=True, validate=validate.Length(max=24))
    deadline_on = fields.Date(allow_none=True, load_default=None)
    outcome = Text(max_length=2000, multiline=True)


class ClaimOut(Schema):
    id = fields.Integer()
    status = fields.String()
    deadline_on = fields.Date(allow_none=True)
    outcome = fields.String(allow_none=True)
    updated_at = UtcDateTime()


class CompensationOut(Schema):
    scheme = fields.String()
    claims = fields.List(fields.Nested(ClaimOut))


class ApprovalIn(ApiSchema):
    kind = fields.String(required=True, validate=validate.OneOf(APPROVAL_KINDS),
                          metadata={"enum": list(APPROVAL_KINDS)})


class DecisionIn(ApiSchema):
    decision = fields.String(required=True, validate=validate.OneOf(plans.APPROVAL_DECISIONS),
                             metadata={"enum": list(plans.APPROVAL_DECISIONS)})
    comment = Text(max_length=5000, multiline=True,
                   metadata={"description": "Needed with sent_back: what the worker should change."})

    @validates_schema
    def comment_when_sent_back(self, data, **kwargs):
        if data.get("decision") == "sent_back" and not data.get("comment"):
            raise ValidationError(_("Please say what needs to change, so the worker knows."), "comment")


class ApprovalOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    requested_by = fields.Integer(allow_none=True)
    created_at = UtcDateTime()
    decision = fields.String(allow_none=True)
    decided_by = fields.Integer(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    comment = fields.String(allow_none=True)


class ClosureIn(ApiSchema):
    checklist = fields.List(fields.String(validate=validate.Length(max=32)), load_default=list,
                            validate=validate.Length(max=50))
    reason = fields.String(required=True, validate=validate.Length(max=32))
    note = Text(max_length=MAX_TEXT, multiline=True)


class ClosureOut(Schema):
    stage = fields.String(metadata={"enum": list(STAGES)})
    reason = fields.String(allow_none=True)
    checklist = fields.List(fields.String())
    note = fields.String(allow_none=True)
    closure_allowed = fields.Boolean()
    plan_approved = fields.Boolean()
    closed_at = UtcDateTime(allow_none=True)
    reopened_count = fields.Integer()


class FeedbackLinkOut(Schema):
    url = fields.String(metadata={"description": "Works once; not shown again."})


# -- helpers --------------------------------------------------------------------------------------------------


def _error(status: int, message: str):
    return jsonify({"error": {"status": status, "message": message}}), status


def _conflict(message: str):
    response, _status = _error(409, message)
    response.status_code = 409
    abort(response)


def _case(reference: str) -> Case:
    return case_for(reference, current_user, audit="case.viewed")


def _open(reference: str) -> Case:
    case = case_for(reference, current_user, audit=None)
    if case.stage == "closed":
        _conflict(_("This case is closed."))
    return case


def _me():
    return current_user._get_current_object()


def _call(function, *args, field: str = "_schema", **kwargs):
    """Run a service call: PlanConflict is 409, PlanError 422, LookupError 404."""
    try:
        return function(*args, **kwargs)
    except plans.PlanConflict as exc:
        _conflict(str(exc))
    except plans.PlanError as exc:
        raise ApiValidationError({field: [str(exc)]}) from None
    except LookupError:
        abort(404)


def _assessment(item) -> dict:
    return {"id": item.id, "risk_level": item.risk_level, "review_on": item.review_on, "summary": item.summary,
            "needs": [{"domain": n.domain, "level": n.level, "note": n.note} for n in getattr(item, "need_rows", [])],
            "created_at": item.created_at, "by": item.by_id}


def _plan(item) -> dict:
    return {"version": item.version, "content": item.content, "shared_with_client": item.shared_with_client,
            "created_at": item.created_at, "by": item.by_id}


def _goal(item) -> dict:
    return {"id": item.id, "domain": item.domain, "text": item.text, "status": item.status,
            "updated_at": item.updated_at}


def _claim(item) -> dict:
    return {"id": item.id, "status": item.status, "deadline_on": item.deadline_on, "outcome": item.outcome,
            "updated_at": item.updated_at}


def _approval(item) -> dict:
    return {"id": item.id, "kind": item.kind, "requested_by": item.requested_by_id, "created_at": item.created_at,
            "decision": item.decision, "decided_by": item.decided_by_id, "decided_at": item.decided_at,
            "comment": item.comment}


def _justice(case: Case) -> dict:
    return JusticeOut().dump({
        "path": Case.get_by_id(case.id).justice_path,
        "steps": [{"id": s.id, "stage": s.stage, "happened_on": s.happened_on, "deadline_on": s.deadline_on,
                   "crime_reference": s.crime_reference, "note": s.note} for s in plans.justice_steps(case)],
        "deadlines": plans.deadlines(case),
    })


def _closure(case: Case) -> dict:
    case = Case.get_by_id(case.id)
    return ClosureOut().dump({
        "stage": case.stage, "reason": case.closure_reason, "checklist": case.checklist, "note": case.closure_note,
        "closure_allowed": plans.closure_allowed(case), "plan_approved": plans.plan_approved(case),
        "closed_at": case.closed_at, "reopened_count": case.reopened_count,
    })


# -- assessments and outcomes -------------------------------------------------------------------------------------


@bp.route("/cases/<reference>/assessments", methods=["GET"])
@requires(CASES)
def list_assessments(reference: str):
    case = _case(reference)
    return jsonify(AssessmentOut(many=True).dump([_assessment(a) for a in plans.assessments(case)]))


@bp.route("/cases/<reference>/assessments", methods=["POST"])
@requires(CASES)
def create_assessment(reference: str):
    case = _open(reference)
    data = load_json(AssessmentIn())
    needs = {need["domain"]: (need["level"], need.get("note")) for need in data["needs"]}
    made = _call(plans.add_assessment, case, _me(), data["risk_level"], data["review_on"], needs, data.get("summary"),
                 field="needs")
    made.need_rows = list(made.needs)
    return jsonify(AssessmentOut().dump(_assessment(made))), 201


@bp.route("/cases/<reference>/outcomes", methods=["GET"])
@requires(CASES)
def list_outcomes(reference: str):
    case = _case(reference)
    return jsonify(OutcomesOut(many=True).dump(
        [{"id": m.id, "point": m.point, "answers": m.answer_dict, "created_at": m.created_at}
         for m in plans.outcomes(case)]))


@bp.route("/cases/<reference>/outcomes", methods=["POST"])
@requires(CASES)
def create_outcomes(reference: str):
    case = _open(reference)
    data = load_json(OutcomesIn())
    made = _call(plans.record_outcomes, case, _me(), data["point"], data["answers"], field="answers")
    return jsonify(OutcomesOut().dump({"id": made.id, "point": made.point, "answers": json.loads(made.answers),
                                       "created_at": made.created_at})), 201


# -- safety plan and goals -----------------------------------------------------------------------------------------


@bp.route("/cases/<reference>/safety-plan", methods=["GET"])
@requires(CASES)
def list_safety_plans(reference: str):
    case = _case(reference)
    return jsonify(SafetyPlanOut(many=True).dump([_plan(p) for p in plans.safety_plans(case)]))


@bp.route("/cases/<reference>/safety-plan", methods=["POST"])
@requires(CASES)
def create_safety_plan(reference: str):
    case = _open(reference)
    data = load_json(SafetyPlanIn())
    made = _call(plans.save_safety_plan, case, _me(), data["content"], data["shared_with_client"], field="content")
    return jsonify(SafetyPlanOut().dump(_plan(made))), 201


@bp.route("/cases/<reference>/safety-plan/<int:version>/share", methods=["POST"])
@requires(CASES)
def share_safety_plan(reference: str, version: int):
    case = _open(reference)
    data = load_json(ShareIn())
    try:
        found = plans.share_safety_plan(case, _me(), version, data["shared"])
    except plans.PlanError:
        abort(404)
    return jsonify(SafetyPlanOut().dump(_plan(found)))


@bp.route("/cases/<reference>/goals", methods=["GET"])
@requires(CASES)
def list_goals(reference: str):
    case = _case(reference)
    return jsonify(GoalOut(many=True).dump([_goal(g) for g in plans.goals(case)]))


@bp.route("/cases/<reference>/goals", methods=["POST"])
@requires(CASES)
def create_goal(reference: str):
    case = _open(reference)
    data = load_json(GoalIn())
    made = _call(plans.add_goal, case, _me(), data["domain"], data["text"], field="domain")
    return jsonify(GoalOut().dump(_goal(made))), 201


@bp.route("/cases/<reference>/goals/<int:goal_id>", methods=["PATCH"])
@requires(CASES)
def update_goal(reference: str, goal_id: int):
    case = _open(reference)
    data = load_json(GoalPatch())
    found = _call(plans.set_goal_status, case, _me(), goal_id, data["status"], field="status")
    return jsonify(GoalOut().dump(_goal(found)))


# -- justice and compensation --------------------------------------------------------------------------------------


@bp.route("/cases/<reference>/justice", methods=["GET"])
@requires(CASES)
def get_justice(reference: str):
    return jsonify(_justice(_case(reference)))


@bp.route("/cases/<reference>/justice", methods=["PUT"])
@requires(CASES)
def set_justice(reference: str):
    case = _open(reference)
    data = load_json(JusticePathIn())
    _call(plans.set_justice_path, case, _me(), data["path"], field="path")
    return jsonify(_justice(case))


@bp.route("/cases/<reference>/justice/steps", methods=["POST"])
@requires(CASES)
def create_step(reference: str):
    case = _open(reference)
    data = load_json(StepIn())
    made = _call(plans.add_justice_step, case, _me(), data["stage"], data["happened_on"], data["deadline_on"],
                 data.get("crime_reference"), data.get("note"), field="stage")
    return jsonify(StepOut().dump({"id": made.id, "stage": made.stage, "happened_on": made.happened_on,
                                   "deadline_on": made.deadline_on, "crime_reference": made.crime_reference,
                                   "note": made.note})), 201


@bp.route("/cases/<reference>/compensation", methods=["GET"])
@requires(CASES)
def get_compensation(reference: str):
    case = _case(reference)
    return jsonify(CompensationOut().dump({"scheme": plans.setting("compensation_scheme", plans.COMPENSATION_SCHEME),
                                           "claims": [_claim(c) for c in plans.claims(case)]}))


@bp.route("/cases/<reference>/compensation", methods=["POST"])
@requires(CASES)
def create_claim(reference: str):
    case = _open(reference)
    data = load_json(ClaimIn())
    made = _call(plans.save_claim, case, _me(), data["status"], data["deadline_on"], data.get("outcome"),
                 field="status")
    return jsonify(ClaimOut().dump(_claim(made))), 201


@bp.route("/cases/<reference>/compensation/<int:claim_id>", methods=["PATCH"])
@requires(CASES)
def update_claim(reference: str, claim_id: int):
    case = _open(reference)
    data = load_json(ClaimIn())
    found = _call(plans.save_claim, case, _me(), data["status"], data["deadline_on"], data.get("outcome"),
                  claim_id=claim_id, field="status")
    return jsonify(ClaimOut().dump(_claim(found)))


# -- approvals -------------------------------------------------------------------------------------------------------


@bp.route("/cases/<reference>/approvals", methods=["GET"])
@requires(CASES)
def list_approvals(reference: str):
    case = _case(reference)
    return jsonify(ApprovalOut(many=True).dump([_approval(a) for a in plans.approvals(case)]))


@bp.route("/cases/<reference>/approvals", methods=["POST"])
@requires(CASES)
def create_approval(reference: str):
    case = _open(reference)
    data = load_json(ApprovalIn())
    made = _call(plans.request_approval, case, _me(), data["kind"], field="kind")
    return jsonify(ApprovalOut().dump(_approval(made))), 201


@bp.route("/cases/<reference>/approvals/<int:approval_id>/decision", methods=["POST"])
@requires(SUPERVISE)
def decide_approval(reference: str, approval_id: int):
    case = _case(reference)
    if not Approval.select().where((Approval.id == approval_id) & (Approval.case == case.id)).exists():
        abort(404)
    data = load_json(DecisionIn())
    found = _call(plans.decide, approval_id, _me(), data["decision"], data.get("comment"), field="comment")
    return jsonify(ApprovalOut().dump(_approval(found)))


# -- closure ----------------------------------------------------------------------------------------------------------


@bp.route("/cases/<reference>/closure", methods=["GET"])
@requires(CASES)
def get_closure(reference: str):
    return jsonify(_closure(_case(reference)))


@bp.route("/cases/<reference>/closure", methods=["PUT"])
@requires(CASES)
def prepare_closure(reference: str):
    case = _open(reference)
    data = load_json(ClosureIn())
    _call(plans.prepare_closure, case, _me(), data["checklist"], data["reason"], data.get("note"), field="reason")
    return jsonify(_closure(case))


@bp.route("/cases/<reference>/closure/close", methods=["POST"])
@requires(CASES)
def close_case(reference: str):
    case = _open(reference)
    _call(plans.close_case, case, _me())
    return jsonify(_closure(case))


@bp.route("/cases/<reference>/closure/reopen", methods=["POST"])
@requires(CASES)
def reopen_case(reference: str):
    case = case_for(reference, current_user, audit=None)
    _call(plans.reopen, case, _me())
    return jsonify(_closure(case))


@bp.route("/cases/<reference>/feedback-link", methods=["POST"])
@requires(CASES)
def feedback_link(reference: str):
    case = case_for(reference, current_user, audit=None)
    token = plans.issue_feedback_link(case, _me())
    return jsonify(FeedbackLinkOut().dump({"url": url_for("casework_plans.feedback", token=token,
                                                          _external=True)})), 201


# -- the OpenAPI description ---------------------------------------------------------------------------------------


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _array(schema) -> dict:
    return {"content": {"application/json": {"schema": {"type": "array", "items": schema}}}}


def describe(spec) -> None:
    """Add this module's schemas and paths to the instance's OpenAPI document."""
    for name, schema in (
        ("CaseworkNeedIn", NeedIn), ("CaseworkAssessmentIn", AssessmentIn), ("CaseworkNeed", NeedOut),
        ("CaseworkAssessment", AssessmentOut), ("CaseworkOutcomesIn", OutcomesIn), ("CaseworkOutcomes", OutcomesOut),
        ("CaseworkSafetyPlanIn", SafetyPlanIn), ("CaseworkShareIn", ShareIn), ("CaseworkSafetyPlan", SafetyPlanOut),
        ("CaseworkGoalIn", GoalIn), ("CaseworkGoalPatch", GoalPatch), ("CaseworkGoal", GoalOut),
        ("CaseworkJusticePathIn", JusticePathIn), ("CaseworkStepIn", StepIn), ("CaseworkStep", StepOut),
        ("CaseworkDeadline", DeadlineOut), ("CaseworkJustice", JusticeOut), ("CaseworkClaimIn", ClaimIn),
        ("CaseworkClaim", ClaimOut), ("CaseworkCompensation", CompensationOut), ("CaseworkApprovalIn", ApprovalIn),
        ("CaseworkDecisionIn", DecisionIn), ("CaseworkApproval", ApprovalOut), ("CaseworkClosureIn", ClosureIn),
        ("CaseworkClosure", ClosureOut), ("CaseworkFeedbackLink", FeedbackLinkOut),
    ):
        spec.components.schema(name, schema=schema)
    tag = ["casework"]
    token = [{"bearerAuth": []}]
    reference = {"in": "path", "name": "reference", "required": True, "schema": {"type": "string", "maxLength": 16},
                 "example": "C-7KQ2XW"}

    def integer(name: str) -> dict:
        return {"in": "path", "name": name, "required": True, "schema": {"type": "integer", "minimum": 0}}

    def get(summary: str, body: dict) -> dict:
        return {"tags": tag, "summary": summary, "security": token, "parameters": [reference],
                "responses": {"200": {"description": "Found.", **body}, **error_responses(401, 403, 404)}}

    def change(summary: str, schema, status: str, body: dict, extra=(), conflict: bool = True) -> dict:
        operation = {"tags": tag, "summary": summary, "security": token, "parameters": [reference, *extra],
                     "responses": {status: {"description": "Done.", **body},
                                   **error_responses(401, 403, 404, *((409,) if conflict else ()))}}
        if schema is not None:
            operation["requestBody"] = {"required": True, **_json(schema)}
            operation["responses"].update(error_responses(415, 422))
        return operation

    spec.path(path="/cases/{reference}/assessments", operations={
        "get": get("Needs and risk assessments, newest first.", _array(AssessmentOut)),
        "post": change("Add an assessment; it sets the case's risk level and review date.", AssessmentIn, "201",
                       _json(AssessmentOut)),
    })
    spec.path(path="/cases/{reference}/outcomes", operations={
        "get": get("Outcome measures at intake, review and closure.", _array(OutcomesOut)),
        "post": change("Record the client's answers (1-5 or prefer_not).", OutcomesIn, "201", _json(OutcomesOut)),
    })
    spec.path(path="/cases/{reference}/safety-plan", operations={
        "get": get("Every version of the safety plan, newest first.", _array(SafetyPlanOut)),
        "post": change("Save a new version of the safety plan.", SafetyPlanIn, "201", _json(SafetyPlanOut)),
    })
    spec.path(path="/cases/{reference}/safety-plan/{version}/share", operations={
        "post": change("Share one version with the client, or stop sharing it.", ShareIn, "200", _json(SafetyPlanOut),
                       extra=[integer("version")]),
    })
    spec.path(path="/cases/{reference}/goals", operations={
        "get": get("The action plan's goals.", _array(GoalOut)),
        "post": change("Add a goal in one domain.", GoalIn, "201", _json(GoalOut)),
    })
    spec.path(path="/cases/{reference}/goals/{goal_id}", operations={
        "patch": change("Mark a goal open, met, not met or not applicable.", GoalPatch, "200", _json(GoalOut),
                        extra=[integer("goal_id")]),
    })
    spec.path(path="/cases/{reference}/justice", operations={
        "get": get("The client's choice about the police, the steps and coming deadlines.", _json(JusticeOut)),
        "put": change("Record the client's choice (chose_not_to_report and intelligence_only are complete answers).",
                      JusticePathIn, "200", _json(JusticeOut)),
    })
    spec.path(path="/cases/{reference}/justice/steps", operations={
        "post": change("Add a step of the journey (only when the client chose to report: else 409).", StepIn, "201",
                       _json(StepOut)),
    })
    spec.path(path="/cases/{reference}/compensation", operations={
        "get": get("Compensation claims.", _json(CompensationOut)),
        "post": change("Start a claim.", ClaimIn, "201", _json(ClaimOut)),
    })
    spec.path(path="/cases/{reference}/compensation/{claim_id}", operations={
        "patch": change("Update a claim's status, deadline and outcome.", ClaimIn, "200", _json(ClaimOut),
                        extra=[integer("claim_id")]),
    })
    spec.path(path="/cases/{reference}/approvals", operations={
        "get": get("Approvals asked for and decided, newest first.", _array(ApprovalOut)),
        "post": change("Ask a supervisor to approve the case plan or the closure.", ApprovalIn, "201",
                       _json(ApprovalOut)),
    })
    spec.path(path="/cases/{reference}/approvals/{approval_id}/decision", operations={
        "post": change("Supervisors: approve, or send back with a comment. Approving a plan makes the case active; "
                       "approving a closure closes it.", DecisionIn, "200", _json(ApprovalOut),
                       extra=[integer("approval_id")]),
    })
    spec.path(path="/cases/{reference}/closure", operations={
        "get": get("The closure checklist, reason and state.", _json(ClosureOut)),
        "put": change("Save the closure checklist, reason and note (the case moves to closing).", ClosureIn, "200",
                      _json(ClosureOut)),
    })
    spec.path(path="/cases/{reference}/closure/close", operations={
        "post": change("Close the case: 409 until a supervisor approved the closure.", None, "200", _json(ClosureOut)),
    })
    spec.path(path="/cases/{reference}/closure/reopen", operations={
        "post": change("Reopen a closed case (back to assessment).", None, "200", _json(ClosureOut)),
    })
    spec.path(path="/cases/{reference}/feedback-link", operations={
        "post": change("A one-time link to the client's anonymous feedback form.", None, "201", _json(FeedbackLinkOut),
                       conflict=False),
    })
