"""Partner feed tokens belong to an organisation (core.organisations) instead of a name typed in.

Adds alerts_feed_token.organisation_id (a plain id: SQLite cannot add a foreign key with ALTER
TABLE) and fills it for each existing token whose label is an organisation's name, compared
without regard to case or repeated spaces. Labels are kept: a token whose label matches no
organisation keeps showing its label on the feeds page, and staff can make a new token for the
right organisation and stop the old one. Runs from `redumbrella db upgrade`, after the app has
loaded its keys (labels are encrypted).
"""
from peewee import IntegerField, Model, TextField

from core.crypto import keyring


class FeedToken(Model):
    label = TextField()
    organisation_id = IntegerField(null=True)

    class Meta:
        table_name = "alerts_feed_token"


class Organisation(Model):
    name = TextField()

    class Meta:
        table_name = "organisation"


def _key(name: str) -> str:
    return " ".join((name or "").split()).casefold()


def up(migrator, db):
    migrator.migrate(migrator.add_column("alerts_feed_token", "organisation_id", IntegerField(null=True)))
    migrator.migrate(migrator.add_index("alerts_feed_token", ("organisation_id",), False))
    with db.bind_ctx([FeedToken, Organisation]):
        names: dict[str, int | None] = {}
        for organisation in Organisation.select(Organisation.id, Organisation.name):
            key = _key(organisation.name)
            names[key] = None if key in names else organisation.id  # two of one name: no match
        if not names:
            return
        for token in FeedToken.select(FeedToken.id, FeedToken.label):
            found = names.get(_key(keyring().decrypt(token.label)))
            if found is not None:
                FeedToken.update(organisation_id=found).where(FeedToken.id == token.id).execute()


def down(migrator, db):
    migrator.migrate(migrator.drop_index("alerts_feed_token", "alerts_feed_token_organisation_id"),
                     migrator.drop_column("alerts_feed_token", "organisation_id"))
