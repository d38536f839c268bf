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


def event_labels() -> dict:
    """Every casework module's timeline labels merged: {kind: lazy label}.

    Each module that writes events defines `event_labels()`; plugins/casework/hooks.py imports
    them all, so every one is found here. A kind no module labels is shown by its code.
    """
    import sys

    merged: dict = {}
    for name in sorted(sys.modules):
        module = sys.modules[name]
        if not name.startswith("plugins.casework.") or name == __name__ or module is None:
            continue
        labels = getattr(module, "event_labels", None)
        if callable(labels):
            merged.update(labels())
    return merged
