"""Booking e-mails have one kind in core's mail record, "training_booking" (a core.mail.MailKind),
instead of one per message ("training_booked", "training_reminder"...): which message it is goes
to the task with the booking. Rows queued before core kept tasks (core 0093) get theirs too, so a
failed one can be tried again from /admin/messages."""
import json

from peewee import Table

TASK = "training.mail_booking"
KIND = "training_booking"
PREFIX = "training_"
TARGET = "training_booking:"


def _mail(db):
    return Table("core_outgoing_mail", ("id", "kind", "target", "task", "task_args")).bind(db)


def up(migrator, db):
    mail = _mail(db)
    for row in mail.select(mail.id, mail.kind, mail.target, mail.task).where(mail.kind.startswith(PREFIX)).dicts():
        if row["kind"] == KIND or not row["kind"].startswith(PREFIX):  # LIKE takes "_" for any letter
            continue
        changes = {"kind": KIND}
        booking = row["target"][len(TARGET):] if row["target"].startswith(TARGET) else ""
        if row["task"] is None and booking.isascii() and booking.isdigit():
            changes.update(task=TASK, task_args=json.dumps([int(booking), row["kind"][len(PREFIX):]]))
        mail.update(**changes).where(mail.id == row["id"]).execute()


def down(migrator, db):
    mail = _mail(db)
    for row in mail.select(mail.id, mail.task_args).where(mail.kind == KIND).dicts():
        args = json.loads(row["task_args"] or "[]")
        if len(args) == 2:
            mail.update(kind=PREFIX + args[1]).where(mail.id == row["id"]).execute()
