"""Password hashing with Argon2id (argon2-cffi), tuned by configuration."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verified against when an account does not exist, so the answer takes as long as a real check.
_DUMMY_PASSWORD = "not-a-real-password-but-the-same-cost"  # noqa: S105


def hasher(app=None) -> PasswordHasher:
    app = app or current_app
    cached = app.extensions.get("redumbrella.hasher")
    if cached is None:
        cached = PasswordHasher(
            time_cost=app.config["ARGON2_TIME_COST"],
            memory_cost=app.config["ARGON2_MEMORY_COST"],
            parallelism=app.config["ARGON2_PARALLELISM"],
        )
        app.extensions["redumbrella.hasher"] = cached
        app.extensions["redumbrella.dummy_hash"] = cached.hash(_DUMMY_PASSWORD)
    return cached


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; costs the same when there is no account."""
    try:
        check = hasher()
        return check.verify(stored_hash or current_app.extensions["redumbrella.dummy_hash"], password) and (
            stored_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False
