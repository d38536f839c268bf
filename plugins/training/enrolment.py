"""Enrolment: who may see a course, and the ways onto it.

A course is open to anyone who may learn, needs a code the trainer gives out, is by invitation
(a trainer names the person), or is offered by organisation managers to their own people
(CourseOrganisation). With `needs_approval` an enrolment starts as "requested" until the
person's organisation manager or a trainer approves it. Enrolment codes are kept only as a keyed
hash (core's blind index), like core's one-time links; a wrong code is refused without saying
more. Every write runs in db.atomic(); a change to an existing enrolment locks its row first.
"""

from __future__ import annotations

from core.db import db, lock_row, utcnow
from core.organisations import OrganisationMember, organisation_of
from core.permissions import user_has
from core.tokens import hash_token, verify
from plugins.training import _
from plugins.training.models import Course, CourseOrganisation, Enrolment

CODE_KIND = "training-enrolment-code"
MIN_CODE, MAX_CODE = 4, 64
LIVE = ("requested", "active", "completed")  # an enrolment that still counts


class EnrolmentError(Exception):
    """A refusal the person can act on: a translated message, and the field it concerns."""

    def __init__(self, message: str, field: str = "_schema", status: int = 422):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


# -- codes ----------------------------------------------------------------------------------------


def normalise_code(code: str) -> str:
    """Codes are read out and typed on phones: case and spaces do not matter."""
    return "".join((code or "").split()).casefold()


def code_hash(code: str) -> str:
    return hash_token(normalise_code(code), CODE_KIND)


def set_enrolment_code(course: Course, code: str | None) -> None:
    """Set (or with an empty code, clear) the course's enrolment code; call inside the caller's
    transaction. Raises AuthoringError (the course settings form's error) for a code that does
    not fit."""
    from plugins.training.authoring import AuthoringError

    cleaned = normalise_code(code or "")
    if not cleaned:
        course.enrolment_code_hash = None
    elif not MIN_CODE <= len(cleaned) <= MAX_CODE:
        raise AuthoringError(_("An enrolment code needs %(min)d to %(max)d letters or digits.",
                               min=MIN_CODE, max=MAX_CODE), "enrolment_code")
    else:
        course.enrolment_code_hash = code_hash(cleaned)
    Course.update(enrolment_code_hash=course.enrolment_code_hash).where(Course.id == course.id).execute()


def code_matches(course: Course, code: str | None) -> bool:
    return verify(normalise_code(code), course.enrolment_code_hash, CODE_KIND)


# -- who sees what ----------------------------------------------------------------------------------


def is_trainer(user) -> bool:
    from flask import current_app

    return user_has(current_app, user, "training.manage")


def offered_to(course: Course, organisation_id: int | None) -> bool:
    if organisation_id is None:
        return False
    return CourseOrganisation.select().where((CourseOrganisation.course == course.id)
                                             & (CourseOrganisation.organisation == organisation_id)).exists()


def enrolment_of(course: Course, user) -> Enrolment | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Enrolment.get_or_none((Enrolment.course == course.id) & (Enrolment.user == user.id))


def visible_courses(user) -> list[Course]:
    """Published courses the caller may see: open and code courses to everyone; invitation and
    manager courses to the people enrolled on them and (manager courses) to the people of the
    organisations they are offered to. Trainers see every published course."""
    query = Course.select().where(Course.status == "published")
    signed_in = getattr(user, "is_authenticated", False)
    if not (signed_in and is_trainer(user)):
        shown = Course.enrolment.in_(("open", "code"))
        if signed_in:
            mine = Enrolment.select(Enrolment.course).where(Enrolment.user == user.id)
            shown |= Course.id.in_(mine)
            organisation = organisation_of(user)
            if organisation is not None:
                offered = (CourseOrganisation.select(CourseOrganisation.course)
                           .where(CourseOrganisation.organisation == organisation.id))
                shown |= (Course.enrolment == "manager") & Course.id.in_(offered)
        query = query.where(shown)
    return list(query.order_by(Course.title, Course.id))


def may_see(course: Course, user) -> bool:
    if course.status != "published":
        return bool(getattr(user, "is_authenticated", False) and is_trainer(user))
    return any(found.id == course.id for found in visible_courses(user))


# -- enrolling ----------------------------------------------------------------------------------------


def _start(course: Course, user, mode: str, enrolled_by=None, approved: bool = False) -> Enrolment:
    """Create or revive the person's enrolment; call inside db.atomic(). Approval is skipped when
    the course needs none, or when an approver (manager, trainer) enrols the person."""
    status = "requested" if course.needs_approval and not approved else "active"
    existing = Enrolment.get_or_none((Enrolment.course == course.id) & (Enrolment.user == user.id))
    now = utcnow()
    approver = enrolled_by if status == "active" and course.needs_approval else None
    if existing is not None:
        lock_row(Enrolment, existing.id)
        existing = Enrolment.get_by_id(existing.id)
        if existing.status in LIVE:
            return existing
        Enrolment.update(status=status, enrolled_by=enrolled_by.id if enrolled_by else user.id,
                         approved_by=approver.id if approver else None, approved_at=now if approver else None,
                         completed_at=None).where(Enrolment.id == existing.id).execute()
        return Enrolment.get_by_id(existing.id)
    return Enrolment.create(course=course.id, user=user.id, status=status,
                            enrolled_by=enrolled_by.id if enrolled_by else user.id,
                            approved_by=approver.id if approver else None, approved_at=now if approver else None)


def enrol_self(course: Course, user, code: str | None = None) -> Enrolment:
    """The learner enrols: open courses, and code courses with the right code. Raises
    EnrolmentError (404 for a course they may not see, 422 for a wrong code)."""
    from core.audit import record

    if course.status != "published" or not may_see(course, user):
        raise EnrolmentError(_("This course does not exist."), status=404)
    existing = enrolment_of(course, user)
    if existing is not None and existing.status in LIVE:
        return existing
    if course.enrolment == "code":
        if not code_matches(course, code):
            raise EnrolmentError(_("That enrolment code is not right. Please check it with your trainer."),
                                 "code")
    elif course.enrolment != "open" and existing is None:
        raise EnrolmentError(_("You can join this course only when a trainer or your organisation's manager "
                               "enrols you."), status=403)
    with db.atomic():
        enrolment = _start(course, user, course.enrolment)
        record("training.enrolled", target=f"enrolment:{enrolment.id} course:{course.id}")
    return enrolment


def enrol_by(course: Course, person, actor, mode: str) -> Enrolment:
    """A trainer (invitation) or an organisation manager (manager) enrols someone; no approval
    is needed after that."""
    from core.audit import record

    with db.atomic():
        enrolment = _start(course, person, mode, enrolled_by=actor, approved=True)
        record(f"training.enrolled_by_{mode}", target=f"enrolment:{enrolment.id} course:{course.id}")
    return enrolment


def approve(enrolment: Enrolment, actor) -> Enrolment:
    from core.audit import record

    with db.atomic():
        lock_row(Enrolment, enrolment.id)
        current = Enrolment.get_by_id(enrolment.id)
        if current.status != "requested":
            return current
        Enrolment.update(status="active", approved_by=actor.id, approved_at=utcnow()).where(
            Enrolment.id == current.id).execute()
        record("training.enrolment_approved", target=f"enrolment:{current.id}")
    return Enrolment.get_by_id(enrolment.id)


def decline(enrolment: Enrolment, actor) -> Enrolment:
    from core.audit import record

    with db.atomic():
        lock_row(Enrolment, enrolment.id)
        current = Enrolment.get_by_id(enrolment.id)
        if current.status != "requested":
            return current
        Enrolment.update(status="withdrawn").where(Enrolment.id == current.id).execute()
        record("training.enrolment_declined", target=f"enrolment:{current.id}")
    return Enrolment.get_by_id(enrolment.id)


def withdraw(enrolment: Enrolment) -> Enrolment:
    """The learner leaves (or withdraws a request). What they did is kept; enrolling again
    brings it back. A completed course stays completed."""
    from core.audit import record

    with db.atomic():
        lock_row(Enrolment, enrolment.id)
        current = Enrolment.get_by_id(enrolment.id)
        if current.status not in ("requested", "active"):
            return current
        Enrolment.update(status="withdrawn").where(Enrolment.id == current.id).execute()
        record("training.enrolment_withdrawn", target=f"enrolment:{current.id}")
    return Enrolment.get_by_id(enrolment.id)


def may_enrol_as_manager(course: Course, manager) -> bool:
    """A manager may enrol their people on published courses offered to their organisation, and
    on open ones."""
    organisation = organisation_of(manager)
    if organisation is None or course.status != "published":
        return False
    return course.enrolment == "open" or offered_to(course, organisation.id)


def same_organisation(first, second_id: int) -> bool:
    organisation = organisation_of(first)
    if organisation is None:
        return False
    return OrganisationMember.select().where((OrganisationMember.user == second_id)
                                             & (OrganisationMember.organisation == organisation.id)).exists()
