"""Queue tasks of the casework plugin. Arguments are record ids only: no name, contact detail or
note ever sits in the queue's storage, and no e-mail says anything about a client."""

from __future__ import annotations

import datetime
import logging

from core.queue import crontab, periodic_task, task

log = logging.getLogger("redumbrella.casework")


def _mail():
    try:
        from core import mail
    except ImportError:  # a core without mail
        return None
    return mail


def _link(mail, endpoint: str, **values) -> str:
    try:
        return mail.external_url(endpoint, **values)
    except mail.MailError:
        return ""


def _team():
    from flask import current_app

    from core.accounts.models import User, UserRole
    from core.permissions import roles_for

    roles = list(roles_for(current_app, "casework.cases"))
    return list(User.select().join(UserRole).where(UserRole.role.in_(roles) & (User.active == True))  # noqa: E712
                .distinct())


@task(retries=3, retry_delay=300)
def notify_team(referral_id: int) -> int:
    """Tell caseworkers and supervisors that someone asked for support (nothing about who)."""
    from plugins.casework import domain
    from plugins.casework.models import Referral

    mail = _mail()
    if mail is None or Referral.get_or_none(Referral.id == referral_id) is None:
        return 0
    domain.as_default()
    link = _link(mail, "casework.referrals")
    messages = [mail.render_message(user.email, "casework/mail/new_referral.txt", user.locale, link=link)
                for user in _team() if user.email]
    if not messages:
        return 0
    results = mail.send_messages(messages)
    return sum(1 for result in results if result is None)


@task(retries=3, retry_delay=300)
def tell_declined(referral_id: int) -> bool:
    """Tell the person their request was declined, in neutral words, where they can be e-mailed:
    their account's address, or the e-mail address they gave as the safe way to reach them."""
    from core.accounts.models import User
    from plugins.casework import domain
    from plugins.casework.models import Referral
    from plugins.casework.service import decline_message

    mail = _mail()
    referral = Referral.get_or_none(Referral.id == referral_id)
    if mail is None or referral is None or referral.status != "declined":
        return False
    address, locale = None, referral.language
    if referral.client_id is not None:
        user = User.get_or_none((User.id == referral.client_id) & (User.active == True))  # noqa: E712
        if user is not None and user.email:
            address, locale = user.email, user.locale or locale
    if address is None and referral.contact_method == "email" and referral.contact and "@" in referral.contact:
        address = referral.contact.strip()
    if address is None:
        return False
    from flask import current_app

    from core.i18n import force_language

    config = current_app.config
    locale = locale if locale in config["LOCALES"] else config["DEFAULT_LOCALE"]
    domain.as_default()
    with force_language(locale):
        text = decline_message(referral)
    mail.send_message(mail.render_message(address, "casework/mail/declined.txt", locale, text=text))
    return True


@periodic_task(crontab(minute="5", hour="7"))
def remind_tasks() -> int:
    """Daily: each worker with casework tasks due today or overdue gets one e-mail saying how many."""
    from core.accounts.models import User
    from plugins.casework import domain
    from plugins.casework.models import Task
    from plugins.casework.service import due_tasks_by_worker

    mail = _mail()
    if mail is None:
        return 0
    today = datetime.datetime.now(datetime.UTC).date()
    due = due_tasks_by_worker(today)
    if not due:
        return 0
    domain.as_default()
    link = _link(mail, "casework.index")
    workers = User.select().where(User.id.in_(list(due)) & (User.active == True))  # noqa: E712
    messages = [mail.render_message(user.email, "casework/mail/tasks_due.txt", user.locale, count=due[user.id],
                                    link=link) for user in workers if user.email]
    if not messages:
        return 0
    results = mail.send_messages(messages)
    from core.db import utcnow

    Task.update(reminded_at=utcnow()).where(
        Task.done_at.is_null() & (Task.due_on <= today) & Task.assigned_to.in_(list(due))).execute()
    sent = sum(1 for result in results if result is None)
    log.info("task reminders sent", extra={"event": "casework_reminders", "plugin": "casework", "count": sent})
    return sent
