"""Courses."""
import datetime

from peewee import CharField, DateTimeField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class Course(Model):
        title = CharField(max_length=200)
        summary = TextField(default="")
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "training_course"

    with db.bind_ctx([Course]):
        db.create_tables([Course])


def down(migrator, db):
    db.execute_sql("DROP TABLE training_course")
