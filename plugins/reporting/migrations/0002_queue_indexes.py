"""Indexes for the moderation queue: open reports in queue order, and each status by last change.

The first is partial (only open reports), ordered exactly as the queue is, so listing the queue
reads its first page from the index instead of sorting every open report (SQLite and PostgreSQL
both support partial indexes).
"""


def up(migrator, db):
    db.execute_sql(
        "CREATE INDEX reporting_report_open_queue ON reporting_report (urgency DESC, created_at) "
        "WHERE status IN ('new', 'triage', 'needs_info')"
    )
    db.execute_sql(
        "CREATE INDEX reporting_report_status_changed ON reporting_report (status, status_changed_at)"
    )


def down(migrator, db):
    db.execute_sql("DROP INDEX reporting_report_open_queue")
    db.execute_sql("DROP INDEX reporting_report_status_changed")
