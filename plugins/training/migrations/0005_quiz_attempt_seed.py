"""Quizzes: each attempt keeps the seed its options were shuffled with, so the attempt page shows
the same order on every reload, and attempts are found by quiz and person through an index."""

from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("training_attempt", "seed", IntegerField(default=0)),
        migrator.add_index("training_attempt", ("quiz_id", "user_id"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("training_attempt", "training_attempt_quiz_id_user_id"),
        migrator.drop_column("training_attempt", "seed"),
    )
