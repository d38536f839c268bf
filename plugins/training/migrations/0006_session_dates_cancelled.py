"""Sessions: a date can be cancelled on its own (its calendar event is then sent as METHOD:CANCEL,
which needs the date's UID and SEQUENCE kept), and the waitlist is read in the order people joined
it through an index."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("training_session_date", "cancelled_at", DateTimeField(null=True)),
        migrator.add_index("training_booking", ("session_id", "status", "updated_at"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("training_booking", "training_booking_session_id_status_updated_at"),
        migrator.drop_column("training_session_date", "cancelled_at"),
    )
