"""Queue tasks of the training plugin: session e-mails, reminders, and closing attendance.

Arguments are ids and codes only: no address, name or text sits in the queue.
"""

from core.mail import MAIL_RETRIES, MAIL_RETRY_DELAY, tracked
from core.queue import crontab, periodic_task, task


@task()
def count_courses() -> int:
    """How many courses exist; a cheap task that proves the queue runs training's work."""
    from plugins.training.models import Course

    return Course.select().count()


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_booking(booking_id: int, kind: str) -> bool:
    """E-mail a learner about their booking, in their language, with its calendar files."""
    from plugins.training.sessions import deliver

    return deliver(booking_id, kind)


@periodic_task(crontab(minute="*/15"))
def remind_learners() -> int:
    """Every 15 minutes: queue one reminder for each place in a session starting within a day."""
    from plugins.training.sessions import queue_due_reminders

    return queue_due_reminders()


@periodic_task(crontab(minute="*/15"))
def close_attendance() -> int:
    """Every 15 minutes: close the attendance of dates that ended some hours ago (unmarked: absent)."""
    from plugins.training.attendance import close_due

    return close_due()


SESSION_TASKS = [mail_booking, remind_learners, close_attendance]
