"""The case's timeline: one row per thing that happened, written by whatever made it happen."""

from __future__ import annotations

from core.db import utcnow
from plugins.casework.models import Case, CaseEvent


def add_event(case: Case, kind: str, actor=None, detail: str = "", row_id: int | None = None) -> CaseEvent:
    """Record that something happened on the case. `kind` and `detail` are codes, never personal data.

    Call it inside the transaction that made the change, so the timeline and the case agree.
    """
    Case.update(updated_at=utcnow()).where(Case.id == case.id).execute()
    return CaseEvent.create(case=case, kind=kind, detail=detail, row_id=row_id,
                            actor=getattr(actor, "id", actor))


def events(case: Case) -> list[CaseEvent]:
    """Newest first."""
    return list(CaseEvent.select().where(CaseEvent.case == case.id).order_by(CaseEvent.created_at.desc(),
                                                                             CaseEvent.id.desc()))
