"""Research exports: who asked for one, who approved it, what it covers, and counts of what each
download held (never its rows). The research consent itself is a new purpose code in
reporting_consent, which needs no schema change."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class User(Model):
        class Meta:
            table_name = "user"

    class ResearchExport(Model):
        requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        requested_at = DateTimeField(default=utcnow)
        first_month = CharField(max_length=7)
        last_month = CharField(max_length=7)
        attributes = CharField(max_length=200)
        k = IntegerField()
        status = CharField(max_length=16, default="requested", index=True)
        decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
        decided_at = DateTimeField(null=True)
        downloads = IntegerField(default=0)
        last_rows = IntegerField(null=True)
        last_left_out = IntegerField(null=True)

        class Meta:
            table_name = "reporting_research_export"

    with db.bind_ctx([User, ResearchExport]):
        db.create_tables([ResearchExport])


def down(migrator, db):
    db.execute_sql("DROP TABLE reporting_research_export")
