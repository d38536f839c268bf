"""Keys that do not fit the data stop every command that serves or writes (core.key_check).

Real processes on the test database (SQLite copy or PostgreSQL): the instance keeps its keys in
files, as a default install does, and a file is taken away, replaced or overridden as an operator
might by mistake."""

from __future__ import annotations

import secrets
import shutil

import pytest
from cryptography.fernet import Fernet
from fixtures.processes import instance_env, run_cli, start_web, wait_for
from playhouse.db_url import connect


@pytest.fixture
def instance(tmp_path, database_url):
    """An instance with keys in keys/, a demo's worth of encrypted data, and its keys put aside."""
    folder = tmp_path / "instance"
    env = instance_env(folder, database_url, secrets=False,
                       SECRET_KEY="test-secret-key-that-is-long-enough-0123456789")
    for args in (["init"], ["demo", "--password", "a long demo passphrase"]):
        done = run_cli(args, env, timeout=120)
        assert done.returncode == 0, done.stderr
    kept = tmp_path / "kept-keys"
    shutil.copytree(folder / "keys", kept)
    return env, folder / "keys", kept


def _counts(database_url: str) -> tuple[int, int]:
    database = connect(database_url)
    try:
        return tuple(database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
                     for table in ("user", "audit_entry"))
    finally:
        database.close()


def _refused(done, *names: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("redumbrella: configuration error: the keys do not fit the data"), done.stderr
    for name in names:
        assert name in line, line
    assert "Traceback" not in done.stderr


def test_a_lost_encryption_key_file_stops_every_command_and_writes_nothing(instance, database_url):
    env, keys, kept = instance
    before = _counts(database_url)
    (keys / "encryption.keys").unlink()

    first = run_cli(["db", "upgrade"], env)
    _refused(first, "keys/encryption.keys (it was missing: a new one was made just now)")
    for args in (["worker"], ["serve", "--port", "1"], ["demo"]):
        _refused(run_cli(args, env), "keys/encryption.keys")
    assert _counts(database_url) == before

    shutil.copy(kept / "encryption.keys", keys / "encryption.keys")  # the key backup put back
    assert run_cli(["db", "upgrade"], env).returncode == 0


def test_a_web_worker_does_not_boot_with_keys_from_another_instance(instance, tmp_path):
    env, _keys, _kept = instance
    other = {**env, "REDUMBRELLA_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    web, _port = start_web(other, tmp_path / "web.log")
    try:
        wait_for(lambda: not web.alive(), 60, "gunicorn to stop")
        assert "keys do not fit the data" in web.output()
        assert "REDUMBRELLA_ENCRYPTION_KEYS" in web.output()
    finally:
        web.stop()


def test_another_blind_index_key_or_audit_key_stops(instance):
    env, _keys, _kept = instance
    _refused(run_cli(["worker"], {**env, "REDUMBRELLA_BLIND_INDEX_KEY": secrets.token_hex(32)}),
             "REDUMBRELLA_BLIND_INDEX_KEY")
    _refused(run_cli(["users", "create", "x@example.org", "--role", "admin"],
                     {**env, "REDUMBRELLA_AUDIT_KEYS": secrets.token_hex(32)}),
             "REDUMBRELLA_AUDIT_KEYS")


def test_a_database_from_before_the_record_is_checked_by_its_data(instance, database_url):
    """An instance upgraded to this release has no recorded proof: its own values are tried."""
    env, keys, kept = instance
    database = connect(database_url)
    try:
        database.execute_sql('DELETE FROM "core_key_check"')
    finally:
        database.close()

    (keys / "blind_index.key").unlink()
    _refused(run_cli(["db", "upgrade"], env), "keys/blind_index.key (it was missing: a new one was made just now)")
    (keys / "encryption.keys").write_text(Fernet.generate_key().decode() + "\n")
    _refused(run_cli(["db", "upgrade"], env), "keys/encryption.keys")

    for name in ("encryption.keys", "blind_index.key"):
        shutil.copy(kept / name, keys / name)
    assert run_cli(["db", "upgrade"], env).returncode == 0
    database = connect(database_url)
    try:
        assert database.execute_sql('SELECT COUNT(*) FROM "core_key_check"').fetchone()[0] == 1  # recorded now
    finally:
        database.close()


def test_rotated_keys_still_fit_after_the_old_key_is_dropped(instance):
    env, keys, _kept = instance
    rotated = run_cli(["keys", "rotate"], env)
    assert rotated.returncode == 0, rotated.stderr
    newest = (keys / "encryption.keys").read_text().splitlines()[0]
    (keys / "encryption.keys").write_text(newest + "\n")  # every value is under the new key now
    done = run_cli(["db", "upgrade"], env)
    assert done.returncode == 0, done.stderr


def test_the_line_names_a_section_the_deployment_guide_has():
    from pathlib import Path

    from core import key_check

    assert 'The keys do not fit' in Path(key_check.__file__).read_text()
    guide = (Path(__file__).resolve().parents[1] / "docs" / "deployment.md").read_text()
    assert "\n### The keys do not fit\n" in guide


def test_a_module_key_file_the_instance_had_must_be_put_back_or_forgotten_on_purpose(instance, database_url):
    """Any key file of keys/ (a module's: training's signing key, federation's) is expected once seen."""
    env, keys, _kept = instance
    (keys / "sample_module.key").write_text("ab" * 32 + "\n")
    assert run_cli(["db", "upgrade"], env).returncode == 0  # seen, and from now on expected
    kept = (keys / "sample_module.key").read_text()
    (keys / "sample_module.key").unlink()
    before = _counts(database_url)
    for args in (["worker"], ["db", "upgrade"]):
        refused = run_cli(args, env)
        assert refused.returncode == 2
        assert "keys/sample_module.key is missing, and this instance had it" in refused.stderr
        assert "redumbrella keys forget-file NAME" in refused.stderr
    assert _counts(database_url) == before

    (keys / "sample_module.key").write_text(kept)
    assert run_cli(["db", "upgrade"], env).returncode == 0
    (keys / "sample_module.key").unlink()
    assert run_cli(["keys", "forget-file", "sample_module.key"], env).returncode == 0
    assert run_cli(["db", "upgrade"], env).returncode == 0
    again = run_cli(["keys", "forget-file", "sample_module.key"], env)
    assert again.returncode == 1 and "not among the key files this instance expects" in again.stderr
    assert _counts(database_url)[1] == before[1] + 1  # the audit log says a key file was let go


def test_core_keys_moved_into_the_environment_may_leave_keys(instance):
    env, keys, _kept = instance
    moved = {**env, "REDUMBRELLA_ENCRYPTION_KEYS": (keys / "encryption.keys").read_text().strip()}
    (keys / "encryption.keys").unlink()
    done = run_cli(["db", "upgrade"], moved)
    assert done.returncode == 0, done.stderr
    assert not (keys / "encryption.keys").exists()


def test_an_upgrade_from_before_a_column_was_encrypted_is_not_refused(instance, database_url):
    """A release whose migrations still have to encrypt a column (alerts 0003: the withdrawal reason,
    once plain text): the keys are tried on the data once migrated, not before."""
    env, _keys, _kept = instance
    database = connect(database_url)
    try:
        p = database.param
        (alert_id,) = database.execute_sql('SELECT "id" FROM "alerts_alert" ORDER BY "id" LIMIT 1').fetchone()
        database.execute_sql('DELETE FROM "core_key_check"')
        database.execute_sql(f'DELETE FROM "schema_migration" WHERE "name" = {p}',
                             ("alerts:0003_encrypt_withdrawal_reason",))
        database.execute_sql(f'UPDATE "alerts_alert" SET "withdrawn_reason" = {p} WHERE "id" = {p}',
                             ("a reason in plain text", alert_id))
    finally:
        database.close()
    done = run_cli(["db", "upgrade"], env)
    assert done.returncode == 0, done.stderr
    assert "applied alerts:0003_encrypt_withdrawal_reason" in done.stdout
    database = connect(database_url)
    try:
        assert database.execute_sql('SELECT COUNT(*) FROM "core_key_check"').fetchone()[0] == 1
        (stored,) = database.execute_sql(f'SELECT "withdrawn_reason" FROM "alerts_alert" WHERE "id" = {database.param}',
                                         (alert_id,)).fetchone()
        assert stored.startswith("gAAAA")  # encrypted by the migration, under the instance's own key
    finally:
        database.close()


def test_audit_entries_signed_under_a_new_audit_key_do_not_hide_the_lost_one(instance):
    """Every audit key that ever signed is recorded: a command run with a fresh audit.keys (which signs
    its own entry) must not make the next start look right."""
    env, keys, kept = instance
    (keys / "audit.keys").unlink()
    refused = run_cli(["plugins", "disable", "training"], env)  # any command, not only those that serve
    _refused(refused, "keys/audit.keys (it was missing: a new one was made just now)")
    _refused(run_cli(["worker"], env), "keys/audit.keys")
    shutil.copy(kept / "audit.keys", keys / "audit.keys")
    assert run_cli(["db", "upgrade"], env).returncode == 0


@pytest.mark.once
def test_restore_into_an_instance_just_made_by_init(tmp_path):
    """init records the proof of its own keys: the instance still counts as empty for restore."""
    source = instance_env(tmp_path / "source", f"sqlite:///{tmp_path / 'source.sqlite3'}", secrets=False,
                          SECRET_KEY="test-secret-key-that-is-long-enough-0123456789")
    for args in (["init"], ["demo", "--password", "a long demo passphrase"],
                 ["backup", "--include-keys", str(tmp_path / "copy.tar.gz")]):
        done = run_cli(args, source, timeout=120)
        assert done.returncode == 0, done.stderr
    target = instance_env(tmp_path / "target", f"sqlite:///{tmp_path / 'target.sqlite3'}", secrets=False,
                          SECRET_KEY="test-secret-key-that-is-long-enough-0123456789")
    assert run_cli(["init"], target).returncode == 0
    restored = run_cli(["restore", str(tmp_path / "copy.tar.gz")], target, timeout=120)
    assert restored.returncode == 0, restored.stderr
    assert run_cli(["db", "upgrade"], target).returncode == 0  # the restored keys fit the restored data
