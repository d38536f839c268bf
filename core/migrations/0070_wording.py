"""Local wording (core.wording): administrators' overrides of shipped messages, and a version per
language that tells every worker when to reload them."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class WordingOverride(Model):
        locale = CharField(max_length=16)
        domain = CharField(max_length=64)
        context = TextField(default="")
        msgid = TextField()
        msgid_plural = TextField(null=True)
        forms = TextField()
        message_key = CharField(max_length=64)
        changed_by = IntegerField(null=True)
        changed_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "wording_override"
            indexes = ((("locale", "message_key"), True),)

    class WordingVersion(Model):
        locale = CharField(primary_key=True, max_length=16)
        version = IntegerField(default=0)

        class Meta:
            table_name = "wording_version"

    with db.bind_ctx([WordingOverride, WordingVersion]):
        db.create_tables([WordingOverride, WordingVersion])


def down(migrator, db):
    db.execute_sql("DROP TABLE wording_version")
    db.execute_sql("DROP TABLE wording_override")
