"""The substance of a case: assessments, outcome measures, the safety and action plans, the
criminal-justice journey and compensation, supervisors' approvals, supervision notes, closure,
client feedback and reopening.

Every change is made inside one transaction that also writes the case's timeline event
(timeline.add_event, kinds listed in event_labels()) and an audit entry (codes and references
only). Free text (assessment notes, the safety plan, goals, crime references, comments, notes,
feedback) is stored in encrypted columns.

For the other casework modules:
- plan_approved(case) and closure_allowed(case): the supervisor's approval gates that
  set_stage checks before a case moves to "active" or "closed";
- shared_safety_plan(case): the newest safety plan version the worker shared with the client;
- issue_feedback_link(case, actor): a one-time address of the public feedback form, for the
  worker to hand over or the client page to show.
"""

from __future__ import annotations

import datetime
import json

from core.audit import record
from core.db import db, lock_row, utcnow
from core.tokens import hash_token, new_token
from plugins.casework import _l
from plugins.casework.models import (
    GOAL_STATUSES,
    JUSTICE_PATHS,
    OUTCOME_POINTS,
    RISK_LEVELS,
    Approval,
    Assessment,
    AssessmentNeed,
    Case,
    CaseEvent,
    CompensationClaim,
    Feedback,
    FeedbackToken,
    Goal,
    JusticeStep,
    OutcomeMeasure,
    SafetyPlan,
    SupervisionNote,
)
from plugins.casework.schemas import (
    CLOSURE_CHECKLIST,
    CLOSURE_REASONS,
    COMPENSATION_STATUSES,
    JUSTICE_STAGES,
    NEEDS_DOMAINS,
    parse_line,
)
from plugins.casework.sections import section
from plugins.casework.timeline import add_event

NEED_LEVELS = ("none", "some", "high")
APPROVAL_DECISIONS = ("approved", "sent_back")
FEEDBACK_LINK_DAYS = 60

# -- labels (all translated when shown) ----------------------------------------------------------------

RISK_LABELS = {"standard": _l("Standard"), "medium": _l("Medium"), "high": _l("High")}
NEED_LABELS = {"none": _l("No need"), "some": _l("Some need"), "high": _l("High need")}
GOAL_LABELS = {"open": _l("In progress"), "met": _l("Met"), "not_met": _l("Not met"),
               "not_applicable": _l("Not applicable")}
JUSTICE_PATH_LABELS = {
    "undecided": _l("Not decided yet"),
    "chose_not_to_report": _l("Chose not to report"),
    "intelligence_only": _l("Shared as intelligence only"),
    "reported": _l("Reported to the police"),
}
POINT_LABELS = {"intake": _l("At the start"), "review": _l("At a review"), "closure": _l("At closure")}
APPROVAL_KIND_LABELS = {"plan": _l("Case plan"), "closure": _l("Closure")}
DECISION_LABELS = {"approved": _l("Approved"), "sent_back": _l("Sent back")}

OUTCOME_QUESTIONS = {
    "feels_safer": _l("I feel safer"),
    "wellbeing": _l("My health and wellbeing are better"),
    "able_to_cope": _l("I feel able to cope"),
    "knows_options": _l("I know my options"),
    "justice_as_wished": _l("I was able to engage with the justice system as much as I wished"),
    "satisfied": _l("I am satisfied with the support"),
}
PREFER_NOT = "prefer_not"
SCORE_LABELS = {"1": _l("1 – not at all"), "2": _l("2"), "3": _l("3"), "4": _l("4"), "5": _l("5 – very much"),
                PREFER_NOT: _l("Prefer not to say")}

# Defaults of the list settings this module reads (plugins/casework/schemas.py, CaseworkSettings).
DEFAULTS = {
    "needs_domains": NEEDS_DOMAINS,
    "justice_stages": JUSTICE_STAGES,
    "compensation_statuses": COMPENSATION_STATUSES,
    "closure_checklist": CLOSURE_CHECKLIST,
    "closure_reasons": CLOSURE_REASONS,
}
REVIEW_REQUEST_DAYS = 90  # victims' right to review: ask within three months of the decision
COMPENSATION_SCHEME = "CICA"


def event_labels() -> dict:
    """The timeline's labels for the events this module writes."""
    return {
        "assessment": _l("Needs and risk assessment"),
        "outcomes": _l("Outcome measures recorded"),
        "safety_plan": _l("Safety plan changed (new version)"),
        "safety_plan_shared": _l("Safety plan shared with the client"),
        "safety_plan_unshared": _l("Safety plan no longer shared with the client"),
        "goal_added": _l("Goal added to the action plan"),
        "goal_status": _l("Goal marked"),
        "justice_path": _l("The client's choice about the police"),
        "justice_step": _l("Criminal-justice step"),
        "compensation": _l("Compensation claim"),
        "approval_requested": _l("Approval asked for"),
        "approval_approved": _l("Approved by a supervisor"),
        "approval_sent_back": _l("Sent back by a supervisor"),
        "closure_prepared": _l("Closure checklist"),
        "closed": _l("Case closed"),
        "reopened": _l("Case reopened"),
        "feedback_link": _l("Feedback link given"),
    }


class PlanError(Exception):
    """Input that cannot be taken: the message is translated and safe to show (the API's 422)."""


class PlanConflict(PlanError):
    """A change the case's state does not allow now (closed, already waiting...): the API's 409."""


# -- settings -------------------------------------------------------------------------------------------


def _configured(name: str) -> list[tuple[str, str]]:
    """(code, label) of a list setting: the instance's lines, else our defaults."""
    from core.settings import plugin_settings

    known = DEFAULTS[name]
    lines = plugin_settings("casework").get(name)
    if not lines:
        return [(code, str(label)) for code, label in known.items()]
    found = []
    for line in lines:
        try:
            code, own = parse_line(line)
        except ValueError:
            continue
        found.append((code, own or str(known.get(code, code))))
    return found


def choices(name: str) -> list[tuple[str, str]]:
    return _configured(name)


def codes(name: str) -> list[str]:
    return [code for code, _label in _configured(name)]


def label(name: str, code: str | None) -> str:
    """The name of a stored code, even one no longer configured."""
    if not code:
        return ""
    for known, text in _configured(name):
        if known == code:
            return text
    return str(DEFAULTS[name].get(code, code))


def setting(name: str, default):
    from core.settings import plugin_settings

    value = plugin_settings("casework").get(name)
    return default if value in (None, "") else value


def _audit(action: str, case: Case, actor) -> None:
    record(action, target=case.target(), actor_id=getattr(actor, "id", actor))


def _locked(case: Case) -> Case:
    """The case's row, locked for a read-decide-write (call inside db.atomic())."""
    lock_row(Case, case.id)
    return Case.get_by_id(case.id)


# -- assessments and outcome measures --------------------------------------------------------------------


def add_assessment(case: Case, actor, risk_level: str, review_on: datetime.date | None, needs: dict,
                   summary: str | None = None) -> Assessment:
    """A new assessment; it becomes the case's risk level and review date.

    `needs` maps a domain code to (level, note); domains not configured are refused.
    """
    if risk_level not in RISK_LEVELS:
        raise PlanError(_l("Please choose a risk level."))
    allowed = codes("needs_domains")
    for domain, (level, _note) in needs.items():
        if domain not in allowed or level not in NEED_LEVELS:
            raise PlanError(_l("Please choose from the options listed."))
    with db.atomic():
        _locked(case)
        assessment = Assessment.create(case=case, by=getattr(actor, "id", actor), risk_level=risk_level,
                                       review_on=review_on, summary=summary or None)
        for domain in allowed:
            if domain in needs:
                level, note = needs[domain]
                AssessmentNeed.create(assessment=assessment, domain=domain, level=level, note=note or None)
        Case.update(risk_level=risk_level, risk_review_on=review_on).where(Case.id == case.id).execute()
        add_event(case, "assessment", actor, risk_level, assessment.id)
        _audit("case.assessment_added", case, actor)
    case.risk_level, case.risk_review_on = risk_level, review_on
    return assessment


def assessments(case: Case) -> list[Assessment]:
    """Newest first, each with its needs."""
    found = list(Assessment.select().where(Assessment.case == case.id)
                 .order_by(Assessment.created_at.desc(), Assessment.id.desc()))
    needs: dict[int, list] = {}
    if found:
        for need in AssessmentNeed.select().where(AssessmentNeed.assessment.in_([a.id for a in found])):
            needs.setdefault(need.assessment_id, []).append(need)
    for assessment in found:
        assessment.need_rows = needs.get(assessment.id, [])
    return found


def clean_answers(raw: dict) -> dict:
    """Outcome answers: each question 1-5 or "prefer_not"; unanswered questions are left out."""
    answers = {}
    for question, value in raw.items():
        if question not in OUTCOME_QUESTIONS:
            raise PlanError(_l("Please choose from the options listed."))
        if value in (None, ""):
            continue
        value = str(value)
        if value not in SCORE_LABELS:
            raise PlanError(_l("Please answer from 1 to 5, or choose “Prefer not to say”."))
        answers[question] = value if value == PREFER_NOT else int(value)
    return answers


def record_outcomes(case: Case, actor, point: str, raw: dict) -> OutcomeMeasure:
    if point not in OUTCOME_POINTS:
        raise PlanError(_l("Please choose from the options listed."))
    answers = clean_answers(raw)
    with db.atomic():
        measure = OutcomeMeasure.create(case=case, point=point, answers=json.dumps(answers, sort_keys=True))
        add_event(case, "outcomes", actor, point, measure.id)
        _audit("case.outcomes_recorded", case, actor)
    return measure


def outcomes(case: Case) -> list[OutcomeMeasure]:
    found = list(OutcomeMeasure.select().where(OutcomeMeasure.case == case.id)
                 .order_by(OutcomeMeasure.created_at, OutcomeMeasure.id))
    for measure in found:
        measure.answer_dict = json.loads(measure.answers or "{}")
    return found


# -- safety plan -------------------------------------------------------------------------------------------


def save_safety_plan(case: Case, actor, content: str, shared_with_client: bool = False) -> SafetyPlan:
    """A new version of the safety plan; earlier versions stay as they were."""
    if not (content or "").strip():
        raise PlanError(_l("Please write the safety plan."))
    with db.atomic():
        _locked(case)
        last = (SafetyPlan.select(SafetyPlan.version).where(SafetyPlan.case == case.id)
                .order_by(SafetyPlan.version.desc()).first())
        plan = SafetyPlan.create(case=case, version=(last.version + 1) if last else 1,
                                 by=getattr(actor, "id", actor), content=content,
                                 shared_with_client=bool(shared_with_client))
        add_event(case, "safety_plan", actor, f"v{plan.version}", plan.id)
        if shared_with_client:
            add_event(case, "safety_plan_shared", actor, f"v{plan.version}", plan.id)
        _audit("case.safety_plan_saved", case, actor)
    return plan


def share_safety_plan(case: Case, actor, version: int, shared: bool) -> SafetyPlan:
    with db.atomic():
        _locked(case)
        plan = SafetyPlan.get_or_none((SafetyPlan.case == case.id) & (SafetyPlan.version == version))
        if plan is None:
            raise PlanError(_l("There is no such version."))
        if plan.shared_with_client != shared:
            SafetyPlan.update(shared_with_client=shared).where(SafetyPlan.id == plan.id).execute()
            plan.shared_with_client = shared
            add_event(case, "safety_plan_shared" if shared else "safety_plan_unshared", actor,
                      f"v{plan.version}", plan.id)
            _audit("case.safety_plan_shared" if shared else "case.safety_plan_unshared", case, actor)
    return plan


def safety_plans(case: Case) -> list[SafetyPlan]:
    """Every version, newest first."""
    return list(SafetyPlan.select().where(SafetyPlan.case == case.id).order_by(SafetyPlan.version.desc()))


def shared_safety_plan(case: Case) -> SafetyPlan | None:
    """For the client page: the newest version the worker shared with the client, or None."""
    return (SafetyPlan.select().where((SafetyPlan.case == case.id) & (SafetyPlan.shared_with_client == True))  # noqa: E712
            .order_by(SafetyPlan.version.desc()).first())


# -- action plan ------------------------------------------------------------------------------------------


def add_goal(case: Case, actor, domain: str, text: str) -> Goal:
    if domain not in codes("needs_domains"):
        raise PlanError(_l("Please choose from the options listed."))
    if not (text or "").strip():
        raise PlanError(_l("Please write the goal."))
    with db.atomic():
        goal = Goal.create(case=case, domain=domain, text=text)
        add_event(case, "goal_added", actor, domain, goal.id)
        _audit("case.goal_added", case, actor)
    return goal


def set_goal_status(case: Case, actor, goal_id: int, status: str) -> Goal:
    if status not in GOAL_STATUSES:
        raise PlanError(_l("Please choose from the options listed."))
    with db.atomic():
        goal = Goal.get_or_none((Goal.id == goal_id) & (Goal.case == case.id))
        if goal is None:
            raise LookupError(goal_id)
        lock_row(Goal, goal.id)
        Goal.update(status=status, updated_at=utcnow()).where(Goal.id == goal.id).execute()
        goal.status = status
        add_event(case, "goal_status", actor, status, goal.id)
        _audit("case.goal_marked", case, actor)
    return goal


def goals(case: Case) -> list[Goal]:
    return list(Goal.select().where(Goal.case == case.id).order_by(Goal.created_at, Goal.id))


# -- the criminal-justice journey and compensation -----------------------------------------------------------


def set_justice_path(case: Case, actor, path: str) -> None:
    """The client's own choice; "chose not to report" and "intelligence only" are complete answers."""
    if path not in JUSTICE_PATHS:
        raise PlanError(_l("Please choose from the options listed."))
    with db.atomic():
        current = _locked(case)
        if current.justice_path != path:
            Case.update(justice_path=path).where(Case.id == case.id).execute()
            add_event(case, "justice_path", actor, path)
            _audit("case.justice_path", case, actor)
    case.justice_path = path


def add_justice_step(case: Case, actor, stage: str, happened_on: datetime.date | None = None,
                     deadline_on: datetime.date | None = None, crime_reference: str | None = None,
                     note: str | None = None) -> JusticeStep:
    """A step of a reported case. After "no further action" the deadline defaults to the last day
    to ask for a victims' right to review (REVIEW_REQUEST_DAYS after the decision)."""
    if stage not in codes("justice_stages"):
        raise PlanError(_l("Please choose from the options listed."))
    with db.atomic():
        current = _locked(case)
        if current.justice_path != "reported":
            raise PlanConflict(_l("Steps are recorded only when the client has chosen to report to the police."))
        if stage == "no_further_action" and deadline_on is None:
            days = int(setting("review_request_days", REVIEW_REQUEST_DAYS))
            deadline_on = (happened_on or datetime.date.today()) + datetime.timedelta(days=days)
        step = JusticeStep.create(case=case, by=getattr(actor, "id", actor), stage=stage, happened_on=happened_on,
                                  deadline_on=deadline_on, crime_reference=crime_reference or None,
                                  note=note or None)
        add_event(case, "justice_step", actor, stage, step.id)
        _audit("case.justice_step", case, actor)
    return step


def justice_steps(case: Case) -> list[JusticeStep]:
    return list(JusticeStep.select().where(JusticeStep.case == case.id)
                .order_by(JusticeStep.happened_on.asc(nulls="LAST"), JusticeStep.id))


def crime_reference(case: Case) -> str | None:
    """The newest crime reference recorded on a step."""
    for step in reversed(justice_steps(case)):
        if step.crime_reference:
            return step.crime_reference
    return None


def save_claim(case: Case, actor, status: str, deadline_on: datetime.date | None = None,
               outcome: str | None = None, claim_id: int | None = None) -> CompensationClaim:
    """Start a compensation claim, or update one (claim_id)."""
    if status not in codes("compensation_statuses"):
        raise PlanError(_l("Please choose from the options listed."))
    with db.atomic():
        if claim_id is None:
            claim = CompensationClaim.create(case=case, status=status, deadline_on=deadline_on,
                                             outcome=outcome or None)
        else:
            claim = CompensationClaim.get_or_none((CompensationClaim.id == claim_id)
                                                  & (CompensationClaim.case == case.id))
            if claim is None:
                raise LookupError(claim_id)
            lock_row(CompensationClaim, claim.id)
            claim.status, claim.deadline_on, claim.outcome, claim.updated_at = (status, deadline_on,
                                                                                outcome or None, utcnow())
            claim.save()
        add_event(case, "compensation", actor, status, claim.id)
        _audit("case.compensation", case, actor)
    return claim


def claims(case: Case) -> list[CompensationClaim]:
    return list(CompensationClaim.select().where(CompensationClaim.case == case.id).order_by(CompensationClaim.id))


def deadlines(case: Case, today: datetime.date | None = None) -> list[dict]:
    """Dates still to come on the journey and the claims, soonest first (what the worker must not miss)."""
    today = today or datetime.date.today()
    found = [{"on": s.deadline_on, "what": label("justice_stages", s.stage)}
             for s in justice_steps(case) if s.deadline_on and s.deadline_on >= today]
    found += [{"on": c.deadline_on, "what": str(_l("Compensation claim"))}
              for c in claims(case) if c.deadline_on and c.deadline_on >= today]
    return sorted(found, key=lambda item: item["on"])


# -- approvals -----------------------------------------------------------------------------------------------


def _since_reopened(case: Case) -> datetime.datetime | None:
    last = (CaseEvent.select(CaseEvent.created_at).where((CaseEvent.case == case.id) & (CaseEvent.kind == "reopened"))
            .order_by(CaseEvent.id.desc()).first())
    return last.created_at if last else None


def latest_approval(case: Case, kind: str) -> Approval | None:
    query = Approval.select().where((Approval.case == case.id) & (Approval.kind == kind))
    since = _since_reopened(case)
    if since is not None:
        query = query.where(Approval.created_at >= since)
    return query.order_by(Approval.id.desc()).first()


def _approved(case: Case, kind: str) -> bool:
    found = latest_approval(case, kind)
    return found is not None and found.decision == "approved"


def plan_approved(case: Case) -> bool:
    """True when a supervisor approved the case plan (since the case was last reopened)."""
    return _approved(case, "plan")


def closure_allowed(case: Case) -> bool:
    """True when a supervisor approved closing the case (since it was last reopened)."""
    return _approved(case, "closure")


def pending_approval(case: Case, kind: str) -> Approval | None:
    found = latest_approval(case, kind)
    return found if found is not None and found.decision is None else None


def request_approval(case: Case, actor, kind: str) -> Approval:
    """The worker asks a supervisor to approve the case plan or the closure."""
    if kind not in APPROVAL_KIND_LABELS:
        raise PlanError(_l("Please choose from the options listed."))
    with db.atomic():
        current = _locked(case)
        if current.stage == "closed":
            raise PlanConflict(_l("This case is closed."))
        if pending_approval(case, kind) is not None:
            raise PlanConflict(_l("This is already waiting for a supervisor."))
        if kind == "closure" and not current.closure_reason:
            raise PlanConflict(_l("Please fill in the closure checklist and reason first."))
        approval = Approval.create(case=case, kind=kind, requested_by=getattr(actor, "id", actor))
        add_event(case, "approval_requested", actor, kind, approval.id)
        _audit(f"case.{kind}_approval_requested", case, actor)
    return approval


def decide(approval_id: int, actor, decision: str, comment: str | None = None) -> Approval:
    """A supervisor approves, or sends back with a comment the worker sees.

    Approving a case plan moves a case in assessment or plan to "active"; approving a closure
    closes the case. A supervisor does not decide on their own request.
    """
    if decision not in APPROVAL_DECISIONS:
        raise PlanError(_l("Please choose from the options listed."))
    if decision == "sent_back" and not (comment or "").strip():
        raise PlanError(_l("Please say what needs to change, so the worker knows."))
    with db.atomic():
        approval = Approval.get_or_none(Approval.id == approval_id)
        if approval is None:
            raise LookupError(approval_id)
        case = _locked(approval.case)
        lock_row(Approval, approval.id)
        approval = Approval.get_by_id(approval.id)
        if approval.decision is not None:
            raise PlanConflict(_l("A supervisor has already decided on this."))
        if approval.requested_by_id == getattr(actor, "id", actor):
            raise PlanConflict(_l("Another supervisor needs to decide on a request you made yourself."))
        approval.decision, approval.decided_at = decision, utcnow()
        approval.decided_by, approval.comment = getattr(actor, "id", actor), (comment or None)
        approval.save()
        add_event(case, f"approval_{decision}", actor, approval.kind, approval.id)
        _audit(f"case.{approval.kind}_{decision}", case, actor)
        if decision == "approved" and approval.kind == "plan" and case.stage in ("new", "assessment", "plan"):
            _move(case, actor, "active")
        elif decision == "approved" and approval.kind == "closure":
            _close(case, actor)
    return approval


def approval_queue():
    """Requests waiting for a supervisor, oldest first."""
    return (Approval.select(Approval, Case).join(Case).where(Approval.decision.is_null())
            .order_by(Approval.created_at, Approval.id))


def approvals(case: Case) -> list[Approval]:
    return list(Approval.select().where(Approval.case == case.id).order_by(Approval.id.desc()))


def _move(case: Case, actor, stage: str, **changes) -> None:
    Case.update(stage=stage, stage_changed_at=utcnow(), **changes).where(Case.id == case.id).execute()
    add_event(case, "stage", actor, stage)
    case.stage = stage


# -- closure, feedback and reopening ----------------------------------------------------------------------------


def prepare_closure(case: Case, actor, checklist: list[str], reason: str, note: str | None = None) -> None:
    """The closure checklist, reason and note, for the supervisor to see with the request."""
    allowed = codes("closure_checklist")
    if any(code not in allowed for code in checklist):
        raise PlanError(_l("Please choose from the options listed."))
    if reason not in codes("closure_reasons"):
        raise PlanError(_l("Please choose a reason."))
    ticked = [code for code in allowed if code in checklist]
    with db.atomic():
        current = _locked(case)
        if current.stage == "closed":
            raise PlanConflict(_l("This case is closed."))
        Case.update(closure_checklist=json.dumps(ticked), closure_reason=reason,
                    closure_note=note or None).where(Case.id == case.id).execute()
        if current.stage != "closing":
            _move(case, actor, "closing")
        add_event(case, "closure_prepared", actor, reason)
        _audit("case.closure_prepared", case, actor)
    case.closure_checklist, case.closure_reason, case.closure_note = json.dumps(ticked), reason, note or None


def close_case(case: Case, actor) -> None:
    """Close the case; refused (PlanError) until a supervisor approved the closure."""
    with db.atomic():
        current = _locked(case)
        if current.stage == "closed":
            raise PlanConflict(_l("This case is closed."))
        if not closure_allowed(current):
            raise PlanConflict(_l("A supervisor needs to approve the closure first."))
        _close(case, actor)


def _close(case: Case, actor) -> None:
    now = utcnow()
    _move(case, actor, "closed", closed_at=now)
    add_event(case, "closed", actor, Case.get_by_id(case.id).closure_reason or "")
    _audit("case.closed", case, actor)
    case.closed_at = now


def reopen(case: Case, actor) -> None:
    """Back to assessment; earlier approvals no longer count."""
    with db.atomic():
        current = _locked(case)
        if current.stage != "closed":
            raise PlanConflict(_l("Only a closed case can be reopened."))
        _move(case, actor, "assessment", closed_at=None, reopened_count=Case.reopened_count + 1)
        add_event(case, "reopened", actor, str(current.reopened_count + 1))
        _audit("case.reopened", case, actor)
    case.reopened_count = current.reopened_count + 1
    case.closed_at = None


def issue_feedback_link(case: Case, actor) -> str:
    """A one-time token for the public feedback form (/casework/feedback/<token>).

    The token row names no case: the feedback it lets in cannot be traced to the case or worker.
    The case's timeline only says that a link was given.
    """
    token = new_token(nbytes=24)
    with db.atomic():
        FeedbackToken.create(token_hash=hash_token(token),
                             expires_at=utcnow() + datetime.timedelta(days=FEEDBACK_LINK_DAYS))
        add_event(case, "feedback_link", actor)
        _audit("case.feedback_link", case, actor)
    return token


def feedback_token_valid(token: str) -> bool:
    if not token or len(token) > 64:
        return False
    return FeedbackToken.select().where((FeedbackToken.token_hash == hash_token(token))
                                        & (FeedbackToken.expires_at > utcnow())).exists()


def give_feedback(token: str, raw: dict, comment: str | None = None, today: datetime.date | None = None) -> bool:
    """Store a client's feedback with only the month; the token is used up. False for a bad token."""
    answers = clean_answers(raw)
    today = today or datetime.date.today()
    with db.atomic():
        used = (FeedbackToken.delete().where((FeedbackToken.token_hash == hash_token(token or ""))
                                             & (FeedbackToken.expires_at > utcnow())).execute())
        if not used:
            return False
        Feedback.create(month=today.replace(day=1), answers=json.dumps(answers, sort_keys=True),
                        comment=comment or None)
    return True


# -- supervision notes ---------------------------------------------------------------------------------------------


def add_supervision_note(supervisor, worker_id: int, note: str, case: Case | None = None) -> SupervisionNote:
    if not (note or "").strip():
        raise PlanError(_l("Please write the note."))
    with db.atomic():
        found = SupervisionNote.create(supervisor=getattr(supervisor, "id", supervisor), worker=worker_id,
                                       case=case.id if case else None, note=note)
        record("casework.supervision_note", target=f"user:{worker_id}", actor_id=getattr(supervisor, "id", supervisor))
    return found


def supervision_notes(worker_id: int) -> list[SupervisionNote]:
    return list(SupervisionNote.select().where(SupervisionNote.worker == worker_id)
                .order_by(SupervisionNote.created_at.desc(), SupervisionNote.id.desc()))


# -- the case page's sections -------------------------------------------------------------------------------------


def _may_change(case: Case) -> bool:
    return case.stage != "closed"


@section("assessment", order=40)
def assessment_section(case: Case, user) -> dict:
    found = assessments(case)
    return {"latest": found[0] if found else None, "count": len(found), "outcomes": outcomes(case),
            "domains": dict(choices("needs_domains")), "risk_labels": RISK_LABELS, "need_labels": NEED_LABELS,
            "questions": OUTCOME_QUESTIONS, "scores": SCORE_LABELS, "points": POINT_LABELS,
            "review_due": bool(case.risk_review_on and case.risk_review_on <= datetime.date.today()),
            "may_change": _may_change(case)}


@section("plans", order=50)
def plans_section(case: Case, user) -> dict:
    plans = safety_plans(case)
    return {"safety_plan": plans[0] if plans else None, "versions": len(plans), "goals": goals(case),
            "domains": dict(choices("needs_domains")), "goal_labels": GOAL_LABELS,
            "plan_approval": latest_approval(case, "plan"), "plan_approved": plan_approved(case),
            "kind_labels": APPROVAL_KIND_LABELS, "decision_labels": DECISION_LABELS,
            "may_change": _may_change(case)}


@section("justice", order=60)
def justice_section(case: Case, user) -> dict:
    return {"path_labels": JUSTICE_PATH_LABELS, "steps": justice_steps(case), "claims": claims(case),
            "stage_labels": dict(choices("justice_stages")), "statuses": dict(choices("compensation_statuses")),
            "deadlines": deadlines(case), "scheme": setting("compensation_scheme", COMPENSATION_SCHEME),
            "may_change": _may_change(case)}


@section("closure", order=90)
def closure_section(case: Case, user) -> dict:
    return {"checklist": choices("closure_checklist"), "reasons": dict(choices("closure_reasons")),
            "ticked": case.checklist, "closure_approval": latest_approval(case, "closure"),
            "closure_allowed": closure_allowed(case), "decision_labels": DECISION_LABELS,
            "feedback_days": FEEDBACK_LINK_DAYS}
