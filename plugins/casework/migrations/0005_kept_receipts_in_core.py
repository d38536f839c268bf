"""Receipts of requests for support are kept by core now (core.kept_receipts, core migration
0096): casework's own table goes. Its rows lived ten minutes under a browser key the new code does
not read, so they are not copied: a request sent in the minutes before the upgrade keeps its
receipt as shown then, and is not shown it again."""

from peewee import CharField, DateTimeField, Model, TextField


def up(migrator, db):
    db.execute_sql("DROP TABLE casework_sent_receipt")


def down(migrator, db):
    class SentReceipt(Model):
        key_hash = CharField(max_length=64, primary_key=True)
        receipt = TextField()
        expires_at = DateTimeField(index=True)

        class Meta:
            table_name = "casework_sent_receipt"

    with db.bind_ctx([SentReceipt]):
        db.create_tables([SentReceipt])
