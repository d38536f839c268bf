"""Casework: one-time links that let a client give closure feedback (see models.FeedbackToken)."""

import datetime

from peewee import CharField, DateTimeField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    class FeedbackToken(Model):
        token_hash = CharField(max_length=64, unique=True)
        expires_at = DateTimeField(index=True)
        created_at = DateTimeField(index=True, default=now)

        class Meta:
            table_name = "casework_feedback_token"

    with db.bind_ctx([FeedbackToken]):
        db.create_tables([FeedbackToken])


def down(migrator, db):
    db.execute_sql("DROP TABLE casework_feedback_token")
