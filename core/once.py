"""One-time form keys: a form sent twice (a reload of its answer, a double tap on a slow phone)
does its work once.

A page puts `new_key()` in a hidden field; the view reads it back with `posted_key()` and calls
`claim(key)` inside the transaction that does the work: True the first time, False for any later
send of the same form within a day. Claims are counted in core.throttle's table, keyed by a hash
of the key (nothing else is stored), and go when their window ends. A form sent without a key (a
tampered one) is not protected, and needs no protection from its own sender.
"""

from __future__ import annotations

import datetime

from core import throttle
from core.tokens import hash_token, new_token

FORMS = throttle.Limit("form-once", per=datetime.timedelta(days=1), buckets=24)
KEY_BYTES = 16


def new_key() -> str:
    return new_token(nbytes=KEY_BYTES)


def posted_key(posted: str | None) -> str | None:
    """The form's key as sent, when it looks like one of ours; None otherwise."""
    posted = (posted or "").strip()
    if 16 <= len(posted) <= 64 and all(char.isascii() and (char.isalnum() or char in "-_") for char in posted):
        return posted
    return None


def claim(key: str | None) -> bool:
    """Whether this is the form's first send (always True without a key). Call it inside the
    transaction that does the work, so a failed attempt leaves the key unclaimed."""
    if key is None:
        return True
    digest = hash_token(key)[:64]
    return throttle.hit(FORMS, [digest])[digest] == 1
