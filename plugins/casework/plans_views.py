"""Pages for the substance of a case (plans.py), under /casework/: the assessment, outcome measures,
safety plan, action plan, justice journey, compensation, approvals, closure and reopening; the
supervisors' approval queue and supervision notes; and the client's public feedback form.

Every case page gets its case through access.case_for (404 for anyone who may not see it, the view
audited). Nothing here needs JavaScript; every form carries its CSRF token.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from core.accounts.models import User
from core.form_fields import CheckboxesField
from core.permissions import PUBLIC, requires, user_has
from plugins.casework import _, _l, plans
from plugins.casework.access import CASES, SUPERVISE, case_for, is_supervisor
from plugins.casework.models import GOAL_STATUSES, JUSTICE_PATHS, OUTCOME_POINTS, RISK_LEVELS, Approval, Case

bp = Blueprint("casework_plans", __name__, url_prefix="/casework")

MAX_TEXT = 10_000
MAX_SHORT = 200


def _options(name: str) -> list[SelectChoice]:
    """The options of one of the instance's lists (plans.choices gives them as (code, label) pairs)."""
    return [SelectChoice(code, label) for code, label in plans.choices(name)]


def _text(label, required: bool = False, max_length: int = MAX_TEXT, message=None):
    checks = [DataRequired(message=message or _l("Please fill this in."))] if required else [Optional()]
    return TextAreaField(label, validators=[*checks, Length(max=max_length)])


# -- forms ---------------------------------------------------------------------------------------------


def assessment_form(domains: list[tuple[str, str]], formdata=None):
    class AssessmentForm(FlaskForm):
        risk_level = RadioField(_l("Risk level"),
                                choices=[SelectChoice(code, plans.RISK_LABELS[code]) for code in RISK_LEVELS],
                                validators=[DataRequired(message=_l("Please choose a risk level."))])
        review_on = DateField(_l("Review the risk by"), validators=[Optional()])
        summary = _text(_l("Summary (optional)"))

    levels = [SelectChoice("", _l("Not assessed"))] + [SelectChoice(k, v) for k, v in plans.NEED_LABELS.items()]
    for code, name in domains:
        setattr(AssessmentForm, f"level_{code}", SelectField(name, choices=levels, default=""))
        setattr(AssessmentForm, f"note_{code}", _text(_l("Notes on %(domain)s", domain=name)))
    return AssessmentForm(formdata=formdata) if formdata is not None else AssessmentForm()


def outcomes_form(point_choices=None, formdata=None):
    class OutcomesForm(FlaskForm):
        point = SelectField(_l("When"), choices=point_choices or [
            SelectChoice(p, plans.POINT_LABELS[p]) for p in OUTCOME_POINTS])

    scores = [SelectChoice(score, label) for score, label in plans.SCORE_LABELS.items()]
    for code, question in plans.OUTCOME_QUESTIONS.items():
        setattr(OutcomesForm, code, RadioField(question, choices=scores, validators=[Optional()]))
    return OutcomesForm(formdata=formdata) if formdata is not None else OutcomesForm()


def feedback_form():
    class FeedbackForm(FlaskForm):
        comment = TextAreaField(_l("Anything else you would like to tell us (optional)"),
                                validators=[Optional(), Length(max=5000)])

    scores = [SelectChoice(score, label) for score, label in plans.SCORE_LABELS.items()]
    for code, question in plans.OUTCOME_QUESTIONS.items():
        setattr(FeedbackForm, code, RadioField(question, choices=scores, validators=[Optional()]))
    return FeedbackForm()


class SafetyPlanForm(FlaskForm):
    content = _text(_l("Safety plan"), required=True, message=_l("Please write the safety plan."))
    shared_with_client = BooleanField(_l("Share this version with the client on their page"))


class ShareForm(FlaskForm):
    shared = HiddenField()


class GoalForm(FlaskForm):
    domain = SelectField(_l("Area of need"))
    text = _text(_l("Goal"), required=True, max_length=2000, message=_l("Please write the goal."))


class GoalStatusForm(FlaskForm):
    status = SelectField(_l("Mark as"), choices=[SelectChoice(s, plans.GOAL_LABELS[s]) for s in GOAL_STATUSES])


class JusticePathForm(FlaskForm):
    path = RadioField(_l("What the client has chosen"),
                      choices=[SelectChoice(p, plans.JUSTICE_PATH_LABELS[p]) for p in JUSTICE_PATHS])


class JusticeStepForm(FlaskForm):
    stage = SelectField(_l("Step"))
    happened_on = DateField(_l("Date"), validators=[Optional()])
    deadline_on = DateField(_l("Deadline"), validators=[Optional()])
    crime_reference = StringField(_l("Crime reference number"), validators=[Optional(), Length(max=MAX_SHORT)])
    note = _text(_l("Notes"))


class ClaimForm(FlaskForm):
    status = SelectField(_l("Status"))
    deadline_on = DateField(_l("Deadline to apply"), validators=[Optional()])
    outcome = _text(_l("Outcome"), max_length=2000)


class ClosureForm(FlaskForm):
    checklist = CheckboxesField(_l("Before closing"))
    reason = SelectField(_l("Why the case is closing"))
    note = _text(_l("Closing note (optional)"))


class DecisionForm(FlaskForm):
    comment = _text(_l("Comment for the worker"), max_length=5000)


class SupervisionNoteForm(FlaskForm):
    case_reference = StringField(_l("About case (optional reference)"), validators=[Optional(), Length(max=16)])
    note = _text(_l("Supervision note"), required=True, message=_l("Please write the note."))


class EmptyForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


# -- helpers ----------------------------------------------------------------------------------------------


def case_url(case: Case) -> str:
    """The case page (c1's casework.case), or the case list while there is none."""
    try:
        return url_for("casework.case", reference=case.reference)
    except BuildError:
        return url_for("casework.index")


def _case(reference: str, audit: str | None = "case.viewed") -> Case:
    return case_for(reference, current_user, audit=audit)


def _open_case(reference: str) -> Case:
    """A case that may still be changed (not closed); changes are audited by the service."""
    case = _case(reference, audit=None)
    if case.stage == "closed":
        abort(409)
    return case


def _me():
    return current_user._get_current_object()


def _done(case: Case, message, anchor: str = ""):
    flash(message, "success")
    return redirect(case_url(case) + (f"#{anchor}" if anchor else ""))


def _render(template: str, status: int = 200, **context):
    return render_template(f"casework/plans/{template}", plans=plans, case_url=case_url, **context), status


@bp.app_template_filter("plans_date")
def plans_date(value) -> str:
    from flask_babel import format_date

    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return format_date(value, "medium")


# -- assessment and outcome measures --------------------------------------------------------------------------


@bp.route("/cases/<reference>/assessment", methods=["GET", "POST"])
@requires(CASES)
def assessment(reference: str):
    case = _case(reference) if request.method == "GET" else _open_case(reference)
    domains = plans.choices("needs_domains")
    form = assessment_form(domains)
    if request.method == "POST":
        if form.validate_on_submit():
            needs = {code: (form[f"level_{code}"].data, form[f"note_{code}"].data) for code, _name in domains
                     if form[f"level_{code}"].data}
            try:
                plans.add_assessment(case, _me(), form.risk_level.data, form.review_on.data, needs,
                                     form.summary.data)
            except plans.PlanError as exc:
                form.risk_level.errors = [str(exc)]
            else:
                return _done(case, _("The assessment is saved."), "section-assessment")
        return _render("assessment.html", 422, case=case, form=form, domains=domains,
                       history=plans.assessments(case))
    return _render("assessment.html", case=case, form=form, domains=domains, history=plans.assessments(case))


@bp.route("/cases/<reference>/outcomes", methods=["GET", "POST"])
@requires(CASES)
def outcome_measures(reference: str):
    case = _case(reference) if request.method == "GET" else _open_case(reference)
    form = outcomes_form()
    if request.method == "GET":
        form.point.data = "closure" if case.stage == "closing" else ("intake" if not plans.outcomes(case) else "review")
    if request.method == "POST":
        if form.validate_on_submit():
            raw = {code: form[code].data for code in plans.OUTCOME_QUESTIONS}
            plans.record_outcomes(case, _me(), form.point.data, raw)
            return _done(case, _("The answers are saved."), "section-assessment")
        return _render("outcomes.html", 422, case=case, form=form, history=plans.outcomes(case))
    return _render("outcomes.html", case=case, form=form, history=plans.outcomes(case))


# -- safety plan and action plan ------------------------------------------------------------------------------


@bp.route("/cases/<reference>/safety-plan", methods=["GET", "POST"])
@requires(CASES)
def safety_plan(reference: str):
    case = _case(reference) if request.method == "GET" else _open_case(reference)
    versions = plans.safety_plans(case)
    form = SafetyPlanForm()
    if request.method == "GET" and versions:
        form.content.data = versions[0].content
        form.shared_with_client.data = versions[0].shared_with_client
    if request.method == "POST":
        if form.validate_on_submit():
            plans.save_safety_plan(case, _me(), form.content.data, form.shared_with_client.data)
            return _done(case, _("The safety plan is saved as a new version."), "section-plans")
        return _render("safety_plan.html", 422, case=case, form=form, versions=versions)
    return _render("safety_plan.html", case=case, form=form, versions=versions)


@bp.route("/cases/<reference>/safety-plan/<int:version>")
@requires(CASES)
def safety_plan_version(reference: str, version: int):
    case = _case(reference)
    found = next((plan for plan in plans.safety_plans(case) if plan.version == version), None)
    if found is None:
        abort(404)
    return _render("safety_plan_version.html", case=case, plan=found, form=ShareForm())


@bp.route("/cases/<reference>/safety-plan/<int:version>/share", methods=["POST"])
@requires(CASES)
def share_safety_plan(reference: str, version: int):
    case = _open_case(reference)
    form = ShareForm()
    if not form.validate_on_submit():
        abort(400)
    shared = form.shared.data == "yes"
    try:
        plans.share_safety_plan(case, _me(), version, shared)
    except plans.PlanError:
        abort(404)
    return _done(case, _("The client can now see this version on their page.") if shared
                 else _("The client no longer sees this version."), "section-plans")


@bp.route("/cases/<reference>/goals", methods=["GET", "POST"])
@requires(CASES)
def goals(reference: str):
    case = _case(reference) if request.method == "GET" else _open_case(reference)
    form = GoalForm()
    form.domain.choices = _options("needs_domains")
    if request.method == "POST":
        if form.validate_on_submit():
            plans.add_goal(case, _me(), form.domain.data, form.text.data)
            return _done(case, _("The goal is added to the action plan."), "section-plans")
        return _render("goals.html", 422, case=case, form=form, goals=plans.goals(case),
                       status_form=GoalStatusForm(formdata=None))
    return _render("goals.html", case=case, form=form, goals=plans.goals(case),
                   status_form=GoalStatusForm(formdata=None))


@bp.route("/cases/<reference>/goals/<int:goal_id>", methods=["POST"])
@requires(CASES)
def goal_status(reference: str, goal_id: int):
    case = _open_case(reference)
    form = GoalStatusForm()
    if not form.validate_on_submit():
        abort(422)
    try:
        plans.set_goal_status(case, _me(), goal_id, form.status.data)
    except LookupError:
        abort(404)
    return _done(case, _("The goal is marked."), "section-plans")


# -- justice journey and compensation -------------------------------------------------------------------------


def _justice_page(case: Case, status: int = 200, path_form=None, step_form=None):
    path_form = path_form or JusticePathForm(formdata=None, data={"path": case.justice_path})
    step_form = step_form or JusticeStepForm(formdata=None)
    step_form.stage.choices = _options("justice_stages")
    return _render("justice.html", status, case=case, path_form=path_form, step_form=step_form,
                   steps=plans.justice_steps(case), stage_labels=dict(plans.choices("justice_stages")),
                   deadlines=plans.deadlines(case))


@bp.route("/cases/<reference>/justice", methods=["GET", "POST"])
@requires(CASES)
def justice(reference: str):
    if request.method == "GET":
        return _justice_page(_case(reference))
    case = _open_case(reference)
    form = JusticePathForm()
    if not form.validate_on_submit():
        return _justice_page(case, 422, path_form=form)
    plans.set_justice_path(case, _me(), form.path.data)
    return _done(case, _("The client's choice is saved."), "section-justice")


@bp.route("/cases/<reference>/justice/steps", methods=["POST"])
@requires(CASES)
def justice_step(reference: str):
    case = _open_case(reference)
    form = JusticeStepForm()
    form.stage.choices = _options("justice_stages")
    if form.validate_on_submit():
        try:
            plans.add_justice_step(case, _me(), form.stage.data, form.happened_on.data, form.deadline_on.data,
                                   form.crime_reference.data, form.note.data)
        except plans.PlanError as exc:
            form.stage.errors = [str(exc)]
        else:
            return _done(case, _("The step is added."), "section-justice")
    return _justice_page(case, 422, step_form=form)


@bp.route("/cases/<reference>/compensation", methods=["GET", "POST"])
@requires(CASES)
def compensation(reference: str):
    case = _case(reference) if request.method == "GET" else _open_case(reference)
    form = ClaimForm()
    form.status.choices = _options("compensation_statuses")
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            plans.save_claim(case, _me(), form.status.data, form.deadline_on.data, form.outcome.data)
            return _done(case, _("The claim is saved."), "section-justice")
        status = 422
    edits = []
    for claim in plans.claims(case):
        edit = ClaimForm(formdata=None, prefix=f"c{claim.id}", data={
            "status": claim.status, "deadline_on": claim.deadline_on, "outcome": claim.outcome})
        edit.status.choices = _options("compensation_statuses")
        edits.append((claim, edit))
    return _render("compensation.html", status, case=case, form=form, edits=edits,
                   scheme=plans.setting("compensation_scheme", plans.COMPENSATION_SCHEME))


@bp.route("/cases/<reference>/compensation/<int:claim_id>", methods=["POST"])
@requires(CASES)
def compensation_update(reference: str, claim_id: int):
    case = _open_case(reference)
    form = ClaimForm(prefix=f"c{claim_id}")
    form.status.choices = _options("compensation_statuses")
    if not form.validate_on_submit():
        abort(422)
    try:
        plans.save_claim(case, _me(), form.status.data, form.deadline_on.data, form.outcome.data, claim_id=claim_id)
    except LookupError:
        abort(404)
    return _done(case, _("The claim is saved."), "section-justice")


# -- approvals ---------------------------------------------------------------------------------------------------


@bp.route("/cases/<reference>/approval/<any(plan, closure):kind>", methods=["POST"])
@requires(CASES)
def request_approval(reference: str, kind: str):
    case = _open_case(reference)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        plans.request_approval(case, _me(), kind)
    except plans.PlanError as exc:
        flash(str(exc), "error")
        return redirect(case_url(case))
    return _done(case, _("A supervisor has been asked to approve it."), "section-closure" if kind == "closure"
                 else "section-plans")


@bp.route("/approvals")
@requires(SUPERVISE)
def approval_queue():
    waiting = list(plans.approval_queue())
    return _render("approvals.html", waiting=waiting)


@bp.route("/approvals/<int:approval_id>", methods=["GET", "POST"])
@requires(SUPERVISE)
def approval(approval_id: int):
    found = Approval.get_or_none(Approval.id == approval_id)
    if found is None:
        abort(404)
    case = case_for(found.case.reference, current_user, audit="case.viewed")
    form = DecisionForm()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        decision = "approved" if request.form.get("decision") == "approve" else "sent_back"
        try:
            plans.decide(found.id, _me(), decision, form.comment.data)
        except plans.PlanError as exc:
            form.comment.errors = [str(exc)]
            status = 422
        else:
            flash(_("Approved.") if decision == "approved" else _("Sent back to the worker with your comment."),
                  "success")
            return redirect(url_for("casework_plans.approval_queue"))
    elif request.method == "POST":
        status = 422
    context = {
        "approval": found, "case": case, "form": form, "goals": plans.goals(case),
        "assessment": (plans.assessments(case) or [None])[0], "safety_plan": (plans.safety_plans(case) or [None])[0],
        "checklist": plans.choices("closure_checklist"), "reasons": dict(plans.choices("closure_reasons")),
        "domains": dict(plans.choices("needs_domains")),
    }
    return _render("approval.html", status, **context)


# -- closure, feedback and reopening ---------------------------------------------------------------------------


@bp.route("/cases/<reference>/closure", methods=["GET", "POST"])
@requires(CASES)
def closure(reference: str):
    case = _case(reference) if request.method == "GET" else _open_case(reference)
    form = ClosureForm()
    form.checklist.choices = _options("closure_checklist")
    form.reason.choices = [SelectChoice("", _("Choose a reason"))] + _options("closure_reasons")
    if request.method == "GET":
        form.checklist.data = case.checklist
        form.reason.data = case.closure_reason or ""
        form.note.data = case.closure_note
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                plans.prepare_closure(case, _me(), form.checklist.data or [], form.reason.data, form.note.data)
            except plans.PlanError as exc:
                form.reason.errors = [str(exc)]
            else:
                return _done(case, _("The closure checklist is saved. Ask a supervisor to approve the closure when "
                                     "you are ready."), "section-closure")
        status = 422
    return _render("closure.html", status, case=case, form=form)


@bp.route("/cases/<reference>/close", methods=["POST"])
@requires(CASES)
def close(reference: str):
    case = _open_case(reference)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        plans.close_case(case, _me())
    except plans.PlanError as exc:
        flash(str(exc), "error")
        return redirect(case_url(case) + "#section-closure"), 303
    return _done(case, _("The case is closed."), "section-closure")


@bp.route("/cases/<reference>/reopen", methods=["POST"])
@requires(CASES)
def reopen(reference: str):
    case = _case(reference, audit=None)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        plans.reopen(case, _me())
    except plans.PlanError:
        abort(409)
    return _done(case, _("The case is open again, back at assessment."))


@bp.route("/cases/<reference>/feedback-link", methods=["POST"])
@requires(CASES)
def feedback_link(reference: str):
    case = _case(reference, audit=None)
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = plans.issue_feedback_link(case, _me())
    return _render("feedback_link.html", case=case, link=url_for("casework_plans.feedback", token=token,
                                                                   _external=True))


@bp.route("/feedback/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def feedback(token: str):
    """The client's feedback form: the one-time link is the only key; nothing ties it to a case."""
    if not plans.feedback_token_valid(token):
        return render_template("casework/plans/feedback_gone.html"), 404
    form = feedback_form()
    if request.method == "POST" and form.validate_on_submit():
        answers = {code: form[code].data for code in plans.OUTCOME_QUESTIONS}
        if plans.give_feedback(token, answers, form.comment.data):
            return render_template("casework/plans/feedback_thanks.html")
        return render_template("casework/plans/feedback_gone.html"), 404
    status = 422 if request.method == "POST" else 200
    return render_template("casework/plans/feedback.html", form=form,
                           questions=plans.OUTCOME_QUESTIONS), status


# -- supervision notes (supervisors only, kept apart from the case file) ----------------------------------------


def _workers() -> list[User]:
    from flask import current_app

    found = []
    for user in User.select().order_by(User.id):
        if user_has(current_app, user, CASES):
            found.append(user)
    return found


@bp.route("/supervision")
@requires(SUPERVISE)
def supervision():
    return _render("supervision.html", workers=_workers())


@bp.route("/supervision/<int:worker_id>", methods=["GET", "POST"])
@requires(SUPERVISE)
def supervision_worker(worker_id: int):
    worker = next((user for user in _workers() if user.id == worker_id), None)
    if worker is None:
        abort(404)
    form = SupervisionNoteForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            case = None
            if form.case_reference.data:
                case = Case.get_or_none(Case.reference == form.case_reference.data.strip().upper())
                if case is None:
                    form.case_reference.errors = [_("There is no case with this reference.")]
            if not form.case_reference.errors:
                plans.add_supervision_note(_me(), worker.id, form.note.data, case)
                flash(_("The note is saved."), "success")
                return redirect(url_for("casework_plans.supervision_worker", worker_id=worker.id))
        status = 422
    from core.audit import record

    record("casework.supervision_viewed", target=f"user:{worker.id}", actor_id=current_user.id)
    return _render("supervision_worker.html", status, worker=worker, form=form,
                   notes=plans.supervision_notes(worker.id), supervisor=is_supervisor(current_user))
