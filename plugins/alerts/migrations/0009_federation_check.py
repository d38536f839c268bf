"""The cross-instance check and the shared warning list: peers' published tokens and when they were
fetched, warnings about peers that ask a lot, and numbers that never match."""
import datetime

from peewee import BooleanField, CharField, DateField, DateTimeField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class PeerToken(Model):
        peer_id = IntegerField(index=True)
        token = CharField(max_length=64, index=True)
        origin = CharField(max_length=24)
        uid = CharField(max_length=40)

        class Meta:
            table_name = "alerts_peer_token"

    class PeerTokenState(Model):
        peer_id = IntegerField(unique=True)
        fetched_at = DateTimeField(default=utcnow)
        count = IntegerField(default=0)
        batch = IntegerField(default=8)

        class Meta:
            table_name = "alerts_peer_token_state"

    class PeerCheckWarning(Model):
        peer_id = IntegerField()
        day = DateField()
        count = IntegerField(default=0)
        created_at = DateTimeField(default=utcnow)
        resolved_at = DateTimeField(null=True)
        resolved_by = IntegerField(null=True)

        class Meta:
            table_name = "alerts_peer_check_warning"
            indexes = ((("peer_id", "day"), True),)

    class WarningEntry(Model):
        kind = CharField(max_length=16)
        blind_index = CharField(max_length=64)
        display = TextField()
        label = CharField(max_length=120, default="")
        shared = BooleanField(default=True)
        source_peer_id = IntegerField(null=True, index=True)
        status = CharField(max_length=12, default="active")
        added_at = DateTimeField(default=utcnow)
        added_by = IntegerField(null=True)
        decided_by = IntegerField(null=True)
        decided_at = DateTimeField(null=True)

        class Meta:
            table_name = "alerts_warning_entry"
            indexes = ((("kind", "blind_index"), False),)

    tables = [PeerToken, PeerTokenState, PeerCheckWarning, WarningEntry]
    with db.bind_ctx(tables):
        db.create_tables(tables)


def down(migrator, db):
    for table in ("alerts_warning_entry", "alerts_peer_check_warning", "alerts_peer_token_state",
                  "alerts_peer_token"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
