"""reporting 0008 gives reporting_report.many_from_address a default in the database (operator
review D, M1), on SQLite and PostgreSQL: the previous release's INSERT, which leaves the column out,
saves its report between `db upgrade` and its restart, as false. On SQLite the default needs a table
rebuild: it keeps every row, the rows referring to a report, NOT NULL, every index and the
references, and undoing it (down) does too."""

from __future__ import annotations

import datetime

import pytest

from core.db import connection, db, is_sqlite
from core.schema import OwnerRunner

MIGRATION = "reporting:0008_many_from_address_default"


def _old_release_insert(report_id: int) -> None:
    """A report as the release before reporting 0006 wrote it: no many_from_address."""
    now = datetime.datetime(2026, 12, 1, 12, 0, 0)
    p = db.param
    db.execute_sql(
        "INSERT INTO reporting_report (id, reference, status, urgency, incident_types, on_behalf, source, "
        f"created_at, updated_at, status_changed_at) VALUES ({p}, {p}, 'new', 1, 'robbery', {p}, 'web', {p}, {p}, {p})",
        (report_id, f"OLD{report_id}", False, now, now, now),
    )


def _children(report_id: int) -> None:
    p = db.param
    now = datetime.datetime(2026, 12, 1, 12, 0, 0)
    db.execute_sql(f"INSERT INTO reporting_perpetrator (report_id, position) VALUES ({p}, 0)", (report_id,))
    db.execute_sql(f"INSERT INTO reporting_consent (report_id, purpose, given_at) VALUES ({p}, 'share_alert', {p})",
                   (report_id, now))


def _count(sql: str, *params) -> int:
    return db.execute_sql(sql, params).fetchone()[0]


def _indexes() -> list[tuple]:
    return sorted((index.name, tuple(index.columns), index.unique) for index in db.get_indexes("reporting_report"))


def test_the_previous_release_can_still_send_a_report_after_the_upgrade(ctx):
    _old_release_insert(9001)
    many = db.execute_sql("SELECT many_from_address FROM reporting_report WHERE id = 9001").fetchone()[0]
    assert many in (False, 0)
    from plugins.reporting.models import Report

    assert Report.get_by_id(9001).many_from_address is False, "the model reads it as it reads its own"


def test_the_default_keeps_rows_references_indexes_and_not_null(app):
    runner = OwnerRunner(db, "reporting", _reporting_migrations(app))
    with app.app_context(), connection():
        _old_release_insert(9002)
        _children(9002)
        indexes = _indexes()
        reverted = False
        try:
            assert runner.down() == [MIGRATION]
            reverted = True
            with pytest.raises(Exception), db.atomic():  # noqa: B017,PT011 - NOT NULL, no default: refused
                _old_release_insert(9003)
            assert _indexes() == indexes, "the rebuild made every index again"
        finally:
            if reverted:
                assert runner.up() == [MIGRATION]
        assert _indexes() == indexes
        assert _count("SELECT COUNT(*) FROM reporting_perpetrator WHERE report_id = 9002") == 1
        assert _count("SELECT COUNT(*) FROM reporting_consent WHERE report_id = 9002") == 1
        if is_sqlite():
            assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1, "turned on again"
            assert not db.execute_sql("PRAGMA foreign_key_check").fetchall()
        with pytest.raises(Exception), db.atomic():  # noqa: B017,PT011 - still NOT NULL
            db.execute_sql("UPDATE reporting_report SET many_from_address = NULL WHERE id = 9002")
        _old_release_insert(9004)  # the default is back
        # The references still point at the table: deleting a report takes what hangs off it.
        db.execute_sql("DELETE FROM reporting_report WHERE id = 9002")
        assert _count("SELECT COUNT(*) FROM reporting_perpetrator WHERE report_id = 9002") == 0
        assert _count("SELECT COUNT(*) FROM reporting_consent WHERE report_id = 9002") == 0


def _reporting_migrations(app):
    from core.schema import owners

    with app.app_context():
        return dict(owners(app))["reporting"]
