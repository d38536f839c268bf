"""Organisation managers: they see and manage only their own organisation's people.

A manager (role organisation_manager, permission training.organisation) is a member of one
organisation (core.organisations); everyone else in it is "their people". Anyone outside it does
not exist as far as the manager's pages are concerned (404), the same answer as a wrong number.
"""

from __future__ import annotations

from flask import abort, current_app

from core.accounts.models import User
from core.organisations import Organisation, OrganisationMember, organisation_of
from core.permissions import user_has
from plugins.training.models import Course, CourseOrganisation, Enrolment

MANAGE = "training.organisation"


def is_manager(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user_has(current_app, user, MANAGE)


def managed_organisation(manager) -> Organisation | None:
    """The organisation a manager manages: their own (None if they belong to none)."""
    return organisation_of(manager) if is_manager(manager) else None


def manager_may_approve(manager, user) -> bool:
    """Whether `manager` is an organisation manager of the organisation `user` belongs to (and
    not approving for themselves). Session bookings and enrolment requests use this."""
    if manager is None or user is None or getattr(manager, "id", None) == getattr(user, "id", None):
        return False
    organisation = managed_organisation(manager)
    if organisation is None:
        return False
    user_id = user if isinstance(user, int) else user.id
    return OrganisationMember.select().where((OrganisationMember.user == user_id)
                                             & (OrganisationMember.organisation == organisation.id)).exists()


def people(organisation: Organisation) -> list[User]:
    return list(User.select().join(OrganisationMember, on=(OrganisationMember.user == User.id))
                .where(OrganisationMember.organisation == organisation.id)
                .order_by(User.working_name, User.id))


def person_or_404(manager, user_id: int) -> User:
    """One of the manager's people; anyone else is a 404."""
    organisation = managed_organisation(manager)
    if organisation is None:
        abort(404)
    found = (User.select().join(OrganisationMember, on=(OrganisationMember.user == User.id))
             .where((User.id == user_id) & (OrganisationMember.organisation == organisation.id)).first())
    if found is None:
        abort(404)
    return found


def enrolments_of(user_ids: list[int]) -> dict[int, list[Enrolment]]:
    found: dict[int, list[Enrolment]] = {user_id: [] for user_id in user_ids}
    if user_ids:
        for enrolment in (Enrolment.select(Enrolment, Course).join(Course)
                          .where(Enrolment.user.in_(user_ids)).order_by(Course.title, Enrolment.id)):
            found[enrolment.user_id].append(enrolment)
    return found


def courses_to_offer(organisation: Organisation) -> list[Course]:
    """Published courses a manager may enrol their people on: open ones and those offered to the
    organisation."""
    offered = CourseOrganisation.select(CourseOrganisation.course).where(
        CourseOrganisation.organisation == organisation.id)
    return list(Course.select().where((Course.status == "published")
                                      & ((Course.enrolment == "open") | Course.id.in_(offered)))
                .order_by(Course.title, Course.id))
