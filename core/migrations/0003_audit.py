"""The hash-chained audit log."""
import datetime

from peewee import CharField, DateTimeField, IntegerField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class AuditEntry(Model):
        created_at = DateTimeField(default=utcnow, index=True)
        actor_id = IntegerField(null=True, index=True)
        action = CharField(max_length=64, index=True)
        target = CharField(max_length=128, default="")
        previous_hash = CharField(max_length=64)
        entry_hash = CharField(max_length=64, unique=True)

        class Meta:
            table_name = "audit_entry"

    with db.bind_ctx([AuditEntry]):
        db.create_tables([AuditEntry])


def down(migrator, db):
    db.execute_sql("DROP TABLE audit_entry")
