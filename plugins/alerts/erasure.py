"""When an account is erased (core.accounts.erasure): what the alerts plugin deletes and keeps.

Deleted: the account's alert settings (channels, regions, text-message number), its place in the
alert list ("new since your last visit"), every message to it in the outbox (sent or not: a
pending one is never sent), its number checks (the daily counts, the check records and any
warning about its checks).

Kept: published alerts and notices, as they are: every word in them was written by a moderator,
never copied from a report. A report of the account's that a published (or corrected) alert was
written from is kept by the reporting plugin without any link to the account
(plugins/reporting/erasure.py, `keep_anonymised`); this hook runs FIRST (`tryfirst`) to say which.
The account's other reports are then deleted by the reporting plugin, so their places on the
moderators' list of candidates and as sources of draft or withdrawn alerts go here.

Where the account only acted (wrote, reviewed, changed or published an alert, made a partner feed
token, closed a check warning), the record stays and no longer names it.

Idempotent: a second call finds nothing linked to the account.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl(tryfirst=True)
def account_erased(app, user_id):
    from core import throttle
    from core.accounts.erasure import unlink_account
    from plugins.alerts.check import CHECKS
    from plugins.alerts.models import (
        MODELS,
        VISIBLE_STATUSES,
        Alert,
        AlertSource,
        Candidate,
        CheckEvent,
        CheckWarning,
        Delivery,
        Subscription,
    )
    from plugins.alerts.unread import Reader
    from plugins.reporting.erasure import keep_anonymised
    from plugins.reporting.models import Report

    own = [row.id for row in Report.select(Report.id).where(
        (Report.reporter == user_id) & (Report.on_behalf == False))]  # noqa: E712
    if own:
        needed = {row.report_id for row in AlertSource.select(AlertSource.report_id).join(Alert).where(
            AlertSource.report_id.in_(own) & Alert.status.in_(VISIBLE_STATUSES))}
        keep_anonymised(needed)
        going = [report_id for report_id in own if report_id not in needed]
        if going:
            AlertSource.delete().where(AlertSource.report_id.in_(going)).execute()
            Candidate.delete().where(Candidate.report_id.in_(going)).execute()

    Delivery.delete().where(Delivery.user == user_id).execute()
    Subscription.delete().where(Subscription.user == user_id).execute()  # its regions go with it
    Reader.delete().where(Reader.user == user_id).execute()
    throttle.forget(CHECKS, f"user:{user_id}")
    CheckEvent.delete().where(CheckEvent.account_id == user_id).execute()
    CheckWarning.delete().where(CheckWarning.account_id == user_id).execute()
    CheckWarning.update(resolved_by=None).where(CheckWarning.resolved_by == user_id).execute()
    unlink_account([*MODELS, Reader], user_id)
