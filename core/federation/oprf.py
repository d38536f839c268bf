"""The blinded cross-instance check: an oblivious pseudo-random function over ristretto255.

A member of instance A asks "has anyone warned about this number?"; instance B holds alerts. B must
not learn the number, and A must not learn B's alerts' numbers beyond "this one is among them".
This is RFC 9497's OPRF (mode 0, suite ristretto255-SHA512), computed with libsodium through
`pysodium`:

1. A turns the normalised identifier into a point of the prime-order group: the input is
   `kind NUL value` (core/identifiers.py's normalisation, so every spelling of one number gives
   one input), hashed to the group with RFC 9380's expand_message_xmd(SHA-512) and libsodium's
   `crypto_core_ristretto255_from_hash` (`hash_to_group`).
2. A multiplies the point by a fresh random scalar r (`blind`) and sends only that blinded point.
   It is a uniformly random group element whatever the identifier was: B learns nothing from it.
3. B multiplies it by its OPRF secret k (`evaluate`) and sends it back. B never sees the result.
4. A multiplies by r⁻¹, getting k·H(input), and hashes it with the input (`finalize`). The first
   32 bytes of that hash, in hex, is the input's token under B's key (`token_from_output`).
5. B publishes the tokens of its visible alerts' identifiers (`token`, computed with k directly),
   and A compares. Without k, a token is a random string: A can test an identifier only by asking
   B to evaluate it, one query at a time, within B's quota, audited by B.

k is a separate per-instance key (not the signing key, not the blind-index key), 32 bytes in hex
in `<instance>/keys/federation_oprf.key`, created on first use like every other key and saved by
`redumbrella backup --include-keys`. `rotate()` replaces it; peers fetch the new tokens on their
next pull, and until then their checks against this instance find nothing (never a wrong match).

No proof that B used the same k for the tokens and the evaluation (RFC 9497's VOPRF mode) is
needed here: A never tells B whether anything matched, so a B that answers with another key can
only make A miss its own alerts, which B could do anyway by not publishing them.

`tests/test_federation_oprf.py` checks this module against RFC 9497's published test vectors.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from pathlib import Path

from flask import current_app

from core.crypto import KEY_DIR_NAME, _write_secret

OPRF_KEY_FILE = "federation_oprf.key"
POINT_BYTES = 32
SCALAR_BYTES = 32
TOKEN_HEX = 64  # a token is the first 32 bytes of the 64-byte output, in hex

# RFC 9497 section 3.1 and 4.1: mode 0 (OPRF), suite ristretto255-SHA512.
CONTEXT = b"OPRFV1-\x00-ristretto255-SHA512"
_HASH_TO_GROUP_DST = b"HashToGroup-" + CONTEXT
_HASH_TO_SCALAR_DST = b"HashToScalar-" + CONTEXT
_DERIVE_KEY_DST = b"DeriveKeyPair" + CONTEXT
_IDENTITY = bytes(POINT_BYTES)
_ZERO_SCALAR = bytes(SCALAR_BYTES)

_lock = threading.Lock()
_keys: dict[str, tuple[float, bytes]] = {}


class OprfError(ValueError):
    """Bytes that are not a valid point, or an input that cannot be hashed to one."""


class OprfUnavailable(RuntimeError):
    """The system's libsodium is missing: the cross-instance check cannot run (nothing else needs it)."""


_pysodium = None


def _sodium():
    """pysodium, imported on first use: without the system's libsodium only the cross-instance check
    stops working (with this error), not the module that offers it."""
    global _pysodium
    if _pysodium is None:
        try:
            import pysodium
        except (ImportError, OSError, ValueError):  # pysodium raises ValueError when libsodium is missing
            raise OprfUnavailable("libsodium is not installed (Debian: apt-get install libsodium23)") from None
        _pysodium = pysodium
    return _pysodium


def available() -> bool:
    try:
        _sodium()
    except OprfUnavailable:
        return False
    return True


# -- the primitives of RFC 9497 --------------------------------------------------------------------


def expand_message_xmd(message: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 section 5.3.1 with SHA-512."""
    if len(dst) > 255 or length > 255 * 64 or length <= 0:
        raise OprfError("expand_message_xmd: bad lengths")
    blocks = -(-length // 64)
    dst_prime = dst + bytes([len(dst)])
    b0 = hashlib.sha512(bytes(128) + message + length.to_bytes(2, "big") + b"\x00" + dst_prime).digest()
    previous = hashlib.sha512(b0 + b"\x01" + dst_prime).digest()
    uniform = previous
    for index in range(2, blocks + 1):
        mixed = bytes(x ^ y for x, y in zip(b0, previous, strict=True))
        previous = hashlib.sha512(mixed + bytes([index]) + dst_prime).digest()
        uniform += previous
    return uniform[:length]


def hash_to_group(data: bytes) -> bytes:
    """RFC 9497 HashToGroup for ristretto255: a point no one knows the discrete logarithm of."""
    point = _sodium().crypto_core_ristretto255_from_hash(expand_message_xmd(data, _HASH_TO_GROUP_DST, 64))
    if point == _IDENTITY:  # pragma: no cover - would need a SHA-512 preimage
        raise OprfError("the input hashes to the identity element")
    return point


def hash_to_scalar(data: bytes, dst: bytes = _HASH_TO_SCALAR_DST) -> bytes:
    return _sodium().crypto_core_ristretto255_scalar_reduce(expand_message_xmd(data, dst, 64))


def derive_key(seed: bytes, info: bytes) -> bytes:
    """RFC 9497 DeriveKeyPair's secret scalar (used by the test vectors; instance keys are random)."""
    derive_input = seed + len(info).to_bytes(2, "big") + info
    for counter in range(256):
        key = hash_to_scalar(derive_input + bytes([counter]), _DERIVE_KEY_DST)
        if key != _ZERO_SCALAR:
            return key
    raise OprfError("DeriveKeyPair: no key")  # pragma: no cover - probability 2^-2000


def is_valid_point(data) -> bool:
    """32 bytes that are the canonical encoding of a group element other than the identity."""
    return (isinstance(data, bytes | bytearray) and len(data) == POINT_BYTES and bytes(data) != _IDENTITY
            and _sodium().crypto_core_ristretto255_is_valid_point(bytes(data)))


def random_scalar() -> bytes:
    return _sodium().crypto_core_ristretto255_scalar_random()


def random_point() -> bytes:
    """A uniformly random group element: a blinded point of nothing, used to pad a query so the
    peer cannot tell how many readings an identifier has (and so what kind it is)."""
    return _sodium().crypto_core_ristretto255_random()


def blind(data: bytes, scalar: bytes | None = None) -> tuple[bytes, bytes]:
    """(r, r·H(data)): keep r, send the blinded point. `scalar` fixes r (test vectors only)."""
    r = scalar if scalar is not None else random_scalar()
    if len(r) != SCALAR_BYTES or r == _ZERO_SCALAR:
        raise OprfError("bad blinding scalar")
    return r, _sodium().crypto_scalarmult_ristretto255(r, hash_to_group(data))


def evaluate(key: bytes, blinded: bytes) -> bytes:
    """The peer's step: k·P for a blinded point P. Raises OprfError for anything not a valid point."""
    if not is_valid_point(blinded):
        raise OprfError("not a valid ristretto255 point")
    try:
        return _sodium().crypto_scalarmult_ristretto255(key, bytes(blinded))
    except ValueError:  # the result is the identity: only for a zero key
        raise OprfError("evaluation gave the identity") from None


def finalize(data: bytes, r: bytes, evaluated: bytes) -> bytes:
    """The asker's step: unblind (r⁻¹·Z = k·H(data)) and hash it with the input (RFC 9497 Finalize)."""
    if not is_valid_point(evaluated):
        raise OprfError("not a valid ristretto255 point")
    inverse = _sodium().crypto_core_ristretto255_scalar_invert(r)
    unblinded = _sodium().crypto_scalarmult_ristretto255(inverse, bytes(evaluated))
    return _output(data, unblinded)


def output_with_key(key: bytes, data: bytes) -> bytes:
    """What finalize gives, computed by the key holder directly (its published tokens)."""
    return _output(data, _sodium().crypto_scalarmult_ristretto255(key, hash_to_group(data)))


def _output(data: bytes, element: bytes) -> bytes:
    return hashlib.sha512(len(data).to_bytes(2, "big") + data + len(element).to_bytes(2, "big") + element
                          + b"Finalize").digest()


# -- identifiers -------------------------------------------------------------------------------------


def identifier_input(kind: str, value: str) -> bytes:
    """The OPRF input for a normalised identifier: its kind and value, so a phone and a handle with
    the same text are different inputs (as they are different blind indexes)."""
    return kind.encode("ascii") + b"\x00" + value.encode("utf-8")


def token_from_output(output: bytes) -> str:
    return output[:32].hex()


def token(kind: str, value: str, key: bytes | None = None) -> str:
    """This instance's token for a normalised identifier: what peers compare their results with."""
    return token_from_output(output_with_key(key if key is not None else oprf_key(), identifier_input(kind, value)))


def tokens_equal(first: str, second: str) -> bool:
    return hmac.compare_digest(first.encode("ascii"), second.encode("ascii"))


# -- the instance's key ------------------------------------------------------------------------------


def key_path(app=None) -> Path:
    app = app or current_app
    return Path(app.instance_path) / KEY_DIR_NAME / OPRF_KEY_FILE


def _new_key_text() -> str:
    return random_scalar().hex() + "\n"


def oprf_key(app=None) -> bytes:
    """The instance's OPRF secret (a non-zero scalar), created on first use; re-read when the file
    changes (a rotation in another process)."""
    path = key_path(app)
    with _lock:
        if not path.exists():
            _write_secret(path, _new_key_text())  # exclusive create: a racing process keeps the first
        mtime = path.stat().st_mtime
        cached = _keys.get(str(path))
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            key = bytes.fromhex(path.read_text().strip())
        except ValueError:
            key = b""
        # A scalar must be reduced (below the group order) and non-zero: scalar_reduce of the key
        # padded to 64 bytes gives it back unchanged exactly when it is.
        if (len(key) != SCALAR_BYTES or key == _ZERO_SCALAR
                or _sodium().crypto_core_ristretto255_scalar_reduce(key + bytes(32)) != key):
            raise RuntimeError(f"{path} does not hold an OPRF key (64 hex characters of a ristretto255 scalar)")
        _keys[str(path)] = (mtime, key)
        return key


def rotate(app=None) -> None:
    """A new OPRF key. Every token published before is worthless at once; peers fetch the new ones
    on their next pull."""
    path = key_path(app)
    with _lock:
        fresh = path.with_name(f".{path.name}.new")
        fresh.unlink(missing_ok=True)
        _write_secret(fresh, _new_key_text())
        os.replace(fresh, path)
        _keys.pop(str(path), None)


__all__ = ["CONTEXT", "OprfError", "OprfUnavailable", "available", "blind", "derive_key", "evaluate",
           "expand_message_xmd", "finalize", "hash_to_group", "identifier_input", "is_valid_point", "key_path",
           "oprf_key", "output_with_key", "random_point", "random_scalar", "rotate", "token", "token_from_output",
           "tokens_equal"]
