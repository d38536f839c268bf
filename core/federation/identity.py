"""This instance's federation identity: an Ed25519 signing key, its public half and a fingerprint.

The key is 32 random bytes in hex in `<instance>/keys/federation_signing.key` (readable by the
owner only, created on first use like the other keys, saved by `redumbrella backup --include-keys`
with every other `*.key` file). It is deliberately not the training plugin's certificate key:
certificates are verified for years after they are issued, so rotating the federation key after a
compromise (docs/federation.md#rotating-the-signing-key) must not invalidate them, and a leaked
certificate key must not let anyone sign alerts to peers.

- `sign(data) -> str`: base64 of the Ed25519 signature of `data` (bytes).
- `public_key_b64() -> str`: base64 (standard, padded) of the raw 32-byte public key.
- `fingerprint(public_b64=None) -> str`: the first 80 bits of SHA-256 of the raw public key in
  base32, as four groups of four ("K3QF-7ZPA-M2XD-4HYT"): short enough to read over the phone,
  long enough that nobody can make a second key with the same fingerprint.
- `verify(public_b64, data, signature) -> bool`: never raises for bad input; False for anything
  that is not a valid signature of exactly `data` under that key.
- `canonical(value) -> bytes`: the one JSON form that is signed (sorted keys, no spaces, UTF-8).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

from core.crypto import KEY_DIR_NAME, _write_secret

SIGNING_KEY_FILE = "federation_signing.key"
# After `redumbrella peers rotate-key` the old key is kept here (not *.key: it signs nothing more).
PREVIOUS_KEY_FILE = "federation_signing.previous"

_lock = threading.Lock()
_keys: dict[str, tuple[float, Ed25519PrivateKey]] = {}


def key_path(app=None) -> Path:
    app = app or current_app
    return Path(app.instance_path) / KEY_DIR_NAME / SIGNING_KEY_FILE


def signing_key(app=None) -> Ed25519PrivateKey:
    """The instance's federation signing key, created on first use; re-read when the file changes
    (a rotation in another process)."""
    path = key_path(app)
    with _lock:
        if not path.exists():
            _write_secret(path, os.urandom(32).hex() + "\n")  # exclusive create: a racing process keeps the first
        mtime = path.stat().st_mtime
        cached = _keys.get(str(path))
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
        except ValueError:
            raise RuntimeError(f"{path} does not hold a federation signing key (64 hex characters)") from None
        _keys[str(path)] = (mtime, key)
        return key


def rotate(app=None) -> str:
    """Make a new signing key; the old one is kept beside it as federation_signing.previous.
    Returns the new public key (base64). Peers must be given the new key (docs/federation.md)."""
    path = key_path(app)
    with _lock:
        if path.exists():
            previous = path.with_name(PREVIOUS_KEY_FILE)
            previous.unlink(missing_ok=True)
            os.replace(path, previous)
        _write_secret(path, os.urandom(32).hex() + "\n")
        _keys.pop(str(path), None)
    return public_key_b64(app)


def public_key_raw(app=None) -> bytes:
    return signing_key(app).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_b64(app=None) -> str:
    return base64.b64encode(public_key_raw(app)).decode("ascii")


def decode_public_key(public_b64: str) -> bytes | None:
    """The raw 32 bytes of a base64 public key (padding and whitespace forgiven), or None."""
    if not isinstance(public_b64, str):
        return None
    text = "".join(public_b64.split())
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def normalise_public_key(public_b64: str) -> str | None:
    """The standard base64 form of a public key typed or pasted by an admin, or None if it is not one."""
    raw = decode_public_key(public_b64)
    if raw is None:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None
    return base64.b64encode(raw).decode("ascii")


def fingerprint_of_raw(raw: bytes) -> str:
    digest = base64.b32encode(hashlib.sha256(raw).digest()).decode("ascii")[:16]
    return "-".join(digest[index:index + 4] for index in range(0, 16, 4))


def fingerprint(public_b64: str | None = None) -> str:
    """This instance's fingerprint, or that of the public key given (empty if it is not a key)."""
    if public_b64 is None:
        return fingerprint_of_raw(public_key_raw())
    raw = decode_public_key(public_b64)
    return fingerprint_of_raw(raw) if raw is not None else ""


def normalise_fingerprint(text: str) -> str:
    """'k3qf 7zpa m2xd 4hyt' and 'K3QF-7ZPA-M2XD-4HYT' are the same fingerprint."""
    compact = "".join(char for char in (text or "").upper() if char.isalnum())
    return "-".join(compact[index:index + 4] for index in range(0, len(compact), 4))


def sign(data: bytes, app=None) -> str:
    return base64.b64encode(signing_key(app).sign(data)).decode("ascii")


def verify(public_b64: str, data: bytes, signature: str) -> bool:
    raw = decode_public_key(public_b64)
    if raw is None or not isinstance(signature, str) or not isinstance(data, bytes | bytearray):
        return False
    try:
        signature_raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(raw).verify(signature_raw, bytes(data))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def canonical(value) -> bytes:
    """The bytes that are signed for a JSON value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


__all__ = ["canonical", "decode_public_key", "fingerprint", "fingerprint_of_raw", "key_path",
           "normalise_fingerprint", "normalise_public_key", "public_key_b64", "public_key_raw", "rotate",
           "sign", "signing_key", "verify"]
