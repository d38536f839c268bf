"""Courses."""
import datetime

from peewee import CharField, DateTimeField, Model, TextField


def up(migrator, db):
    class Course(Model):
        title = CharField(max_length=200)
        summary = TextField(default="")
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            table_name = "training_course"

    with db.bind_ctx([Course]):
        db.create_tables([Course])


def down(migrator, db):
    db.execute_sql("DROP TABLE training_course")
