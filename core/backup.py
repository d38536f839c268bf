"""`redumbrella backup` and `restore`: one archive holding a consistent copy of the database.

The archive is a gzipped tar file, readable by its owner only, holding:

- `manifest.json`: format, release, time, database kind, applied migrations, row counts per
  table, the audit head (COUNT:HASH) and fingerprints of the keys the data needs: core's key
  ring, and every key file in the instance's keys/ folder (modules keep theirs there too);
- `database.sqlite3` (SQLite, copied with SQLite's online backup API while the site runs: one
  read transaction, so the copy is one moment's state whatever is written meanwhile) or
  `database.dump` (PostgreSQL, `pg_dump --format=custom` inside the very snapshot the manifest's
  counts were read in);
- `queue.sqlite3`: the SQLite task queue, copied the same way (tasks not yet run, by id only);
- `keys/`: only with `--include-keys`: every key file of the instance's keys/ folder (core's key
  ring, as the instance uses it, and the modules' key files). A backup beside its keys protects
  nothing, so by default it holds only fingerprints, and restore checks that the instance has the
  keys. The secret key (`secret_key`) is never in it: it reads nothing, and a new one only signs
  everyone out.

Restore refuses a non-empty instance unless forced, refuses keys that do not fit the manifest
before anything is written, then checks that every encrypted column decrypts (a sample of each)
and that the audit chain is intact and ends exactly at the manifest's head.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump/pg_restore, found on PATH, with fixed argument lists
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from core.crypto import instance_key_files, is_key_file_name

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_COPY = "database.sqlite3"
POSTGRES_DUMP = "database.dump"
QUEUE_COPY = "queue.sqlite3"
HISTORY_TABLE = "schema_migration"
SAMPLE_PER_COLUMN = 50  # encrypted values decrypted per column after a restore (first and last)


class BackupError(Exception):
    """The backup or restore cannot go ahead; the message says why and what to do."""


@dataclass
class Restored:
    manifest: dict
    notes: list[str] = field(default_factory=list)
    decrypted: int = 0


# -- backup ----------------------------------------------------------------------------------


def create(app, target: Path, include_keys: bool = False) -> dict:
    """Write the archive to `target` (which must not exist yet); return its manifest."""
    from core.db import connection, is_sqlite

    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new name (a backup is never written over)")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    sqlite = is_sqlite()  # SQLite is read through its own files below, never through the site's pool
    if not sqlite:
        with connection():  # the database answers: nothing is written, a backup never waits for writers
            pass
    with tempfile.TemporaryDirectory(prefix=".redumbrella-backup-", dir=target.parent) as work:
        work = Path(work)
        if sqlite:
            manifest = _copy_sqlite(_sqlite_path(), work / SQLITE_COPY)
            manifest["database"], manifest["database_file"] = "sqlite", SQLITE_COPY
        else:
            manifest = _dump_postgres(app.config["DATABASE_URL"], work / POSTGRES_DUMP)
            manifest["database"], manifest["database_file"] = "postgresql", POSTGRES_DUMP
        manifest["queue"] = _copy_queue(app, work / QUEUE_COPY)
        manifest.update(
            format=FORMAT,
            application="redumbrella",
            version=_version(),
            created_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            keys=key_fingerprints(app),
            key_files=key_file_fingerprints(app),
            keys_included=include_keys,
        )
        members = [manifest["database_file"]] + ([QUEUE_COPY] if manifest["queue"]["included"] else [])
        secrets = key_files(app) if include_keys else {}
        _write_archive(target, manifest, work, members, secrets)
    return manifest


def _sqlite_path() -> Path:
    from core.db import db

    return Path(db.obj.database)


def _copy_sqlite(source: Path, copy: Path) -> dict:
    """SQLite's online backup API in one step: a single read transaction, so the copy is consistent
    while the site keeps writing (WAL lets the writers go on)."""
    src = _open_for_copy(source)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # pages=-1: every page in one step, inside one read transaction
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the copy of the database failed SQLite's integrity check: nothing was written")
        return _describe(dst.cursor(), _sqlite_tables(dst))
    finally:
        dst.close()


def _open_for_copy(source: Path) -> sqlite3.Connection:
    """A connection to read a SQLite file from. On a disk that turned read-only (often a dying one,
    whose data must be got off), a WAL database cannot be opened the usual way (SQLite writes its
    -shm file even to read): nothing can write the file there, so it is read as immutable, unless a
    -wal file still holds commits not yet in the database file, which that would leave out."""
    if not source.is_file():  # sqlite3 would make an empty one, and back that up
        raise BackupError(f"there is no database at {source}: check REDUMBRELLA_INSTANCE_PATH and DATABASE_URL")
    connection = sqlite3.connect(source, timeout=30)
    try:
        connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # SQLite opens the file here
        return connection
    except sqlite3.OperationalError as exc:
        connection.close()
        if not _on_read_only_disk(source):
            raise BackupError(f"{source} cannot be read ({exc}): nothing was written") from None
        wal = source.with_name(source.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise BackupError(
                f"{source.parent} is on a read-only disk and {wal.name} still holds the latest changes: copy the "
                f"whole folder (the database with its -wal and -shm files) onto a disk that can be written, then "
                f"run the backup with REDUMBRELLA_INSTANCE_PATH set to that copy. Nothing was written"
            ) from None
    return sqlite3.connect(f"{source.resolve().as_uri()}?immutable=1", uri=True)


def _on_read_only_disk(path: Path) -> bool:
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _sqlite_tables(connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def _describe(cursor, tables: list[str]) -> dict:
    """Row counts, applied migrations and the audit head, read through one consistent view."""
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608  # nosec B608  # names from the catalog
        counts[table] = cursor.fetchone()[0]
    migrations = []
    if HISTORY_TABLE in tables:
        cursor.execute(f'SELECT name FROM "{HISTORY_TABLE}" ORDER BY name')  # noqa: S608  # nosec B608  # constant
        migrations = [row[0] for row in cursor.fetchall()]
    head = None
    if "audit_entry" in tables:
        cursor.execute("SELECT entry_hash FROM audit_entry ORDER BY id DESC LIMIT 1")
        last = cursor.fetchone()
        from core.audit import GENESIS

        head = f"{counts['audit_entry']}:{last[0] if last else GENESIS}"
    return {"tables": counts, "migrations": migrations, "audit_head": head}


def _pg_environment(url: str) -> dict[str, str]:
    """libpq's variables for the database URL, so no password appears in a process list."""
    from playhouse.db_url import parse

    params = parse(url)
    env = dict(os.environ)
    for key, name in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD"),
                      ("database", "PGDATABASE")):
        if params.get(key) not in (None, ""):
            env[name] = str(params[key])
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH: install the PostgreSQL client tools of your server's version "
            f"or newer (Debian: apt-get install postgresql-client)"
        )
    return path


def _dump_postgres(url: str, dump: Path) -> dict:
    """pg_dump inside the snapshot the manifest is read in, so counts and head match the dump."""
    import psycopg2
    from playhouse.db_url import parse

    pg_dump = _pg_tool("pg_dump")
    params = {k: v for k, v in parse(url).items() if k in {"database", "user", "password", "host", "port"} and v}
    params["dbname"] = params.pop("database")
    conn = psycopg2.connect(**params)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
            manifest = _describe(cursor, [row[0] for row in cursor.fetchall()])
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={dump}"], _pg_environment(url), "pg_dump")
    finally:
        conn.rollback()
        conn.close()
    return manifest


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603  # fixed list
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def _copy_queue(app, copy: Path) -> dict:
    """The SQLite queue's waiting tasks (ids only), copied like the database; Redis is not copied."""
    if app.config["REDIS_URL"]:
        return {"kind": "redis", "included": False, "tasks": None}
    source = Path(app.instance_path) / QUEUE_COPY
    if app.config["QUEUE_IMMEDIATE"] or not source.exists():
        return {"kind": "none", "included": False, "tasks": None}
    _online_copy(source, copy)
    check = sqlite3.connect(copy)
    try:
        tables = _sqlite_tables(check)
        waiting = sum(check.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]  # noqa: S608  # nosec B608  # catalog names
                      for t in tables if t in {"task", "schedule"})
    finally:
        check.close()
    return {"kind": "sqlite", "included": True, "tasks": waiting}


def _online_copy(source: Path, target: Path) -> None:
    src = _open_for_copy(source)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def key_fingerprints(app) -> dict:
    """What the data needs, as fingerprints that reveal nothing of the keys."""
    from core.crypto import fingerprint, keyring

    ring = keyring()
    return {
        "encryption": [fingerprint(key) for key in ring.keys],
        "blind_index": fingerprint(ring.blind_index_key),
        "audit": sorted(ring.audit_keys),
    }


def _line_fingerprints(text: str) -> list[str]:
    """A file's keys (one a line, as every key file holds them) as fingerprints, in file order."""
    from core.crypto import fingerprint

    return [fingerprint(line.strip().encode()) for line in text.splitlines() if line.strip()]


def key_file_fingerprints(app) -> dict[str, list[str]]:
    """Every key file of keys/ by name, each as its keys' fingerprints: whatever module made a file,
    the backup's data may need it (a signing key makes a new one if missing, and disowns what the
    old one signed)."""
    return {path.name: _line_fingerprints(path.read_text()) for path in instance_key_files(app)}


def key_files(app) -> dict[str, str]:
    """The keys in use, as the instance folder's files hold them (wherever they came from)."""
    from core.crypto import AUDIT_KEYS_FILE, BLIND_INDEX_KEY_FILE, ENCRYPTION_KEYS_FILE, KEY_DIR_NAME, keyring

    ring = keyring()
    files = {
        f"{KEY_DIR_NAME}/{ENCRYPTION_KEYS_FILE}": "".join(f"{key.decode()}\n" for key in ring.keys),
        f"{KEY_DIR_NAME}/{BLIND_INDEX_KEY_FILE}": ring.blind_index_key.decode() + "\n",
        f"{KEY_DIR_NAME}/{AUDIT_KEYS_FILE}": "".join(f"{key.decode()}\n" for key in ring.audit_keys_in_order()),
    }
    # Every other key file of the folder (the modules' keys, such as a certificate signing key).
    for path in instance_key_files(app):
        files.setdefault(f"{KEY_DIR_NAME}/{path.name}", path.read_text())
    return files


def _write_archive(target: Path, manifest: dict, work: Path, members: list[str], secrets: dict[str, str]) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
            for name in members:
                archive.add(work / name, arcname=name, recursive=False)
            for name, text in secrets.items():
                _add_bytes(archive, name, text.encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    info.mtime = int(datetime.datetime.now(datetime.UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("redumbrella")
    except PackageNotFoundError:
        return "unknown"


# -- restore ---------------------------------------------------------------------------------


def _open(archive_path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive_path, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive_path} is not a Red Umbrella backup ({exc.__class__.__name__})") from None


def _member(archive: tarfile.TarFile, name: str) -> bytes | None:
    """A regular file of the archive by its exact name (nothing is extracted by a name it chooses)."""
    try:
        info = archive.getmember(name)
    except KeyError:
        return None
    if not info.isfile():
        raise BackupError(f"the backup's {name} is not a regular file")
    return archive.extractfile(info).read()


def instance_is_empty() -> bool:
    """No table holds a row, apart from the migration history and the proof of the keys `init`
    records (core.key_check): an `init`-ed instance is empty."""
    from core.db import db

    for table in db.get_tables():
        if table in (HISTORY_TABLE, "core_key_check"):
            continue
        if db.execute_sql(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():  # noqa: S608  # nosec B608  # catalog names
            return False
    return True


def restore(app, archive_path: Path, force: bool = False) -> Restored:
    from core.db import connection, db, is_sqlite

    archive_path = Path(archive_path)
    with _open(archive_path) as archive:
        raw = _member(archive, MANIFEST)
        if raw is None:
            raise BackupError(f"{archive_path} has no manifest: it is not a Red Umbrella backup")
        manifest = json.loads(raw)
        if manifest.get("format") != FORMAT:
            raise BackupError(f"this backup's format ({manifest.get('format')}) is not one this release reads")
        with connection():
            sqlite = is_sqlite()
            kind = "sqlite" if sqlite else "postgresql"
            if manifest["database"] != kind:
                raise BackupError(f"this backup is of a {manifest['database']} database and this instance uses "
                                  f"{kind}: restore it into an instance of the same kind")
            newer = sorted(set(manifest["migrations"]) - _known_migrations(app))
            if newer:
                raise BackupError(f"this backup was made by a newer release (it has migration {newer[0]}): "
                                  "install that release or a later one first")
            empty = instance_is_empty()
            if not force and not empty:
                raise BackupError("this instance already holds data: restoring would replace all of it. "
                                  "Run again with --force if that is what you want")
        result = Restored(manifest)
        if manifest.get("keys_included"):
            _put_keys_back(app, archive, result, keep_replaced=not empty)
        _check_keys(app, manifest)
        if "key_files" not in manifest:
            result.notes.append(_older_key_note(app))
        with tempfile.TemporaryDirectory(prefix=".redumbrella-restore-") as work:
            work = Path(work)
            data = _member(archive, manifest["database_file"])
            if data is None:
                raise BackupError(f"the backup has no {manifest['database_file']}")
            copy = work / manifest["database_file"]
            copy.write_bytes(data)
            db.obj.close_all()
            if sqlite:
                _restore_sqlite(copy, _sqlite_path())
            else:
                _restore_postgres(app.config["DATABASE_URL"], copy)
            queue = _member(archive, QUEUE_COPY)
            if queue is not None:
                if app.config["REDIS_URL"] or app.config["QUEUE_IMMEDIATE"]:
                    result.notes.append("the backup's waiting tasks were not restored: this instance's queue is "
                                        "not SQLite")
                else:
                    (work / QUEUE_COPY).write_bytes(queue)
                    _online_copy(work / QUEUE_COPY, Path(app.instance_path) / QUEUE_COPY)
    _check_restored(app, manifest, result)
    return result


def _known_migrations(app) -> set[str]:
    from core.schema import runners

    return {migration.name for runner in runners(app) for migration in runner.migrations()}


def _put_keys_back(app, archive: tarfile.TarFile, result: Restored, keep_replaced: bool) -> None:
    """Write the backup's key files into the instance; keys set in the configuration must already match.

    Keys an instance with data had are kept beside the new ones (they may open copies of that data
    elsewhere); an empty instance's keys, made at its first start, open nothing and are replaced."""
    from core.crypto import (
        AUDIT_KEYS_FILE,
        BLIND_INDEX_KEY_FILE,
        ENCRYPTION_KEYS_FILE,
        KEY_DIR_NAME,
        _write_secret,
        load_keys,
    )

    settings = {ENCRYPTION_KEYS_FILE: "ENCRYPTION_KEYS", BLIND_INDEX_KEY_FILE: "BLIND_INDEX_KEY",
                AUDIT_KEYS_FILE: "AUDIT_KEYS"}
    key_dir = Path(app.instance_path) / KEY_DIR_NAME
    for file_name, setting in settings.items():
        data = _member(archive, f"{KEY_DIR_NAME}/{file_name}")
        if data is None:
            raise BackupError(f"the backup says it holds its keys but has no {KEY_DIR_NAME}/{file_name}")
        if app.config[setting]:
            continue  # from the configuration: _check_keys compares it with the manifest
        path = key_dir / file_name
        text = data.decode()
        if path.exists() and path.read_text() == text:
            continue
        if path.exists() and keep_replaced:
            kept = path.with_name(f"{file_name}.before-restore-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S}")
            os.replace(path, kept)
            result.notes.append(f"the instance's own {file_name} was kept as {kept.name}")
        fresh = path.with_suffix(".new")
        fresh.unlink(missing_ok=True)
        _write_secret(fresh, text)
        os.replace(fresh, path)
    _put_plugin_keys_back(archive, key_dir, set(settings), result, keep_replaced)
    load_keys(app, create=False)


def _put_plugin_keys_back(archive: tarfile.TarFile, key_dir: Path, core_files: set[str], result: Restored,
                          keep_replaced: bool) -> None:
    """The plugins' key files (keys/*.key, *.keys other than core's) the backup holds, written like core's."""
    from core.crypto import _write_secret

    for member in archive.getmembers():
        folder, _slash, file_name = member.name.partition("/")
        if (folder != key_dir.name or not member.isfile() or "/" in file_name or not is_key_file_name(file_name)
                or file_name in core_files):
            continue
        text = archive.extractfile(member).read().decode()
        path = key_dir / file_name
        if path.exists() and path.read_text() == text:
            continue
        if path.exists() and keep_replaced:
            kept = path.with_name(f"{file_name}.before-restore-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S}")
            os.replace(path, kept)
            result.notes.append(f"the instance's own {file_name} was kept as {kept.name}")
        fresh = path.with_suffix(".new")
        fresh.unlink(missing_ok=True)
        _write_secret(fresh, text)
        os.replace(fresh, path)


def _check_keys(app, manifest: dict) -> None:
    """Refuse, before anything is written, when this instance lacks a key the backup's data needs."""
    have = key_fingerprints(app)
    need = manifest["keys"]
    missing = []
    if not set(need["encryption"]) <= set(have["encryption"]):
        missing.append("the encryption keys (keys/encryption.keys or REDUMBRELLA_ENCRYPTION_KEYS)")
    if need["blind_index"] != have["blind_index"]:
        missing.append("the blind-index key (keys/blind_index.key or REDUMBRELLA_BLIND_INDEX_KEY)")
    if not set(need["audit"]) <= set(have["audit"]):
        missing.append("the audit keys (keys/audit.keys or REDUMBRELLA_AUDIT_KEYS)")
    missing += _missing_key_files(app, manifest.get("key_files", {}))  # older backups did not list them
    if missing:
        raise BackupError(
            "this instance does not have the keys the backup was made with: " + "; ".join(missing)
            + f". Put the key files kept from that time in {Path(app.instance_path) / 'keys'} (or set the "
            "variables), then run restore again. Nothing was changed."
        )


def _older_key_note(app) -> str:
    """Backups made before key file fingerprints name only core's keys: the modules' key files the
    old instance had (a certificate signing key, say) cannot be checked, so the operator is told."""
    from core.crypto import KEY_DIR_NAME

    return ("WARNING: this backup was made by an older release, which did not record the key files of its "
            f"instance's {KEY_DIR_NAME}/ folder: only core's keys were checked. Copy every file of the old "
            f"instance's {KEY_DIR_NAME}/ folder into {Path(app.instance_path) / KEY_DIR_NAME} before starting "
            "the site: a module that finds its key missing makes a new one, and nothing the old key signed "
            "verifies any more")


def _missing_key_files(app, need: dict[str, list[str]]) -> list[str]:
    """The backup's key files this instance lacks, or holds with other keys. Core's ring files are
    compared key by key above (they may come from the configuration instead); every other file must
    hold at least the keys it held at the backup (one a line: a file that gained a key still fits)."""
    from core.crypto import AUDIT_KEYS_FILE, BLIND_INDEX_KEY_FILE, ENCRYPTION_KEYS_FILE, KEY_DIR_NAME

    have = key_file_fingerprints(app)
    problems = []
    for name in sorted(need):
        if name in {ENCRYPTION_KEYS_FILE, BLIND_INDEX_KEY_FILE, AUDIT_KEYS_FILE} or not is_key_file_name(name):
            continue
        if name not in have:
            problems.append(f"{KEY_DIR_NAME}/{name} (missing)")
        elif not set(need[name]) <= set(have[name]):
            problems.append(f"{KEY_DIR_NAME}/{name} (this instance has a different key)")
    return problems


def _restore_sqlite(copy: Path, target: Path) -> None:
    """Write the copy into the database file through the backup API (right with WAL and open readers)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(copy)
    dst = sqlite3.connect(target, timeout=30)
    try:
        if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the backup's database failed SQLite's integrity check")
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        src.close()
        dst.close()


def _restore_postgres(url: str, dump: Path) -> None:
    """Drop what the database holds, then pg_restore the dump in one transaction."""
    from core.db import connection, db

    pg_restore = _pg_tool("pg_restore")
    # Read the whole table of contents first: a dump this pg_restore cannot read fails here,
    # before anything of the instance is dropped.
    _run([pg_restore, "--list", str(dump)], _pg_environment(url), "pg_restore")
    with connection(), db.atomic():
        for table in db.get_tables():
            db.execute_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        db.execute_sql("DROP FUNCTION IF EXISTS audit_entry_append_only() CASCADE")
    db.obj.close_all()
    _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--dbname={_pg_environment(url)['PGDATABASE']}", str(dump)], _pg_environment(url), "pg_restore")


def _check_restored(app, manifest: dict, result: Restored) -> None:
    """Every encrypted column decrypts (a sample of each), and the audit chain ends at the manifest's head."""
    from core.audit import Head, check
    from core.db import connection
    from core.schema import pending

    with connection():
        result.decrypted = _decrypt_sample()
        behind = pending(app)
        if manifest.get("audit_head") and "core:0040_audit_key" in manifest["migrations"]:
            saved = Head.parse(manifest["audit_head"])
            verification = check(saved)
            if not verification.intact:
                raise BackupError(f"the restored audit log is not intact: {verification.problem}")
            if verification.head != saved:
                raise BackupError(f"the restored audit log ends at {verification.head}, not at the backup's "
                                  f"{saved}")
            from core.audit import record

            record("backup.restored", target="instance")
        elif manifest.get("audit_head"):
            result.notes.append("the audit log is checked once `redumbrella db upgrade` has keyed it: "
                                "run `redumbrella audit verify` after the upgrade")
    if behind:
        result.notes.append(f"the backup is {len(behind)} migration(s) behind this release: run "
                            "`redumbrella db upgrade` before starting the site")


def _decrypt_sample() -> int:
    """Decrypt the first and last values of every encrypted column; raise if any does not open."""
    from core.key_check import UndecryptableValue, decrypt_sample

    try:
        return decrypt_sample(SAMPLE_PER_COLUMN)
    except UndecryptableValue as exc:
        raise BackupError(f"a value in {exc} cannot be decrypted with this instance's encryption keys") from None
