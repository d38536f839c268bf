"""Tables of the dropins plugin (every name starts with dropins_)."""

from core.db import BaseModel, utcnow
from peewee import CharField, DateTimeField, TextField


class DropIn(BaseModel):
    name = CharField(max_length=120)
    area = CharField(max_length=80)
    opening_times = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "dropins_dropin"
