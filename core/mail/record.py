"""The record of core's e-mails: one OutgoingMail row per message queued, never its address or text.

queue_mail(task, kind, target, *ids) writes the row and queues the task; @tracked on the task
records each attempt. A message still not sent after its last retry is "failed", and staff see it,
with the ones still being retried, at /admin/messages (core.views.outbox).
"""

from __future__ import annotations

import functools
import logging

from peewee import CharField, DateTimeField, IntegerField

from core.db import BaseModel, db, utcnow

log = logging.getLogger("redumbrella.mail")

QUEUED, SENT, FAILED, NOT_NEEDED = "queued", "sent", "failed", "not_needed"
MAIL_RETRIES = 6  # after the first try; the tasks' huey retries
MAIL_RETRY_DELAY = 300


class OutgoingMail(BaseModel):
    """One e-mail core queued and what became of it. No address, no text: a kind and a record."""

    kind = CharField(max_length=32)  # set_password, invitation, reset_password, application_declined
    target = CharField(max_length=64)  # the record it is about: user:12, invitation:3, application:5
    status = CharField(max_length=16, default=QUEUED, index=True)
    attempts = IntegerField(default=0)
    last_error = CharField(max_length=64, null=True)  # an exception's class name, never its text
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "core_outgoing_mail"


def queue_mail(task, kind: str, target: str, *args) -> OutgoingMail:
    """Write the message's row, then queue the task (with mail_id) that sends it."""
    with db.atomic():
        row = OutgoingMail.create(kind=kind, target=target)
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
        if error is None:
            row.status, row.last_error = status, None
        else:
            row.last_error = error[:64]
            row.status = FAILED if row.attempts > MAIL_RETRIES else QUEUED
        row.save()
    if error is not None:
        level = logging.WARNING if row.status == FAILED else logging.INFO
        log.log(level, "core mail not sent", extra={"event": f"mail_{row.status}", "reason": error})


def unsent(kinds, limit: int = 200) -> list[OutgoingMail]:
    """Failed messages and those waiting for a retry or for the queue, oldest problem first."""
    return list(
        OutgoingMail.select()
        .where(OutgoingMail.kind.in_(list(kinds)) & (OutgoingMail.status.in_([QUEUED, FAILED])))
        .order_by(OutgoingMail.status == QUEUED, OutgoingMail.id.desc())
        .limit(limit)
    )
