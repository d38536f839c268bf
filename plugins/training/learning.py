"""Learners' side of a course: who may read it, lessons in order, "Mark as done", progress, completion.

Who reads a course's lessons (and downloads its files):
- trainers (training.manage), every course, drafts included (to preview them);
- learners enrolled in it (status active or completed), once it is published (or archived, so
  what they completed stays readable).
Everyone else gets 404, exactly as for a course that does not exist.

What counts towards completion (check_completion): with the course's rule "all", every lesson and
quiz and every session (not cancelled); with "chosen", only those whose counts_for_completion is
set. A lesson counts when the learner marked it done; a quiz when they have a passed attempt (t3
writes attempts); a session when their attendance is present or late on every one of its dates
(t4 writes attendance). Sessions are often the same session offered on several days: the ones
that count for a learner are those they are booked on (or have attendance for); with none, one
item "attend a session" stands for them until they book. Completing sets the enrolment completed
and issues the certificate (plugins.training.certificates.issue_for, when that module exists).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from flask import abort, current_app

from core.db import db, lock_row, utcnow
from core.permissions import user_has
from plugins.training import _
from plugins.training.models import (
    Attempt,
    Attendance,
    Booking,
    Course,
    Enrolment,
    Lesson,
    LessonDone,
    Module,
    Quiz,
    Session,
    SessionDate,
)

log = logging.getLogger("redumbrella.training")

MANAGE = "training.manage"
READING = ("active", "completed")  # enrolment statuses that may read the course
OPEN_TO_LEARNERS = ("published", "archived")


def is_trainer(user) -> bool:
    return bool(user and user.is_authenticated and user_has(current_app, user, MANAGE))


def enrolment_of(course: Course, user) -> Enrolment | None:
    """The user's enrolment in the course if it lets them read it (active or completed)."""
    if not (user and user.is_authenticated):
        return None
    return Enrolment.get_or_none((Enrolment.course == course.id) & (Enrolment.user == user.id)
                                 & Enrolment.status.in_(READING))


def may_read(course: Course, user) -> tuple[bool, Enrolment | None]:
    enrolment = enrolment_of(course, user)
    if is_trainer(user):
        return True, enrolment
    return (enrolment is not None and course.status in OPEN_TO_LEARNERS), enrolment


def course_for(course_id: int, user) -> tuple[Course, Enrolment | None]:
    """The course and the user's enrolment, or 404 if they may not read it."""
    course = Course.get_or_none(Course.id == course_id)
    if course is None:
        abort(404)
    allowed, enrolment = may_read(course, user)
    if not allowed:
        abort(404)
    return course, enrolment


def lessons_in_order(course: Course) -> list[Lesson]:
    """Every lesson of the course, module by module, in one query."""
    return list(Lesson.select(Lesson, Module).join(Module).where(Module.course == course.id)
                .order_by(Module.position, Module.id, Lesson.position, Lesson.id))


@dataclass
class LessonPage:
    lesson: Lesson
    course: Course
    enrolment: Enrolment | None
    previous: Lesson | None
    next: Lesson | None
    done: bool
    number: int
    total: int


def lesson_for(lesson_id: int, user) -> LessonPage:
    """A lesson with its neighbours, or 404 if the user may not read its course."""
    lesson = Lesson.get_or_none(Lesson.id == lesson_id)
    if lesson is None:
        abort(404)
    course, enrolment = course_for(lesson.module.course_id, user)
    ordered = lessons_in_order(course)
    index = next(i for i, item in enumerate(ordered) if item.id == lesson.id)
    done = enrolment is not None and LessonDone.select().where(
        (LessonDone.enrolment == enrolment.id) & (LessonDone.lesson == lesson.id)).exists()
    return LessonPage(lesson=ordered[index], course=course, enrolment=enrolment,
                      previous=ordered[index - 1] if index > 0 else None,
                      next=ordered[index + 1] if index + 1 < len(ordered) else None,
                      done=done, number=index + 1, total=len(ordered))


# -- marking done ----------------------------------------------------------------------------------------


def mark_done(enrolment: Enrolment, lesson: Lesson) -> bool:
    """Record that the learner finished the lesson (once; repeating changes nothing), then see
    whether the course is complete. Returns whether the course is complete now."""
    if lesson.module.course_id != enrolment.course_id:
        abort(404)
    with db.atomic():
        (LessonDone.insert(enrolment=enrolment.id, lesson=lesson.id, created_at=utcnow())
         .on_conflict_ignore().execute())
    return check_completion(enrolment)


def mark_not_done(enrolment: Enrolment, lesson: Lesson) -> None:
    """Undo "Mark as done" (a completed course stays completed: a certificate is not taken back)."""
    with db.atomic():
        LessonDone.delete().where((LessonDone.enrolment == enrolment.id) & (LessonDone.lesson == lesson.id)).execute()


# -- progress and completion -----------------------------------------------------------------------------


def _counted(query, model, course: Course):
    if course.completion_rule == "chosen":
        return query.where(model.counts_for_completion == True)  # noqa: E712 - peewee expression
    return query


def progress(enrolment: Enrolment) -> dict:
    """What the learner has done of what counts: {"done", "total", "percent", "complete", "items"}.

    Each item is {"kind": "lesson" | "quiz" | "session", "id", "title", "done"}; "id" is None for the
    "attend a session" item of a learner not booked on any session yet.
    """
    course = enrolment.course
    items: list[dict] = []

    lessons = _counted(Lesson.select(Lesson.id, Lesson.title).join(Module).where(Module.course == course.id),
                       Lesson, course).order_by(Module.position, Module.id, Lesson.position, Lesson.id)
    done_lessons = {row.lesson_id for row in LessonDone.select(LessonDone.lesson)
                    .where(LessonDone.enrolment == enrolment.id)}
    items += [{"kind": "lesson", "id": lesson.id, "title": lesson.title, "done": lesson.id in done_lessons}
              for lesson in lessons]

    quizzes = _counted(Quiz.select(Quiz.id, Quiz.title).where(Quiz.course == course.id), Quiz, course).order_by(Quiz.id)
    passed = {row.quiz_id for row in Attempt.select(Attempt.quiz).where(
        (Attempt.user == enrolment.user_id) & (Attempt.passed == True)  # noqa: E712
        & Attempt.quiz.in_(Quiz.select(Quiz.id).where(Quiz.course == course.id)))}
    items += [{"kind": "quiz", "id": quiz.id, "title": quiz.title, "done": quiz.id in passed} for quiz in quizzes]

    items += _session_items(enrolment, course)

    done = sum(1 for item in items if item["done"])
    total = len(items)
    return {"done": done, "total": total, "percent": (100 * done // total) if total else 0,
            "complete": total > 0 and done == total, "items": items}


def _session_items(enrolment: Enrolment, course: Course) -> list[dict]:
    sessions = list(_counted(Session.select().where((Session.course == course.id) & Session.cancelled_at.is_null()),
                             Session, course).order_by(Session.id))
    if not sessions:
        return []
    ids = [s.id for s in sessions]
    user = enrolment.user_id
    booked = {row.session_id for row in Booking.select(Booking.session).where(
        Booking.session.in_(ids) & (Booking.user == user) & (Booking.status == "booked"))}
    dates: dict[int, set[int]] = {sid: set() for sid in ids}
    # A cancelled date is not held, so nobody can attend it: it does not count.
    for row in SessionDate.select(SessionDate.id, SessionDate.session).where(
            SessionDate.session.in_(ids) & SessionDate.cancelled_at.is_null()):
        dates[row.session_id].add(row.id)
    all_dates = [d for ds in dates.values() for d in ds]
    attended: set[int] = set()
    marked: set[int] = set()
    if all_dates:
        for row in Attendance.select(Attendance.session_date, Attendance.status).where(
                Attendance.session_date.in_(all_dates) & (Attendance.user == user)):
            marked.add(row.session_date_id)
            if row.status in ("present", "late"):
                attended.add(row.session_date_id)
    items = []
    for session in sessions:
        theirs = session.id in booked or bool(dates[session.id] & marked)
        if not theirs:
            continue
        done = bool(dates[session.id]) and dates[session.id] <= attended
        items.append({"kind": "session", "id": session.id, "title": session.title, "done": done})
    if not items:
        items.append({"kind": "session", "id": None, "title": _("Attend a session"), "done": False})
    return items


def check_completion(enrolment: Enrolment) -> bool:
    """Complete the enrolment if everything that counts is done; issue the certificate.

    Returns whether the enrolment is completed (now or before). Safe to call any number of times
    and from two places at once: the enrolment row is locked while deciding, so it completes once.
    """
    just_completed = False
    with db.atomic():
        lock_row(Enrolment, enrolment.id)
        current = Enrolment.get_or_none(Enrolment.id == enrolment.id)
        if current is None:
            return False
        if current.status == "completed":
            enrolment.status, enrolment.completed_at = current.status, current.completed_at
            return True
        if current.status != "active" or not progress(current)["complete"]:
            return False
        now = utcnow()
        Enrolment.update(status="completed", completed_at=now).where(Enrolment.id == current.id).execute()
        enrolment.status, enrolment.completed_at = "completed", now
        just_completed = True
    if just_completed:
        _issue_certificate(enrolment)
    return True


def _issue_certificate(enrolment: Enrolment) -> None:
    """t5's certificates.issue_for, if that module is there; a failure is logged, the completion kept."""
    if importlib.util.find_spec("plugins.training.certificates") is None:
        return
    try:
        from plugins.training import certificates

        with db.atomic():  # a savepoint inside a caller's transaction: a failure here undoes only this
            certificates.issue_for(Enrolment.get_by_id(enrolment.id))
    except Exception as exc:  # the completion is stored; the certificate can be issued again later
        log.error("certificate not issued", extra={"event": "certificate_failed", "plugin": "training",
                                                   "reason": type(exc).__name__})
