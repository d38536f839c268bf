"""The mail record: one OutgoingMail row per message queued, never its address or text.

queue_mail(task, kind, target, *ids) writes the row and queues the task; @tracked on the task
records each attempt. A message still not sent after its last retry is "failed", and staff see it,
with the ones still being retried, at /admin/messages (core.views.outbox).

The queue hands a task to a worker and forgets it, so a worker killed while sending (the
out-of-memory killer, kill -9) would lose the message. The row therefore keeps its task's queue
name and record ids, and the sending worker's claim (core.claims) while it runs; resend_lost, a
periodic task, queues again each message whose claimer is gone (or, on another host, whose claim
is older than CLAIM_LEASE). As with every outbox here: at most one repeat per killed worker.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging

from peewee import CharField, DateTimeField, IntegerField

from core.claims import claimer, claimer_alive
from core.db import BaseModel, db, utcnow
from core.queue import crontab, current_queue, periodic_task

log = logging.getLogger("redumbrella.mail")

QUEUED, SENT, FAILED, NOT_NEEDED = "queued", "sent", "failed", "not_needed"
MAIL_RETRIES = 6  # after the first try; the tasks' huey retries
MAIL_RETRY_DELAY = 300


class OutgoingMail(BaseModel):
    """One e-mail queued and what became of it. No address, no text: a kind and a record."""

    kind = CharField(max_length=32)  # a core.mail.MailKind's name: set_password, training_booking...
    target = CharField(max_length=64)  # the record it is about: user:12, invitation:3, application:5
    status = CharField(max_length=16, default=QUEUED, index=True)
    attempts = IntegerField(default=0)
    last_error = CharField(max_length=64, null=True)  # an exception's class name, never its text
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    task = CharField(max_length=80, null=True)  # the task's queue name, "<plugin>.<function>"
    task_args = CharField(max_length=200, null=True)  # its arguments as JSON: record ids and codes only
    claimed_by = CharField(max_length=80, null=True)  # the worker sending it now (core.claims)
    claimed_at = DateTimeField(null=True)

    class Meta:
        table_name = "core_outgoing_mail"


CLAIM_LEASE = datetime.timedelta(minutes=15)  # for a claim made on another host, which cannot be judged


def queue_mail(task, kind: str, target: str, *args, delay: int | None = None) -> OutgoingMail:
    """Write the message's row, then queue the task (with mail_id) that sends it, after `delay`
    seconds if given. kind is a core.mail.MailKind's name; args are record ids and codes only."""
    with db.atomic():
        row = OutgoingMail.create(kind=kind, target=target, task=current_queue().name_of(task),
                                  task_args=json.dumps(args))
    if delay:
        task.schedule_in(delay, *args, mail_id=row.id)
    else:
        task(*args, mail_id=row.id)
    return row


def tracked(function):
    """For a mail task: record each attempt on its OutgoingMail row (the task's mail_id keyword).

    Returning True means the message was accepted (sent), False that there was nothing to send (the
    account was deleted, the link already used). An exception is a failed attempt: it is recorded,
    then raised again so the queue retries; after the last retry the row is "failed".
    """

    @functools.wraps(function)
    def run(*args, mail_id: int | None = None, **kwargs):
        if mail_id is not None:
            with db.atomic():
                claim = OutgoingMail.update(claimed_by=claimer(), claimed_at=utcnow())
                claim.where(OutgoingMail.id == mail_id).execute()
        try:
            result = function(*args, **kwargs)
        except Exception as exc:
            _record_attempt(mail_id, error=type(exc).__name__)
            raise
        _record_attempt(mail_id, status=SENT if result else NOT_NEEDED)
        return result

    return run


def _record_attempt(mail_id: int | None, status: str | None = None, error: str | None = None) -> None:
    if mail_id is None:
        return
    with db.atomic():
        row = OutgoingMail.get_or_none(OutgoingMail.id == mail_id)
        if row is None:
            return
        row.attempts += 1
        row.updated_at = utcnow()
        row.claimed_by = row.claimed_at = None
        if error is None:
            row.status, row.last_error = status, None
        else:
            row.last_error = error[:64]
            row.status = FAILED if row.attempts > MAIL_RETRIES else QUEUED
        row.save()
    if error is not None:
        level = logging.WARNING if row.status == FAILED else logging.INFO
        log.log(level, "core mail not sent", extra={"event": f"mail_{row.status}", "reason": error})


@periodic_task(crontab(minute="*"))
def resend_lost() -> int:
    """Queue again every message whose sending worker died before it said how it went."""
    now = utcnow()
    resent = 0
    for row in OutgoingMail.select().where((OutgoingMail.status == QUEUED) & OutgoingMail.claimed_by.is_null(False)):
        alive = claimer_alive(row.claimed_by)
        if alive or (alive is None and row.claimed_at > now - CLAIM_LEASE) or not row.task:
            continue
        with db.atomic():  # only the sweep that clears the claim queues it again
            taken = (OutgoingMail.update(claimed_by=None, claimed_at=None)
                     .where((OutgoingMail.id == row.id) & (OutgoingMail.claimed_by == row.claimed_by)).execute())
        if taken and send_again(row):
            resent += 1
    if resent:
        log.warning("mail sent again after its worker died", extra={"event": "mail_resent", "count": resent})
    return resent


def send_again(row: OutgoingMail) -> bool:
    """Queue the row's task again with its record ids; False when no task has its name (any more)."""
    return bool(row.task) and current_queue().enqueue_named(row.task, *json.loads(row.task_args or "[]"),
                                                            mail_id=row.id)


def unsent(kinds, limit: int = 200) -> list[OutgoingMail]:
    """Failed messages and those waiting for a retry or for the queue, oldest problem first."""
    return list(
        OutgoingMail.select()
        .where(OutgoingMail.kind.in_(list(kinds)) & (OutgoingMail.status.in_([QUEUED, FAILED])))
        .order_by(OutgoingMail.status == QUEUED, OutgoingMail.id.desc())
        .limit(limit)
    )
