"""Refuse to run on data the configured keys cannot open.

A key file that is missing at start-up is made afresh (core.crypto.load_keys): right for a new
instance, ruinous beside existing data. An instance moved without its keys/ folder, a service
started with another instance folder but the same PostgreSQL database, or REDUMBRELLA_*_KEYS from
another instance would go on writing under keys that cannot read what is already stored: reports
no one can open again, and blind indexes that no longer match, so the number check would answer
"nothing reported" for a reported offender.

So the database keeps proof of its keys (core_key_check: a known text under the encryption keys,
the blind-index key's fingerprint, the ids of every audit key that has signed), written by the
first command that finds the keys fitting, and the names of the key files keys/ has held, a
module's too (training's signing key, the federation keys): one of them missing stops a start
too, before its module makes a new key that would disown everything the old one signed.
Every command (but core.cli.KEYS_MAY_NOT_FIT) and each web worker as it boots check it first and
stop with one line. A database from before that table is checked against its data instead, once
migrated: a sample of its encrypted values must decrypt, an account's e-mail must give its
stored blind index, and the newest audit entry's key must be there.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.fernet import InvalidToken

from core.config import ConfigError
from core.crypto import KEY_DIR_NAME, encrypted_columns, fingerprint, instance_key_files, keyring
from core.db import db

SEALED_TEXT = "Red Umbrella key check"
_KEYS = {  # each kind of core key: its file in keys/, and the setting that replaces the file when set
    "encryption": ("encryption.keys", "ENCRYPTION_KEYS"),
    "blind_index": ("blind_index.key", "BLIND_INDEX_KEY"),
    "audit": ("audit.keys", "AUDIT_KEYS"),
}


class UndecryptableValue(Exception):
    """A stored value the configured encryption keys cannot open; says which column."""


def confirm(app) -> None:
    """Stop with a ConfigError when the keys do not fit the data, or a key file the instance had is
    missing; otherwise record them (and any key file or audit key new since). Needs an open
    connection. Cheap once recorded: one row is read and the keys/ folder listed."""
    tables = set(db.get_tables())
    recorded = _recorded(tables)
    if recorded is None and _behind(app):
        return  # an older schema may hold values its migrations have yet to encrypt: checked once migrated
    wrong = _wrong_keys(tables, recorded)
    if wrong:
        raise ConfigError(_explain(app, wrong))
    had = recorded["key_files"] if recorded else set()
    present = {path.name for path in instance_key_files(app)}
    missing = sorted(had - present - _configured_elsewhere(app))
    if missing:
        raise ConfigError(_explain_missing(app, missing))
    if "core_key_check" not in tables:
        return
    audit_ids = set(keyring().audit_keys)
    if recorded is None:
        _record_first(sorted(present), sorted(audit_ids))
        wrong = _wrong_keys(tables, _recorded(tables))  # a start that raced this one, with other keys, won
        if wrong:
            raise ConfigError(_explain(app, wrong))
    elif not present <= had or not audit_ids <= recorded["audit_keys"]:
        from core.models import KeyCheck

        KeyCheck.update(key_files=json.dumps(sorted(had | present)),
                        audit_keys=json.dumps(sorted(recorded["audit_keys"] | audit_ids))).where(
            KeyCheck.id == 1).execute()


def _recorded(tables: set[str]) -> dict | None:
    if "core_key_check" not in tables:
        return None
    row = db.execute_sql('SELECT "sealed", "blind_index", "key_files", "audit_keys" FROM "core_key_check" '
                         'WHERE "id" = 1').fetchone()
    if row is None:
        return None
    return {"sealed": row[0], "blind_index": row[1], "key_files": set(json.loads(row[2])),
            "audit_keys": set(json.loads(row[3]))}


def _behind(app) -> bool:
    from core.schema import pending

    return bool(pending(app))


def _record_first(key_files: list[str], audit_ids: list[str]) -> None:
    """One statement: of two starts at once, the first to write wins; each reads it back after."""
    from core.models import KeyCheck

    KeyCheck.insert(id=1, sealed=SEALED_TEXT, blind_index=fingerprint(keyring().blind_index_key),
                    key_files=json.dumps(key_files), audit_keys=json.dumps(audit_ids)).on_conflict_ignore().execute()


def forget_key_file(name: str) -> bool:
    """Stop expecting a key file (one removed on purpose, so that its module makes a new key). True
    when it was expected."""
    from core.models import KeyCheck

    with db.atomic():
        kept = KeyCheck.select(KeyCheck.key_files).where(KeyCheck.id == 1).scalar()
        had = json.loads(kept) if kept is not None else []
        if name not in had:
            return False
        KeyCheck.update(key_files=json.dumps([n for n in had if n != name])).where(KeyCheck.id == 1).execute()
    return True


def _configured_elsewhere(app) -> set[str]:
    """Core's key files whose keys come from REDUMBRELLA_*_KEYS now: they may be gone from keys/."""
    return {file_name for file_name, setting in _KEYS.values() if app.config[setting]}


def decrypt_sample(per_column: int, tables: set[str] | None = None) -> int:
    """Decrypt up to per_column values of every encrypted column (its first and last rows); return how
    many opened, or raise UndecryptableValue naming the first column that holds one that does not."""
    tables = set(db.get_tables()) if tables is None else tables
    count = 0
    for model, field in encrypted_columns():
        table, column = model._meta.table_name, field.column_name
        if table not in tables:
            continue
        pk = model._meta.primary_key.column_name
        for order in ("ASC", "DESC") if per_column > 1 else ("ASC",):
            rows = db.execute_sql(
                f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL '  # noqa: S608  # nosec B608  # model metadata
                f'ORDER BY "{pk}" {order} LIMIT {max(1, per_column // 2)}'
            ).fetchall()
            for (token,) in rows:
                try:
                    keyring().fernet.decrypt(token.encode("ascii") if isinstance(token, str) else bytes(token))
                except InvalidToken:
                    raise UndecryptableValue(f"{table}.{column}") from None
                count += 1
    return count


def _wrong_keys(tables: set[str], recorded: dict | None) -> list[str]:
    """Which of core's keys do not fit: 'encryption', 'blind_index', 'audit'. With a recorded proof:
    the known text opens, the blind-index key is the same, and every audit key that ever signed is
    still there. Without: the data's own values (a database from before the proof)."""
    if recorded is None:
        return _wrong_by_data(tables)
    wrong = [] if _opens(recorded["sealed"]) else ["encryption"]
    if recorded["blind_index"] != fingerprint(keyring().blind_index_key):
        wrong.append("blind_index")
    if not recorded["audit_keys"] <= set(keyring().audit_keys):
        wrong.append("audit")
    return wrong


def _opens(token: str) -> bool:
    try:
        return keyring().decrypt(token) == SEALED_TEXT
    except (InvalidToken, ValueError):
        return False


def _wrong_by_data(tables: set[str]) -> list[str]:
    """For a database with no recorded proof: one value of each encrypted column must decrypt, and the
    first account with an e-mail must be found by it."""
    wrong = [] if "audit_entry" not in tables or _audit_key_fits() else ["audit"]
    try:
        decrypt_sample(1, tables)
    except UndecryptableValue:
        return ["encryption", *wrong]  # the blind index cannot be tried: its e-mail cannot be read
    return wrong if _blind_index_fits(tables) else ["blind_index", *wrong]


def _blind_index_fits(tables: set[str]) -> bool:
    """An account's stored e-mail index equals the index of its e-mail under this key (taken as
    fitting when there is no such account)."""
    if "user" not in tables:
        return True
    from core.accounts.models import User

    row = db.execute_sql(
        'SELECT "email", "email_index" FROM "user" WHERE "email" IS NOT NULL AND "email_index" IS NOT NULL '
        'ORDER BY "id" LIMIT 1'
    ).fetchone()
    if row is None:
        return True
    return User.email_lookup(keyring().decrypt(row[0])) == row[1]


def _audit_key_fits() -> bool:
    """The newest signed audit entry was signed by a key this instance has (entries name their key
    since core migration 0040)."""
    if "key_id" not in {column.name for column in db.get_columns("audit_entry")}:
        return True
    row = db.execute_sql(
        'SELECT "key_id" FROM "audit_entry" WHERE "key_id" <> \'\' ORDER BY "id" DESC LIMIT 1'
    ).fetchone()
    return row is None or row[0] in keyring().audit_keys


def _explain_missing(app, missing: list[str]) -> str:
    folder = Path(app.instance_path) / KEY_DIR_NAME
    names = ", ".join(f"{KEY_DIR_NAME}/{name}" for name in missing)
    return (
        f"{names} {'is' if len(missing) == 1 else 'are'} missing, and this instance had "
        f"{'it' if len(missing) == 1 else 'them'}: a module that finds its key missing makes a new one, and nothing "
        f"the old key signed would verify again. Nothing was written. Put the file back from the key backup "
        f"({folder}); if it was removed on purpose, to have a new key made, run `redumbrella keys forget-file NAME`"
    )


def _explain(app, wrong: list[str]) -> str:
    """One line: which keys, which of them this start made, and what to do."""
    made = app.extensions.get("redumbrella.keys_made", ())
    names = []
    for kind in wrong:
        file_name, setting = _KEYS[kind]
        source = f"REDUMBRELLA_{setting}" if app.config[setting] else f"{KEY_DIR_NAME}/{file_name}"
        new = " (it was missing: a new one was made just now)" if file_name in made else ""
        names.append(f"{source}{new}")
    return (
        f"the keys do not fit the data in this database: {', '.join(names)} {'holds' if len(names) == 1 else 'hold'}"
        " other keys than the ones it was written with (a key file found missing, at this start or an earlier "
        f"one, is made new in its place). Nothing was written. Put back the instance's {KEY_DIR_NAME}/ folder "
        f"from the key backup ({Path(app.instance_path) / KEY_DIR_NAME}), or set the REDUMBRELLA_*_KEYS it ran "
        "with; see docs/deployment.md, \"The keys do not fit\""
    )


def keys_fit_or_unknown(app) -> None:
    """confirm() for a web worker as it boots: a database that cannot be reached yet is not a reason
    to stop (requests will say so, and /healthz), only keys that do not fit are."""
    from peewee import InterfaceError, OperationalError

    from core.db import connection

    with app.app_context():
        try:
            with connection():
                confirm(app)
        except (OperationalError, InterfaceError):
            pass
