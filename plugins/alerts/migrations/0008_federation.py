"""Federation (core.federation, docs/federation.md): who an alert is shared with and whether peers
may pass it on; for an alert received from a peer, the peer it came through and its origin."""
from peewee import BooleanField, CharField

COLUMNS = ("distribution", "may_pass_on", "received_from", "origin_name")


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("alerts_alert", "distribution", CharField(max_length=80, default="local")),
        migrator.add_column("alerts_alert", "may_pass_on", BooleanField(default=False)),
        migrator.add_column("alerts_alert", "received_from", CharField(max_length=60, null=True)),
        migrator.add_column("alerts_alert", "origin_name", CharField(max_length=120, null=True)),
    )


def down(migrator, db):
    migrator.migrate(*(migrator.drop_column("alerts_alert", column) for column in COLUMNS))
