"""Casework: a request's receipt, kept encrypted for a few minutes for the browser that sent it
(see models.SentReceipt and plugins/casework/support_receipts.py)."""

from peewee import CharField, DateTimeField, Model, TextField


def up(migrator, db):
    class SentReceipt(Model):
        key_hash = CharField(max_length=64, primary_key=True)
        receipt = TextField()
        expires_at = DateTimeField(index=True)

        class Meta:
            table_name = "casework_sent_receipt"

    with db.bind_ctx([SentReceipt]):
        db.create_tables([SentReceipt])


def down(migrator, db):
    db.execute_sql("DROP TABLE casework_sent_receipt")
