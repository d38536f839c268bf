"""Backup and restore where the operator review D found them silent or broken, on SQLite and
PostgreSQL where it applies:

- restoring a backup made by an older release, whose manifest names no key files (only core's
  fingerprints), warns that every file of the old keys/ folder must be copied in before the site
  starts (M3): the restore cannot know which module keys the old instance had;
- on a disk turned read-only (SQLite), `backup` still gets the data off, queue included, and the
  queue, opened only when used, is one clear line naming its folder when it cannot be written (L1).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from conftest import using_postgres
from fixtures.databases import empty_database
from small_disk import make_read_only, small_disk

from core.cli import cli
from core.db import connection, db


def _drop_key_files_from_manifest(archive: Path, older: Path) -> None:
    """The archive as a release before key file fingerprints wrote it: no "key_files" in its manifest."""
    with tarfile.open(archive) as source, tarfile.open(older, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                del manifest["key_files"]
                data = json.dumps(manifest).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))


def test_restoring_an_older_backup_warns_about_the_modules_key_files(make_app, tmp_path):
    source = make_app()
    archive, older = tmp_path / "new.tar.gz", tmp_path / "older.tar.gz"
    made = source.test_cli_runner().invoke(cli, ["backup", str(archive)])
    assert made.exit_code == 0, made.output
    _drop_key_files_from_manifest(archive, older)

    with empty_database(tmp_path, "older") as url:
        fresh = tmp_path / "new-machine"
        (fresh / "keys").mkdir(parents=True, mode=0o700)
        for name in ("encryption.keys", "blind_index.key", "audit.keys"):  # what the old release named
            if (Path(source.instance_path) / "keys" / name).exists():  # (tests set the first two in settings)
                shutil.copy(Path(source.instance_path) / "keys" / name, fresh / "keys" / name)
        target = make_app({"INSTANCE_PATH": str(fresh), "DATABASE_URL": url})
        restored = target.test_cli_runner().invoke(cli, ["restore", str(older)])
        assert restored.exit_code == 0, restored.output
        warning = [line for line in restored.output.splitlines() if "WARNING" in line]
        assert len(warning) == 1, restored.output
        assert "older release" in warning[0]
        assert f"Copy every file of the old instance's keys/ folder into {fresh / 'keys'} before starting" in warning[0]

        # A backup of this release names its key files: checked, so no warning.
        current = make_app({"INSTANCE_PATH": str(fresh), "DATABASE_URL": url}).test_cli_runner()
        again = current.invoke(cli, ["restore", str(archive), "--force"])
        assert again.exit_code == 0, again.output
        assert "WARNING" not in again.output


@pytest.mark.once  # run in the SQLite pass only: the instance folder holds the database only with SQLite
@pytest.mark.skipif(using_postgres(), reason="the instance folder holds the database only with SQLite")
def test_backup_gets_the_data_off_a_disk_turned_read_only(make_app, database_url, tmp_path):
    with small_disk(tmp_path / "disk", 64) as disk:
        instance = disk / "instance"
        instance.mkdir()
        database = instance / "redumbrella.sqlite3"
        shutil.copyfile(database_url.removeprefix("sqlite:///"), database)
        settings = {"INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{database}", "QUEUE_IMMEDIATE": False}
        writer = make_app(settings)
        with writer.app_context(), connection():
            tables = len(db.get_tables())
        writer.extensions["redumbrella.queue"].huey.pending_count()  # the queue file, as the worker made it
        writer.extensions["redumbrella.queue"].huey.storage.close()
        db.obj.close_all()
        assert (instance / "queue.sqlite3").exists()

        make_read_only(disk)
        app = make_app(settings)  # building the app opens nothing for writing
        archive = tmp_path / "off-the-dying-disk.tar.gz"
        made = app.test_cli_runner().invoke(cli, ["backup", str(archive)])
        assert made.exit_code == 0, made.output
        with tarfile.open(archive) as tar:
            manifest = json.loads(tar.extractfile("manifest.json").read())
            assert {"database.sqlite3", "queue.sqlite3"} <= set(tar.getnames())
        assert len(manifest["tables"]) == tables and manifest["queue"]["included"]

        # The queue cannot be opened here: one line, naming the folder.
        from core.queue import QueueStorageError

        with pytest.raises(QueueStorageError) as refused:
            app.extensions["redumbrella.queue"].huey.pending_count()
        message = str(refused.value)
        assert "\n" not in message and f"{instance} must be writable by this user" in message
        assert health_of(app)["queue"] == "unavailable"


def health_of(app) -> dict:
    return app.test_client().get("/healthz").get_json()
