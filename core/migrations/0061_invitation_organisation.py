"""An invitation may name the organisation the invited person will belong to (core.organisations).

A plain id column, not a foreign key: SQLite cannot add one with ALTER TABLE. An organisation
deleted before the invitation is accepted simply leaves the person in none.
"""

from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("invitation", "organisation_id", IntegerField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("invitation", "organisation_id"))
