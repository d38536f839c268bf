"""Learners' lesson pages, under /training/learn/: a course's contents with progress, each lesson
with previous and next, "Mark as done", and the lessons' files.

Only trainers and learners enrolled in the course (active or completed) get past learning.course_for;
everyone else gets 404, as for a course that does not exist. Drafts are for trainers only.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from core.permissions import requires
from plugins.training import _, authoring, learning
from plugins.training.markdown import render as render_markdown
from plugins.training.models import LessonDone, LessonFile

LEARN = "training.learn"

bp = Blueprint("training_learn", __name__, url_prefix="/training/learn")


class EmptyForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def _me():
    return current_user._get_current_object()


def contents_url(course_id: int) -> str:
    """The page t1's course page links to: the course's lessons and the learner's progress."""
    return url_for("training_learn.course", course_id=course_id)


@bp.app_template_global("training_progress")
def training_progress(enrolment) -> dict | None:
    """learning.progress for a page's template (the course page shows "Done: x of y")."""
    if enrolment is None or enrolment.status not in learning.READING:
        return None
    return learning.progress(enrolment)


@bp.route("/courses/<int:course_id>")
@requires(LEARN)
def course(course_id: int):
    found, enrolment = learning.course_for(course_id, _me())
    done: set[int] = set()
    progress = None
    if enrolment is not None:
        progress = learning.progress(enrolment)
        done = {row.lesson_id for row in LessonDone.select(LessonDone.lesson)
                .where(LessonDone.enrolment == enrolment.id)}
    outline = authoring.outline(found)
    first_open = next((lesson for _module, lessons in outline for lesson in lessons if lesson.id not in done), None)
    from plugins.training.feedback_views import pending_for

    questionnaires = pending_for(enrolment) if enrolment is not None else []
    return render_template("training/learn/course.html", course=found, enrolment=enrolment, outline=outline,
                           progress=progress, done=done, next_lesson=first_open, questionnaires=questionnaires)


@bp.route("/lessons/<int:lesson_id>")
@requires(LEARN)
def lesson(lesson_id: int):
    page = learning.lesson_for(lesson_id, _me())
    return render_template("training/learn/lesson.html", page=page, body=render_markdown(page.lesson.body),
                           files=authoring.files_of(page.lesson), button=EmptyForm())


@bp.route("/lessons/<int:lesson_id>/done", methods=["POST"])
@requires(LEARN)
def lesson_done(lesson_id: int):
    page = learning.lesson_for(lesson_id, _me())
    if not EmptyForm().validate_on_submit():
        abort(400)
    if page.enrolment is None:  # a trainer previewing: nothing to record
        abort(404)
    if request.form.get("undo") == "1":
        learning.mark_not_done(page.enrolment, page.lesson)
        flash(_("The lesson is no longer marked as done."), "success")
        return redirect(url_for("training_learn.lesson", lesson_id=page.lesson.id), 303)
    completed_before = page.enrolment.status == "completed"
    complete = learning.mark_done(page.enrolment, page.lesson)
    if complete and not completed_before:
        flash(_("Well done: you have completed this course."), "success")
        return redirect(contents_url(page.course.id), 303)
    if page.next is not None:
        return redirect(url_for("training_learn.lesson", lesson_id=page.next.id), 303)
    return redirect(contents_url(page.course.id), 303)


@bp.route("/files/<int:file_id>")
@requires(LEARN)
def download(file_id: int):
    row = LessonFile.get_or_none(LessonFile.id == file_id)
    if row is None:
        abort(404)
    learning.course_for(row.lesson.module.course_id, _me())
    # Always a download (Content-Disposition: attachment, the type its checked kind has), never
    # shown inline, so a file can never act as a page of this site.
    response = send_file(io.BytesIO(authoring.file_bytes(row)), mimetype=row.content_type, as_attachment=True,
                         download_name=row.filename, etag=False, last_modified=None, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
