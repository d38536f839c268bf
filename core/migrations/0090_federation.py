"""Federation between instances (core.federation): peers, sharing groups, the signed feed, what
was received (with the version accepted, against replays), the urgent-push outbox and the nonces
of recent signed requests."""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    class User(Model):
        class Meta:
            table_name = "user"

    class Peer(Model):
        name = CharField(max_length=60, unique=True)
        base_url = TextField()
        public_key = CharField(max_length=64)
        fingerprint = CharField(max_length=24, index=True)
        auto_publish = BooleanField(default=False)
        region_map = TextField(default="{}")
        added_at = DateTimeField(default=now)
        added_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        removed_at = DateTimeField(null=True)
        last_pull_at = DateTimeField(null=True)
        last_ok_at = DateTimeField(null=True)
        last_error = CharField(max_length=80, null=True)

        class Meta:
            table_name = "federation_peer"

    class SharingGroup(Model):
        name = CharField(max_length=60, unique=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "federation_group"

    class SharingGroupMember(Model):
        group = ForeignKeyField(SharingGroup, on_delete="CASCADE", backref="+")
        peer = ForeignKeyField(Peer, on_delete="CASCADE", backref="+")

        class Meta:
            table_name = "federation_group_member"
            indexes = ((("group", "peer"), True),)

    class FeedItem(Model):
        uid = CharField(max_length=40)
        origin_fingerprint = CharField(max_length=24)
        kind = CharField(max_length=32)
        local_ref = CharField(max_length=64, null=True)
        version = IntegerField(default=1)
        tombstone = BooleanField(default=False)
        distribution = CharField(max_length=80)
        may_pass_on = BooleanField(default=False)
        urgent = BooleanField(default=False)
        body = TextField()
        signature = CharField(max_length=120)
        created_at = DateTimeField(default=now)
        updated_at = DateTimeField(default=now)

        class Meta:
            table_name = "federation_item"
            indexes = ((("origin_fingerprint", "uid"), True), (("kind", "local_ref"), False))

    class Received(Model):
        peer = ForeignKeyField(Peer, on_delete="CASCADE", backref="+")
        origin_fingerprint = CharField(max_length=24)
        origin_name = CharField(max_length=120)
        uid = CharField(max_length=40)
        kind = CharField(max_length=32)
        version = IntegerField()
        tombstone = BooleanField(default=False)
        may_pass_on = BooleanField(default=False)
        body = TextField()
        signature = CharField(max_length=120)
        local_ref = CharField(max_length=64, null=True)
        received_at = DateTimeField(default=now)
        updated_at = DateTimeField(default=now)

        class Meta:
            table_name = "federation_received"
            indexes = ((("origin_fingerprint", "uid"), True), (("kind", "local_ref"), False))

    class PushMessage(Model):
        peer = ForeignKeyField(Peer, on_delete="CASCADE", backref="+")
        item = ForeignKeyField(FeedItem, on_delete="CASCADE", backref="+")
        version = IntegerField()
        status = CharField(max_length=12, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=now)
        claimed_by = CharField(max_length=96, null=True)
        claimed_at = DateTimeField(null=True)
        last_status = IntegerField(null=True)
        last_error = CharField(max_length=80, null=True)
        last_attempt_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)
        delivered_at = DateTimeField(null=True)

        class Meta:
            table_name = "federation_push"
            indexes = ((("status", "next_attempt_at"), False), (("item", "peer", "version"), True))

    class SeenNonce(Model):
        nonce = CharField(max_length=64, unique=True)
        seen_at = DateTimeField(default=now, index=True)

        class Meta:
            table_name = "federation_nonce"

    models = [User, Peer, SharingGroup, SharingGroupMember, FeedItem, Received, PushMessage, SeenNonce]
    with db.bind_ctx(models):
        db.create_tables(models[1:])


def down(migrator, db):
    for table in ("federation_nonce", "federation_push", "federation_received", "federation_item",
                  "federation_group_member", "federation_group", "federation_peer"):
        db.execute_sql(f"DROP TABLE {table}")  # noqa: S608  # nosec B608  # fixed names
