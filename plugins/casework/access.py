"""Who may open a case, decided in one place and audited on every view.

A case is seen by its worker and by casework supervisors. Anyone else with casework access who
needs it (cover while a worker is away) breaks the glass: states a reason, which supervisors see,
and gets the case for a limited time. To everyone else a case that exists answers exactly as one
that does not (404), so nobody learns who is being supported.
"""

from __future__ import annotations

import datetime

from flask import abort, current_app

from core.audit import record
from core.db import db, utcnow
from core.permissions import user_has
from plugins.casework.models import BreakGlass, Case

CASES = "casework.cases"  # work on cases: caseworkers and supervisors
SUPERVISE = "casework.supervise"  # see every case, approve plans and closures: supervisors
BREAK_GLASS_HOURS = 8


def is_supervisor(user) -> bool:
    return user_has(current_app, user, SUPERVISE)


def glass_broken(case: Case, user) -> bool:
    return (
        BreakGlass.select()
        .where((BreakGlass.case == case.id) & (BreakGlass.user == user.id) & (BreakGlass.expires_at > utcnow()))
        .exists()
    )


def may_see(case: Case, user) -> bool:
    if not user_has(current_app, user, CASES):
        return False
    return case.worker_id == user.id or is_supervisor(user) or glass_broken(case, user)


def case_for(reference: str, user, audit: str | None = "case.viewed") -> Case:
    """The case with this reference if `user` may see it, else 404; the view is audited (no content)."""
    found = Case.get_or_none(Case.reference == (reference or "").upper())
    if found is None or not may_see(found, user):
        abort(404)
    if audit:
        record(audit, target=found.target(), actor_id=user.id)
    return found


def visible_cases(user):
    """The cases `user` works on; every case for a supervisor."""
    query = Case.select()
    if is_supervisor(user):
        return query
    return query.where(Case.worker == user.id)


def break_glass(reference: str, user, reason: str) -> Case | None:
    """Open a case that is not the user's for BREAK_GLASS_HOURS, with the reason recorded for supervisors.

    Returns None (the caller answers 404) if there is no such case, or the user has no casework access.
    """
    found = Case.get_or_none(Case.reference == (reference or "").upper())
    if found is None or not user_has(current_app, user, CASES):
        return None
    with db.atomic():
        BreakGlass.create(case=found, user=user.id, reason=reason,
                          expires_at=utcnow() + datetime.timedelta(hours=BREAK_GLASS_HOURS))
        record("case.break_glass", target=found.target(), actor_id=user.id)
    return found
