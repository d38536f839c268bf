"""What a queued e-mail's task was (its queue name and record ids) and which worker is sending it,
so that one a killed worker was sending is sent again (core.mail.record.resend_lost)."""
from peewee import CharField, DateTimeField

COLUMNS = ("task", "task_args", "claimed_by", "claimed_at")


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("core_outgoing_mail", "task", CharField(max_length=80, null=True)),
        migrator.add_column("core_outgoing_mail", "task_args", CharField(max_length=200, null=True)),
        migrator.add_column("core_outgoing_mail", "claimed_by", CharField(max_length=80, null=True)),
        migrator.add_column("core_outgoing_mail", "claimed_at", DateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(*(migrator.drop_column("core_outgoing_mail", column) for column in COLUMNS))
