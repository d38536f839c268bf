"""Trainers' pages for writing courses, under /training/author/ (permission training.manage).

Every change goes through authoring.py (one transaction, audited, the version raised when a
published course changes). Nothing here needs JavaScript; every form carries its CSRF token.
Any trainer may edit any course: trainers write courses together.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.i18n import language_name
from core.permissions import requires
from plugins.training import _, _l, authoring
from plugins.training.authoring import AuthoringError, StatusConflict
from plugins.training.models import Course, CourseTrainer, Lesson, LessonFile, Module

MANAGE = "training.manage"

bp = Blueprint("training_author", __name__, url_prefix="/training/author")


def completion_choices():
    return [SelectChoice("all", _l("Every lesson, quiz and session")),
            SelectChoice("chosen", _l("Only the lessons, quizzes and sessions marked as counting"))]


def enrolment_choices():
    return [SelectChoice("open", _l("Open: anyone who may take training enrols")),
            SelectChoice("code", _l("With an enrolment code")),
            SelectChoice("invitation", _l("By invitation")),
            SelectChoice("manager", _l("By an organisation manager"))]


def language_choices(current: str | None = None):
    codes = list(current_app.config["LOCALES"])
    if current and current not in codes:
        codes.append(current)
    return [SelectChoice(code, language_name(code)) for code in codes]


class CourseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Please give the course a title.")),
                                                 Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000)])
    language = SelectField(_l("Language"))
    hours = IntegerField(_l("Hours (shown on the certificate)"), default=0,
                         validators=[InputRequired(message=_l("Please give a number of hours.")),
                                     NumberRange(min=0, max=authoring.MAX_HOURS)])
    completion_rule = RadioField(_l("The course is complete when the learner has done"), default="all")
    certificate_valid_days = IntegerField(_l("Certificates stay valid for (days, optional)"),
                                          validators=[Optional(), NumberRange(min=1, max=authoring.MAX_VALID_DAYS)])
    enrolment = SelectField(_l("How people enrol"), default="open")
    enrolment_code = StringField(_l("Enrolment code (optional)"), validators=[Optional(), Length(max=64)])
    needs_approval = BooleanField(_l("A trainer or organisation manager approves each enrolment"))

    def setup(self, course: Course | None = None):
        self.language.choices = language_choices(course.language if course else None)
        self.completion_rule.choices = completion_choices()
        self.enrolment.choices = enrolment_choices()
        return self

    def values(self) -> dict:
        return {"title": self.title.data, "summary": self.summary.data or "", "language": self.language.data,
                "hours": self.hours.data or 0, "completion_rule": self.completion_rule.data,
                "certificate_valid_days": self.certificate_valid_days.data, "enrolment": self.enrolment.data,
                "needs_approval": bool(self.needs_approval.data),
                "enrolment_code": (self.enrolment_code.data or "").strip() or None}


class TitleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Please give it a title.")),
                                                 Length(max=200)])


class LessonForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Please give the lesson a title.")),
                                                 Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=100_000)])
    video_url = StringField(_l("Video link (optional)"), validators=[Optional(), Length(max=500)])
    counts_for_completion = BooleanField(_l("Counts towards completing the course"), default=True)

    def values(self) -> dict:
        return {"title": self.title.data, "body": self.body.data or "", "video_url": self.video_url.data,
                "counts_for_completion": bool(self.counts_for_completion.data)}


class TrainerForm(FlaskForm):
    credited_name = StringField(_l("Name to credit (a working name is fine)"),
                                validators=[DataRequired(message=_l("Please give the name to credit.")),
                                            Length(max=120)])
    lived_experience = BooleanField(_l("Co-trainer with lived experience of sex work"))
    is_me = BooleanField(_l("This is me (link the credit to my account)"))


class TranslationForm(FlaskForm):
    language = SelectField(_l("Language of the new version"))


class EmptyForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


# -- helpers ------------------------------------------------------------------------------------------------


def _me():
    return current_user._get_current_object()


def _course(course_id: int) -> Course:
    found = Course.get_or_none(Course.id == course_id)
    if found is None:
        abort(404)
    return found


def _get(model, row_id: int):
    found = model.get_or_none(model.id == row_id)
    if found is None:
        abort(404)
    return found


def _to_course(course_id: int, anchor: str = ""):
    return redirect(url_for("training_author.course", course_id=course_id) + (f"#{anchor}" if anchor else ""), 303)


def _form_error(form, error: AuthoringError) -> None:
    target = getattr(form, error.field, None)
    if target is None:
        flash(error.message, "error")
    else:
        target.errors = [*target.errors, error.message]


def _render(template: str, status: int = 200, **context):
    return render_template(f"training/author/{template}", **context), status


def course_page_context(course: Course, **extra) -> dict:
    translation = TranslationForm()
    taken = {member.language for member in authoring.family(course)}
    translation.language.choices = [c for c in language_choices() if c.value not in taken]
    return {"course": course, "outline": authoring.outline(course), "trainers": authoring.trainers_of(course),
            "family": authoring.family(course), "module_form": extra.pop("module_form", None) or TitleForm(),
            "trainer_form": extra.pop("trainer_form", None) or TrainerForm(),
            "translation_form": extra.pop("translation_form", None) or translation,
            "button": EmptyForm(), "language_name": language_name, **extra}


# -- courses ------------------------------------------------------------------------------------------------


@bp.route("/")
@requires(MANAGE)
def index():
    return _render("index.html", courses=list(authoring.courses_for_authors()), language_name=language_name)


@bp.route("/courses/new", methods=["GET", "POST"])
@requires(MANAGE)
def new_course():
    form = CourseForm().setup()
    if request.method == "GET":
        form.language.data = current_app.config["DEFAULT_LOCALE"]
    if form.validate_on_submit():
        try:
            course = authoring.create_course(_me(), form.values())
        except AuthoringError as exc:
            _form_error(form, exc)
        else:
            flash(_("The course is saved as a draft. Add modules and lessons, then publish it."), "success")
            return _to_course(course.id)
    return _render("course_form.html", 422 if request.method == "POST" else 200, form=form, course=None)


@bp.route("/courses/<int:course_id>")
@requires(MANAGE)
def course(course_id: int):
    return _render("course.html", **course_page_context(_course(course_id)))


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@requires(MANAGE)
def edit_course(course_id: int):
    found = _course(course_id)
    form = CourseForm(obj=found if request.method == "GET" else None).setup(found)
    if request.method == "GET":
        form.enrolment_code.data = ""
    if form.validate_on_submit():
        try:
            authoring.update_course(found, _me(), form.values())
        except AuthoringError as exc:
            _form_error(form, exc)
        else:
            flash(_("The course is saved."), "success")
            return _to_course(found.id)
    return _render("course_form.html", 422 if request.method == "POST" else 200, form=form, course=found)


@bp.route("/courses/<int:course_id>/status", methods=["POST"])
@requires(MANAGE)
def course_status(course_id: int):
    found = _course(course_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    try:
        changed = authoring.set_status(found, _me(), action)
    except AuthoringError as exc:
        flash(exc.message, "error")
        return _render("course.html", 409 if isinstance(exc, StatusConflict) else 422,
                       **course_page_context(found))
    messages = {"published": _("The course is published: learners can find it in the catalogue."),
                "draft": _("The course is back to a draft: learners cannot open it until it is published again."),
                "archived": _("The course is archived: it is no longer offered; enrolled learners can still read it.")}
    flash(messages[changed.status], "success")
    return _to_course(found.id)


# -- modules ------------------------------------------------------------------------------------------------


@bp.route("/courses/<int:course_id>/modules", methods=["POST"])
@requires(MANAGE)
def add_module(course_id: int):
    found = _course(course_id)
    form = TitleForm()
    if form.validate_on_submit():
        try:
            module = authoring.add_module(found, _me(), form.title.data)
        except AuthoringError as exc:
            _form_error(form, exc)
        else:
            flash(_("The module is added."), "success")
            return _to_course(found.id, f"module-{module.id}")
    return _render("course.html", 422, **course_page_context(found, module_form=form))


@bp.route("/modules/<int:module_id>", methods=["GET", "POST"])
@requires(MANAGE)
def module(module_id: int):
    found = _get(Module, module_id)
    form = TitleForm(obj=found if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            authoring.rename_module(found, _me(), form.title.data)
        except AuthoringError as exc:
            _form_error(form, exc)
        else:
            flash(_("The module is saved."), "success")
            return _to_course(found.course_id, f"module-{found.id}")
    return _render("module.html", 422 if request.method == "POST" else 200, form=form, module=found,
                   course=found.course, button=EmptyForm())


@bp.route("/modules/<int:module_id>/move", methods=["POST"])
@requires(MANAGE)
def move_module(module_id: int):
    found = _get(Module, module_id)
    if not EmptyForm().validate_on_submit() or request.form.get("direction") not in ("up", "down"):
        abort(400)
    authoring.move_module(found, _me(), request.form["direction"])
    return _to_course(found.course_id, f"module-{found.id}")


@bp.route("/modules/<int:module_id>/delete", methods=["GET", "POST"])
@requires(MANAGE)
def delete_module(module_id: int):
    found = _get(Module, module_id)
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        course_id = found.course_id
        authoring.delete_module(found, _me())
        flash(_("The module and its lessons are deleted."), "success")
        return _to_course(course_id)
    return _render("delete.html", form=form, course=found.course, what=_("the module “%(title)s” and its lessons",
                                                                         title=found.title),
                   action=url_for("training_author.delete_module", module_id=found.id))


# -- lessons ------------------------------------------------------------------------------------------------


@bp.route("/modules/<int:module_id>/lessons/new", methods=["GET", "POST"])
@requires(MANAGE)
def new_lesson(module_id: int):
    found = _get(Module, module_id)
    form = LessonForm()
    if form.validate_on_submit():
        try:
            lesson = authoring.add_lesson(found, _me(), form.values())
        except AuthoringError as exc:
            _form_error(form, exc)
        else:
            flash(_("The lesson is added. You can add files to it below."), "success")
            return redirect(url_for("training_author.lesson", lesson_id=lesson.id), 303)
    return _render("lesson_form.html", 422 if request.method == "POST" else 200, form=form, module=found,
                   course=found.course, lesson=None)


def _lesson_page(found: Lesson, form: LessonForm, status: int = 200):
    return _render("lesson_form.html", status, form=form, module=found.module, course=found.module.course,
                   lesson=found, files=authoring.files_of(found), button=EmptyForm(),
                   max_mb=authoring.MAX_FILE_BYTES // (1024 * 1024))


@bp.route("/lessons/<int:lesson_id>", methods=["GET", "POST"])
@requires(MANAGE)
def lesson(lesson_id: int):
    found = _get(Lesson, lesson_id)
    form = LessonForm(obj=found if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            authoring.update_lesson(found, _me(), form.values())
        except AuthoringError as exc:
            _form_error(form, exc)
        else:
            flash(_("The lesson is saved."), "success")
            return redirect(url_for("training_author.lesson", lesson_id=found.id), 303)
    return _lesson_page(found, form, 422 if request.method == "POST" else 200)


@bp.route("/lessons/<int:lesson_id>/move", methods=["POST"])
@requires(MANAGE)
def move_lesson(lesson_id: int):
    found = _get(Lesson, lesson_id)
    if not EmptyForm().validate_on_submit() or request.form.get("direction") not in ("up", "down"):
        abort(400)
    authoring.move_lesson(found, _me(), request.form["direction"])
    return _to_course(found.module.course_id, f"lesson-{found.id}")


@bp.route("/lessons/<int:lesson_id>/delete", methods=["GET", "POST"])
@requires(MANAGE)
def delete_lesson(lesson_id: int):
    found = _get(Lesson, lesson_id)
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        course_id = found.module.course_id
        authoring.delete_lesson(found, _me())
        flash(_("The lesson is deleted."), "success")
        return _to_course(course_id)
    return _render("delete.html", form=form, course=found.module.course,
                   what=_("the lesson “%(title)s”", title=found.title),
                   action=url_for("training_author.delete_lesson", lesson_id=found.id))


@bp.route("/lessons/<int:lesson_id>/files", methods=["POST"])
@requires(MANAGE)
def add_file(lesson_id: int):
    found = _get(Lesson, lesson_id)
    form = LessonForm(obj=found, formdata=None)
    if not EmptyForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Please choose a file first."), "error")
        return _lesson_page(found, form, 422)
    try:
        authoring.add_file(found, _me(), upload.filename, upload.read(authoring.MAX_FILE_BYTES + 1))
    except AuthoringError as exc:
        flash(exc.message, "error")
        return _lesson_page(found, form, 422)
    flash(_("The file is added."), "success")
    return redirect(url_for("training_author.lesson", lesson_id=found.id) + "#files", 303)


@bp.route("/files/<int:file_id>/delete", methods=["POST"])
@requires(MANAGE)
def delete_file(file_id: int):
    found = _get(LessonFile, file_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    lesson_id = found.lesson_id
    authoring.delete_file(found, _me())
    flash(_("The file is removed."), "success")
    return redirect(url_for("training_author.lesson", lesson_id=lesson_id) + "#files", 303)


# -- trainers credited and other languages ------------------------------------------------------------------


@bp.route("/courses/<int:course_id>/trainers", methods=["POST"])
@requires(MANAGE)
def add_trainer(course_id: int):
    found = _course(course_id)
    form = TrainerForm()
    if form.validate_on_submit():
        try:
            authoring.add_trainer(found, _me(), form.credited_name.data, form.lived_experience.data,
                                  account_id=_me().id if form.is_me.data else None)
        except AuthoringError as exc:
            _form_error(form, exc)
        else:
            flash(_("The trainer is credited."), "success")
            return _to_course(found.id, "trainers")
    return _render("course.html", 422, **course_page_context(found, trainer_form=form))


@bp.route("/trainers/<int:trainer_id>/delete", methods=["POST"])
@requires(MANAGE)
def remove_trainer(trainer_id: int):
    found = _get(CourseTrainer, trainer_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    course_id = found.course_id
    authoring.remove_trainer(found, _me())
    flash(_("The credit is removed."), "success")
    return _to_course(course_id, "trainers")


@bp.route("/courses/<int:course_id>/translations", methods=["POST"])
@requires(MANAGE)
def add_translation(course_id: int):
    found = _course(course_id)
    context = course_page_context(found)
    form = context["translation_form"]
    if form.validate_on_submit():
        try:
            copy = authoring.add_translation(found, _me(), form.language.data)
        except AuthoringError as exc:
            _form_error(form, exc)
            return _render("course.html", 409 if isinstance(exc, StatusConflict) else 422, **context)
        flash(_("A draft in %(language)s is ready: translate its title, modules and lessons, then publish it.",
                language=language_name(copy.language)), "success")
        return _to_course(copy.id)
    return _render("course.html", 422, **context)
