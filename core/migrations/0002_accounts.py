"""Accounts and roles."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class User(Model):
        email_index = CharField(max_length=64, unique=True, null=True)
        email = TextField(null=True)
        working_name = TextField(null=True)
        password_hash = CharField(max_length=255, null=True)
        locale = CharField(max_length=16, null=True)
        active = BooleanField(default=True)
        session_version = IntegerField(default=0)
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "user"

    class UserRole(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        role = CharField(max_length=32)

        class Meta:
            table_name = "user_role"
            indexes = ((("user", "role"), True),)

    with db.bind_ctx([User, UserRole]):
        db.create_tables([User, UserRole])


def down(migrator, db):
    db.execute_sql('DROP TABLE user_role')
    db.execute_sql('DROP TABLE "user"')
