"""Queue tasks of the reporting plugin. Their arguments are record ids only: no report text,
receipt or contact detail ever sits in the queue's storage."""

from __future__ import annotations

import logging

from core.mail import (
    MAIL_RETRIES,
    MAIL_RETRY_DELAY,
    MailError,
    external_url,
    render_message,
    send_message,
    send_messages,
    tracked,
)
from core.queue import crontab, periodic_task, task

log = logging.getLogger("redumbrella.reporting")


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked  # queued with core.mail.queue_mail: a notice a killed worker was sending is sent again
def notify_moderators(report_id: int) -> int:
    """Email each moderator that a report is waiting (no content, a neutral subject); returns how many.
    Whether they need telling was decided when it was queued (plugins/reporting/notices.py)."""

    from core.accounts.models import User, UserRole
    from plugins.reporting import domain
    from plugins.reporting.models import Report

    report = Report.get_or_none(Report.id == report_id)
    if report is None:
        return 0
    moderators = (
        User.select().join(UserRole).where((UserRole.role == "moderator") & (User.active == True))  # noqa: E712
    )
    domain.as_default()
    try:
        link = external_url("reporting_moderate.queue")
    except MailError:
        link = ""
    messages = [
        render_message(user.email, "reporting/mail/new_report.txt", user.locale, link=link, urgent=report.urgency == 2)
        for user in moderators
        if user.email
    ]
    if not messages:
        return 0
    try:
        results = send_messages(messages)
    except MailError:
        log.warning("moderator notice not sent", extra={"event": "mail_failed", "plugin": "reporting"})
        raise
    sent = sum(1 for result in results if result is None)
    log.info("moderators notified", extra={"event": "moderators_notified", "plugin": "reporting", "count": sent})
    return sent


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def notify_reporter(report_id: int) -> bool:
    """Tell a reporter with an account that our team wrote to them: a neutral subject, no content."""
    from core.accounts.models import User
    from plugins.reporting import domain
    from plugins.reporting.models import Report

    report = Report.get_or_none(Report.id == report_id)
    if report is None or report.reporter_id is None:
        return False
    user = User.get_or_none(User.id == report.reporter_id)
    if user is None or not user.active or not user.email:
        return False
    domain.as_default()
    try:
        link = external_url("reporting.my_report", reference=report.reference)
    except MailError:
        link = ""
    send_message(render_message(user.email, "reporting/mail/new_message.txt", user.locale, link=link))
    return True


@periodic_task(crontab(minute="*/15"))
def purge_drafts() -> int:
    """Delete unsent drafts (and their pictures) once they expire, and throttle counts whose window
    ended (wrong receipts' among them: core.throttle.prune)."""
    from plugins.reporting.service import purge_expired_drafts

    return purge_expired_drafts()
