"""E-mails to applicants, sent from the queue with only an id as argument (core.mail's outbox)."""

from __future__ import annotations

from core.accounts.membership.models import MembershipApplication
from core.accounts.models import User
from core.mail import MAIL_RETRIES, MAIL_RETRY_DELAY, tracked
from core.queue import task


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_application_declined(application_id: int) -> bool:
    """Tell an applicant, in their language, that the application was not accepted."""
    from core.mail import render_message, send_message

    found = MembershipApplication.get_or_none(MembershipApplication.id == application_id)
    if found is None or found.status != "declined" or not found.email:
        return False
    send_message(render_message(found.email, "mail/application_declined.txt", found.locale,
                                reason=found.decline_reason))
    return True


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_existing_account(user_id: int) -> bool:
    """Tell an account holder that an application with their address was approved while they
    already have an account: nothing new was made; a link lets them choose a new password."""
    from core.accounts import reset
    from core.mail import external_url, render_message, send_message

    user = User.get_or_none(User.id == user_id)
    if user is None or not user.active or not user.email:
        return False
    url = external_url("auth.reset_password", token=reset.make_token(user))
    send_message(render_message(user.email, "mail/application_existing_account.txt", user.locale, link=url,
                                minutes=reset.link_minutes()))
    return True
