"""Questionnaires and reports in the browser (blueprint "training_feedback", under /training/).

Trainers (training.manage):
/training/feedback/courses/<id>            write the course's statements; see the results before and
                                           after (only from 5 answers, counted in fives, never per person)
Learners (training.learn), on a course they are enrolled on:
/training/feedback/courses/<id>/before     the questionnaire before the course (while not completed)
/training/feedback/courses/<id>/after      the questionnaire after it (once completed)
Trainers and administrators (training.reports):
/training/reports, /training/reports.csv   completions by sector, organisation and period and what
                                           changed, small numbers hidden (each view and download audited)
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.audit import record
from core.numbers import whole_number
from core.permissions import requires, user_has
from plugins.training import _, questionnaires, reports
from plugins.training.models import Course, Enrolment

bp = Blueprint("training_feedback", __name__, url_prefix="/training")

LEARN, MANAGE, REPORTS = "training.learn", "training.manage", "training.reports"
KIND_PATH = "<any(before, after):kind>"


def score_labels() -> dict[int, str]:
    return {1: _("Strongly disagree"), 2: _("Disagree"), 3: _("Neither agree nor disagree"), 4: _("Agree"),
            5: _("Strongly agree")}


def pending_for(enrolment) -> list[str]:
    """The questionnaires this enrolment's learner may answer now ("before", "after"), for links."""
    course = Course.get_by_id(enrolment.course_id)
    found = []
    for kind in questionnaires.KINDS:
        row = questionnaires.questionnaire(course, kind)
        if row is not None and questionnaires.open_for(enrolment, kind) and not questionnaires.answered(
                row, enrolment.user_id):
            found.append(kind)
    return found


def _course_or_404(course_id: int) -> Course:
    course = Course.get_or_none(Course.id == course_id)
    if course is None:
        abort(404)
    return course


# -- trainers ------------------------------------------------------------------------------------------


@bp.route("/feedback/courses/<int:course_id>", methods=["GET", "POST"])
@requires(MANAGE)
def course_feedback(course_id: int):
    course = _course_or_404(course_id)
    error, typed = None, None
    if request.method == "POST":
        typed = request.form.get("statements", "")
        try:
            items = questionnaires.parse_statements(typed)
            questionnaires.save_statements(course, items, current_user.id)
        except questionnaires.QuestionnaireError as problem:
            error = str(problem)
        else:
            flash(_("The questionnaires are saved.") if items else _("The questionnaires are switched off."),
                  "success")
            return redirect(url_for(".course_feedback", course_id=course.id), code=303)
    before = questionnaires.results(course, "before")
    after = questionnaires.results(course, "after")
    text = typed if typed is not None else "\n".join(questionnaires.statements(course))
    return render_template("training/feedback/course.html", course=course, error=error, text=text,
                           locked=questionnaires.has_answers(course), before=before, after=after,
                           change=questionnaires.change(before, after), labels=score_labels(),
                           minimum=questionnaires.MIN_ANSWERS), (422 if error else 200)


# -- learners ------------------------------------------------------------------------------------------


@bp.route(f"/feedback/courses/<int:course_id>/{KIND_PATH}", methods=["GET", "POST"])
@requires(LEARN)
def answer(course_id: int, kind: str):
    course = _course_or_404(course_id)
    enrolment = Enrolment.get_or_none((Enrolment.course == course.id) & (Enrolment.user == current_user.id))
    row = questionnaires.questionnaire(course, kind)
    if enrolment is None or row is None or not questionnaires.open_for(enrolment, kind):
        abort(404)
    if questionnaires.answered(row, current_user.id):
        return render_template("training/feedback/answer.html", course=course, kind=kind, done=True)
    items = json.loads(row.items)
    error = None
    if request.method == "POST":
        try:
            scores = questionnaires.parse_scores(request.form, len(items))
            questionnaires.submit(row, current_user.id, scores)
        except questionnaires.QuestionnaireError as problem:
            error = str(problem)
        else:
            flash(_("Thank you. Your answers are kept without your name."), "success")
            return redirect(url_for(".answer", course_id=course.id, kind=kind), code=303)
    return render_template("training/feedback/answer.html", course=course, kind=kind, done=False, statements=items,
                           labels=score_labels(), error=error, values=request.form), (422 if error else 200)


# -- reports for funders -------------------------------------------------------------------------------


def _choice():
    kind, start, end = reports.parse_choice(request.args)
    raw = request.args.get("course", "")
    course_id = whole_number(raw, max_digits=9)
    return kind, start, end, course_id


@bp.route("/reports")
@requires(REPORTS)
def report_page():
    courses = list(Course.select(Course.id, Course.title).order_by(Course.title, Course.id))
    try:
        kind, start, end, course_id = _choice()
    except reports.ReportError as problem:
        return render_template("training/feedback/reports.html", error=str(problem), tables=[], changes=[],
                               values=request.args, courses=courses), 422
    tables = reports.completions(kind, start, end, course_id)
    changes = reports.what_changed(course_id)
    record("training.report_viewed", target=f"report:{kind}:{start:%Y-%m}:{end:%Y-%m}", actor_id=current_user.id)
    values = {"period": kind, "start": f"{start:%Y-%m}", "end": f"{end:%Y-%m}"}
    if course_id is not None:
        values["course"] = str(course_id)
    return render_template("training/feedback/reports.html", error=None, tables=tables, changes=changes,
                           values=values, courses=courses,
                           can_manage=user_has(current_app, current_user, MANAGE))


@bp.route("/reports.csv")
@requires(REPORTS)
def report_download():
    try:
        kind, start, end, course_id = _choice()
    except reports.ReportError as problem:
        abort(422, str(problem))
    body = reports.as_csv(reports.completions(kind, start, end, course_id), reports.what_changed(course_id),
                          kind, start, end)
    record("training.report_exported", target=f"report:{kind}:{start:%Y-%m}:{end:%Y-%m}", actor_id=current_user.id)
    name = f"training-report-{kind}-{start:%Y-%m}-{end:%Y-%m}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
