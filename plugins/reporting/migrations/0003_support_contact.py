"""How a caseworker may reach a reporter who asked for support: the way they chose (a code) and
whether a message may be left, beside the contact and safe times the report already keeps."""
from peewee import BooleanField, CharField

COLUMNS = ("support_contact_method", "support_may_leave_message")


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("reporting_report", "support_contact_method", CharField(max_length=16, null=True)),
        migrator.add_column("reporting_report", "support_may_leave_message", BooleanField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(*(migrator.drop_column("reporting_report", column) for column in COLUMNS))
