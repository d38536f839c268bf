"""Core tables: which plugins are enabled, plugin settings, and the worker heartbeat."""

from peewee import BooleanField, CharField, DateTimeField, TextField

from core.db import BaseModel, utcnow


class PluginState(BaseModel):
    """One row per plugin that was ever switched; no row means disabled (deny by default)."""

    name = CharField(primary_key=True, max_length=64)
    enabled = BooleanField(default=False)
    changed_at = DateTimeField(default=utcnow)


class PluginSetting(BaseModel):
    """A plugin's admin settings, stored as the JSON its settings schema dumps."""

    plugin = CharField(primary_key=True, max_length=64)
    data = TextField(default="{}")
    changed_at = DateTimeField(default=utcnow)


class Heartbeat(BaseModel):
    """Last time a queue worker ran its periodic heartbeat, shown by /healthz."""

    name = CharField(primary_key=True, max_length=64)
    seen_at = DateTimeField(default=utcnow)
