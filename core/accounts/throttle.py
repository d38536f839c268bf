"""Sign-in throttling per account and per client address, never globally.

Each failed attempt (a wrong password, an unknown account, a wrong two-factor code) adds one row
for the account key and one for the address key. While either key has too many rows within the
sliding window, sign-in with that key is refused before any password is checked. Keys are keyed
HMACs (blind indexes): the table holds no email address and no IP address, only who-knows-what
hashes, and rows older than the window are deleted.

The account key is taken from what was typed, whether or not an account exists, so throttling
answers the same for real and unknown accounts. Throttling one account never affects another.
The account's failures are forgotten only when a whole sign-in succeeds: a right password alone
does not clear them when a two-factor code must follow, so wrong codes keep counting however
often the password is typed again, and from whatever address.

Settings (integers, read from app config with these defaults):
LOGIN_MAX_FAILURES_PER_ACCOUNT (10), LOGIN_MAX_FAILURES_PER_ADDRESS (50), LOGIN_THROTTLE_MINUTES (15).
Password-reset requests are counted the same way under their own keys ("reset"):
RESET_MAX_PER_ACCOUNT (3) and RESET_MAX_PER_ADDRESS (20) within the same window.
"""

from __future__ import annotations

import datetime

from flask import current_app, request
from peewee import CharField, DateTimeField, fn

from core.crypto import keyring
from core.db import BaseModel, utcnow
from core.identifiers import InvalidIdentifier, normalise_email

ACCOUNT = "account"
ADDRESS = "address"
LOGIN = "login"
RESET = "reset"
LIMITS = {
    (LOGIN, ACCOUNT): "LOGIN_MAX_FAILURES_PER_ACCOUNT",
    (LOGIN, ADDRESS): "LOGIN_MAX_FAILURES_PER_ADDRESS",
    (RESET, ACCOUNT): "RESET_MAX_PER_ACCOUNT",
    (RESET, ADDRESS): "RESET_MAX_PER_ADDRESS",
}


class LoginAttempt(BaseModel):
    scope = CharField(max_length=16)
    key = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("scope", "key", "created_at"), False),)


def setting(name: str) -> int:
    return current_app.config[name]


def window() -> datetime.timedelta:
    return datetime.timedelta(minutes=setting("LOGIN_THROTTLE_MINUTES"))


def _scope(kind: str, scope: str) -> str:
    return scope if kind == LOGIN else f"{kind}-{scope}"


def account_key(typed_email: str, kind: str = LOGIN) -> str:
    """The blind index of the account name as typed (normalised when it is a valid email)."""
    try:
        normalised = normalise_email(typed_email or "")
    except InvalidIdentifier:
        normalised = (typed_email or "").strip().lower()
    return keyring().blind_index(f"{kind}-throttle-account", normalised)


def address_key(address: str | None = None, kind: str = LOGIN) -> str:
    return keyring().blind_index(f"{kind}-throttle-address", address or request.remote_addr or "unknown")


def _failures(scope: str, key: str) -> int:
    since = utcnow() - window()
    return (
        LoginAttempt.select(fn.COUNT(LoginAttempt.id))
        .where((LoginAttempt.scope == scope) & (LoginAttempt.key == key) & (LoginAttempt.created_at >= since))
        .scalar()
    )


def is_throttled(account: str, address: str, kind: str = LOGIN) -> bool:
    return (
        _failures(_scope(kind, ACCOUNT), account) >= setting(LIMITS[(kind, ACCOUNT)])
        or _failures(_scope(kind, ADDRESS), address) >= setting(LIMITS[(kind, ADDRESS)])
    )


def record_failure(account: str, address: str, kind: str = LOGIN) -> bool:
    """Count one failure (or reset request) against both keys; True when it reached a limit."""
    now = utcnow()
    LoginAttempt.delete().where(LoginAttempt.created_at < now - window()).execute()
    LoginAttempt.insert_many(
        [
            {"scope": _scope(kind, ACCOUNT), "key": account, "created_at": now},
            {"scope": _scope(kind, ADDRESS), "key": address, "created_at": now},
        ]
    ).execute()
    return is_throttled(account, address, kind)


def clear_account(account: str) -> None:
    """After a whole successful sign-in (password, then the code when the account has two-factor
    sign-in) or a password reset, the account's own failures are forgotten (the address's are not)."""
    LoginAttempt.delete().where((LoginAttempt.scope == ACCOUNT) & (LoginAttempt.key == account)).execute()
