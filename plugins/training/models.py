"""Tables of the training plugin (prefixed training_)."""

from peewee import CharField, DateTimeField, TextField

from core.db import BaseModel, utcnow


class Course(BaseModel):
    title = CharField(max_length=200)
    summary = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "training_course"
