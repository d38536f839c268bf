"""Certificates: one per completion of an enrolment, names and revocation reasons encrypted, and
the per-address counts that throttle the public verification page.

Names on certificates and the reasons trainers give for revoking one are personal data: they are
kept as Fernet tokens (EncryptedTextField), so on PostgreSQL the columns become TEXT (a token is
longer than the 200 or 300 characters the names were limited to). SQLite does not enforce
VARCHAR lengths, so its columns stay as they are. No certificate was issued before this release
(the plugin only listed course titles), so there is nothing to re-encrypt.
"""

import datetime

from peewee import CharField, DateTimeField, IntegerField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    migrator.migrate(
        migrator.add_column("training_certificate", "enrolment_id", IntegerField(null=True)),
        migrator.add_column("training_certificate", "completed_at", DateTimeField(null=True)),
        migrator.add_index("training_certificate", ("enrolment_id", "completed_at"), True),
    )
    if not _is_sqlite(db):
        db.execute_sql("ALTER TABLE training_certificate ALTER COLUMN learner_name TYPE TEXT")
        db.execute_sql("ALTER TABLE training_certificate ALTER COLUMN revoke_reason TYPE TEXT")

    class VerifyCount(Model):
        key = CharField(max_length=40)
        minute = DateTimeField(index=True)
        count = IntegerField(default=0)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_verify_count"
            indexes = ((("key", "minute"), True),)

    with db.bind_ctx([VerifyCount]):
        db.create_tables([VerifyCount])


def down(migrator, db):
    db.execute_sql("DROP TABLE training_verify_count")
    migrator.migrate(
        migrator.drop_index("training_certificate", "training_certificate_enrolment_id_completed_at"),
        migrator.drop_column("training_certificate", "completed_at"),
        migrator.drop_column("training_certificate", "enrolment_id"),
    )
    if not _is_sqlite(db):
        db.execute_sql("ALTER TABLE training_certificate ALTER COLUMN learner_name TYPE VARCHAR(200)")
        db.execute_sql("ALTER TABLE training_certificate ALTER COLUMN revoke_reason TYPE VARCHAR(300)")


def _is_sqlite(db) -> bool:
    from core.db import is_sqlite

    return is_sqlite(getattr(db, "obj", None) or db)
