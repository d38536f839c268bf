"""Federation: fingerprints of signing keys that were replaced (a peer's, or this instance's own),
so nothing signed with them is taken any more, even passed on by another peer."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, Model


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class Peer(Model):
        class Meta:
            table_name = "federation_peer"

    class RetiredKey(Model):
        fingerprint = CharField(max_length=24, unique=True)
        peer = ForeignKeyField(Peer, null=True, on_delete="SET NULL", backref="+")
        retired_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "federation_retired_key"

    with db.bind_ctx([Peer, RetiredKey]):
        db.create_tables([RetiredKey])


def down(migrator, db):
    db.execute_sql("DROP TABLE federation_retired_key")
