"""Sign-in throttling per account and per client address, never globally (counted by core.throttle).

Each failed attempt (a wrong password, an unknown account, a wrong two-factor code) counts one for
the account key and one for the address key, in one statement. While either key has too many
within the window, sign-in with that key is refused before any password is checked. Keys are keyed
HMACs (blind indexes), each kind with its own HMAC domain so an account key and an address key
never meet: the throttle table holds no email address and no IP address, only hashes, and windows
that ended are deleted.

The window slides: LOGIN_THROTTLE_MINUTES summed from 15 buckets of a fifteenth each (one minute by
default), so it counts the failures of the last 14 to 15 minutes (core.throttle says why that is
enough).

The account key is taken from what was typed, whether or not an account exists, so throttling
answers the same for real and unknown accounts. Throttling one account never affects another.
The account's failures are forgotten only when a whole sign-in succeeds: a right password alone
does not clear them when a two-factor code must follow, so wrong codes keep counting however
often the password is typed again, and from whatever address.

Settings (integers, read from app config with these defaults):
LOGIN_MAX_FAILURES_PER_ACCOUNT (10), LOGIN_MAX_FAILURES_PER_ADDRESS (50), LOGIN_THROTTLE_MINUTES (15).
Password-reset requests are counted the same way under their own scope and keys ("reset"):
RESET_MAX_PER_ACCOUNT (3) and RESET_MAX_PER_ADDRESS (20) within the same window; membership
applications under "apply" (APPLY_MAX_PER_ADDRESS).
"""

from __future__ import annotations

import datetime

from flask import current_app, request

from core import throttle
from core.crypto import keyring
from core.identifiers import InvalidIdentifier, normalise_email

LOGIN = "login"
RESET = "reset"
APPLY = "apply"
WINDOW_BUCKETS = 15
MAXIMA = {
    LOGIN: ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "LOGIN_MAX_FAILURES_PER_ADDRESS"),
    RESET: ("RESET_MAX_PER_ACCOUNT", "RESET_MAX_PER_ADDRESS"),
}


def setting(name: str) -> int:
    return current_app.config[name]


def window() -> datetime.timedelta:
    return datetime.timedelta(minutes=setting("LOGIN_THROTTLE_MINUTES"))


LIMITS = {kind: throttle.Limit(kind, per=window, buckets=WINDOW_BUCKETS) for kind in (LOGIN, RESET, APPLY)}


def account_key(typed_email: str, kind: str = LOGIN) -> str:
    """The blind index of the account name as typed (normalised when it is a valid email)."""
    try:
        normalised = normalise_email(typed_email or "")
    except InvalidIdentifier:
        normalised = (typed_email or "").strip().lower()
    return keyring().blind_index(f"{kind}-throttle-account", normalised)


def address_key(address: str | None = None, kind: str = LOGIN) -> str:
    return keyring().blind_index(f"{kind}-throttle-address", address or request.remote_addr or "unknown")


def _over(counts: dict[str, int], account: str, address: str, kind: str) -> bool:
    most_account, most_address = (setting(name) for name in MAXIMA[kind])
    return counts[account] >= most_account or counts[address] >= most_address


def is_throttled(account: str, address: str, kind: str = LOGIN) -> bool:
    return _over(throttle.counts(LIMITS[kind], [account, address]), account, address, kind)


def record_failure(account: str, address: str, kind: str = LOGIN) -> bool:
    """Count one failure (or reset request) against both keys; True when it reached a limit."""
    return _over(throttle.hit(LIMITS[kind], [account, address]), account, address, kind)


def clear_account(account: str, kind: str = LOGIN) -> None:
    """After a whole successful sign-in (password, then the code when the account has two-factor
    sign-in) or a password reset, the account's own failures are forgotten (the address's are not)."""
    throttle.forget(LIMITS[kind], account)
