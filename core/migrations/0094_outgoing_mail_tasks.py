"""Messages queued before the mail record kept their task (0093) get it now, from their kind and
record, so a failed one can still be tried again from /admin/messages, which now queues a
message's own task (core.mail.send_again) instead of looking it up by kind."""
import json

# kind: (its task's queue name, the prefix of its target before the record id)
CORE_TASKS = {
    "set_password": ("core.mail_password_link", "user:"),
    "application_declined": ("core.mail_application_declined", "application:"),
    "invitation": ("core.mail_invitation", "invitation:"),
    "reset_password": ("core.mail_reset_link", "user:"),
    "existing_account": ("core.mail_existing_account", "user:"),
}


def up(migrator, db):
    rows = db.execute_sql("SELECT id, kind, target FROM core_outgoing_mail WHERE task IS NULL").fetchall()
    for row_id, kind, target in rows:
        task, prefix = CORE_TASKS.get(kind, (None, None))
        if task is None or not target.startswith(prefix) or not target[len(prefix):].isascii() \
                or not target[len(prefix):].isdigit():
            continue
        db.execute_sql(f"UPDATE core_outgoing_mail SET task = {db.param}, task_args = {db.param} WHERE id = {db.param}",
                       (task, json.dumps([int(target[len(prefix):])]), row_id))


def down(migrator, db):
    """Nothing to undo: 0093's down drops the columns."""
