"""Anonymous questionnaires before and after a course, and their results.

- Trainers write a course's statements ("I would know how to respond to a sex worker reporting a
  crime"), one list used by both questionnaires, so that before and after can be compared
  statement by statement. The list can be changed until the first answer; then it is fixed.
- Learners answer each statement from 1 (strongly disagree) to 5 (strongly agree), or skip it:
  the "before" questionnaire while enrolled and not yet completed, the "after" one once the course
  is completed; each once.
- What is kept: a QuestionnaireAnswer row with the month (first day) and the scores only, under a
  random id (so its id does not follow the order people answered in), and, apart, a
  QuestionnaireDone row saying that this person answered this questionnaire (so nobody answers
  twice). Nothing links the two.
- Results are shown only when at least 5 people answered, and only in steps of five: with 13
  answers the results count 10 of them (whole months first, then at random within the newest
  month), so comparing the results before and after one person answers never shows that person's
  answers. Per statement: the average and how many chose each score; never a person's answers.
"""

from __future__ import annotations

import datetime
import json
import secrets
from dataclasses import dataclass, field

from peewee import IntegrityError

from core.db import db, lock_row, utcnow
from core.numbers import whole_number
from core.text import TextRefused, clean, message

MIN_ANSWERS = 5  # results are shown from this many answers, in steps of this many
MAX_STATEMENTS = 12
STATEMENT_MAX = 300
SCORES = (1, 2, 3, 4, 5)
KINDS = ("before", "after")
_MAX_ID = 2_147_483_647  # PostgreSQL's serial ids are 32-bit


class QuestionnaireError(ValueError):
    """The statements or answers cannot be taken; the message is translated."""


# -- trainers: the statements -------------------------------------------------------------------------


def statements(course) -> list[str]:
    from plugins.training.models import Questionnaire

    found = Questionnaire.get_or_none((Questionnaire.course == course.id) & (Questionnaire.kind == "before"))
    return json.loads(found.items) if found else []


def has_answers(course) -> bool:
    from plugins.training.models import Questionnaire, QuestionnaireAnswer

    return (QuestionnaireAnswer.select().join(Questionnaire)
            .where(Questionnaire.course == course.id).exists())


def parse_statements(text: str) -> list[str]:
    """One statement a line; blank lines ignored. Raises QuestionnaireError."""
    from plugins.training import _

    try:
        kept = clean(str(text or ""))
    except TextRefused as refused:
        raise QuestionnaireError(message(refused.problem)) from None
    items = [" ".join(line.split()) for line in kept.splitlines() if line.strip()]
    if len(items) > MAX_STATEMENTS:
        raise QuestionnaireError(_("Use at most %(num)d statements.", num=MAX_STATEMENTS))
    if any(len(item) > STATEMENT_MAX for item in items):
        raise QuestionnaireError(_("Keep each statement under %(num)d characters.", num=STATEMENT_MAX))
    return items


def save_statements(course, items: list[str], actor_id: int) -> None:
    """Set the statements of both questionnaires (none: the questionnaires are switched off)."""
    from plugins.training import _
    from plugins.training.models import Course, Questionnaire

    with db.atomic():
        lock_row(Course, course.id)
        if has_answers(course):
            raise QuestionnaireError(_("People have already answered, so the statements cannot change now."))
        for kind in KINDS:
            found = Questionnaire.get_or_none((Questionnaire.course == course.id) & (Questionnaire.kind == kind))
            if found is None:
                Questionnaire.create(course=course.id, kind=kind, items=json.dumps(items, ensure_ascii=False))
            else:
                found.items = json.dumps(items, ensure_ascii=False)
                found.save()
        from core.audit import record

        record("training.questionnaire_changed", target=f"course:{course.id}", actor_id=actor_id)


# -- learners: answering ------------------------------------------------------------------------------


def questionnaire(course, kind: str):
    from plugins.training.models import Questionnaire

    found = Questionnaire.get_or_none((Questionnaire.course == course.id) & (Questionnaire.kind == kind))
    if found is None or not json.loads(found.items):
        return None
    return found


def open_for(enrolment, kind: str) -> bool:
    """Whether the learner of this enrolment may answer this kind now (before: enrolled, not completed)."""
    if kind == "before":
        return enrolment.status == "active" and enrolment.completed_at is None
    return enrolment.status == "completed"


def answered(questionnaire_row, user_id: int) -> bool:
    from plugins.training.models import QuestionnaireDone

    return QuestionnaireDone.select().where((QuestionnaireDone.questionnaire == questionnaire_row.id)
                                            & (QuestionnaireDone.user == user_id)).exists()


def parse_scores(form, count: int) -> list[int | None]:
    """Scores from a form (fields s0, s1, ...): 1-5, or empty for "rather not say"."""
    from plugins.training import _

    scores = []
    for position in range(count):
        raw = (form.get(f"s{position}") or "").strip()
        if raw in ("", "skip"):
            scores.append(None)
        elif (score := whole_number(raw)) in SCORES:
            scores.append(score)
        else:
            raise QuestionnaireError(_("Choose one answer for each statement, or leave it out."))
    if all(score is None for score in scores):
        raise QuestionnaireError(_("Answer at least one statement, or go back without sending."))
    return scores


def submit(questionnaire_row, user_id: int, scores: list[int | None], today: datetime.date | None = None) -> None:
    """Store the answers anonymously and that this person answered; raises QuestionnaireError if done before."""
    from plugins.training import _
    from plugins.training.models import QuestionnaireAnswer, QuestionnaireDone

    today = today or utcnow().date()
    month = today.replace(day=1)
    for _attempt in range(5):
        try:
            with db.atomic():
                try:
                    with db.atomic():
                        QuestionnaireDone.create(questionnaire=questionnaire_row.id, user=user_id)
                except IntegrityError:
                    raise QuestionnaireError(_("You have already answered this questionnaire. Thank you.")) from None
                # A random id: the answer's id says nothing about when it came, or who came before.
                QuestionnaireAnswer.insert(id=secrets.randbelow(_MAX_ID - 1) + 1, questionnaire=questionnaire_row.id,
                                           month=month, scores=json.dumps(scores)).execute()
            return
        except IntegrityError:  # the random id was taken (about one chance in 2^31 per answer): again
            continue
    raise RuntimeError("no free id for a questionnaire answer")


# -- results -------------------------------------------------------------------------------------------


@dataclass
class StatementResult:
    text: str
    answers: int = 0  # people who scored this statement (of those counted)
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)  # score -> how many chose it


@dataclass
class Results:
    kind: str
    answered: int  # how many people answered (told only as "fewer than 5" below the threshold)
    counted: int  # how many are in the results: a multiple of MIN_ANSWERS
    statements: list[StatementResult] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return self.counted >= MIN_ANSWERS


def counted_scores(questionnaire_row) -> tuple[int, list[list[int | None]]]:
    """How many answered, and the score lists that count (whole fives, older months first)."""
    from plugins.training.models import QuestionnaireAnswer

    rows = list(QuestionnaireAnswer.select(QuestionnaireAnswer.scores)
                .where(QuestionnaireAnswer.questionnaire == questionnaire_row.id)
                .order_by(QuestionnaireAnswer.month, QuestionnaireAnswer.id))
    total = len(rows)
    keep = total - total % MIN_ANSWERS
    return total, [json.loads(row.scores) for row in rows[:keep]]


def results(course, kind: str) -> Results | None:
    row = questionnaire(course, kind)
    if row is None:
        return None
    items = json.loads(row.items)
    total, kept = counted_scores(row)
    result = Results(kind=kind, answered=total, counted=len(kept))
    if not result.shown:
        return result
    for position, text in enumerate(items):
        chosen = [scores[position] for scores in kept if position < len(scores) and scores[position] is not None]
        distribution = {score: chosen.count(score) for score in SCORES}
        result.statements.append(StatementResult(
            text=text, answers=len(chosen), distribution=distribution,
            average=round(sum(chosen) / len(chosen), 2) if chosen else None))
    return result


def change(before: Results | None, after: Results | None) -> list[tuple[str, float | None, float | None, float | None]]:
    """Per statement: average before, after, and the change (None where either is not shown)."""
    if before is None or after is None:
        return []
    rows = []
    for position, item in enumerate(before.statements or after.statements):
        b = before.statements[position].average if before.shown and position < len(before.statements) else None
        a = after.statements[position].average if after.shown and position < len(after.statements) else None
        rows.append((item.text, b, a, round(a - b, 2) if a is not None and b is not None else None))
    return rows
