"""Field encryption and blind indexes, with keys kept outside the database.

Sensitive text is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a
key ring: the first key encrypts, every key decrypts, so keys can be rotated and old rows
re-encrypted (`redumbrella keys rotate`). Identifiers that must be matched (phones, emails,
plates) are stored as a keyed HMAC of their normalised form: equal inputs give equal indexes,
and the index reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from peewee import TextField

from core.config import ConfigError

KEY_DIR_NAME = "keys"
ENCRYPTION_KEYS_FILE = "encryption.keys"
BLIND_INDEX_KEY_FILE = "blind_index.key"
AUDIT_KEYS_FILE = "audit.keys"


class KeyRing:
    def __init__(self, encryption_keys: list[bytes], blind_index_key: bytes, audit_keys: list[bytes] = ()):
        if not encryption_keys:
            raise ConfigError("no encryption key is configured")
        self.keys = encryption_keys
        self.fernet = MultiFernet([Fernet(key) for key in encryption_keys])
        self.blind_index_key = blind_index_key
        # The audit log's HMAC keys by key id; the first one signs new entries (core.audit).
        self.audit_keys = {audit_key_id(key): key for key in audit_keys}
        self.audit_signing_id = audit_key_id(audit_keys[0]) if audit_keys else ""

    def audit_keys_in_order(self) -> list[bytes]:
        return list(self.audit_keys.values())

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        return self.fernet.rotate(token.encode("ascii")).decode("ascii")

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self.fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self.fernet.decrypt(token)

    def blind_index(self, kind: str, normalised: str) -> str:
        """HMAC-SHA256 of kind and normalised value; kind keeps a phone and a handle apart."""
        # hmac.digest: OpenSSL's one-shot HMAC, the same value as hmac.new(...).hexdigest() without
        # building an HMAC object in Python (a check works out about five of these).
        return hmac.digest(self.blind_index_key, f"{kind}:{normalised}".encode(), "sha256").hex()


def audit_key_id(key: bytes) -> str:
    """A short name for an audit key, stored with each entry it signs; it reveals nothing of the key."""
    return hmac.new(key, b"redumbrella audit key id", hashlib.sha256).hexdigest()[:16]


def fingerprint(secret: bytes) -> str:
    """A short check value for a key (in backup manifests): equal keys, equal fingerprints."""
    return hmac.new(secret, b"redumbrella key fingerprint", hashlib.sha256).hexdigest()[:16]


_keyring: KeyRing | None = None
_key_file: Path | None = None  # where the encryption keys came from, when from the instance folder
_key_file_mtime: float = 0.0


def keyring() -> KeyRing:
    if _keyring is None:
        raise RuntimeError("the key ring is not loaded: create the app first")
    return _keyring


def load_keys(app, create: bool = True) -> KeyRing:
    """Keys from REDUMBRELLA_ENCRYPTION_KEYS / _BLIND_INDEX_KEY / _AUDIT_KEYS, else from instance/keys/,
    where a missing file is made (a new instance's keys; core.key_check stops a start whose new keys
    meet data written with others)."""
    global _keyring, _key_file, _key_file_mtime
    key_dir = Path(app.instance_path) / KEY_DIR_NAME
    _key_file = None
    made = []  # key files this start had to make: core.key_check names them if they do not fit the data
    if app.config["ENCRYPTION_KEYS"]:
        encryption = [k.strip().encode() for k in app.config["ENCRYPTION_KEYS"].split(",") if k.strip()]
    else:
        path = key_dir / ENCRYPTION_KEYS_FILE
        _make_if_missing(path, create, made, lambda: Fernet.generate_key().decode() + "\n")
        encryption = [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]
        _key_file, _key_file_mtime = path, path.stat().st_mtime
    if app.config["BLIND_INDEX_KEY"]:
        blind = app.config["BLIND_INDEX_KEY"].encode()
    else:
        path = key_dir / BLIND_INDEX_KEY_FILE
        _make_if_missing(path, create, made, lambda: os.urandom(32).hex() + "\n")
        blind = path.read_text().strip().encode()
    if app.config["AUDIT_KEYS"]:
        audit = [k.strip().encode() for k in app.config["AUDIT_KEYS"].split(",") if k.strip()]
    else:
        path = key_dir / AUDIT_KEYS_FILE
        _make_if_missing(path, create, made, lambda: os.urandom(32).hex() + "\n")
        audit = [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]
    if not audit:
        raise ConfigError(f"{key_dir / AUDIT_KEYS_FILE} holds no audit key")
    try:
        _keyring = KeyRing(encryption, blind, audit)
    except ValueError:
        raise ConfigError("an encryption key is malformed: each must be a Fernet key (44 characters)") from None
    app.extensions["redumbrella.keyring"] = _keyring
    app.extensions["redumbrella.keys_made"] = tuple(made)
    return _keyring


def is_key_file_name(name: str) -> bool:
    """A key file of the keys/ folder: `*.key` or `*.keys`, core's or a module's. Copies kept aside
    (`*.previous`, `*.before-restore-*`) and half-written files (`.name...`, `*.new`) are not."""
    return not name.startswith(".") and name.endswith((".key", ".keys"))


def instance_key_files(app) -> list[Path]:
    """Every key file in the instance's keys/ folder, by name (none if the folder does not exist)."""
    folder = Path(app.instance_path) / KEY_DIR_NAME
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if is_key_file_name(path.name) and path.is_file())


def _make_if_missing(path: Path, create: bool, made: list[str], new_text) -> None:
    """A new instance's key file, made when missing (and `create`); its name goes in `made`."""
    if create and not path.exists() and _write_secret(path, new_text()):
        made.append(path.name)


def add_encryption_key(app) -> Path:
    """Put a new key first in the instance key file; older keys stay so old rows still decrypt."""
    path = Path(app.instance_path) / KEY_DIR_NAME / ENCRYPTION_KEYS_FILE
    existing = path.read_text() if path.exists() else ""
    # Write a new file and rename it over the old one, so a running process never reads half a file.
    fresh = path.with_suffix(".new")
    fresh.unlink(missing_ok=True)
    _write_secret(fresh, Fernet.generate_key().decode() + "\n" + existing)
    os.replace(fresh, path)
    return path


def add_audit_key(app) -> Path:
    """Put a new audit key first in the instance's audit key file; older keys stay to verify old entries."""
    path = Path(app.instance_path) / KEY_DIR_NAME / AUDIT_KEYS_FILE
    existing = path.read_text() if path.exists() else ""
    fresh = path.with_suffix(".new")
    fresh.unlink(missing_ok=True)
    _write_secret(fresh, os.urandom(32).hex() + "\n" + existing)
    os.replace(fresh, path)
    return path


def _reload_if_rotated() -> bool:
    """After `redumbrella keys rotate` in another process, pick up the new key file once."""
    global _keyring, _key_file_mtime
    if _key_file is None or _keyring is None or not _key_file.exists():
        return False
    mtime = _key_file.stat().st_mtime
    if mtime == _key_file_mtime:
        return False
    keys = [line.strip().encode() for line in _key_file.read_text().splitlines() if line.strip()]
    _keyring = KeyRing(keys, _keyring.blind_index_key, list(_keyring.audit_keys_in_order()))
    _key_file_mtime = mtime
    return True


def _write_secret(path: Path, text: str) -> bool:
    """Create a key file whole or not at all: written under a private name, then linked into place
    (which fails if it exists), so a process starting at the same moment never reads it half-written.
    A folder that cannot be written (a read-only or full disk, another user's) is a ConfigError
    naming the file: one line, as every other start-up problem, not a traceback. True when this
    process made it (False: another one, starting at the same moment, did)."""
    try:
        return _create_secret(path, text)
    except OSError as error:
        raise ConfigError(
            f"{path} is missing and cannot be made ({error.strerror or type(error).__name__}): start once where "
            "the instance folder can be written, or restore its keys/ folder from a backup"
        ) from None


def _create_secret(path: Path, text: str) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:  # another process wrote it first; use theirs
        return False
    finally:
        temporary.unlink()
    return True


def encrypted_columns():
    """Every (model, field) pair holding encrypted text, across core and the plugins imported."""
    from core.db import BaseModel

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    for model in walk(BaseModel):
        for field in model._meta.sorted_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


class EncryptedTextField(TextField):
    """A text column holding Fernet tokens; Python code sees plain text (or None)."""

    def db_value(self, value):
        if value is None:
            return None
        return keyring().encrypt(str(value))

    def python_value(self, value):
        if value is None:
            return None
        try:
            return self.decrypt(value)
        except InvalidToken:
            if _reload_if_rotated():
                return self.python_value(value)
            raise RuntimeError("a stored value cannot be decrypted with the configured keys") from None

    def decrypt(self, value):
        """The column's token as Python sees it; a subclass storing other things changes only this."""
        return keyring().decrypt(value)
