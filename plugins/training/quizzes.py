"""Quizzes: a question bank per course, a random draw per attempt, marking on the server.

The answer key (Choice.correct, Choice.feedback, Question.feedback) is read in three places only:
the trainers' bank (`bank`), marking (`submit`) and the result of a submitted attempt (`result`).
What a learner's browser or API client gets before submitting comes from `paper`, which carries
each question's text and kind and each option's id and text, nothing else.

- A draw: `Quiz.draw` questions picked at random from the bank for each attempt (all of them when
  the bank is smaller), kept in `Attempt.drawn` in the order shown. Options are shuffled with a
  random seed kept on the attempt (`Attempt.seed`), so the page is the same on every reload.
- Marking: a question is right or wrong (a multiple-choice question is right when exactly the
  correct options are chosen); the score is the percentage right, rounded down, and the attempt
  passes when it reaches the quiz's pass mark. A short answer is right when it matches one of
  the accepted answers ignoring case, spaces and Unicode forms (NFKC case folding).
- The attempt limit counts submitted attempts; an unsubmitted attempt is resumed, never doubled.
  Starting and submitting lock rows (core.db.lock_row), so two submissions at once mark once and
  the second is refused (Conflict, 409) like any resubmission.
- Only people with an active enrolment in the quiz's course may attempt it.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import unicodedata

from peewee import fn

from core import audit
from core.db import db, lock_row, utcnow
from plugins.training import _, _l
from plugins.training.models import QUESTION_KINDS, Attempt, Choice, Course, Enrolment, Question, Quiz

log = logging.getLogger("redumbrella.training")

MAX_CHOICES = 12
MAX_SHORT_ANSWER = 500

KIND_LABELS = {
    "single": _l("One answer (single choice)"),
    "multiple": _l("Several answers (multiple choice)"),
    "true_false": _l("True or false"),
    "short": _l("Short answer"),
}


class QuizError(ValueError):
    """Input or a step that cannot be taken: `.fields` holds messages per field (422)."""

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.fields = fields or {"_schema": [message]}


class Conflict(QuizError):
    """The step conflicts with the attempt's state (already submitted, no attempts left): 409."""


def kind_labels() -> dict[str, str]:
    return {code: str(KIND_LABELS[code]) for code in QUESTION_KINDS}


# -- the bank (trainers) -------------------------------------------------------------------------


def get_quiz(quiz_id: int) -> Quiz | None:
    return Quiz.get_or_none(Quiz.id == quiz_id)


def get_course(course_id: int) -> Course | None:
    return Course.get_or_none(Course.id == course_id)


def quizzes_of(course: Course) -> list[Quiz]:
    return list(Quiz.select().where(Quiz.course == course.id).order_by(Quiz.id))


def question_counts(quizzes: list[Quiz]) -> dict[int, int]:
    if not quizzes:
        return {}
    rows = (Question.select(Question.quiz, fn.COUNT(Question.id).alias("n"))
            .where(Question.quiz.in_([q.id for q in quizzes])).group_by(Question.quiz).tuples())
    return {quiz_id: count for quiz_id, count in rows}


QUIZ_FIELDS = ("title", "pass_mark", "draw", "attempt_limit", "counts_for_completion", "module")


def _quiz_values(course: Course, data: dict) -> dict:
    values = {name: data[name] for name in QUIZ_FIELDS if name in data}
    if "module" in values:
        from plugins.training.models import Module

        module_id = values.pop("module")
        if module_id is not None and not Module.select().where(
                (Module.id == module_id) & (Module.course == course.id)).exists():
            raise QuizError(_("Choose a module of this course."), {"module": [_("Choose a module of this course.")]})
        values["module"] = module_id
    return values


def create_quiz(course: Course, actor, data: dict) -> Quiz:
    with db.atomic():
        quiz = Quiz.create(course=course.id, **_quiz_values(course, data))
        audit.record("training.quiz_created", f"training_quiz:{quiz.id}", actor.id)
    return quiz


def update_quiz(quiz: Quiz, actor, data: dict) -> Quiz:
    with db.atomic():
        values = _quiz_values(quiz.course, data)
        if values:
            Quiz.update(**values).where(Quiz.id == quiz.id).execute()
        audit.record("training.quiz_changed", f"training_quiz:{quiz.id}", actor.id)
    return Quiz.get_by_id(quiz.id)


def delete_quiz(quiz: Quiz, actor) -> None:
    with db.atomic():
        audit.record("training.quiz_deleted", f"training_quiz:{quiz.id}", actor.id)
        quiz.delete_instance(recursive=True)


def bank(quiz: Quiz) -> list[tuple[Question, list[Choice]]]:
    """The whole bank with its answer key, for trainers only."""
    questions = list(Question.select().where(Question.quiz == quiz.id).order_by(Question.position, Question.id))
    choices: dict[int, list[Choice]] = {q.id: [] for q in questions}
    if questions:
        for choice in (Choice.select().where(Choice.question.in_(list(choices)))
                       .order_by(Choice.position, Choice.id)):
            choices[choice.question_id].append(choice)
    return [(q, choices[q.id]) for q in questions]


def get_question(quiz: Quiz, question_id: int) -> Question | None:
    return Question.get_or_none((Question.id == question_id) & (Question.quiz == quiz.id))


def true_false_texts(language: str | None) -> tuple[str, str]:
    """"True" and "False" in the course's language (stored as the two options' text)."""
    from flask import current_app

    from core.i18n import force_language

    if language and language in current_app.config.get("LOCALES", ()):
        with force_language(language):
            return str(_("True")), str(_("False"))
    return str(_("True")), str(_("False"))


def check_question(data: dict, language: str | None = None) -> list[dict]:
    """The options to store for a question (raises QuizError when the key does not make sense).

    data: kind, text, feedback, choices [{text, correct, feedback}] (short answers: the accepted
    answers); true or false: answer (bool), true_feedback, false_feedback, and no choices.
    """
    kind = data["kind"]
    given = [c for c in data.get("choices") or [] if (c.get("text") or "").strip()]
    if kind == "true_false":
        if data.get("answer") is None:
            message = _("Say whether the statement is true or false.")
            raise QuizError(message, {"answer": [message]})
        true_text, false_text = true_false_texts(language)
        return [
            {"text": true_text, "correct": data["answer"] is True, "feedback": data.get("true_feedback") or ""},
            {"text": false_text, "correct": data["answer"] is False, "feedback": data.get("false_feedback") or ""},
        ]
    if len(given) > MAX_CHOICES:
        message = _("Please give at most %(count)d options.", count=MAX_CHOICES)
        raise QuizError(message, {"choices": [message]})
    if kind == "short":
        if not given:
            message = _("Give at least one accepted answer.")
            raise QuizError(message, {"choices": [message]})
        keys = [normalise_answer(c["text"]) for c in given]
        if any(not key for key in keys):
            message = _("An accepted answer cannot be only spaces.")
            raise QuizError(message, {"choices": [message]})
        return [{"text": c["text"].strip(), "correct": True, "feedback": c.get("feedback") or ""} for c in given]
    if len(given) < 2:
        message = _("Give at least two options.")
        raise QuizError(message, {"choices": [message]})
    right = sum(1 for c in given if c.get("correct"))
    if kind == "single" and right != 1:
        message = _("Mark exactly one option as correct.")
        raise QuizError(message, {"choices": [message]})
    if kind == "multiple" and right < 1:
        message = _("Mark at least one option as correct.")
        raise QuizError(message, {"choices": [message]})
    return [{"text": c["text"].strip(), "correct": bool(c.get("correct")), "feedback": c.get("feedback") or ""}
            for c in given]


def _write_choices(question: Question, options: list[dict]) -> None:
    Choice.delete().where(Choice.question == question.id).execute()
    for position, option in enumerate(options):
        Choice.create(question=question.id, position=position, **option)


def add_question(quiz: Quiz, actor, data: dict) -> Question:
    options = check_question(data, quiz.course.language)
    with db.atomic():
        last = Question.select(fn.MAX(Question.position)).where(Question.quiz == quiz.id).scalar()
        question = Question.create(quiz=quiz.id, kind=data["kind"], text=data["text"],
                                   feedback=data.get("feedback") or "", position=(last or 0) + 1)
        _write_choices(question, options)
        audit.record("training.question_added", f"training_question:{question.id}", actor.id)
    return question


def update_question(question: Question, actor, data: dict) -> Question:
    """Replace a question's text, kind and options. Submitted attempts keep their marks."""
    options = check_question(data, question.quiz.course.language)
    with db.atomic():
        lock_row(Question, question.id)
        Question.update(kind=data["kind"], text=data["text"], feedback=data.get("feedback") or "").where(
            Question.id == question.id).execute()
        _write_choices(question, options)
        audit.record("training.question_changed", f"training_question:{question.id}", actor.id)
    return Question.get_by_id(question.id)


def delete_question(question: Question, actor) -> None:
    with db.atomic():
        audit.record("training.question_deleted", f"training_question:{question.id}", actor.id)
        question.delete_instance(recursive=True)


# -- attempts (learners) ---------------------------------------------------------------------------


def active_enrolment(course_id: int, user) -> Enrolment | None:
    return Enrolment.get_or_none((Enrolment.course == course_id) & (Enrolment.user == user.id)
                                 & (Enrolment.status == "active"))


def quiz_for_learner(quiz_id: int, user, statuses: tuple[str, ...] = ("active",)) -> Quiz | None:
    """The quiz when the person's enrolment in its course has one of these statuses; None
    otherwise (a 404). Attempting needs an active enrolment; the quiz's page and one's own
    results stay readable once the course is completed."""
    quiz = get_quiz(quiz_id)
    if quiz is None or not Enrolment.select().where(
            (Enrolment.course == quiz.course_id) & (Enrolment.user == user.id)
            & Enrolment.status.in_(statuses)).exists():
        return None
    return quiz


def attempt_of(attempt_id: int, user) -> Attempt | None:
    """One of the person's own attempts (anyone else's is None, answered 404 like a missing one)."""
    return Attempt.get_or_none((Attempt.id == attempt_id) & (Attempt.user == user.id))


def attempts_of(quiz: Quiz, user) -> list[Attempt]:
    return list(Attempt.select().where((Attempt.quiz == quiz.id) & (Attempt.user == user.id)).order_by(Attempt.id))


def submitted_count(quiz: Quiz, user) -> int:
    return (Attempt.select().where((Attempt.quiz == quiz.id) & (Attempt.user == user.id)
                                   & Attempt.submitted_at.is_null(False)).count())


def open_attempt(quiz: Quiz, user) -> Attempt | None:
    return (Attempt.select().where((Attempt.quiz == quiz.id) & (Attempt.user == user.id)
                                   & Attempt.submitted_at.is_null(True)).order_by(Attempt.id).first())


def attempts_left(quiz: Quiz, user) -> int | None:
    if quiz.attempt_limit is None:
        return None
    return max(0, quiz.attempt_limit - submitted_count(quiz, user))


def start_attempt(quiz: Quiz, user) -> tuple[Attempt, bool]:
    """(attempt, made): the open attempt if there is one, else a new draw.

    Raises Conflict when the attempt limit is used up or the bank is empty. The enrolment row is
    locked, so two starts at once make one attempt.
    """
    with db.atomic():
        enrolment = active_enrolment(quiz.course_id, user)
        if enrolment is None:
            raise QuizError(_("You are not enrolled in this course."))
        lock_row(Enrolment, enrolment.id)
        found = open_attempt(quiz, user)
        if found is not None:
            return found, False
        left = attempts_left(quiz, user)
        if left == 0:
            raise Conflict(_("You have used all your attempts at this quiz."))
        ids = [row[0] for row in Question.select(Question.id).where(Question.quiz == quiz.id).tuples()]
        if not ids:
            raise Conflict(_("This quiz has no questions yet. Please try again later."))
        chooser = secrets.SystemRandom()
        drawn = chooser.sample(ids, min(max(quiz.draw, 1), len(ids)))
        attempt = Attempt.create(quiz=quiz.id, user=user.id, drawn=json.dumps(drawn),
                                 seed=secrets.randbelow(2**31 - 1) + 1)
    return attempt, True


def _drawn_questions(attempt: Attempt) -> list[Question]:
    ids = attempt.drawn_ids
    found = {q.id: q for q in Question.select().where(Question.id.in_(ids))} if ids else {}
    return [found[i] for i in ids if i in found]  # a question deleted since the draw is left out


def _choices_by_question(questions: list[Question]) -> dict[int, list[Choice]]:
    grouped: dict[int, list[Choice]] = {q.id: [] for q in questions}
    if grouped:
        for choice in Choice.select().where(Choice.question.in_(list(grouped))).order_by(Choice.position, Choice.id):
            grouped[choice.question_id].append(choice)
    return grouped


def _shown_order(attempt: Attempt, question: Question, choices: list[Choice]) -> list[Choice]:
    """The options in this attempt's order: shuffled with the attempt's seed (stable on reload);
    true or false always in that order."""
    if question.kind == "true_false":
        return list(choices)
    shuffled = list(choices)
    # Not a secret: the order only hides where the trainer put the right option. The seed is kept
    # on the server, so the same attempt shows the same order on every reload.
    random.Random(f"{attempt.seed}:{question.id}").shuffle(shuffled)  # noqa: S311  # nosec B311
    return shuffled


def paper(attempt: Attempt) -> list[dict]:
    """What the learner sees before submitting: questions and options, never the key.

    Each question: {"id", "kind", "text", "choices": [{"id", "text"}]} (short answers: no choices).
    Nothing else is read from the rows, so a template or API answer built from this cannot leak
    `correct` or any feedback.
    """
    questions = _drawn_questions(attempt)
    grouped = _choices_by_question(questions)
    sheet = []
    for question in questions:
        options = [] if question.kind == "short" else [
            {"id": c.id, "text": c.text} for c in _shown_order(attempt, question, grouped[question.id])]
        sheet.append({"id": question.id, "kind": question.kind, "text": question.text, "choices": options})
    return sheet


def normalise_answer(text: str) -> str:
    """A short answer as compared: NFKC case folding (Unicode's caseless match), no spaces at all."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text or "").casefold())
    return "".join(folded.split())


def check_answers(attempt: Attempt, answers: dict) -> dict[int, list[int] | str]:
    """{question id: choice ids or text}, checked against the attempt's questions.

    answers maps question ids (int or str) to a choice id, a list of choice ids, or a text (short
    answers). Unanswered questions may be left out. Raises QuizError with messages per question.
    """
    questions = {q.id: q for q in _drawn_questions(attempt)}
    grouped = _choices_by_question(list(questions.values()))
    checked: dict[int, list[int] | str] = {}
    problems: dict[str, list[str]] = {}
    for key, value in (answers or {}).items():
        try:
            question_id = int(key)
        except (TypeError, ValueError):
            question_id = None
        question = questions.get(question_id)
        if question is None:
            problems[str(key)] = [_("This question is not part of this attempt.")]
            continue
        if question.kind == "short":
            if value is None:
                continue
            if not isinstance(value, str):
                problems[str(key)] = [_("Please type your answer as text.")]
                continue
            from core import text as text_rule

            issue = text_rule.problem(value, multiline=False)
            if issue:
                problems[str(key)] = [text_rule.message(issue)]
                continue
            if len(value) > MAX_SHORT_ANSWER:
                problems[str(key)] = [_("Please keep this under %(count)d characters (it has %(length)d).",
                                        count=MAX_SHORT_ANSWER, length=len(value))]
                continue
            if value.strip():
                checked[question.id] = value.strip()
            continue
        chosen = value if isinstance(value, list) else [] if value is None else [value]
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in chosen):
            problems[str(key)] = [_("Choose from the options given.")]
            continue
        allowed = {c.id for c in grouped[question.id]}
        if not set(chosen) <= allowed:
            problems[str(key)] = [_("Choose from the options given.")]
            continue
        if question.kind != "multiple" and len(set(chosen)) > 1:
            problems[str(key)] = [_("Choose one answer.")]
            continue
        if chosen:
            checked[question.id] = sorted(set(chosen))
    if problems:
        raise QuizError(_("Some answers could not be read."), problems)
    return checked


def _is_right(question: Question, choices: list[Choice], answer) -> bool:
    if answer is None:
        return False
    if question.kind == "short":
        accepted = {normalise_answer(c.text) for c in choices if c.correct}
        return normalise_answer(answer) in accepted
    return set(answer) == {c.id for c in choices if c.correct}


def submit(attempt: Attempt, user, answers: dict) -> Attempt:
    """Mark the attempt once. Raises Conflict when it was submitted already (also by a request
    that got there first), QuizError for answers that do not fit the attempt's questions."""
    checked = check_answers(attempt, answers)
    with db.atomic():
        lock_row(Attempt, attempt.id)
        current = Attempt.get_by_id(attempt.id)
        if current.submitted_at is not None:
            raise Conflict(_("This attempt was already submitted."))
        if active_enrolment(current.quiz.course_id, user) is None:
            raise QuizError(_("You are not enrolled in this course."))
        questions = _drawn_questions(current)
        grouped = _choices_by_question(questions)
        stored, right = {}, 0
        for question in questions:
            answer = checked.get(question.id)
            ok = _is_right(question, grouped[question.id], answer)
            right += ok
            stored[str(question.id)] = {"answer": answer, "correct": ok}
        total = len(questions)
        score = (right * 100) // total if total else 0
        passed = total > 0 and right * 100 >= current.quiz.pass_mark * total
        Attempt.update(answers=json.dumps(stored), submitted_at=utcnow(), score=score, passed=passed).where(
            Attempt.id == current.id).execute()
    marked = Attempt.get_by_id(attempt.id)
    if marked.passed:
        _completion(marked)
    return marked


def _completion(attempt: Attempt) -> None:
    """Tell the learning module a passed quiz may complete the course (when it is installed)."""
    try:
        from plugins.training import learning
    except ImportError:
        return
    check = getattr(learning, "check_completion", None)
    if check is None:
        return
    enrolment = Enrolment.get_or_none((Enrolment.course == attempt.quiz.course_id)
                                      & (Enrolment.user == attempt.user_id))
    if enrolment is None:
        return
    try:
        check(enrolment)
    except Exception as exc:  # the mark is stored; completion is checked again on the next step
        log.error("completion not checked", extra={"event": "completion_failed", "plugin": "training",
                                                   "reason": type(exc).__name__})


def stored_answers(attempt: Attempt) -> dict[str, dict]:
    return json.loads(attempt.answers or "{}")


def result(attempt: Attempt) -> list[dict]:
    """A submitted attempt, question by question: the answer given, whether it was right, the
    feedback on each option chosen (or on the short answer matched) and the question's feedback.
    The options that would have been right are not listed, so another attempt still tests."""
    if attempt.submitted_at is None:
        raise Conflict(_("This attempt has not been submitted yet."))
    stored = stored_answers(attempt)
    questions = _drawn_questions(attempt)
    grouped = _choices_by_question(questions)
    rows = []
    for question in questions:
        entry = stored.get(str(question.id), {"answer": None, "correct": False})
        answer, choices = entry.get("answer"), grouped[question.id]
        if question.kind == "short":
            chosen_texts = [answer] if answer else []
            matched = [c for c in choices if answer and normalise_answer(c.text) == normalise_answer(answer)]
            feedback = [c.feedback for c in matched if c.feedback]
        else:
            picked = [c for c in _shown_order(attempt, question, choices) if c.id in (answer or [])]
            chosen_texts = [c.text for c in picked]
            feedback = [c.feedback for c in picked if c.feedback]
        rows.append({"id": question.id, "kind": question.kind, "text": question.text, "answer": chosen_texts,
                     "answered": bool(chosen_texts), "correct": bool(entry.get("correct")),
                     "choice_feedback": feedback, "feedback": question.feedback})
    return rows


# -- results (trainers) ------------------------------------------------------------------------------

SCORE_BANDS = ((0, 49), (50, 79), (80, 100))


def quiz_results(quiz: Quiz) -> dict:
    """Totals for the quiz: attempts, learners, passes, score bands and how often each question was
    missed. Nothing per person."""
    submitted = list(Attempt.select(Attempt.user, Attempt.score, Attempt.passed, Attempt.answers)
                     .where((Attempt.quiz == quiz.id) & Attempt.submitted_at.is_null(False)))
    drawn: dict[int, int] = {}
    missed: dict[int, int] = {}
    for attempt in submitted:
        for key, entry in json.loads(attempt.answers or "{}").items():
            question_id = int(key)
            drawn[question_id] = drawn.get(question_id, 0) + 1
            if not entry.get("correct"):
                missed[question_id] = missed.get(question_id, 0) + 1
    questions = [{"id": q.id, "text": q.text, "kind": q.kind, "drawn": drawn.get(q.id, 0),
                  "missed": missed.get(q.id, 0),
                  "missed_percent": (missed.get(q.id, 0) * 100 // drawn[q.id]) if drawn.get(q.id) else None}
                 for q, _choices in bank(quiz)]
    scores = [a.score for a in submitted]
    return {
        "attempts": len(submitted),
        "learners": len({a.user_id for a in submitted}),
        "learners_passed": len({a.user_id for a in submitted if a.passed}),
        "average_score": (sum(scores) // len(scores)) if scores else None,
        "bands": [{"from": low, "to": high, "attempts": sum(1 for s in scores if low <= s <= high)}
                  for low, high in SCORE_BANDS],
        "questions": questions,
    }


def learners_with_attempts(quiz: Quiz) -> list:
    """The people who have attempted the quiz, by account number (never ranked by score)."""
    from core.accounts.models import User

    ids = Attempt.select(Attempt.user).where(Attempt.quiz == quiz.id).distinct()
    return list(User.select().where(User.id.in_(ids)).order_by(User.id))


def learner_attempts(quiz: Quiz, learner_id: int, actor) -> list[Attempt] | None:
    """One learner's attempts at the quiz, for a trainer who opened them (audited); None when the
    person has no attempt at it."""
    rows = list(Attempt.select().where((Attempt.quiz == quiz.id) & (Attempt.user == learner_id)).order_by(Attempt.id))
    if not rows:
        return None
    audit.record("training.quiz_attempts_viewed", f"user:{learner_id}", actor.id)
    return rows
