"""Core tables: plugin state and settings, worker heartbeat."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class PluginState(Model):
        name = CharField(primary_key=True, max_length=64)
        enabled = BooleanField(default=False)
        changed_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "plugin_state"

    class PluginSetting(Model):
        plugin = CharField(primary_key=True, max_length=64)
        data = TextField(default="{}")
        changed_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "plugin_setting"

    class Heartbeat(Model):
        name = CharField(primary_key=True, max_length=64)
        seen_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "heartbeat"

    with db.bind_ctx([PluginState, PluginSetting, Heartbeat]):
        db.create_tables([PluginState, PluginSetting, Heartbeat])


def down(migrator, db):
    db.execute_sql("DROP TABLE heartbeat")
    db.execute_sql("DROP TABLE plugin_setting")
    db.execute_sql("DROP TABLE plugin_state")
