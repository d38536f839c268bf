"""Messages queued before the mail record kept their task (0093) get it now, from their kind and
record, so a failed one can still be tried again from /admin/messages, which now queues a
message's own task (core.mail.send_again) instead of looking it up by kind."""
import json

from peewee import Table

# kind: (its task's queue name, the prefix of its target before the record id)
CORE_TASKS = {
    "set_password": ("core.mail_password_link", "user:"),
    "application_declined": ("core.mail_application_declined", "application:"),
    "invitation": ("core.mail_invitation", "invitation:"),
    "reset_password": ("core.mail_reset_link", "user:"),
    "existing_account": ("core.mail_existing_account", "user:"),
}


def up(migrator, db):
    mail = Table("core_outgoing_mail", ("id", "kind", "target", "task", "task_args")).bind(db)
    for row in mail.select(mail.id, mail.kind, mail.target).where(mail.task.is_null()).dicts():
        task, prefix = CORE_TASKS.get(row["kind"], (None, None))
        record = row["target"][len(prefix):] if task and row["target"].startswith(prefix) else ""
        if record.isascii() and record.isdigit():
            mail.update(task=task, task_args=json.dumps([int(record)])).where(mail.id == row["id"]).execute()


def down(migrator, db):
    """Nothing to undo: 0093's down drops the columns."""
