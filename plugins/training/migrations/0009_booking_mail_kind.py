"""Booking e-mails have one kind in core's mail record, "training_booking" (a core.mail.MailKind),
instead of one per message ("training_booked", "training_reminder"...): which message it is goes
to the task with the booking. Rows queued before core kept tasks (core 0093) get theirs too, so a
failed one can be tried again from /admin/messages."""
import json

TASK = "training.mail_booking"
KIND = "training_booking"
PREFIX = "training_"
TARGET = "training_booking:"


def up(migrator, db):
    rows = db.execute_sql(f"SELECT id, kind, target, task FROM core_outgoing_mail WHERE kind LIKE {db.param}",
                          (PREFIX + "%",)).fetchall()
    for row_id, kind, target, task in rows:
        if kind == KIND or not kind.startswith(PREFIX):
            continue
        booking = target[len(TARGET):] if target.startswith(TARGET) else ""
        if task is None and booking.isascii() and booking.isdigit():
            db.execute_sql(f"UPDATE core_outgoing_mail SET kind = {db.param}, task = {db.param}, task_args = {db.param}"
                           f" WHERE id = {db.param}", (KIND, TASK, json.dumps([int(booking), kind[len(PREFIX):]]), row_id))
        else:
            db.execute_sql(f"UPDATE core_outgoing_mail SET kind = {db.param} WHERE id = {db.param}", (KIND, row_id))


def down(migrator, db):
    rows = db.execute_sql(f"SELECT id, task_args FROM core_outgoing_mail WHERE kind = {db.param}", (KIND,)).fetchall()
    for row_id, task_args in rows:
        args = json.loads(task_args or "[]")
        if len(args) == 2:
            db.execute_sql(f"UPDATE core_outgoing_mail SET kind = {db.param} WHERE id = {db.param}",
                           (PREFIX + args[1], row_id))
