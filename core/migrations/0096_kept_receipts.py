"""core_kept_receipt: a receipt kept for a few minutes to show again to the browser given it
(core.kept_receipts), for every module; casework's own table goes in its migration 0005."""

from peewee import CharField, DateTimeField, Model, TextField


class KeptReceipt(Model):
    key_hash = CharField(max_length=64, primary_key=True)
    receipt = TextField()
    expires_at = DateTimeField(index=True)

    class Meta:
        table_name = "core_kept_receipt"


def up(migrator, db):
    with db.bind_ctx([KeptReceipt]):
        db.create_tables([KeptReceipt])


def down(migrator, db):
    db.execute_sql("DROP TABLE core_kept_receipt")
