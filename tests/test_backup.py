"""`redumbrella backup` and `restore` (issue 9, item 9), on SQLite and PostgreSQL.

Data in every plugin (the demo's accounts, reports with encrypted fields and identifiers, alerts,
a course, audit entries), a backup taken while one write transaction is open and another thread
keeps writing, the instance wiped (its folder with the keys, and the database), and a restore into
a fresh instance: every encrypted value decrypts, every alert's identifiers are found by the check,
and `audit verify` is intact. A backup without its keys is refused by an instance that lacks them,
before anything is written; a non-empty instance is not overwritten without --force.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import threading
from pathlib import Path

import pytest
from conftest import using_postgres
from fixtures.databases import empty_database

from core.cli import cli
from core.db import connection, db

PHONE = "+447912000111"


def _report(n: int) -> dict:
    return {
        "incident_types": ["robbery"],
        "region": "london",
        "narrative": f"Written during the backup, number {n}.",
        "perpetrators": [{"names": [], "phones": [PHONE], "emails": [], "handles": [], "vehicle": None,
                          "description": None}],
        "consent": {"share_alert": True, "police_intelligence": False, "police_report": False,
                    "wants_support": False},
    }


def _fill(app) -> None:
    from core.demo import fill

    with app.app_context(), connection():
        fill(app, "a long demo passphrase")


class Writer(threading.Thread):
    """Keeps submitting reports (each with its audit entry) until told to stop."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.stop, self.written, self.errors = app, threading.Event(), 0, []
        self.started_writing = threading.Event()

    def run(self):
        from plugins.reporting.service import create_report

        with self.app.app_context():
            while not self.stop.is_set():
                try:
                    with connection():
                        create_report(_report(self.written), reporter=None, source="api")
                    self.written += 1
                    self.started_writing.set()
                except Exception as exc:  # noqa: BLE001 - reported by the test below
                    self.errors.append(repr(exc))
                    return


class OpenTransaction(threading.Thread):
    """Holds one write transaction open (a report and its audit entry) until told to commit."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.holding, self.release, self.errors = app, threading.Event(), threading.Event(), []

    def run(self):
        from plugins.reporting.service import create_report

        with self.app.app_context(), connection():
            try:
                with db.atomic():
                    self.reference = create_report(_report(-1), reporter=None, source="api").report.reference
                    self.holding.set()
                    self.release.wait(timeout=120)
            except Exception as exc:  # noqa: BLE001 - reported by the test below
                self.errors.append(repr(exc))
                self.holding.set()


def _counts(app) -> dict[str, int]:
    with app.app_context(), connection():
        return {t: db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]  # noqa: S608 - catalog names
                for t in db.get_tables()}


def _every_encrypted_value(app) -> int:
    """Decrypt every encrypted value of every column, through the models as the site reads them."""
    from core.crypto import encrypted_columns

    count = 0
    with app.app_context(), connection():
        for model, column in encrypted_columns():
            if not model.table_exists():
                continue
            for value in model.select(column).where(column.is_null(False)).tuples():
                assert value[0] is not None
                count += 1
    return count


@pytest.fixture
def restore_target(tmp_path):
    with empty_database(tmp_path, "restore") as url:
        yield url


def test_backup_while_writing_wipe_and_restore(make_app, database_url, restore_target, tmp_path):
    source = make_app()
    _fill(source)
    from plugins.reporting.service import create_report

    with source.app_context(), connection():
        create_report(_report(0), reporter=None, source="web")

    writer, held = Writer(source), OpenTransaction(source)
    writer.start()
    assert writer.started_writing.wait(60), writer.errors
    held.start()
    assert held.holding.wait(60) and not held.errors, held.errors
    archive = tmp_path / "backups" / "nightly.tar.gz"
    bare = tmp_path / "backups" / "nightly-no-keys.tar.gz"
    archive.parent.mkdir()
    runner = source.test_cli_runner()
    try:
        made = runner.invoke(cli, ["backup", str(archive), "--include-keys"])
    finally:  # the writer waits for the open transaction (SQLite's busy timeout): release it soon
        held.release.set()
        held.join(60)
    try:
        made_bare = runner.invoke(cli, ["backup", str(bare)])
    finally:
        writer.stop.set()
        writer.join(60)
    assert made.exit_code == 0, made.output
    assert made_bare.exit_code == 0, made_bare.output
    assert not writer.errors and not held.errors, (writer.errors, held.errors)
    assert writer.written >= 1

    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert {"manifest.json", manifest["database_file"], "keys/encryption.keys", "keys/blind_index.key",
            "keys/audit.keys"} <= names
    with tarfile.open(bare) as tar:
        assert not [name for name in tar.getnames() if name.startswith("keys/")], "keys only when asked"
    assert archive.stat().st_mode & 0o077 == 0
    assert manifest["database"] == ("postgresql" if using_postgres() else "sqlite")
    assert "core:0040_audit_key" in manifest["migrations"]
    # The transaction still open during the backup is not in it; what was committed before is.
    assert manifest["tables"]["reporting_report"] >= 3
    with source.app_context(), connection():
        from plugins.reporting.models import Report

        assert Report.select().where(Report.reference == held.reference).exists(), "committed afterwards"
    expected_reports = manifest["tables"]["reporting_report"]

    # A second backup to the same name is refused, never written over.
    again = source.test_cli_runner().invoke(cli, ["backup", str(archive)])
    assert again.exit_code == 1 and "already exists" in again.output

    # The disk dies: instance folder (with its keys) and database gone.
    shutil.rmtree(source.instance_path)
    if not using_postgres():
        for suffix in ("", "-wal", "-shm"):
            Path(database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)

    fresh_instance = tmp_path / "new-machine"
    overrides = {"INSTANCE_PATH": str(fresh_instance), "DATABASE_URL": restore_target}
    target = make_app(overrides)  # its first start makes new keys, which open nothing of the backup
    runner = target.test_cli_runner()

    refused = runner.invoke(cli, ["restore", str(bare)])
    assert refused.exit_code == 1
    assert "does not have the keys the backup was made with" in refused.output
    assert "the audit keys" in refused.output and "Nothing was changed" in refused.output
    with target.app_context(), connection():
        assert db.get_tables() == [] or all(
            db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] == 0 for t in db.get_tables())  # noqa: S608

    restored = runner.invoke(cli, ["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert f"audit log intact up to the backup's head {manifest['audit_head']}" in restored.output
    assert (fresh_instance / "keys" / "audit.keys").read_text().strip()

    # Restart on the restored instance: every value opens, every alert is found, the log is intact.
    after = make_app(overrides)
    counts = _counts(after)
    assert counts["reporting_report"] == expected_reports
    for table, rows in manifest["tables"].items():
        assert counts[table] == rows + (1 if table == "audit_entry" else 0), table  # + backup.restored
    assert _every_encrypted_value(after) > 0

    from plugins.alerts.check import lookup
    from plugins.alerts.models import Alert, AlertIdentifier
    from plugins.reporting.models import Report
    from plugins.training.models import Course

    with after.app_context(), connection():
        for report in Report.select():
            assert report.narrative is None or report.narrative.strip()
            for identifier in report.identifiers:
                assert identifier.display
        published = list(Alert.select().where(Alert.status.in_(["published", "updated"])))
        assert published, "the demo publishes alerts"
        for alert in published:
            identifiers = list(AlertIdentifier.select().where(AlertIdentifier.alert == alert))
            assert identifiers
            for identifier in identifiers:
                assert alert.id in lookup([(identifier.kind, identifier.display)]).alert_ids
        assert Course.select().exists()
        # The report whose transaction was open during the backup is not in it: one moment's state.
        assert not Report.select().where(Report.reference == held.reference).exists()

    verified = after.test_cli_runner().invoke(cli, ["audit", "verify", "--expect-head", manifest["audit_head"]])
    assert verified.exit_code == 0, verified.output

    # Restoring over data needs --force.
    again = after.test_cli_runner().invoke(cli, ["restore", str(archive)])
    assert again.exit_code == 1 and "already holds data" in again.output and "--force" in again.output
    forced = after.test_cli_runner().invoke(cli, ["restore", str(archive), "--force"])
    assert forced.exit_code == 0, forced.output


def test_a_missing_pg_dump_is_named(make_app, tmp_path, monkeypatch):
    from core.backup import BackupError, _pg_tool

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump was not found on PATH: install the PostgreSQL client"):
        _pg_tool("pg_dump")


def test_restore_refuses_what_is_not_a_backup(make_app, tmp_path):
    app = make_app()
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    result = app.test_cli_runner().invoke(cli, ["restore", str(junk)])
    assert result.exit_code == 1 and "is not a Red Umbrella backup" in result.output


def _key_files(instance: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted((instance / "keys").iterdir())
            if path.is_file() and not path.name.startswith(".")}


def test_every_key_file_is_named_fingerprinted_and_required(make_app, restore_target, tmp_path):
    """A module's key kept in keys/ (here training's certificate signing key) is as needed as core's:
    backup names it and fingerprints it, and restore refuses an instance without it or with another
    one, instead of letting the module make a new key that disowns everything signed before."""
    from plugins.training import certificates
    from plugins.training.models import Certificate

    source = make_app()
    _fill(source)
    with source.app_context(), connection():
        issued = Certificate.select().where(Certificate.signature.is_null(False)).first()
        assert issued is not None, "the demo issues a signed certificate"
        old_certificate = tmp_path / "certificate.json"
        old_certificate.write_bytes(certificates.document(issued))
    source_keys = _key_files(Path(source.instance_path))
    assert {"audit.keys", "training_signing.key"} <= set(source_keys)

    bare, full = tmp_path / "bare.tar.gz", tmp_path / "with-keys.tar.gz"
    runner = source.test_cli_runner()
    made = runner.invoke(cli, ["backup", str(bare)])
    assert made.exit_code == 0, made.output
    for name in source_keys:  # the closing advice names every key file the instance has
        assert f"keys/{name}" in made.output, made.output
    assert runner.invoke(cli, ["backup", str(full), "--include-keys"]).exit_code == 0
    with tarfile.open(bare) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert not [name for name in tar.getnames() if name.startswith("keys/")]
    assert set(manifest["key_files"]) == set(source_keys)
    assert source_keys["training_signing.key"].strip() not in json.dumps(manifest), "fingerprints only"

    fresh = tmp_path / "new-machine"
    overrides = {"INSTANCE_PATH": str(fresh), "DATABASE_URL": restore_target}
    keys = fresh / "keys"
    keys.mkdir(parents=True, mode=0o700)
    for name in ("encryption.keys", "blind_index.key", "audit.keys"):  # what the old advice named
        if name in source_keys:
            (keys / name).write_text(source_keys[name])
    target = make_app(overrides)
    for name in set(_key_files(fresh)) - {"encryption.keys", "blind_index.key", "audit.keys"}:
        (keys / name).unlink()
    runner = target.test_cli_runner()

    missing = runner.invoke(cli, ["restore", str(bare)])
    assert missing.exit_code == 1, missing.output
    assert "keys/training_signing.key" in missing.output and "Nothing was changed" in missing.output
    assert not (keys / "training_signing.key").exists(), "nothing was written, no key made"

    (keys / "training_signing.key").write_text("ab" * 32 + "\n")  # another instance's key
    other = runner.invoke(cli, ["restore", str(bare)])
    assert other.exit_code == 1, other.output
    assert "keys/training_signing.key" in other.output and "Nothing was changed" in other.output
    with target.app_context(), connection():
        assert not db.get_tables() or not db.execute_sql(
            'SELECT COUNT(*) FROM "training_certificate"').fetchone()[0]

    # With every key file put back, the old certificate verifies on the restored instance.
    for name, text in source_keys.items():
        (keys / name).write_text(text)
    restored = runner.invoke(cli, ["restore", str(bare)])
    assert restored.exit_code == 0, restored.output
    after = make_app(overrides)
    verified = after.test_cli_runner().invoke(cli, ["training", "verify", str(old_certificate)])
    assert verified.exit_code == 0 and "GENUINE" in verified.output, verified.output

    # An archive made with --include-keys brings the module's key back itself.
    (keys / "training_signing.key").write_text("cd" * 32 + "\n")
    forced = after.test_cli_runner().invoke(cli, ["restore", str(full), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (keys / "training_signing.key").read_text() == source_keys["training_signing.key"]
