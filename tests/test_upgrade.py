"""An instance made by the previous release (5a74b3a) upgrades with `redumbrella db upgrade`
(issue 9, item 9), on SQLite and PostgreSQL.

The old schema is built from that release's own migration files (tests/fixtures/release_5a74b3a),
then filled as that release wrote its rows: an account, a verified report with an encrypted
narrative and a phone identifier, a published alert with the same phone, and an audit log chained
with plain SHA-256. After the upgrade every value decrypts, the phone is found by the check, and
`audit verify` reads the old entries, sealed by the upgrade's keyed entry, as intact; an old entry
changed afterwards, even with its plain chain recomputed, is caught.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import pytest
from conftest import using_postgres
from fixtures.databases import empty_database

from core.cli import cli
from core.db import connection, db
from core.schema import HISTORY_TABLE, OwnerRunner, pending

OLD_RELEASE = Path(__file__).parent / "fixtures" / "release_5a74b3a"
PHONE = "+447912345678"
EMAIL = "old.member@example.org"
NARRATIVE = "Written before the upgrade: he took the money back."


@pytest.fixture
def old_database(tmp_path):
    with empty_database(tmp_path, "upgrade") as url:
        yield url


def _old_chain(rows: list[tuple]) -> list[tuple]:
    """Audit rows as release 5a74b3a wrote them: SHA-256 over the fields and the previous hash."""
    chained, previous = [], "0" * 64
    for created_at, actor_id, action, target in rows:
        body = json.dumps([created_at.isoformat(timespec="microseconds"), actor_id, action, target, previous],
                          separators=(",", ":"))
        digest = hashlib.sha256(body.encode()).hexdigest()
        chained.append((created_at, actor_id, action, target, previous, digest))
        previous = digest
    return chained


def _build_old_instance(app) -> dict:
    """The old release's schema from its own migrations, and rows written as it wrote them."""
    from core.crypto import keyring

    ring = keyring()
    p = db.param
    now = datetime.datetime(2026, 11, 27, 10, 30, 15, 123456)
    with app.app_context(), connection():
        for owner in ("core", "reporting", "alerts", "training"):
            OwnerRunner(db, owner, OLD_RELEASE / owner).up()
        assert "training:0001_courses" not in pending(app)
        assert "core:0040_audit_key" in pending(app) and "training:0002_courses_in_full" in pending(app)

        def insert(table: str, **values) -> int:
            columns = ", ".join(f'"{c}"' for c in values)
            marks = ", ".join([p] * len(values))
            sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'  # noqa: S608 - test's own names
            if using_postgres():
                return db.execute_sql(sql + " RETURNING id", list(values.values())).fetchone()[0]
            return db.execute_sql(sql, list(values.values())).lastrowid

        with db.atomic():
            for name in ("reporting", "alerts", "training"):
                db.execute_sql(f"INSERT INTO plugin_state (name, enabled, changed_at) VALUES ({p}, {p}, {p})",
                               (name, True, now))
            user = insert("user", email_index=ring.blind_index("account-email", EMAIL), email=ring.encrypt(EMAIL),
                          working_name=ring.encrypt("Old Member"), active=True, session_version=0, created_at=now)
            db.execute_sql(f'INSERT INTO "user_role" (user_id, role) VALUES ({p}, {p})', (user, "member"))
            report = insert("reporting_report", reference="R-OLD001", status="verified", urgency=1,
                            incident_types="robbery", region="london", narrative=ring.encrypt(NARRATIVE),
                            on_behalf=False, source="web", created_at=now, updated_at=now,
                            status_changed_at=now, verified_at=now)
            insert("reporting_consent", report_id=report, purpose="share_alert", given_at=now)
            perpetrator = insert("reporting_perpetrator", report_id=report, position=0,
                                 names=ring.encrypt('["Old Name"]'))
            insert("reporting_perpetrator_identifier", perpetrator_id=perpetrator, report_id=report, kind="phone",
                   blind_index=ring.blind_index("phone", PHONE), display=ring.encrypt(PHONE))
            alert = insert("alerts_alert", status="published", severity="high", title="Old alert",
                           summary="Written before the upgrade.", incident_types="robbery", version=1,
                           created_at=now, changed_at=now, published_at=now)
            insert("alerts_region", alert_id=alert, region="london")
            insert("training_course", title="Old course", summary="Listed before the upgrade.", created_at=now)
            insert("alerts_source", alert_id=alert, report_id=report)
            insert("alerts_identifier", alert_id=alert, kind="phone", blind_index=ring.blind_index("phone", PHONE),
                   display=ring.encrypt(PHONE))
            entries = _old_chain([(now + datetime.timedelta(seconds=n), user if n else None, action, target)
                                  for n, (action, target) in enumerate([
                                      ("plugin.enabled", "plugin:reporting"), ("report.submitted", "report:R-OLD001"),
                                      ("report.verified", "report:R-OLD001"), ("alert.published", f"alert:{alert}")])])
            for row in entries:
                db.execute_sql(
                    "INSERT INTO audit_entry (created_at, actor_id, action, target, previous_hash, entry_hash) "
                    f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})", row)
        history = [row[0] for row in db.execute_sql(f'SELECT name FROM "{HISTORY_TABLE}"')]  # noqa: S608
    return {"user": user, "report": report, "alert": alert, "entries": entries, "history": history}


def test_an_instance_of_the_previous_release_upgrades(make_app, old_database):
    app = make_app({"DATABASE_URL": old_database})
    old = _build_old_instance(app)
    assert len(old["history"]) == 13 and "core:0040_audit_key" not in old["history"]

    runner = app.test_cli_runner()
    status = runner.invoke(cli, ["db", "status"])
    assert status.exit_code == 1 and "pending core:0040_audit_key" in status.output
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "applied core:0040_audit_key" in upgraded.output and "Database is up to date." in upgraded.output

    # A restart on the new code: everything the old release wrote reads back.
    app = make_app({"DATABASE_URL": old_database})
    from core.accounts.models import User
    from core.audit import AuditEntry, record
    from plugins.alerts.check import lookup
    from plugins.reporting.models import Report

    with app.app_context(), connection():
        assert pending(app) == []
        user = User.by_email(EMAIL)
        assert user is not None and user.id == old["user"] and user.working_name == "Old Member"
        report = Report.get_by_id(old["report"])
        from plugins.training.models import Course

        old_course = Course.get(Course.title == "Old course")  # every old course stays in the catalogue
        assert old_course.status == "published" and old_course.language == "en" and old_course.version == 1
        assert report.narrative == NARRATIVE
        assert [i.display for i in report.identifiers] == [PHONE]
        outcome = lookup([("phone", PHONE)])
        assert outcome.alert_ids == [old["alert"]], outcome

        entries = list(AuditEntry.select().order_by(AuditEntry.id))
        assert [e.entry_hash for e in entries[:4]] == [row[5] for row in old["entries"]], "old entries unchanged"
        assert all(e.key_id == "" for e in entries[:4])
        seal = entries[4]
        assert (seal.action, seal.target, seal.previous_hash) == ("audit.keyed", "audit_entry:4", entries[3].entry_hash)
        assert seal.key_id
        record("test.after_upgrade", target="thing:1")

    result = app.test_cli_runner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit log intact: 6 entries, head 6:" in result.output


def test_old_entries_rewritten_after_the_upgrade_are_caught(make_app, old_database):
    """The plain chain alone could be recomputed by anyone; the keyed seal after it cannot."""
    app = make_app({"DATABASE_URL": old_database})
    old = _build_old_instance(app)
    assert app.test_cli_runner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    app = make_app({"DATABASE_URL": old_database})
    assert app.test_cli_runner().invoke(cli, ["audit", "verify"]).exit_code == 0

    # Change the second old entry and recompute the old chain from there, as the old release allowed.
    rows = [(created, actor, action, "report:R-FORGED" if n == 1 else target)
            for n, (created, actor, action, target, _previous, _digest) in enumerate(old["entries"])]
    forged = _old_chain(rows)
    p = db.param
    with app.app_context(), connection(), db.atomic():
        if using_postgres():
            db.execute_sql("SET LOCAL session_replication_role = replica")
        else:
            db.execute_sql("DROP TRIGGER IF EXISTS audit_entry_no_update")
        ids = [row[0] for row in db.execute_sql("SELECT id FROM audit_entry ORDER BY id LIMIT 4")]
        for entry_id in ids:  # entry_hash is unique: out of the way first
            db.execute_sql(f"UPDATE audit_entry SET entry_hash = {p} WHERE id = {p}", (f"x{entry_id}", entry_id))
        for entry_id, row in zip(ids, forged, strict=True):
            db.execute_sql(f"UPDATE audit_entry SET target = {p}, previous_hash = {p}, entry_hash = {p} WHERE id = {p}",
                           (row[3], row[4], row[5], entry_id))
    result = app.test_cli_runner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"the audit chain breaks at entry {ids[-1] + 1}" in result.output, "at the seal"
