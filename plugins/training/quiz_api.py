"""Quizzes in the JSON API, under /api/v1 (bearer tokens; trainers' tokens need two-factor sign-in).

Trainers (training.manage), the question bank with its answer key:
  GET/POST /author/courses/{id}/quizzes, GET/PATCH/DELETE /author/quizzes/{id},
  POST /author/quizzes/{id}/questions, PUT/DELETE /author/quizzes/{id}/questions/{question_id},
  GET /author/quizzes/{id}/results (totals and misses per question, nothing per person).
Learners (training.learn, with an active enrolment in the quiz's course; 404 otherwise):
  GET /quizzes/{id}, POST /quizzes/{id}/attempts (start, or resume the open attempt),
  GET /attempts/{id} (questions and options without the key; once submitted, the result with its
  feedback), POST /attempts/{id}/answers (submit once: 409 after that).
The schemas here are also what the quiz pages load their forms with (plugins.training.quiz_views).
"""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, jsonify
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.api import ApiSchema, ApiValidationError, UtcDateTime, error_responses, load_json
from core.fields import StrictBoolean
from core.fields import Text as CheckedText
from core.permissions import requires
from plugins.training import _
from plugins.training import quizzes as service
from plugins.training.models import QUESTION_KINDS, Attempt, Quiz

MANAGE = "training.manage"
LEARN = "training.learn"
MAX_TITLE = 200
MAX_TEXT = 5000
MAX_CHOICE = 500

bp = Blueprint("training_quiz_api", __name__, url_prefix="/api/v1")


# -- schemas -----------------------------------------------------------------------------------------


# Text under core.text's rule with a length cap; empty text stays "" (a quiz keeps "" for no
# feedback) and is refused only when required.
Text = partial(CheckedText, max_length=MAX_TITLE, empty_as_none=False)


class QuizIn(ApiSchema):
    title = Text(required=True)
    pass_mark = fields.Integer(load_default=80, validate=validate.Range(min=0, max=100),
                               metadata={"description": "Percent of the drawn questions to get right."})
    draw = fields.Integer(load_default=10, validate=validate.Range(min=1, max=200),
                          metadata={"description": "Questions drawn at random from the bank for each attempt "
                                                   "(all of them when the bank is smaller)."})
    attempt_limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100),
                                   metadata={"description": "Submitted attempts allowed; null: no limit."})
    counts_for_completion = StrictBoolean(load_default=True)
    module = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**63 - 1),
                            metadata={"description": "A module of the course the quiz belongs to, or null."})


class QuizPatch(QuizIn):
    """Any of the quiz's fields; those left out stay as they are."""

    title = Text()
    pass_mark = fields.Integer(validate=validate.Range(min=0, max=100))
    draw = fields.Integer(validate=validate.Range(min=1, max=200))
    attempt_limit = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=100))
    counts_for_completion = StrictBoolean()
    module = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**63 - 1))


class ChoiceIn(ApiSchema):
    text = Text(required=True, max_length=MAX_CHOICE)
    correct = StrictBoolean(load_default=False, metadata={"description": "Ignored for short answers: every "
                                                                         "entry is an accepted answer."})
    feedback = Text(load_default="", max_length=MAX_TEXT, multiline=True,
                    metadata={"description": "Shown after submission to whoever chose this option."})


class QuestionIn(ApiSchema):
    kind = fields.String(required=True, validate=validate.OneOf(QUESTION_KINDS),
                         metadata={"enum": list(QUESTION_KINDS)})
    text = Text(required=True, max_length=MAX_TEXT, multiline=True)
    feedback = Text(load_default="", max_length=MAX_TEXT, multiline=True,
                    metadata={"description": "Shown after submission, whatever the answer."})
    choices = fields.List(fields.Nested(ChoiceIn), load_default=list,
                          validate=validate.Length(max=service.MAX_CHOICES),
                          metadata={"description": "single and multiple: the options; short: the accepted answers "
                                                   "(matched ignoring case, spaces and Unicode forms); "
                                                   "true_false: leave out."})
    answer = StrictBoolean(load_default=None, allow_none=True,
                           metadata={"description": "true_false only: whether the statement is true."})
    true_feedback = Text(load_default="", max_length=MAX_TEXT, multiline=True,
                         metadata={"description": "true_false only: feedback for answering true."})
    false_feedback = Text(load_default="", max_length=MAX_TEXT, multiline=True,
                          metadata={"description": "true_false only: feedback for answering false."})

    @validates_schema
    def key_makes_sense(self, data, **kwargs):
        try:
            service.check_question(data)
        except service.QuizError as exc:
            raise ValidationError(exc.fields) from None


class ChoiceOut(Schema):
    id = fields.Integer()
    text = fields.String()
    correct = fields.Boolean()
    feedback = fields.String()


class QuestionOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(QUESTION_KINDS)})
    text = fields.String()
    feedback = fields.String()
    choices = fields.List(fields.Nested(ChoiceOut))


class QuizOut(Schema):
    id = fields.Integer()
    course = fields.Integer()
    module = fields.Integer(allow_none=True)
    title = fields.String()
    pass_mark = fields.Integer()
    draw = fields.Integer()
    attempt_limit = fields.Integer(allow_none=True)
    counts_for_completion = fields.Boolean()
    questions = fields.Integer(metadata={"description": "Questions in the bank."})


class QuizBankOut(QuizOut):
    bank = fields.List(fields.Nested(QuestionOut), metadata={"description": "The bank with its answer key."})


class BandOut(Schema):
    start = fields.Integer(data_key="from")
    to = fields.Integer()
    attempts = fields.Integer()


class QuestionMissesOut(Schema):
    id = fields.Integer()
    text = fields.String()
    kind = fields.String()
    drawn = fields.Integer(metadata={"description": "Submitted attempts that had this question."})
    missed = fields.Integer(metadata={"description": "Of those, how many did not get it right."})
    missed_percent = fields.Integer(allow_none=True)


class ResultsOut(Schema):
    attempts = fields.Integer()
    learners = fields.Integer()
    learners_passed = fields.Integer()
    average_score = fields.Integer(allow_none=True)
    bands = fields.List(fields.Nested(BandOut))
    questions = fields.List(fields.Nested(QuestionMissesOut))


class LearnerQuizOut(Schema):
    id = fields.Integer()
    course = fields.Integer()
    title = fields.String()
    pass_mark = fields.Integer()
    draw = fields.Integer()
    attempt_limit = fields.Integer(allow_none=True)
    attempts_used = fields.Integer(metadata={"description": "Submitted attempts."})
    attempts_left = fields.Integer(allow_none=True, metadata={"description": "null: no limit."})
    open_attempt = fields.Integer(allow_none=True, metadata={"description": "An attempt started and not submitted."})
    passed = fields.Boolean()
    may_attempt = fields.Boolean(metadata={"description": "False once the course is completed (or left)."})


class PaperChoiceOut(Schema):
    id = fields.Integer()
    text = fields.String()


class PaperQuestionOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(QUESTION_KINDS)})
    text = fields.String()
    choices = fields.List(fields.Nested(PaperChoiceOut), metadata={"description": "Empty for short answers."})


class ResultQuestionOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    text = fields.String()
    answer = fields.List(fields.String(), metadata={"description": "What was chosen or typed."})
    correct = fields.Boolean()
    choice_feedback = fields.List(fields.String(), metadata={"description": "Feedback on the answer given."})
    feedback = fields.String(metadata={"description": "The question's feedback."})


class AttemptOut(Schema):
    id = fields.Integer()
    quiz = fields.Integer()
    submitted = fields.Boolean()
    submitted_at = UtcDateTime(allow_none=True)
    score = fields.Integer(allow_none=True, metadata={"description": "Percent, once submitted."})
    passed = fields.Boolean(allow_none=True)
    questions = fields.List(fields.Nested(PaperQuestionOut),
                            metadata={"description": "Before submission: the questions and options, in the order "
                                                     "to show them, without the answer key."})
    result = fields.List(fields.Nested(ResultQuestionOut), allow_none=True,
                         metadata={"description": "After submission: each question's answer, mark and feedback."})


class AnswersIn(ApiSchema):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(max=20)), values=fields.Raw(allow_none=True),
                          required=True, validate=validate.Length(max=500),
                          metadata={"description": "By question id: a choice id or a list of choice ids (multiple), "
                                                   "or a text (short, up to 500 characters). Questions left out "
                                                   "count as not answered."})


# -- helpers ----------------------------------------------------------------------------------------------


def _me():
    return current_user._get_current_object()


def _error(status: int, message: str):
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    abort(response)


def quiz_body(quiz: Quiz, count: int) -> dict:
    return {"id": quiz.id, "course": quiz.course_id, "module": quiz.module_id, "title": quiz.title,
            "pass_mark": quiz.pass_mark, "draw": quiz.draw, "attempt_limit": quiz.attempt_limit,
            "counts_for_completion": quiz.counts_for_completion, "questions": count}


def bank_body(quiz: Quiz) -> dict:
    rows = service.bank(quiz)
    return {**quiz_body(quiz, len(rows)), "bank": [
        {"id": q.id, "kind": q.kind, "text": q.text, "feedback": q.feedback,
         "choices": [{"id": c.id, "text": c.text, "correct": c.correct, "feedback": c.feedback} for c in choices]}
        for q, choices in rows]}


def learner_quiz_body(quiz: Quiz, user) -> dict:
    attempts = service.attempts_of(quiz, user)
    opened = next((a.id for a in attempts if a.submitted_at is None), None)
    return {"id": quiz.id, "course": quiz.course_id, "title": quiz.title, "pass_mark": quiz.pass_mark,
            "draw": quiz.draw, "attempt_limit": quiz.attempt_limit,
            "attempts_used": sum(1 for a in attempts if a.submitted_at is not None),
            "attempts_left": service.attempts_left(quiz, user), "open_attempt": opened,
            "passed": any(a.passed for a in attempts),
            "may_attempt": service.active_enrolment(quiz.course_id, user) is not None}


def attempt_body(attempt: Attempt) -> dict:
    """Before submission only the paper (no key, no feedback); after, the result."""
    submitted = attempt.submitted_at is not None
    return {"id": attempt.id, "quiz": attempt.quiz_id, "submitted": submitted, "submitted_at": attempt.submitted_at,
            "score": attempt.score, "passed": attempt.passed,
            "questions": [] if submitted else service.paper(attempt),
            "result": service.result(attempt) if submitted else None}


def _course(course_id: int):
    course = service.get_course(course_id)
    if course is None:
        abort(404)
    return course


def _quiz(quiz_id: int) -> Quiz:
    quiz = service.get_quiz(quiz_id)
    if quiz is None:
        abort(404)
    return quiz


# -- trainers ----------------------------------------------------------------------------------------------


@bp.route("/author/courses/<int:course_id>/quizzes", methods=["GET"])
@requires(MANAGE)
def list_quizzes(course_id: int):
    quizzes = service.quizzes_of(_course(course_id))
    counts = service.question_counts(quizzes)
    return jsonify({"quizzes": QuizOut(many=True).dump([quiz_body(q, counts.get(q.id, 0)) for q in quizzes])})


@bp.route("/author/courses/<int:course_id>/quizzes", methods=["POST"])
@requires(MANAGE)
def create_quiz(course_id: int):
    course = _course(course_id)
    data = load_json(QuizIn())
    try:
        quiz = service.create_quiz(course, _me(), data)
    except service.QuizError as exc:
        raise ApiValidationError(exc.fields) from None
    return jsonify(QuizBankOut().dump(bank_body(quiz))), 201


@bp.route("/author/quizzes/<int:quiz_id>", methods=["GET"])
@requires(MANAGE)
def quiz_bank(quiz_id: int):
    return jsonify(QuizBankOut().dump(bank_body(_quiz(quiz_id))))


@bp.route("/author/quizzes/<int:quiz_id>", methods=["PATCH"])
@requires(MANAGE)
def change_quiz(quiz_id: int):
    quiz = _quiz(quiz_id)
    data = load_json(QuizPatch())
    try:
        quiz = service.update_quiz(quiz, _me(), data)
    except service.QuizError as exc:
        raise ApiValidationError(exc.fields) from None
    return jsonify(QuizBankOut().dump(bank_body(quiz)))


@bp.route("/author/quizzes/<int:quiz_id>", methods=["DELETE"])
@requires(MANAGE)
def delete_quiz(quiz_id: int):
    service.delete_quiz(_quiz(quiz_id), _me())
    return "", 204


@bp.route("/author/quizzes/<int:quiz_id>/questions", methods=["POST"])
@requires(MANAGE)
def add_question(quiz_id: int):
    quiz = _quiz(quiz_id)
    data = load_json(QuestionIn())
    service.add_question(quiz, _me(), data)
    return jsonify(QuizBankOut().dump(bank_body(quiz))), 201


def _question(quiz: Quiz, question_id: int):
    question = service.get_question(quiz, question_id)
    if question is None:
        abort(404)
    return question


@bp.route("/author/quizzes/<int:quiz_id>/questions/<int:question_id>", methods=["PUT"])
@requires(MANAGE)
def replace_question(quiz_id: int, question_id: int):
    quiz = _quiz(quiz_id)
    question = _question(quiz, question_id)
    data = load_json(QuestionIn())
    service.update_question(question, _me(), data)
    return jsonify(QuizBankOut().dump(bank_body(quiz)))


@bp.route("/author/quizzes/<int:quiz_id>/questions/<int:question_id>", methods=["DELETE"])
@requires(MANAGE)
def delete_question(quiz_id: int, question_id: int):
    quiz = _quiz(quiz_id)
    service.delete_question(_question(quiz, question_id), _me())
    return "", 204


@bp.route("/author/quizzes/<int:quiz_id>/results", methods=["GET"])
@requires(MANAGE)
def results(quiz_id: int):
    return jsonify(ResultsOut().dump(service.quiz_results(_quiz(quiz_id))))


# -- learners -----------------------------------------------------------------------------------------------


def _learner_quiz(quiz_id: int, statuses=("active",)) -> Quiz:
    quiz = service.quiz_for_learner(quiz_id, _me(), statuses)
    if quiz is None:
        abort(404)
    return quiz


@bp.route("/quizzes/<int:quiz_id>", methods=["GET"])
@requires(LEARN)
def learner_quiz(quiz_id: int):
    quiz = _learner_quiz(quiz_id, ("active", "completed"))
    return jsonify(LearnerQuizOut().dump(learner_quiz_body(quiz, _me())))


@bp.route("/quizzes/<int:quiz_id>/attempts", methods=["POST"])
@requires(LEARN)
def start(quiz_id: int):
    quiz = _learner_quiz(quiz_id)
    try:
        attempt, made = service.start_attempt(quiz, _me())
    except service.Conflict as exc:
        _error(409, str(exc))
    except service.QuizError:
        abort(404)
    return jsonify(AttemptOut().dump(attempt_body(attempt))), 201 if made else 200


def _own_attempt(attempt_id: int) -> Attempt:
    attempt = service.attempt_of(attempt_id, _me())
    if attempt is None:
        abort(404)
    return attempt


@bp.route("/attempts/<int:attempt_id>", methods=["GET"])
@requires(LEARN)
def attempt(attempt_id: int):
    return jsonify(AttemptOut().dump(attempt_body(_own_attempt(attempt_id))))


@bp.route("/attempts/<int:attempt_id>/answers", methods=["POST"])
@requires(LEARN)
def submit(attempt_id: int):
    found = _own_attempt(attempt_id)
    if found.submitted_at is not None:
        _error(409, _("This attempt was already submitted."))
    if service.active_enrolment(found.quiz.course_id, _me()) is None:
        abort(404)
    data = load_json(AnswersIn())
    try:
        marked = service.submit(found, _me(), data["answers"])
    except service.Conflict as exc:
        _error(409, str(exc))
    except service.QuizError as exc:
        raise ApiValidationError({"answers": exc.fields}) from None
    return jsonify(AttemptOut().dump(attempt_body(marked)))


# -- the OpenAPI description ----------------------------------------------------------------------------------


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def describe(spec) -> None:
    """Add the quizzes' schemas and paths to the instance's OpenAPI document."""
    for name, schema in (
        ("TrainingQuizIn", QuizIn), ("TrainingQuizPatch", QuizPatch), ("TrainingQuestionIn", QuestionIn),
        ("TrainingQuiz", QuizOut), ("TrainingQuizBank", QuizBankOut), ("TrainingQuizResults", ResultsOut),
        ("TrainingLearnerQuiz", LearnerQuizOut), ("TrainingAttempt", AttemptOut), ("TrainingAnswersIn", AnswersIn),
    ):
        spec.components.schema(name, schema=schema)
    tag = ["training"]
    token = [{"bearerAuth": []}]

    def ident(name: str) -> dict:
        return {"in": "path", "name": name, "required": True, "schema": {"type": "integer", "minimum": 0}}

    trainers = "Trainers (training.manage)."
    learners = ("Learners with an active enrolment in the quiz's course; anyone else gets 404, exactly as for a "
                "quiz that does not exist.")
    spec.path(path="/author/courses/{course_id}/quizzes", operations={
        "get": {"tags": tag, "summary": "A course's quizzes.", "description": trainers, "security": token,
                "parameters": [ident("course_id")],
                "responses": {"200": {"description": "The quizzes.", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"quizzes": {"type": "array", "items": QuizOut}}}}}},
                    **error_responses(401, 403, 404)}},
        "post": {"tags": tag, "summary": "Add a quiz to a course.", "description": trainers, "security": token,
                 "parameters": [ident("course_id")], "requestBody": {"required": True, **_json(QuizIn)},
                 "responses": {"201": {"description": "Added.", **_json(QuizBankOut)},
                               **error_responses(401, 403, 404, 415, 422)}},
    })
    spec.path(path="/author/quizzes/{quiz_id}", operations={
        "get": {"tags": tag, "summary": "A quiz with its question bank and answer key.", "description": trainers,
                "security": token, "parameters": [ident("quiz_id")],
                "responses": {"200": {"description": "The quiz.", **_json(QuizBankOut)},
                              **error_responses(401, 403, 404)}},
        "patch": {"tags": tag, "summary": "Change a quiz's settings.", "description": trainers, "security": token,
                  "parameters": [ident("quiz_id")], "requestBody": {"required": True, **_json(QuizPatch)},
                  "responses": {"200": {"description": "Changed.", **_json(QuizBankOut)},
                                **error_responses(401, 403, 404, 415, 422)}},
        "delete": {"tags": tag, "summary": "Delete a quiz with its questions and attempts.", "description": trainers,
                   "security": token, "parameters": [ident("quiz_id")],
                   "responses": {"204": {"description": "Deleted."}, **error_responses(401, 403, 404)}},
    })
    spec.path(path="/author/quizzes/{quiz_id}/questions", operations={"post": {
        "tags": tag, "summary": "Add a question to the bank.", "description": trainers, "security": token,
        "parameters": [ident("quiz_id")], "requestBody": {"required": True, **_json(QuestionIn)},
        "responses": {"201": {"description": "Added; the quiz with its bank.", **_json(QuizBankOut)},
                      **error_responses(401, 403, 404, 415, 422)},
    }})
    spec.path(path="/author/quizzes/{quiz_id}/questions/{question_id}", operations={
        "put": {"tags": tag, "summary": "Replace a question (its options too). Submitted attempts keep their marks.",
                "description": trainers, "security": token, "parameters": [ident("quiz_id"), ident("question_id")],
                "requestBody": {"required": True, **_json(QuestionIn)},
                "responses": {"200": {"description": "Replaced; the quiz with its bank.", **_json(QuizBankOut)},
                              **error_responses(401, 403, 404, 415, 422)}},
        "delete": {"tags": tag, "summary": "Delete a question.", "description": trainers, "security": token,
                   "parameters": [ident("quiz_id"), ident("question_id")],
                   "responses": {"204": {"description": "Deleted."}, **error_responses(401, 403, 404)}},
    })
    spec.path(path="/author/quizzes/{quiz_id}/results", operations={"get": {
        "tags": tag, "summary": "Results: attempts, passes, score bands and how often each question was missed.",
        "description": trainers + " Nothing per person.", "security": token, "parameters": [ident("quiz_id")],
        "responses": {"200": {"description": "Totals.", **_json(ResultsOut)}, **error_responses(401, 403, 404)},
    }})
    spec.path(path="/quizzes/{quiz_id}", operations={"get": {
        "tags": tag, "summary": "A quiz as its learner sees it: pass mark, attempts used and left.",
        "description": learners + " Once the course is completed the quiz stays readable; attempting needs an "
                                  "active enrolment.", "security": token, "parameters": [ident("quiz_id")],
        "responses": {"200": {"description": "The quiz.", **_json(LearnerQuizOut)}, **error_responses(401, 403, 404)},
    }})
    spec.path(path="/quizzes/{quiz_id}/attempts", operations={"post": {
        "tags": tag, "summary": "Start an attempt (201), or get the one already open (200). The questions come "
                                "without the answer key.",
        "description": learners + " 409 when every attempt allowed is used or the quiz has no questions yet.",
        "security": token, "parameters": [ident("quiz_id")],
        "responses": {"200": {"description": "The open attempt.", **_json(AttemptOut)},
                      "201": {"description": "A new attempt.", **_json(AttemptOut)},
                      **error_responses(401, 403, 404, 409)},
    }})
    spec.path(path="/attempts/{attempt_id}", operations={"get": {
        "tags": tag, "summary": "One of the caller's attempts: before submission its questions without the key; "
                                "after, its result with feedback.",
        "description": "Another person's attempt answers 404.", "security": token, "parameters": [ident("attempt_id")],
        "responses": {"200": {"description": "The attempt.", **_json(AttemptOut)}, **error_responses(401, 403, 404)},
    }})
    spec.path(path="/attempts/{attempt_id}/answers", operations={"post": {
        "tags": tag, "summary": "Submit the answers: marked on the server, once.",
        "description": "409 when the attempt was already submitted (also by a request that got there first). "
                       "An attempt that is not the caller's, or whose course they no longer follow, answers 404.",
        "security": token, "parameters": [ident("attempt_id")], "requestBody": {"required": True, **_json(AnswersIn)},
        "responses": {"200": {"description": "Marked; the result.", **_json(AttemptOut)},
                      **error_responses(401, 403, 404, 409, 415, 422)},
    }})
