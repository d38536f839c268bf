"""The audit log becomes append-only in the database itself, and filterable by record.

Triggers refuse UPDATE and DELETE on audit_entry, so a bug or a stray query cannot rewrite
history; someone with full control of the database can still drop them, which the hash chain
(`redumbrella audit verify`) then catches. An index on target serves the admin page's filter.
"""

from playhouse.migrate import PostgresqlMigrator

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
       FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
]


def up(migrator, db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS "audit_entry_target" ON "audit_entry" ("target")')
    statements = POSTGRES_TRIGGERS if isinstance(migrator, PostgresqlMigrator) else SQLITE_TRIGGERS
    for statement in statements:
        db.execute_sql(statement)


def down(migrator, db):
    if isinstance(migrator, PostgresqlMigrator):
        db.execute_sql("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        db.execute_sql("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    else:
        db.execute_sql("DROP TRIGGER IF EXISTS audit_entry_no_update")
        db.execute_sql("DROP TRIGGER IF EXISTS audit_entry_no_delete")
    db.execute_sql('DROP INDEX IF EXISTS "audit_entry_target"')
