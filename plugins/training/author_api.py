"""Trainers' authoring through the JSON API, under /api/v1/author/ (described in /api/v1/openapi.json).

A bearer token (trainers are staff: their tokens work once two-factor sign-in is set up) and the
training.manage permission. The same service as the pages (authoring.py): the same checks, audit
and versions. Bad input is a translated 422, a change that does not fit the course's state a 409.
"""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, abort, jsonify
from flask_login import current_user
from marshmallow import Schema, fields, validate

from core.api import ApiSchema, ApiValidationError, UtcDateTime, error_responses, load_json
from core.permissions import requires
from plugins.training import _, authoring
from plugins.training.authoring import AuthoringError, StatusConflict
from plugins.training.markdown import render as render_markdown
from plugins.training.models import COMPLETION_RULES, ENROLMENT_MODES, Course, CourseTrainer, Lesson, LessonFile, Module

MANAGE = "training.manage"

bp = Blueprint("training_author_api", __name__, url_prefix="/api/v1/author")


# -- schemas ----------------------------------------------------------------------------------------------


class CourseIn(ApiSchema):
    title = fields.String(required=True, validate=validate.Length(max=200))
    summary = fields.String(validate=validate.Length(max=5000))
    language = fields.String(validate=validate.Length(max=16), metadata={"example": "es"})
    hours = fields.Integer(validate=validate.Range(min=0, max=authoring.MAX_HOURS))
    completion_rule = fields.String(validate=validate.OneOf(COMPLETION_RULES), metadata={
        "description": "all: every lesson, quiz and session; chosen: those whose counts_for_completion is set."})
    certificate_valid_days = fields.Integer(allow_none=True, validate=validate.Range(min=1,
                                                                                     max=authoring.MAX_VALID_DAYS))
    enrolment = fields.String(validate=validate.OneOf(ENROLMENT_MODES))
    needs_approval = fields.Boolean()
    enrolment_code = fields.String(allow_none=True, load_only=True, validate=validate.Length(max=64),
                                   metadata={"description": "Set a new enrolment code (never shown back)."})


class TitleIn(ApiSchema):
    title = fields.String(required=True, validate=validate.Length(max=200))


class LessonIn(ApiSchema):
    title = fields.String(required=True, validate=validate.Length(max=200))
    body = fields.String(validate=validate.Length(max=100_000), metadata={
        "description": "Markdown (a safe subset; HTML and images are not shown)."})
    video_url = fields.String(allow_none=True, validate=validate.Length(max=500), metadata={
        "description": "An http(s) address, shown to learners as a link (never embedded)."})
    counts_for_completion = fields.Boolean()


class FileIn(ApiSchema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=200),
                             metadata={"example": "handout.pdf"})
    content_base64 = fields.String(required=True, metadata={
        "description": "The file, base64. PDF, PNG, JPEG, plain text, .docx or .pptx, up to 10 MB."})


class TrainerIn(ApiSchema):
    credited_name = fields.String(required=True, validate=validate.Length(max=120))
    lived_experience = fields.Boolean(load_default=False)
    is_me = fields.Boolean(load_default=False, metadata={"description": "Link the credit to the caller's account."})


class StatusIn(ApiSchema):
    action = fields.String(required=True, validate=validate.OneOf(tuple(authoring.STATUS_CHANGES)))


class TranslationIn(ApiSchema):
    language = fields.String(required=True, validate=validate.Length(max=16), metadata={"example": "pt_BR"})


class FileOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()


class LessonSummaryOut(Schema):
    id = fields.Integer()
    title = fields.String()
    position = fields.Integer()
    counts_for_completion = fields.Boolean()


class LessonOut(LessonSummaryOut):
    module = fields.Integer(attribute="module_id")
    body = fields.String()
    html = fields.String(metadata={"description": "The body as learners see it, sanitised."})
    video_url = fields.String(allow_none=True)
    files = fields.List(fields.Nested(FileOut))


class ModuleOut(Schema):
    id = fields.Integer()
    title = fields.String()
    position = fields.Integer()
    lessons = fields.List(fields.Nested(LessonSummaryOut))


class TrainerOut(Schema):
    id = fields.Integer()
    credited_name = fields.String()
    lived_experience = fields.Boolean()


class LanguageOut(Schema):
    id = fields.Integer()
    language = fields.String()
    status = fields.String()


class CourseSummaryOut(Schema):
    id = fields.Integer()
    title = fields.String()
    summary = fields.String()
    language = fields.String()
    translation_of = fields.Integer(attribute="translation_of_id", allow_none=True)
    version = fields.Integer(metadata={"description": "Goes up by one with every change to a published course."})
    status = fields.String(metadata={"enum": ["draft", "published", "archived"]})
    enrolment = fields.String()
    needs_approval = fields.Boolean()
    completion_rule = fields.String()
    hours = fields.Integer()
    certificate_valid_days = fields.Integer(allow_none=True)
    updated_at = UtcDateTime()


class CourseOut(CourseSummaryOut):
    modules = fields.List(fields.Nested(ModuleOut))
    trainers = fields.List(fields.Nested(TrainerOut))
    languages = fields.List(fields.Nested(LanguageOut))


# -- helpers ----------------------------------------------------------------------------------------------


def _me():
    return current_user._get_current_object()


def _get(model, row_id: int):
    found = model.get_or_none(model.id == row_id)
    if found is None:
        abort(404)
    return found


def _refused(error: AuthoringError):
    if isinstance(error, StatusConflict):
        response = jsonify({"error": {"status": 409, "message": error.message}})
        response.status_code = 409
        abort(response)
    raise ApiValidationError({error.field: [error.message]})


def _course_body(course: Course) -> dict:
    body = CourseSummaryOut().dump(course)
    body["modules"] = [{"id": m.id, "title": m.title, "position": m.position,
                        "lessons": LessonSummaryOut(many=True).dump(lessons)}
                       for m, lessons in authoring.outline(course)]
    body["trainers"] = TrainerOut(many=True).dump(authoring.trainers_of(course))
    body["languages"] = LanguageOut(many=True).dump(authoring.family(course))
    return body


def _lesson_body(lesson: Lesson) -> dict:
    body = LessonOut().dump(lesson)
    body["html"] = str(render_markdown(lesson.body))
    body["files"] = FileOut(many=True).dump(authoring.files_of(lesson))
    return body


# -- routes -----------------------------------------------------------------------------------------------


@bp.route("/courses", methods=["GET"])
@requires(MANAGE)
def courses():
    return jsonify(CourseSummaryOut(many=True).dump(authoring.courses_for_authors()))


@bp.route("/courses", methods=["POST"])
@requires(MANAGE)
def create_course():
    data = load_json(CourseIn())
    try:
        course = authoring.create_course(_me(), data)
    except AuthoringError as exc:
        _refused(exc)
    return jsonify(_course_body(course)), 201


@bp.route("/courses/<int:course_id>", methods=["GET"])
@requires(MANAGE)
def course(course_id: int):
    return jsonify(_course_body(_get(Course, course_id)))


@bp.route("/courses/<int:course_id>", methods=["PUT"])
@requires(MANAGE)
def update_course(course_id: int):
    found = _get(Course, course_id)
    data = load_json(CourseIn(partial=True))
    try:
        changed = authoring.update_course(found, _me(), data)
    except AuthoringError as exc:
        _refused(exc)
    return jsonify(_course_body(changed))


@bp.route("/courses/<int:course_id>/status", methods=["POST"])
@requires(MANAGE)
def course_status(course_id: int):
    found = _get(Course, course_id)
    data = load_json(StatusIn())
    try:
        changed = authoring.set_status(found, _me(), data["action"])
    except AuthoringError as exc:
        _refused(exc)
    return jsonify(_course_body(changed))


@bp.route("/courses/<int:course_id>/modules", methods=["POST"])
@requires(MANAGE)
def add_module(course_id: int):
    found = _get(Course, course_id)
    data = load_json(TitleIn())
    try:
        module = authoring.add_module(found, _me(), data["title"])
    except AuthoringError as exc:
        _refused(exc)
    return jsonify({"id": module.id, "title": module.title, "position": module.position, "lessons": []}), 201


@bp.route("/modules/<int:module_id>", methods=["PUT"])
@requires(MANAGE)
def rename_module(module_id: int):
    found = _get(Module, module_id)
    data = load_json(TitleIn())
    try:
        module = authoring.rename_module(found, _me(), data["title"])
    except AuthoringError as exc:
        _refused(exc)
    return jsonify({"id": module.id, "title": module.title, "position": module.position,
                    "lessons": LessonSummaryOut(many=True).dump(authoring.lessons_of(module))})


@bp.route("/modules/<int:module_id>", methods=["DELETE"])
@requires(MANAGE)
def delete_module(module_id: int):
    authoring.delete_module(_get(Module, module_id), _me())
    return "", 204


@bp.route("/modules/<int:module_id>/lessons", methods=["POST"])
@requires(MANAGE)
def add_lesson(module_id: int):
    found = _get(Module, module_id)
    data = load_json(LessonIn())
    try:
        lesson = authoring.add_lesson(found, _me(), data)
    except AuthoringError as exc:
        _refused(exc)
    return jsonify(_lesson_body(lesson)), 201


@bp.route("/lessons/<int:lesson_id>", methods=["GET"])
@requires(MANAGE)
def lesson(lesson_id: int):
    return jsonify(_lesson_body(_get(Lesson, lesson_id)))


@bp.route("/lessons/<int:lesson_id>", methods=["PUT"])
@requires(MANAGE)
def update_lesson(lesson_id: int):
    found = _get(Lesson, lesson_id)
    data = load_json(LessonIn(partial=True))
    try:
        changed = authoring.update_lesson(found, _me(), data)
    except AuthoringError as exc:
        _refused(exc)
    return jsonify(_lesson_body(changed))


@bp.route("/lessons/<int:lesson_id>", methods=["DELETE"])
@requires(MANAGE)
def delete_lesson(lesson_id: int):
    authoring.delete_lesson(_get(Lesson, lesson_id), _me())
    return "", 204


@bp.route("/lessons/<int:lesson_id>/files", methods=["POST"])
@requires(MANAGE)
def add_file(lesson_id: int):
    found = _get(Lesson, lesson_id)
    data = load_json(FileIn())
    try:
        content = base64.b64decode(data["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise ApiValidationError({"content_base64": [_("This is not valid base64.")]}) from None
    try:
        row = authoring.add_file(found, _me(), data["filename"], content)
    except AuthoringError as exc:
        _refused(AuthoringError(exc.message, "filename" if exc.field == "file" else exc.field))
    return jsonify(FileOut().dump(row)), 201


@bp.route("/files/<int:file_id>", methods=["DELETE"])
@requires(MANAGE)
def delete_file(file_id: int):
    authoring.delete_file(_get(LessonFile, file_id), _me())
    return "", 204


@bp.route("/courses/<int:course_id>/trainers", methods=["POST"])
@requires(MANAGE)
def add_trainer(course_id: int):
    found = _get(Course, course_id)
    data = load_json(TrainerIn())
    try:
        row = authoring.add_trainer(found, _me(), data["credited_name"], data["lived_experience"],
                                    account_id=_me().id if data["is_me"] else None)
    except AuthoringError as exc:
        _refused(exc)
    return jsonify(TrainerOut().dump(row)), 201


@bp.route("/trainers/<int:trainer_id>", methods=["DELETE"])
@requires(MANAGE)
def remove_trainer(trainer_id: int):
    authoring.remove_trainer(_get(CourseTrainer, trainer_id), _me())
    return "", 204


@bp.route("/courses/<int:course_id>/translations", methods=["POST"])
@requires(MANAGE)
def add_translation(course_id: int):
    found = _get(Course, course_id)
    data = load_json(TranslationIn())
    try:
        copy = authoring.add_translation(found, _me(), data["language"])
    except AuthoringError as exc:
        _refused(exc)
    return jsonify(_course_body(copy)), 201


# -- the OpenAPI description ------------------------------------------------------------------------------


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def describe(spec) -> None:
    """Add these paths and schemas to the OpenAPI document (called from hooks.register_api)."""
    for name, schema in (("TrainingCourseIn", CourseIn), ("TrainingTitleIn", TitleIn),
                         ("TrainingLessonIn", LessonIn), ("TrainingFileIn", FileIn),
                         ("TrainingTrainerIn", TrainerIn), ("TrainingStatusIn", StatusIn),
                         ("TrainingTranslationIn", TranslationIn), ("TrainingFile", FileOut),
                         ("TrainingLessonSummary", LessonSummaryOut), ("TrainingLesson", LessonOut),
                         ("TrainingModule", ModuleOut), ("TrainingTrainer", TrainerOut),
                         ("TrainingLanguage", LanguageOut), ("TrainingCourseSummary", CourseSummaryOut),
                         ("TrainingCourseAuthored", CourseOut)):
        spec.components.schema(name, schema=schema)
    tag = ["training"]
    token = [{"bearerAuth": []}]

    def ident(name: str) -> dict:
        return {"in": "path", "name": name, "required": True, "schema": {"type": "integer", "minimum": 0}}

    reading = error_responses(401, 403, 404)
    writing = error_responses(401, 403, 404, 415, 422)
    deleting = {"204": {"description": "Deleted."}, **reading}

    def op(summary: str, ok: str, schema=None, body=None, params=(), extra=(), status="200") -> dict:
        operation = {"tags": tag, "summary": summary, "security": token, "parameters": list(params),
                     "responses": {status: {"description": ok, **(_json(schema) if schema else {})},
                                   **(writing if body else reading), **error_responses(*extra)}}
        if body is not None:
            operation["requestBody"] = {"required": True, **_json(body)}
        return operation

    course_id, module_id, lesson_id = ident("course_id"), ident("module_id"), ident("lesson_id")
    spec.path(path="/author/courses", operations={
        "get": op("Every course, drafts and archived ones included (trainers).", "Courses.",
                  {"type": "array", "items": CourseSummaryOut}),
        "post": op("Start a course (a draft).", "Created.", CourseOut, CourseIn, status="201"),
    })
    spec.path(path="/author/courses/{course_id}", operations={
        "get": op("A course with its modules, lessons, credits and languages.", "The course.", CourseOut,
                  params=[course_id]),
        "put": op("Change a course's details (any subset); a published course goes up a version.", "Changed.",
                  CourseOut, CourseIn, params=[course_id]),
    })
    spec.path(path="/author/courses/{course_id}/status", operations={"post": op(
        "Publish, unpublish (back to a draft) or archive. Publishing needs at least one lesson.", "Done.",
        CourseOut, StatusIn, params=[course_id], extra=(409,))})
    spec.path(path="/author/courses/{course_id}/modules", operations={"post": op(
        "Add a module at the end.", "Added.", ModuleOut, TitleIn, params=[course_id], status="201")})
    spec.path(path="/author/modules/{module_id}", operations={
        "put": op("Rename a module.", "Renamed.", ModuleOut, TitleIn, params=[module_id]),
        "delete": {**op("Delete a module with its lessons.", "", params=[module_id]), "responses": deleting},
    })
    spec.path(path="/author/modules/{module_id}/lessons", operations={"post": op(
        "Add a lesson at the end of the module.", "Added.", LessonOut, LessonIn, params=[module_id], status="201")})
    spec.path(path="/author/lessons/{lesson_id}", operations={
        "get": op("A lesson: its Markdown, the sanitised HTML learners see, and its files.", "The lesson.",
                  LessonOut, params=[lesson_id]),
        "put": op("Change a lesson (any subset).", "Changed.", LessonOut, LessonIn, params=[lesson_id]),
        "delete": {**op("Delete a lesson.", "", params=[lesson_id]), "responses": deleting},
    })
    spec.path(path="/author/lessons/{lesson_id}/files", operations={"post": op(
        "Add a file to download: PDF, PNG, JPEG, plain text, .docx or .pptx, up to 10 MB, checked by its "
        "contents as well as its name.", "Added.", FileOut, FileIn, params=[lesson_id], status="201")})
    spec.path(path="/author/files/{file_id}", operations={"delete": {
        **op("Remove a file.", "", params=[ident("file_id")]), "responses": deleting}})
    spec.path(path="/author/courses/{course_id}/trainers", operations={"post": op(
        "Credit a trainer by working name (lived-experience co-trainers too).", "Credited.", TrainerOut, TrainerIn,
        params=[course_id], status="201")})
    spec.path(path="/author/trainers/{trainer_id}", operations={"delete": {
        **op("Remove a credit.", "", params=[ident("trainer_id")]), "responses": deleting}})
    spec.path(path="/author/courses/{course_id}/translations", operations={"post": op(
        "Add a version in another language: a draft copy of the structure for translating.", "Created.",
        CourseOut, TranslationIn, params=[course_id], extra=(409,), status="201")})
