"""Membership applications, staff invitations, one-time password links and account profiles."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class User(Model):  # only what the foreign keys need
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "user"

    class MembershipApplication(Model):
        working_name = TextField()
        email = TextField(null=True)
        email_index = CharField(max_length=64, null=True, index=True)
        phone = TextField(null=True)
        phone_index = CharField(max_length=64, null=True, index=True)
        work_types = TextField(null=True)
        region = TextField(null=True)
        note = TextField(null=True)
        locale = CharField(max_length=16)
        status = CharField(max_length=16, default="pending", index=True)
        created_at = DateTimeField(default=utcnow, index=True)
        decided_at = DateTimeField(null=True, index=True)
        decided_by = IntegerField(null=True)
        decline_reason = TextField(null=True)

        class Meta:
            table_name = "membership_application"

    class Invitation(Model):
        email_index = CharField(max_length=64, index=True)
        email = TextField()
        roles = CharField(max_length=255)
        locale = CharField(max_length=16)
        token_hash = CharField(max_length=64, null=True, unique=True)
        invited_by = IntegerField(null=True)
        created_at = DateTimeField(default=utcnow)
        expires_at = DateTimeField(null=True, index=True)

        class Meta:
            table_name = "invitation"

    class PasswordLink(Model):
        user = ForeignKeyField(User, on_delete="CASCADE", index=True)
        token_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField(default=utcnow)
        expires_at = DateTimeField(index=True)
        used_at = DateTimeField(null=True)

        class Meta:
            table_name = "password_link"

    class AccountProfile(Model):
        user = ForeignKeyField(User, on_delete="CASCADE", unique=True)
        phone = TextField(null=True)
        phone_index = CharField(max_length=64, null=True, index=True)
        contact_email = BooleanField(default=False)
        contact_sms = BooleanField(default=False)
        safe_contact_note = TextField(null=True)
        region = TextField(null=True)
        work_types = TextField(null=True)
        updated_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "account_profile"

    tables = [MembershipApplication, Invitation, PasswordLink, AccountProfile]
    with db.bind_ctx([User, *tables]):
        db.create_tables(tables)


def down(migrator, db):
    for table in ("account_profile", "password_link", "invitation", "membership_application"):
        db.execute_sql(f"DROP TABLE {table}")
