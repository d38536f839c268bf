"""When an account is erased (core.accounts.erasure): what casework deletes and keeps.

A closed case is normally kept six years (docs/modules/casework.md, Retention), so that a
client's later claim, complaint or court case can draw on it. That duty is to the client, and the
client is the one asking for erasure, so their choice wins; what the service must still be able
to show its funders is counts, never a person. For every referral and case whose CLIENT is the
account:

- deleted: the contact log, tasks, messages, assessments, safety plans, goals, the justice
  journey, compensation claims, appointments, referrals to other services and the record of what
  was shared, consents, approvals, the supervision notes about the case, break-glass entries, the
  links to reports;
- cleared on the case and the referral: the account link, the receipt, the working and legal
  names, every way and time to reach them, language, region, what they said would help, staff
  notes on the decline and the closure, reminders, the risk review date;
- kept, with no name: the case's reference, stage, dates, worker and supervisor, closure reason,
  the client's choice about the police, the risk level code, the timeline (codes only, never free
  text) and the outcome measures (scores of 1 to 5): the funders' returns are counted from these,
  with every count under 5 hidden. Client feedback was never linked to a case or a person.

A referral still waiting is marked withdrawn, so it leaves the queue. A case still open stays open
for its worker, with a timeline entry "The client deleted their account and their data": closing
it follows the usual approval.

Where the account is STAFF (a caseworker, a supervisor, a partner who referred someone), the cases
stay and no longer name it: a case it worked on has no worker until a supervisor gives it to
someone; its break-glass entries go.

Idempotent: a second call finds nothing linked to the account.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from plugins.casework import _l

ERASED_EVENT = "client_erased"


def event_labels() -> dict:
    """The timeline kind this module writes (plugins/casework/timeline.py merges every module's)."""
    return {ERASED_EVENT: _l("The client deleted their account and their data")}


@hookimpl
def account_erased(app, user_id):
    from core.accounts.erasure import unlink_account
    from plugins.casework.models import MODELS, Case, Referral

    case_ids = [row.id for row in Case.select(Case.id).where(Case.client == user_id)]
    referral_ids = [row.id for row in Referral.select(Referral.id).where(Referral.client == user_id)]
    if case_ids:
        _empty_cases(case_ids)
    if referral_ids:
        _empty_referrals(referral_ids)
    unlink_account(MODELS, user_id)


def _empty_cases(case_ids: list[int]) -> None:
    from core.db import utcnow
    from plugins.casework.models import (
        Appointment,
        Approval,
        Assessment,
        BreakGlass,
        Case,
        CaseEvent,
        CaseMessage,
        CaseReport,
        ClientConsent,
        CompensationClaim,
        Contact,
        Disclosure,
        Goal,
        JusticeStep,
        ReferralOut,
        SafetyPlan,
        SupervisionNote,
        Task,
    )

    for model in (Disclosure, ReferralOut, Contact, Task, CaseMessage, Assessment, SafetyPlan, Goal, JusticeStep,
                  CompensationClaim, Appointment, ClientConsent, Approval, SupervisionNote, BreakGlass, CaseReport):
        model.delete().where(model.case.in_(case_ids)).execute()
    CaseEvent.update(row_id=None).where(CaseEvent.case.in_(case_ids)).execute()
    now = utcnow()
    Case.update(
        client=None, working_name=None, legal_name=None, contact_method=None, contact=None, safe_times=None,
        may_leave_message=None, language=None, region=None, reminders_agreed_at=None, reminder_channel=None,
        risk_review_on=None, closure_note=None, updated_at=now,
    ).where(Case.id.in_(case_ids)).execute()
    CaseEvent.insert_many([{"case": case_id, "kind": ERASED_EVENT, "created_at": now}
                           for case_id in case_ids]).execute()


def _empty_referrals(referral_ids: list[int]) -> None:
    from core.db import utcnow
    from plugins.casework.models import Referral

    Referral.update(status="withdrawn", decided_at=utcnow()).where(
        Referral.id.in_(referral_ids) & (Referral.status == "open")).execute()
    Referral.update(
        client=None, receipt_hash=None, receipt_cost=None, working_name=None, contact_method=None, contact=None,
        safe_times=None, may_leave_message=None, language=None, region=None, needs=None, decline_note=None,
        report_id=None, report_reference=None,
    ).where(Referral.id.in_(referral_ids)).execute()
