"""When each member or partner last read the alert list, for the web channel's "new" marks."""
import datetime

from peewee import DateTimeField, ForeignKeyField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class User(Model):
        class Meta:
            table_name = "user"

    class Reader(Model):
        user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
        seen_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "alerts_reader"

    with db.bind_ctx([User, Reader]):
        db.create_tables([Reader])


def down(migrator, db):
    db.execute_sql("DROP TABLE IF EXISTS alerts_reader")
