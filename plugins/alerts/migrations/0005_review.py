"""Who reviewed an alert's preview, when, and which version and content they saw: publishing needs
a review of exactly the alert as it is now."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


class User(Model):
    class Meta:
        table_name = "user"


COLUMNS = ("reviewed_by_id", "reviewed_at", "reviewed_version", "reviewed_digest")


def up(migrator, db):
    with db.bind_ctx([User]):
        migrator.migrate(
            migrator.add_column("alerts_alert", "reviewed_by_id",
                                ForeignKeyField(User, field=User.id, null=True, on_delete="SET NULL")),
            migrator.add_column("alerts_alert", "reviewed_at", DateTimeField(null=True)),
            migrator.add_column("alerts_alert", "reviewed_version", IntegerField(null=True)),
            migrator.add_column("alerts_alert", "reviewed_digest", CharField(max_length=64, null=True)),
        )


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS alerts_alert_reviewed_by_id")  # SQLite will not drop an indexed column
    migrator.migrate(*(migrator.drop_column("alerts_alert", column) for column in COLUMNS))
