"""`redumbrella keys rotate` while the site runs, as docs/deployment.md ("Rotating the encryption
key") describes it: a running process reads the values re-encrypted under the new key (it re-reads
the key file when a value does not decrypt), goes on encrypting with the old key until then, and
`keys reencrypt` after a restart moves what it wrote meanwhile under the new key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from core import crypto
from core.accounts.models import User
from core.cli import cli
from core.crypto import ENCRYPTION_KEYS_FILE, KEY_DIR_NAME
from core.db import connection, db


@pytest.fixture
def file_keyed_app(make_app, app):
    """Keys in the instance folder, as a default install has (`app` empties a PostgreSQL database first)."""
    return make_app({"ENCRYPTION_KEYS": "", "BLIND_INDEX_KEY": ""})


def _tokens(app) -> dict[int, str]:
    with app.app_context(), connection():
        return dict(db.execute_sql('SELECT id, working_name FROM "user" WHERE working_name IS NOT NULL').fetchall())


def test_a_running_process_reads_values_rotated_by_another(file_keyed_app):
    from core.accounts.service import create_account

    app = file_keyed_app
    key_file = Path(app.instance_path) / KEY_DIR_NAME / ENCRYPTION_KEYS_FILE
    with app.app_context(), connection():
        ids = [create_account(f"live{n}@example.org", "a long enough passphrase 1", ["member"],
                              working_name=f"Name {n}").id for n in range(3)]
    (old_key,) = [line.encode() for line in key_file.read_text().split()]
    # What the running web or queue worker holds: the key ring it loaded at start.
    running = (crypto._keyring, crypto._key_file, crypto._key_file_mtime)

    rotated = app.test_cli_runner().invoke(cli, ["keys", "rotate"])  # "another process"
    assert rotated.exit_code == 0, rotated.output
    assert "restart" in rotated.output.lower()
    stat = key_file.stat()
    os.utime(key_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # whatever the clock's grain
    new_key = key_file.read_text().split()[0].encode()
    for token in _tokens(app).values():
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(token.encode())

    crypto._keyring, crypto._key_file, crypto._key_file_mtime = running
    with app.app_context(), connection():
        # Until it meets a value it cannot read, the running process writes with the old key.
        written_meanwhile = create_account("meanwhile@example.org", "a long enough passphrase 1", ["member"],
                                           working_name="Written meanwhile").id
        assert Fernet(old_key).decrypt(_tokens(app)[written_meanwhile].encode()) == b"Written meanwhile"
        # It reads the re-encrypted values: the changed key file is read again.
        assert [User.get_by_id(i).working_name for i in ids] == [f"Name {n}" for n in range(3)]
        assert crypto.keyring().keys[0] == new_key

    # After a restart, `keys reencrypt` moves what was written meanwhile under the new key.
    crypto.load_keys(app)  # what a restart does
    reencrypted = app.test_cli_runner().invoke(cli, ["keys", "reencrypt"])
    assert reencrypted.exit_code == 0, reencrypted.output
    for token in _tokens(app).values():
        Fernet(new_key).decrypt(token.encode())


def test_a_running_process_reads_a_picture_rotated_by_another(file_keyed_app):
    """Report pictures are bytes in an encrypted column of their own (plugins/reporting/models.py)."""
    from helpers import enable

    from plugins.reporting.models import Attachment

    app = file_keyed_app
    enable(app, "reporting")
    with app.app_context(), connection():
        picture = Attachment.create(content_type="image/png", data=b"\x89PNG picture bytes", size=18)
    running = (crypto._keyring, crypto._key_file, crypto._key_file_mtime)
    rotated = app.test_cli_runner().invoke(cli, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    key_file = Path(app.instance_path) / KEY_DIR_NAME / ENCRYPTION_KEYS_FILE
    stat = key_file.stat()
    os.utime(key_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    crypto._keyring, crypto._key_file, crypto._key_file_mtime = running
    with app.app_context(), connection():
        assert Attachment.get_by_id(picture.id).data == b"\x89PNG picture bytes"
