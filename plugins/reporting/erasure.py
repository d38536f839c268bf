"""When an account is erased (core.accounts.erasure): what happens to the reports it sent.

- A report the account sent for ITSELF is deleted with everything on it (the people described,
  their identifiers, consents, messages, pictures), unless a published alert was written from it.
  The alerts plugin says which ones a published alert needs, before this runs (its hook is
  `tryfirst`), by calling `keep_anonymised`: such a report stays, so the team can still stand by
  the alert, but it is no longer linked to the account, and what is about the reporter rather than
  the incident goes: the receipt, the place, how and when to reach them for support, their
  language, the messages with them and the pictures they sent. What happened (the narrative, the
  date, the region, the people who did harm and their identifiers), the consents it was published
  under and the team's own notes stay.
- A report the account sent ON BEHALF of someone else (a partner's) is that person's report, not
  the account's: it stays as it is and only loses the link to the account.
- Where the account only acted on reports (a moderator's notes, a withdrawn consent, a research
  export asked for or approved), the record stays and no longer names it.
- An unsent draft is not linked to any account (the browser's session holds its key); when the
  person erases their own account, the draft of the session they do it from is deleted too, and any
  other expires within hours (`purge_drafts`).

Idempotent: a second call finds nothing linked to the account.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


def keep_anonymised(report_ids) -> None:
    """Keep these reports (a published alert needs them) with nothing that leads to their reporter."""
    from plugins.reporting.models import Attachment, Report, ReportMessage

    ids = list(report_ids)
    if not ids:
        return
    Report.update(
        reporter=None, receipt_hash=None, receipt_cost=None, receipt_expires_at=None, location=None,
        support_contact=None, support_safe_times=None, support_contact_method=None,
        support_may_leave_message=None, language=None,
    ).where(Report.id.in_(ids)).execute()
    ReportMessage.delete().where(ReportMessage.report.in_(ids) & (ReportMessage.kind != "note")).execute()
    Attachment.delete().where(Attachment.report.in_(ids) & (Attachment.from_reporter == True)).execute()  # noqa: E712


@hookimpl
def account_erased(app, user_id):
    from core.accounts.erasure import unlink_account
    from plugins.reporting.models import MODELS, Consent, Report

    # Reports sent for someone else stay theirs; only the link to this account goes.
    Report.update(reporter=None).where((Report.reporter == user_id) & (Report.on_behalf == True)).execute()  # noqa: E712
    # The account's own reports that no published alert needs (those were unlinked already).
    Report.delete().where(Report.reporter == user_id).execute()  # cascades to everything on them
    Consent.update(withdrawn_by_user_id=None).where(Consent.withdrawn_by_user_id == user_id).execute()
    unlink_account(MODELS, user_id)
    _forget_own_draft(user_id)


def _forget_own_draft(user_id: int) -> None:
    """The draft report of the browser session the person erases their own account from."""
    from flask import has_request_context, session
    from flask_login import current_user

    if not has_request_context() or getattr(current_user, "id", None) != user_id:
        return
    from core.tokens import hash_token
    from plugins.reporting.models import Draft
    from plugins.reporting.wizard import SESSION_KEY

    key = session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        Draft.delete().where(Draft.key_hash == hash_token(key)).execute()
