"""Drop-in services."""

import datetime

from peewee import CharField, DateTimeField, Model, TextField


def now():
    """Naive UTC, as every timestamp column stores it (datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    # A frozen copy of the table as it is at this migration: never import the live model here.
    class DropIn(Model):
        name = CharField(max_length=120)
        area = CharField(max_length=80)
        opening_times = TextField(default="")
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "dropins_dropin"

    with db.bind_ctx([DropIn]):
        db.create_tables([DropIn])


def down(migrator, db):
    # Run by tests only (core.schema): no command downgrades an instance; restore a backup instead.
    db.execute_sql("DROP TABLE dropins_dropin")
