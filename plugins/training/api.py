"""The training plugin's JSON API for courses and the caller's own training, under /api/v1.

GET /courses (published courses visible to the caller; public), GET /courses/{id} (404 for one
the caller may not see, as for one that does not exist), POST /courses/{id}/enrol (a learner's
own enrolment; a code course takes {"code": "..."}; a wrong code is a translated 422), GET
/me/training (the caller's enrolments with progress, and their certificates).
"""

from __future__ import annotations

import datetime

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from marshmallow import Schema, fields, validate

from core.api import ApiSchema, ApiValidationError, UtcDateTime, error_responses, load_json
from core.permissions import PUBLIC, requires
from plugins.training import enrolment
from plugins.training.models import COURSE_STATUSES, ENROLMENT_MODES, ENROLMENT_STATUSES, Certificate, Course, Enrolment

bp = Blueprint("training_api", __name__, url_prefix="/api/v1")


# -- schemas ------------------------------------------------------------------------------------------


class CourseOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    language = fields.String(required=True)
    hours = fields.Integer(required=True)
    enrolment = fields.String(required=True, metadata={"enum": list(ENROLMENT_MODES), "description": (
        "How people join: open, code (needs the trainer's code), invitation (a trainer enrols them), "
        "manager (their organisation's manager enrols them).")})
    needs_approval = fields.Boolean(required=True)
    certificate_valid_days = fields.Integer(allow_none=True, required=True)


class CourseDetailOut(CourseOut):
    status = fields.String(required=True, metadata={"enum": list(COURSE_STATUSES)})
    my_enrolment = fields.String(allow_none=True, required=True, metadata={
        "enum": [*ENROLMENT_STATUSES, None], "description": "The caller's enrolment on it, or null."})


class CourseListOut(Schema):
    courses = fields.List(fields.Nested(CourseOut), required=True)


class EnrolIn(ApiSchema):
    code = fields.String(validate=validate.Length(max=100), metadata={"description": "For a code course."})


class EnrolmentOut(Schema):
    id = fields.Integer(required=True)
    course = fields.Integer(required=True)
    course_title = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(ENROLMENT_STATUSES)})
    created_at = UtcDateTime(required=True)
    completed_at = UtcDateTime(allow_none=True, required=True)
    done = fields.Integer(required=True, metadata={"description": "Items that count for completion, done."})
    total = fields.Integer(required=True, metadata={"description": "Items that count for completion."})
    percent = fields.Integer(required=True)


class CertificateOut(Schema):
    code = fields.String(required=True)
    course = fields.Integer(allow_none=True, required=True)
    course_title = fields.String(required=True)
    issued_on = fields.Date(required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    state = fields.String(required=True, metadata={"enum": ["valid", "expired", "revoked"]})


class MyTrainingOut(Schema):
    enrolments = fields.List(fields.Nested(EnrolmentOut), required=True)
    certificates = fields.List(fields.Nested(CertificateOut), required=True)


# -- helpers ------------------------------------------------------------------------------------------


def _course_body(course: Course) -> dict:
    return {name: getattr(course, name) for name in CourseOut().fields}


def _progress(item: Enrolment) -> dict:
    try:
        from plugins.training.learning import progress
    except ImportError:  # the learning module is not installed in this build: no items to count
        return {"done": 0, "total": 0, "percent": 100 if item.status == "completed" else 0}
    found = progress(item)
    return {"done": found["done"], "total": found["total"], "percent": found["percent"]}


def _certificate_state(cert: Certificate, today: datetime.date) -> str:
    if cert.revoked_at is not None:
        return "revoked"
    if cert.expires_on is not None and cert.expires_on < today:
        return "expired"
    return "valid"


def _visible_or_404(course_id: int) -> Course:
    found = Course.get_or_none(Course.id == course_id)
    if found is None or found.status != "published" or not enrolment.may_see(found, current_user):
        abort(404)
    return found


# -- routes -------------------------------------------------------------------------------------------


@bp.route("/courses")
@requires(PUBLIC)
def list_courses():
    courses = enrolment.visible_courses(current_user)
    return jsonify(CourseListOut().dump({"courses": [_course_body(c) for c in courses]}))


@bp.route("/courses/<int:course_id>")
@requires(PUBLIC)
def course_detail(course_id: int):
    found = _visible_or_404(course_id)
    mine = enrolment.enrolment_of(found, current_user)
    return jsonify(CourseDetailOut().dump({**_course_body(found), "status": found.status,
                                           "my_enrolment": mine.status if mine else None}))


@bp.route("/courses/<int:course_id>/enrol", methods=["POST"])
@requires("training.learn")
def enrol(course_id: int):
    found = _visible_or_404(course_id)
    data = load_json(EnrolIn()) if request.get_data() else {}
    try:
        made = enrolment.enrol_self(found, current_user._get_current_object(), data.get("code"))
    except enrolment.EnrolmentError as error:
        if error.status == 404:
            abort(404)
        if error.status == 422:
            raise ApiValidationError({error.field: [error.message]}) from None
        response = jsonify({"error": {"status": error.status, "message": error.message}})
        response.status_code = error.status
        abort(response)
    return jsonify(_enrolment_body(Enrolment.get_by_id(made.id))), 201


def _enrolment_body(item: Enrolment) -> dict:
    return EnrolmentOut().dump({"id": item.id, "course": item.course_id, "course_title": item.course.title,
                                "status": item.status, "created_at": item.created_at,
                                "completed_at": item.completed_at, **_progress(item)})


@bp.route("/me/training")
@requires("training.learn")
def my_training():
    today = datetime.date.today()
    mine = (Enrolment.select(Enrolment, Course).join(Course)
            .where(Enrolment.user == current_user.id).order_by(Enrolment.id))
    certificates = (Certificate.select().where(Certificate.user == current_user.id)
                    .order_by(Certificate.issued_on.desc()))
    return jsonify(MyTrainingOut().dump({
        "enrolments": [_enrolment_body(item) for item in mine],
        "certificates": [{"code": c.code, "course": c.course_id, "course_title": c.course_title,
                          "issued_on": c.issued_on, "expires_on": c.expires_on,
                          "state": _certificate_state(c, today)} for c in certificates],
    }))


# -- OpenAPI ------------------------------------------------------------------------------------------


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def describe(spec) -> None:
    """Add the courses and my-training paths to the instance's OpenAPI document."""
    for name, schema in (("TrainingCourse", CourseOut), ("TrainingCourseDetail", CourseDetailOut),
                         ("TrainingCourseList", CourseListOut), ("TrainingEnrolIn", EnrolIn),
                         ("TrainingEnrolment", EnrolmentOut), ("TrainingMyCertificate", CertificateOut),
                         ("TrainingMine", MyTrainingOut)):
        spec.components.schema(name, schema=schema)
    tag, token = ["training"], [{"bearerAuth": []}]
    course_id = {"in": "path", "name": "id", "required": True, "schema": {"type": "integer", "minimum": 0}}
    hidden = "A course the caller may not see answers 404, exactly as one that does not exist."
    spec.path(path="/courses", operations={"get": {
        "tags": tag, "summary": "Published courses visible to the caller (open and code courses to anyone; "
                                "others to the people enrolled or offered them).",
        "responses": {"200": {"description": "The courses.", **_json(CourseListOut)}},
    }})
    spec.path(path="/courses/{id}", operations={"get": {
        "tags": tag, "summary": "One published course, with the caller's enrolment on it.", "description": hidden,
        "parameters": [course_id],
        "responses": {"200": {"description": "The course.", **_json(CourseDetailOut)}, **error_responses(404)},
    }})
    spec.path(path="/courses/{id}/enrol", operations={"post": {
        "tags": tag, "summary": "Enrol the caller: open courses, and code courses with the right code. A course "
                                "that needs approval gives status requested. Enrolling again returns the "
                                "enrolment as it is.",
        "description": hidden + " 403: the course is by invitation or by an organisation manager.",
        "security": token, "parameters": [course_id], "requestBody": {"required": False, **_json(EnrolIn)},
        "responses": {"201": {"description": "The caller's enrolment.", **_json(EnrolmentOut)},
                      **error_responses(401, 403, 404, 415, 422)},
    }})
    spec.path(path="/me/training", operations={"get": {
        "tags": tag, "summary": "The caller's enrolments with progress, and their certificates.",
        "security": token,
        "responses": {"200": {"description": "The caller's training.", **_json(MyTrainingOut)},
                      **error_responses(401, 403)},
    }})
