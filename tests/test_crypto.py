"""Field encryption (Fernet key ring, EncryptedTextField), key rotation with `redumbrella keys
rotate`, and blind indexes of normalised identifiers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from helpers import TEST_PASSWORD

from core.accounts.models import User
from core.cli import cli
from core.crypto import ENCRYPTION_KEYS_FILE, KEY_DIR_NAME, EncryptedTextField, KeyRing, keyring
from core.db import db
from core.identifiers import normalise

KEY_A = Fernet.generate_key()
KEY_B = Fernet.generate_key()


def raw_column(table: str, column: str) -> dict[int, str]:
    """What the database holds, read without the field's decryption."""
    rows = db.execute_sql(f'SELECT id, "{column}" FROM "{table}" ORDER BY id').fetchall()
    return {row[0]: row[1] for row in rows}


# -- the key ring ------------------------------------------------------------------------------


def test_round_trip_of_any_text():
    ring = KeyRing([KEY_A], b"blind")
    for text in ("", "plain", "Ünïcödé 🌂 名前", "x" * 100_000, "line\nbreak\x00nul"):
        token = ring.encrypt(text)
        assert token != text and text not in token or text == ""
        assert ring.decrypt(token) == text
    # A fresh random IV each time: the same text never gives the same token.
    assert ring.encrypt("same") != ring.encrypt("same")


def test_a_changed_token_is_refused_not_misread():
    ring = KeyRing([KEY_A], b"blind")
    token = ring.encrypt("meet at the usual place")
    raw = bytearray(token.encode())
    for position in (20, len(raw) // 2, len(raw) - 5):
        changed = bytearray(raw)
        changed[position] = ord("A") if changed[position] != ord("A") else ord("B")
        with pytest.raises(InvalidToken):
            ring.decrypt(changed.decode())
    with pytest.raises(InvalidToken):
        KeyRing([KEY_B], b"blind").decrypt(token)  # another instance's key


def test_a_malformed_key_stops_the_app_with_a_clear_line(make_app):
    from core.config import ConfigError

    with pytest.raises(ConfigError, match="Fernet key"):
        make_app({"ENCRYPTION_KEYS": "not-a-key"})


# -- encrypted columns ---------------------------------------------------------------------------


def test_encrypted_columns_hold_tokens_and_read_back_as_text(ctx):
    user = User.create(email_index="x" * 64, email="river@example.org", working_name="River Song")
    User.create(email_index="y" * 64, email=None, working_name=None)
    stored = raw_column("user", "working_name")
    assert stored[user.id].startswith("gAAAAA") and "River" not in stored[user.id]
    assert "river@example.org" not in raw_column("user", "email")[user.id]
    assert User.get_by_id(user.id).working_name == "River Song"
    assert [u.email for u in User.select().order_by(User.id)] == ["river@example.org", None]


def test_a_tampered_column_raises_instead_of_returning_garbage(ctx):
    user = User.create(email_index="z" * 64, email="a@example.org", working_name="Sky")
    token = raw_column("user", "working_name")[user.id]
    forged = token[:-8] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
    param = db.param
    db.execute_sql(f'UPDATE "user" SET working_name = {param} WHERE id = {param}', (forged, user.id))
    with pytest.raises(RuntimeError, match="cannot be decrypted"):
        User.get_by_id(user.id).working_name  # noqa: B018
    assert EncryptedTextField().db_value(None) is None


# -- key rotation --------------------------------------------------------------------------------


@pytest.fixture
def file_keyed_app(make_app, app):
    """Keys in the instance folder (no REDUMBRELLA_ENCRYPTION_KEYS), as a default install has.

    Depends on `app` so that a PostgreSQL test database is emptied first."""
    return make_app({"ENCRYPTION_KEYS": "", "BLIND_INDEX_KEY": ""})


def key_file(app) -> Path:
    return Path(app.instance_path) / KEY_DIR_NAME / ENCRYPTION_KEYS_FILE


def key_lines(app) -> list[bytes]:
    return [line.strip().encode() for line in key_file(app).read_text().splitlines() if line.strip()]


def seed_people(app, count: int = 5) -> dict[int, tuple[str, str]]:
    from core.accounts.service import create_account

    people = {}
    with app.app_context():
        db.connect(reuse_if_open=True)
        for n in range(count):
            user = create_account(f"rotate{n}@example.org", TEST_PASSWORD, ["member"], working_name=f"Name {n}")
            people[user.id] = (f"rotate{n}@example.org", f"Name {n}")
        db.close()
    return people


def read_people(app) -> dict[int, tuple[str, str]]:
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            return {u.id: (u.email, u.working_name) for u in User.select()}
        finally:
            db.close()


def raw_tokens(app) -> dict[tuple[int, str], str]:
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            found = {}
            for column in ("email", "working_name"):
                for key, token in raw_column("user", column).items():
                    found[(key, column)] = token
            return found
        finally:
            db.close()


def test_key_files_are_created_readable_by_the_owner_only(file_keyed_app):
    path = key_file(file_keyed_app)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(key_lines(file_keyed_app)) == 1


def test_keys_rotate_reencrypts_every_value_and_old_tokens_read_until_then(file_keyed_app):
    from core.crypto import add_encryption_key, load_keys

    app = file_keyed_app
    people = seed_people(app)
    (old_key,) = key_lines(app)
    before = raw_tokens(app)
    assert len(before) == 2 * len(people)

    # A new key is added first: rows still under the old key read as before.
    with app.app_context():
        add_encryption_key(app)
        load_keys(app)
    new_key, still_old = key_lines(app)
    assert still_old == old_key
    assert read_people(app) == people
    assert raw_tokens(app) == before  # nothing rewritten yet

    result = app.test_cli_runner().invoke(cli, ["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert f"{len(before)} value(s) re-encrypted" in result.output
    after = raw_tokens(app)
    for place, token in after.items():
        assert token != before[place]
        Fernet(new_key).decrypt(token.encode())  # under the newest key alone
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(token.encode())
    assert read_people(app) == people

    # `keys rotate` does both steps at once: a third key, every value moved under it.
    result = app.test_cli_runner().invoke(cli, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert f"new key in use; {len(before)} value(s) re-encrypted" in result.output
    newest = key_lines(app)[0]
    assert newest not in (old_key, new_key) and len(key_lines(app)) == 3
    for token in raw_tokens(app).values():
        Fernet(newest).decrypt(token.encode())

    # Once everything is re-encrypted the older keys can be retired: values still read.
    key_file(app).write_text(newest.decode() + "\n")
    with app.app_context():
        load_keys(app)
    assert read_people(app) == people


def test_keys_rotate_refuses_keys_set_in_the_environment_and_reencrypt_follows_them(make_app, app):
    people = seed_people(app, 2)
    old_key = app.config["ENCRYPTION_KEYS"]
    result = app.test_cli_runner().invoke(cli, ["keys", "rotate"])
    assert result.exit_code == 1 and "REDUMBRELLA_ENCRYPTION_KEYS" in result.output

    rotated = make_app({"ENCRYPTION_KEYS": f"{KEY_B.decode()},{old_key}"})
    result = rotated.test_cli_runner().invoke(cli, ["keys", "reencrypt"])
    assert result.exit_code == 0 and "4 value(s) re-encrypted" in result.output
    for token in raw_tokens(rotated).values():
        Fernet(KEY_B).decrypt(token.encode())
    assert read_people(make_app({"ENCRYPTION_KEYS": KEY_B.decode()})) == people


# -- blind indexes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ways", "e164"),
    [
        (["07700 900123", "+44 7700 900123", "447700900123"], "+447700900123"),  # the example
        (["07911 123456", "+44 7911 123456", "447911123456"], "+447911123456"),
    ],
)
def test_one_mobile_written_three_ways_has_one_blind_index(ctx, ways, e164):
    normalised = {normalise("phone", text) for text in ways}
    assert normalised == {e164}
    indexes = {keyring().blind_index("phone", normalise("phone", text)) for text in ways}
    assert len(indexes) == 1
    (index,) = indexes
    assert len(index) == 64 and e164[3:] not in index
    other = keyring().blind_index("phone", normalise("phone", ways[0][:-1] + "9"))
    assert other != index


def test_blind_indexes_differ_across_kinds_and_keys(ctx):
    value = "+447911123456"
    ring = keyring()
    by_kind = {kind: ring.blind_index(kind, value) for kind in ("phone", "email", "plate", "handle")}
    assert len(set(by_kind.values())) == 4
    assert KeyRing([KEY_A], b"another instance's key").blind_index("phone", value) != by_kind["phone"]
    # Same key and input: the same index every time (that is what makes it searchable).
    assert ring.blind_index("phone", value) == by_kind["phone"]


def test_account_email_lookup_uses_the_blind_index(ctx):
    from core.accounts.service import create_account

    user = create_account("Mixed.Case@Example.org", TEST_PASSWORD, ["member"])
    stored = raw_column("user", "email_index")[user.id]
    assert stored == keyring().blind_index("account-email", "mixed.case@example.org")
    assert User.by_email("  mixed.case@EXAMPLE.org ").id == user.id


def test_a_running_process_picks_up_keys_rotated_by_another(file_keyed_app):
    """`keys rotate` runs in its own process; web and queue workers must still read every value."""
    from cryptography.fernet import MultiFernet

    from core.crypto import add_encryption_key

    app = file_keyed_app
    people = seed_people(app)
    # Another process adds a key and moves every value under it; this process's key ring is not told.
    add_encryption_key(app)
    new_ring = MultiFernet([Fernet(key) for key in key_lines(app)])
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            for (key, column), token in raw_tokens(app).items():
                db.execute_sql(f'UPDATE "user" SET "{column}" = {db.param} WHERE id = {db.param}',
                               (new_ring.rotate(token.encode()).decode(), key))
        finally:
            db.close()
    assert read_people(app) == people

