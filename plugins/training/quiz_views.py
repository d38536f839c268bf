"""Quiz pages: the trainers' question bank and results, the learners' attempts.

Trainers (training.manage), under /training/author/quizzes/: a course's quizzes, a quiz's settings
and bank (with the answer key), one question's form, the results (totals and misses per question;
one learner's attempts only when a trainer opens that learner, which is audited).
Learners (training.learn, with an active enrolment in the course; 404 otherwise), under
/training/quiz/: the quiz's page, starting or resuming an attempt, the attempt's form, and after
submitting, the result with its feedback. The attempt form is built from quizzes.paper() only, so
the page cannot hold the key: options carry their id and text, nothing else.
Forms are read into the same schemas as the API (plugins.training.quiz_api), so a page and an API
call accept exactly the same input.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.routing import BuildError

from core.permissions import requires
from plugins.training import _
from plugins.training import quizzes as service
from plugins.training.models import QUESTION_KINDS
from plugins.training.quiz_api import LEARN, MANAGE, QuestionIn, QuizIn

bp = Blueprint("training_quiz", __name__, url_prefix="/training")

READABLE = ("active", "completed")  # a completed course's quiz page and results stay readable
BLANK_CHOICES = 2  # empty option rows offered under the filled ones
NEW_CHOICES = 4  # option rows on a new question's form


def _me():
    return current_user._get_current_object()


@bp.app_template_filter("training_quiz_date")
def quiz_date(value) -> str:
    from flask_babel import format_date

    return format_date(value, "medium") if value else ""


@bp.app_template_global("training_course_url")
def course_url(course) -> str | None:
    """The course's page for trainers (the authoring module's), when it is there."""
    for endpoint in ("training_author.course", "training.author_course"):
        try:
            return url_for(endpoint, course_id=course.id)
        except BuildError:
            continue
    return None


@bp.app_template_global("training_learn_url")
def learn_url(course) -> str | None:
    """The course's page for learners (the learning module's), when it is there."""
    for endpoint in ("training_learn.course", "training.course"):
        try:
            return url_for(endpoint, course_id=course.id)
        except BuildError:
            continue
    return None


def _leaves(value) -> list[str]:
    if isinstance(value, dict):
        return [text for inner in value.values() for text in _leaves(inner)]
    if isinstance(value, list | tuple):
        return [text for inner in value for text in _leaves(inner)]
    return [str(value)]


def _messages(error: ValidationError | dict) -> dict[str, list[str]]:
    """Field messages by top-level field (nested ones, such as an option's text, go with their list)."""
    raw = error.messages if isinstance(error, ValidationError) else error
    return {str(key): list(dict.fromkeys(_leaves(value))) for key, value in raw.items()}


# -- trainers: quizzes of a course -------------------------------------------------------------------


def _course(course_id: int):
    course = service.get_course(course_id)
    if course is None:
        abort(404)
    return course


def _quiz(quiz_id: int):
    quiz = service.get_quiz(quiz_id)
    if quiz is None:
        abort(404)
    return quiz


def _int_or_text(value: str):
    value = (value or "").strip()
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return value  # the schema says it is not a number


def _quiz_payload(form) -> dict:
    payload = {"title": form.get("title", ""), "counts_for_completion": form.get("counts_for_completion") == "y"}
    for name in ("pass_mark", "draw", "attempt_limit", "module"):
        value = _int_or_text(form.get(name, ""))
        if value is not None or name in ("attempt_limit", "module"):
            payload[name] = value
    return payload


def _modules(course):
    from plugins.training.models import Module

    return list(Module.select().where(Module.course == course.id).order_by(Module.position, Module.id))


@bp.route("/author/quizzes/courses/<int:course_id>", methods=["GET", "POST"])
@requires(MANAGE)
def course_quizzes(course_id: int):
    course = _course(course_id)
    defaults = QuizIn().fields  # a new quiz's form starts from the API's defaults
    values = {name: defaults[name].load_default for name in ("pass_mark", "draw", "counts_for_completion")}
    errors, status = {}, 200
    if request.method == "POST":
        payload = _quiz_payload(request.form)
        values = {**request.form.to_dict(), "counts_for_completion": payload["counts_for_completion"]}
        try:
            quiz = service.create_quiz(course, _me(), QuizIn().load(payload))
        except ValidationError as exc:
            errors, status = _messages(exc), 422
        except service.QuizError as exc:
            errors, status = exc.fields, 422
        else:
            flash(_("The quiz is added. Now add questions to its bank."), "info")
            return redirect(url_for("training_quiz.quiz", quiz_id=quiz.id), code=303)
    quizzes = service.quizzes_of(course)
    return render_template("training/quiz/course_quizzes.html", course=course, quizzes=quizzes,
                           counts=service.question_counts(quizzes), modules=_modules(course), values=values,
                           errors=errors), status


@bp.route("/author/quizzes/<int:quiz_id>", methods=["GET", "POST"])
@requires(MANAGE)
def quiz(quiz_id: int):
    found = _quiz(quiz_id)
    values = {"title": found.title, "pass_mark": found.pass_mark, "draw": found.draw,
              "attempt_limit": found.attempt_limit, "module": str(found.module_id or ""),
              "counts_for_completion": found.counts_for_completion}
    errors, status = {}, 200
    if request.method == "POST":
        payload = _quiz_payload(request.form)
        values = {**request.form.to_dict(), "counts_for_completion": payload["counts_for_completion"]}
        try:
            service.update_quiz(found, _me(), QuizIn().load(payload))
        except ValidationError as exc:
            errors, status = _messages(exc), 422
        except service.QuizError as exc:
            errors, status = exc.fields, 422
        else:
            flash(_("The quiz is saved."), "info")
            return redirect(url_for("training_quiz.quiz", quiz_id=found.id), code=303)
    return render_template("training/quiz/quiz.html", quiz=found, course=found.course, bank=service.bank(found),
                           kinds=service.kind_labels(), modules=_modules(found.course), values=values,
                           errors=errors), status


@bp.route("/author/quizzes/<int:quiz_id>/delete", methods=["POST"])
@requires(MANAGE)
def delete_quiz(quiz_id: int):
    found = _quiz(quiz_id)
    course_id = found.course_id
    service.delete_quiz(found, _me())
    flash(_("The quiz is deleted."), "info")
    return redirect(url_for("training_quiz.course_quizzes", course_id=course_id), code=303)


# -- trainers: questions ------------------------------------------------------------------------------


def _question_payload(form, kind: str) -> dict:
    payload = {"kind": kind, "text": form.get("text", ""), "feedback": form.get("feedback", "")}
    if kind == "true_false":
        answer = form.get("answer", "")
        payload["answer"] = {"true": True, "false": False}.get(answer)
        payload["true_feedback"] = form.get("true_feedback", "")
        payload["false_feedback"] = form.get("false_feedback", "")
        return payload
    choices = []
    index = 0
    while f"choice-{index}-text" in form and index < service.MAX_CHOICES + BLANK_CHOICES:
        text = form.get(f"choice-{index}-text", "")
        feedback = form.get(f"choice-{index}-feedback", "")
        if text.strip() or feedback.strip():
            choices.append({"text": text, "feedback": feedback,
                            "correct": kind != "short" and form.get(f"choice-{index}-correct") == "y"})
        index += 1
    payload["choices"] = choices
    return payload


def _question_values(question, choices) -> dict:
    values = {"text": question.text, "feedback": question.feedback}
    if question.kind == "true_false":
        for choice in choices:
            key = "true" if choice.position == 0 else "false"
            values[f"{key}_feedback"] = choice.feedback
            if choice.correct:
                values["answer"] = key
        return values
    for index, choice in enumerate(choices):
        values[f"choice-{index}-text"] = choice.text
        values[f"choice-{index}-feedback"] = choice.feedback
        values[f"choice-{index}-correct"] = choice.correct
    return values


def _rows(values: dict) -> int:
    filled = sum(1 for key in values if key.startswith("choice-") and key.endswith("-text"))
    return min(max(filled + BLANK_CHOICES, NEW_CHOICES), service.MAX_CHOICES)


def _question_page(quiz, kind, question, values, errors, status):
    return render_template("training/quiz/question.html", quiz=quiz, course=quiz.course, kind=kind,
                           kind_label=service.kind_labels()[kind], question=question, values=values,
                           errors=errors, rows=_rows(values)), status


def _save_question(quiz, kind, question):
    payload = _question_payload(request.form, kind)
    values = {key: request.form.get(key) for key in request.form if key != "csrf_token"}
    for key in list(values):
        if key.endswith("-correct"):
            values[key] = values[key] == "y"
    try:
        data = QuestionIn().load(payload)
        if question is None:
            service.add_question(quiz, _me(), data)
        else:
            service.update_question(question, _me(), data)
    except ValidationError as exc:
        return _question_page(quiz, kind, question, values, _messages(exc), 422)
    except service.QuizError as exc:
        return _question_page(quiz, kind, question, values, exc.fields, 422)
    flash(_("The question is saved."), "info")
    return redirect(url_for("training_quiz.quiz", quiz_id=quiz.id) + "#bank", code=303)


@bp.route("/author/quizzes/<int:quiz_id>/questions/new", methods=["GET", "POST"])
@requires(MANAGE)
def new_question(quiz_id: int):
    found = _quiz(quiz_id)
    kind = request.values.get("kind", "single")
    if kind not in QUESTION_KINDS:
        abort(404)
    if request.method == "POST":
        return _save_question(found, kind, None)
    return _question_page(found, kind, None, {}, {}, 200)


def _question(quiz, question_id: int):
    question = service.get_question(quiz, question_id)
    if question is None:
        abort(404)
    return question


@bp.route("/author/quizzes/<int:quiz_id>/questions/<int:question_id>", methods=["GET", "POST"])
@requires(MANAGE)
def question(quiz_id: int, question_id: int):
    found = _quiz(quiz_id)
    item = _question(found, question_id)
    if request.method == "POST":
        return _save_question(found, item.kind, item)
    choices = next(c for q, c in service.bank(found) if q.id == item.id)
    return _question_page(found, item.kind, item, _question_values(item, choices), {}, 200)


@bp.route("/author/quizzes/<int:quiz_id>/questions/<int:question_id>/delete", methods=["POST"])
@requires(MANAGE)
def delete_question(quiz_id: int, question_id: int):
    found = _quiz(quiz_id)
    service.delete_question(_question(found, question_id), _me())
    flash(_("The question is deleted."), "info")
    return redirect(url_for("training_quiz.quiz", quiz_id=found.id) + "#bank", code=303)


# -- trainers: results ---------------------------------------------------------------------------------


@bp.route("/author/quizzes/<int:quiz_id>/results")
@requires(MANAGE)
def results(quiz_id: int):
    found = _quiz(quiz_id)
    return render_template("training/quiz/results.html", quiz=found, course=found.course,
                           results=service.quiz_results(found), learners=service.learners_with_attempts(found))


@bp.route("/author/quizzes/<int:quiz_id>/results/<int:user_id>")
@requires(MANAGE)
def learner_results(quiz_id: int, user_id: int):
    from core.accounts.models import User

    found = _quiz(quiz_id)
    attempts = service.learner_attempts(found, user_id, _me())
    if attempts is None:
        abort(404)
    details = [(a, service.result(a) if a.submitted_at else None) for a in attempts]
    return render_template("training/quiz/learner_results.html", quiz=found, course=found.course,
                           learner=User.get_by_id(user_id), details=details)


# -- learners ----------------------------------------------------------------------------------------------


def _learner_quiz(quiz_id: int, statuses=("active",)):
    found = service.quiz_for_learner(quiz_id, _me(), statuses)
    if found is None:
        abort(404)
    return found


def _own_attempt(attempt_id: int):
    found = service.attempt_of(attempt_id, _me())
    if found is None:
        abort(404)
    return found


@bp.route("/quiz/<int:quiz_id>")
@requires(LEARN)
def take(quiz_id: int):
    found = _learner_quiz(quiz_id, READABLE)
    me = _me()
    attempts = service.attempts_of(found, me)
    return render_template("training/quiz/take.html", quiz=found, course=found.course, attempts=attempts,
                           open_attempt=next((a for a in attempts if a.submitted_at is None), None),
                           left=service.attempts_left(found, me), passed=any(a.passed for a in attempts),
                           questions=service.question_counts([found]).get(found.id, 0),
                           may_attempt=service.active_enrolment(found.course_id, me) is not None)


@bp.route("/quiz/<int:quiz_id>/start", methods=["POST"])
@requires(LEARN)
def start(quiz_id: int):
    found = _learner_quiz(quiz_id)
    try:
        attempt, _made = service.start_attempt(found, _me())
    except service.Conflict as exc:
        flash(str(exc), "error")
        return redirect(url_for("training_quiz.take", quiz_id=found.id), code=303)
    except service.QuizError:
        abort(404)
    return redirect(url_for("training_quiz.attempt", attempt_id=attempt.id), code=303)


def _form_answers(sheet: list[dict], form) -> dict:
    answers: dict = {}
    for item in sheet:
        name = f"q-{item['id']}"
        if item["kind"] == "short":
            answers[str(item["id"])] = form.get(name, "")
            continue
        picked = []
        for value in form.getlist(name):
            try:
                picked.append(int(value))
            except ValueError:
                picked.append(value)
        answers[str(item["id"])] = picked
    return answers


def _attempt_page(found, sheet, given=None, errors=None, status=200):
    return render_template("training/quiz/attempt.html", attempt=found, quiz=found.quiz, course=found.quiz.course,
                           sheet=sheet, given=given or {}, errors=errors or {}), status


@bp.route("/quiz/attempt/<int:attempt_id>", methods=["GET", "POST"])
@requires(LEARN)
def attempt(attempt_id: int):
    found = _own_attempt(attempt_id)
    if request.method == "GET":
        if found.submitted_at is not None:
            return render_template("training/quiz/result.html", attempt=found, quiz=found.quiz,
                                   course=found.quiz.course, rows=service.result(found),
                                   left=service.attempts_left(found.quiz, _me()))
        if service.active_enrolment(found.quiz.course_id, _me()) is None:
            abort(404)
        return _attempt_page(found, service.paper(found))
    if found.submitted_at is not None:
        return render_template("training/quiz/already_submitted.html", attempt=found, quiz=found.quiz,
                               course=found.quiz.course), 409
    if service.active_enrolment(found.quiz.course_id, _me()) is None:
        abort(404)
    sheet = service.paper(found)
    answers = _form_answers(sheet, request.form)
    try:
        service.submit(found, _me(), answers)
    except service.Conflict:
        return render_template("training/quiz/already_submitted.html", attempt=found, quiz=found.quiz,
                               course=found.quiz.course), 409
    except service.QuizError as exc:
        return _attempt_page(found, sheet, answers, exc.fields, 422)
    return redirect(url_for("training_quiz.attempt", attempt_id=found.id), code=303)
