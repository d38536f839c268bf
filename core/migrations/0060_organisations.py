"""Organisations and who belongs to which (core.organisations)."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    class User(Model):
        class Meta:
            table_name = "user"

    class Organisation(Model):
        name = CharField(max_length=200)
        kind = CharField(max_length=32, default="other")
        region = CharField(max_length=64, null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "organisation"

    class OrganisationMember(Model):
        user = ForeignKeyField(User, unique=True, on_delete="CASCADE", backref="+")
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE", backref="+")
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "organisation_member"

    with db.bind_ctx([User, Organisation, OrganisationMember]):
        db.create_tables([Organisation, OrganisationMember])


def down(migrator, db):
    db.execute_sql("DROP TABLE organisation_member")
    db.execute_sql("DROP TABLE organisation")
