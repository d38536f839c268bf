"""The overrides and, per language, a version number that every change raises.

Workers read the version (one indexed row) on the first translation of a request and reload a
language's overrides only when it moved, so a change shows on every worker at its next request.
"""

from __future__ import annotations

import json

from peewee import CharField, DateTimeField, IntegerField, TextField

from core.db import BaseModel, utcnow


class WordingOverride(BaseModel):
    """One message, in one language, as an administrator wrote it."""

    locale = CharField(max_length=16)
    domain = CharField(max_length=64)  # "messages" for core, else the plugin's translation domain
    context = TextField(default="")  # msgctxt; "" when the message has none
    msgid = TextField()
    msgid_plural = TextField(null=True)
    forms = TextField()  # JSON list: the text, or one text per plural form of the language
    message_key = CharField(max_length=64)  # catalogs.message_key(domain, context, msgid)
    changed_by = IntegerField(null=True)  # account id; None when changed by a command
    changed_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "wording_override"
        indexes = ((("locale", "message_key"), True),)

    @property
    def texts(self) -> list[str]:
        return list(json.loads(self.forms))


class WordingVersion(BaseModel):
    """Raised by one in the transaction of every change to a language's overrides."""

    locale = CharField(primary_key=True, max_length=16)
    version = IntegerField(default=0)

    class Meta:
        table_name = "wording_version"
