"""Authentication: server-side session records, login throttling, TOTP two-factor, access tokens."""
import datetime

from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class User(Model):  # only what the foreign keys need
        id = IntegerField(primary_key=True)

        class Meta:
            table_name = "user"

    class AccountSession(Model):
        user = ForeignKeyField(User, on_delete="CASCADE", index=True)
        key_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField(default=utcnow)
        last_seen_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "account_session"

    class LoginAttempt(Model):
        scope = CharField(max_length=16)
        key = CharField(max_length=64)
        created_at = DateTimeField(default=utcnow, index=True)

        class Meta:
            table_name = "login_attempt"
            indexes = ((("scope", "key", "created_at"), False),)

    class TotpDevice(Model):
        user = ForeignKeyField(User, on_delete="CASCADE", unique=True)
        secret = TextField(null=True)
        pending_secret = TextField(null=True)
        confirmed_at = DateTimeField(null=True)
        last_step = BigIntegerField(null=True)

        class Meta:
            table_name = "totp_device"

    class RecoveryCode(Model):
        user = ForeignKeyField(User, on_delete="CASCADE", index=True)
        code_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField(default=utcnow)
        used_at = DateTimeField(null=True)

        class Meta:
            table_name = "recovery_code"

    class AccessToken(Model):
        user = ForeignKeyField(User, on_delete="CASCADE", index=True)
        token_hash = CharField(max_length=64, unique=True)
        label = TextField(null=True)
        created_at = DateTimeField(default=utcnow)
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            table_name = "access_token"

    tables = [AccountSession, LoginAttempt, TotpDevice, RecoveryCode, AccessToken]
    with db.bind_ctx([User, *tables]):
        db.create_tables(tables)


def down(migrator, db):
    for table in ("access_token", "recovery_code", "totp_device", "login_attempt", "account_session"):
        db.execute_sql(f"DROP TABLE {table}")
