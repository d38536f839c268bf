"""Learners' and organisation managers' pages of the training plugin, under /training/.

The catalogue and course pages are public (what is published and open is no secret); enrolling
needs training.learn. Organisation managers' pages (training.organisation) show only the
manager's own organisation: anyone else is a 404. Trainers' enrolment page (training.manage)
lists a course's learners, approves requests, enrols people by e-mail and offers the course to
organisations.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.accounts.models import User
from core.db import db
from core.identifiers import InvalidIdentifier, normalise_email
from core.numbers import whole_number
from core.organisations import Organisation
from core.permissions import PUBLIC, requires, user_has
from plugins.training import _, enrolment, organisations
from plugins.training.models import Course, CourseOrganisation, Enrolment

bp = Blueprint("training", __name__, url_prefix="/training")

LEARN, MANAGE, ORGANISATION = "training.learn", "training.manage", organisations.MANAGE


def status_labels() -> dict[str, str]:
    return {"requested": _("Waiting for approval"), "active": _("Enrolled"), "completed": _("Completed"),
            "withdrawn": _("Left the course")}


def _course_or_404(course_id: int) -> Course:
    course = Course.get_or_none(Course.id == course_id)
    if course is None or not enrolment.may_see(course, current_user):
        abort(404)
    return course


def _may_learn() -> bool:
    from flask import current_app

    return user_has(current_app, current_user, LEARN)


@bp.route("/")
@requires(PUBLIC)
def index():
    courses = enrolment.visible_courses(current_user)
    mine = []
    if current_user.is_authenticated:
        mine = list(Enrolment.select(Enrolment, Course).join(Course)
                    .where((Enrolment.user == current_user.id) & (Enrolment.status != "withdrawn"))
                    .order_by(Course.title))
    return render_template("training/index.html", courses=courses, mine=mine, labels=status_labels())


@bp.route("/courses/<int:course_id>")
@requires(PUBLIC)
def course(course_id: int):
    found = _course_or_404(course_id)
    from plugins.training.authoring import outline

    return render_template("training/course.html", course=found, outline=outline(found),
                           enrolment=enrolment.enrolment_of(found, current_user), may_learn=_may_learn(),
                           labels=status_labels(), code_error=None)


@bp.route("/courses/<int:course_id>/enrol", methods=["POST"])
@requires(LEARN)
def enrol(course_id: int):
    found = _course_or_404(course_id)
    try:
        made = enrolment.enrol_self(found, current_user, request.form.get("code"))
    except enrolment.EnrolmentError as error:
        if error.status == 404:
            abort(404)
        from plugins.training.authoring import outline

        return render_template("training/course.html", course=found, outline=outline(found),
                               enrolment=enrolment.enrolment_of(found, current_user), may_learn=True,
                               labels=status_labels(), code_error=error.message), error.status
    if made.status == "requested":
        flash(_("Your request is sent. You can start once it is approved."), "info")
    else:
        flash(_("You are enrolled."), "info")
    return redirect(url_for("training.course", course_id=found.id), code=303)


@bp.route("/courses/<int:course_id>/withdraw", methods=["POST"])
@requires(LEARN)
def withdraw(course_id: int):
    found = _course_or_404(course_id)
    mine = enrolment.enrolment_of(found, current_user)
    if mine is None:
        abort(404)
    enrolment.withdraw(mine)
    flash(_("You have left the course. What you did so far is kept if you come back."), "info")
    return redirect(url_for("training.course", course_id=found.id), code=303)


# -- organisation managers ---------------------------------------------------------------------------


def _organisation_or_404() -> Organisation:
    organisation = organisations.managed_organisation(current_user)
    if organisation is None:
        abort(404)
    return organisation


@bp.route("/organisation")
@requires(ORGANISATION)
def organisation_page():
    organisation = organisations.managed_organisation(current_user)
    if organisation is None:
        return render_template("training/organisation_none.html")
    people = organisations.people(organisation)
    by_person = organisations.enrolments_of([person.id for person in people])
    requests = [item for person in people for item in by_person[person.id] if item.status == "requested"]
    return render_template("training/organisation.html", organisation=organisation, people=people,
                           by_person=by_person, requests=requests, courses=organisations.courses_to_offer(organisation),
                           labels=status_labels())


@bp.route("/organisation/people/<int:user_id>")
@requires(ORGANISATION)
def organisation_person(user_id: int):
    organisation = _organisation_or_404()
    person = organisations.person_or_404(current_user, user_id)
    return render_template("training/organisation_person.html", organisation=organisation, person=person,
                           enrolments=organisations.enrolments_of([person.id])[person.id],
                           courses=organisations.courses_to_offer(organisation), labels=status_labels())


@bp.route("/organisation/enrol", methods=["POST"])
@requires(ORGANISATION)
def organisation_enrol():
    _organisation_or_404()
    person = organisations.person_or_404(current_user, _form_id("person"))
    found = Course.get_or_none(Course.id == _form_id("course"))
    if found is None or not enrolment.may_enrol_as_manager(found, current_user):
        abort(404)
    enrolment.enrol_by(found, person, current_user, "manager")
    flash(_("Enrolled."), "info")
    return redirect(url_for("training.organisation_person", user_id=person.id), code=303)


def _form_id(name: str) -> int:
    value = whole_number(request.form.get(name, ""))
    if value is None:
        abort(404)
    return value


def _enrolment_for_approver(enrolment_id: int) -> Enrolment:
    """An enrolment request the caller may decide: a trainer any, a manager their own people's."""
    from flask import current_app

    found = Enrolment.get_or_none(Enrolment.id == enrolment_id)
    if found is None:
        abort(404)
    if user_has(current_app, current_user, MANAGE):
        return found
    if not organisations.manager_may_approve(current_user, found.user_id):
        abort(404)
    return found


@bp.route("/enrolments/<int:enrolment_id>/approve", methods=["POST"])
@requires(LEARN)  # trainers and organisation managers hold it; who may decide is checked below
def approve(enrolment_id: int):
    found = _enrolment_for_approver(enrolment_id)
    enrolment.approve(found, current_user)
    flash(_("Approved."), "info")
    return redirect(_back(), code=303)


@bp.route("/enrolments/<int:enrolment_id>/decline", methods=["POST"])
@requires(LEARN)
def decline(enrolment_id: int):
    found = _enrolment_for_approver(enrolment_id)
    enrolment.decline(found, current_user)
    flash(_("Declined."), "info")
    return redirect(_back(), code=303)


def _back() -> str:
    target = request.form.get("next", "")
    if target.startswith("/training/") and "//" not in target and "\\" not in target:
        return target
    return url_for("training.index")


# -- trainers: who is on a course -------------------------------------------------------------------------


@bp.route("/manage/courses/<int:course_id>/enrolments", methods=["GET", "POST"])
@requires(MANAGE)
def course_enrolments(course_id: int):
    found = Course.get_or_none(Course.id == course_id)
    if found is None:
        abort(404)
    status, email_error = 200, None
    if request.method == "POST":
        action = request.form.get("action")
        if action == "invite":
            email_error = _invite(found, request.form.get("email", ""))
            if email_error is None:
                return redirect(url_for("training.course_enrolments", course_id=found.id), code=303)
            status = 422
        elif action in ("offer", "withdraw_offer"):
            _offer(found, action)
            return redirect(url_for("training.course_enrolments", course_id=found.id), code=303)
        else:
            abort(400)
    rows = list(Enrolment.select(Enrolment, User).join(User, on=(Enrolment.user == User.id))
                .where(Enrolment.course == found.id).order_by(Enrolment.status, Enrolment.id))
    offered = {row.organisation_id for row in CourseOrganisation.select().where(CourseOrganisation.course == found.id)}
    every = list(Organisation.select().order_by(Organisation.name))
    return render_template("training/course_enrolments.html", course=found, rows=rows, labels=status_labels(),
                           organisations=every, offered=offered, email_error=email_error), status


def _invite(found: Course, email: str) -> str | None:
    """Enrol an existing account by its e-mail address; a message if that cannot be done."""
    try:
        address = normalise_email(email)
    except InvalidIdentifier:
        return _("Please enter a valid email address.")
    person = User.by_email(address)
    if person is None or not person.active:
        return _("No account uses that address. Ask an administrator to invite the person as a learner "
                 "first, then enrol them here.")
    enrolment.enrol_by(found, person, current_user, "invitation")
    flash(_("Enrolled."), "info")
    return None


def _offer(found: Course, action: str) -> None:
    from core.audit import record

    organisation = Organisation.get_or_none(Organisation.id == _form_id("organisation"))
    if organisation is None:
        abort(404)
    with db.atomic():
        if action == "offer":
            CourseOrganisation.insert(course=found.id, organisation=organisation.id).on_conflict_ignore().execute()
            record("training.course_offered", target=f"course:{found.id} organisation:{organisation.id}")
        else:
            CourseOrganisation.delete().where((CourseOrganisation.course == found.id)
                                              & (CourseOrganisation.organisation == organisation.id)).execute()
            record("training.course_offer_withdrawn", target=f"course:{found.id} organisation:{organisation.id}")
    flash(_("Saved."), "info")


@bp.app_template_filter("training_date")
def _date_filter(value) -> str:
    """A date (or the date of a date-time) in the reader's language."""
    import datetime

    from flask_babel import format_date

    if isinstance(value, datetime.datetime):
        value = value.date()
    return format_date(value, "medium") if value else ""
