"""core_key_check: proof of the keys the data was written with, and the names of the key files the
instance has had, so a start with other keys, or without one of those files, stops
(core.key_check). The row is written by the first command that checks the keys, not here."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class KeyCheck(Model):
    id = IntegerField(primary_key=True)
    sealed = TextField()
    blind_index = CharField(max_length=16)
    key_files = TextField(default="[]")
    audit_keys = TextField(default="[]")
    recorded_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "core_key_check"


def up(migrator, db):
    with db.bind_ctx([KeyCheck]):
        db.create_tables([KeyCheck])


def down(migrator, db):
    db.execute_sql("DROP TABLE core_key_check")
