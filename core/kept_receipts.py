"""A receipt shown again, for a few minutes, to the browser that was given it.

A form answered with a receipt (a report, a request for support: core.receipts) is often sent
twice on a slow phone, or reloaded; the browser draws the answer to the later send, and a receipt
shown only in the first answer would be lost for good. So a module keeps the receipt here,
encrypted, for SHOWN_FOR, under a hash of a key only that browser holds (key_for: the form's
one-time key joined with a random key in this browser's session, SESSION_KEY, or a key the module
already keeps in the session), and shows it again while it is kept. "I have kept my receipt", or
Quick exit's beacon (POST /receipts/forget, core.views), deletes it sooner; another browser finds
nothing.

Nothing else is kept: not what the receipt opens, not when it was made; the session holds a random
key and never the receipt; nothing here is logged. Ended rows are never shown, and are deleted
every few minutes (core.builtin.forget_ended_receipts) and by the retention sweep.
"""

from __future__ import annotations

import datetime

from flask import session

from core.db import db, utcnow
from core.models import KeptReceipt
from core.tokens import hash_token, new_token

SESSION_KEY = "kept_receipts"
SHOWN_FOR = datetime.timedelta(minutes=10)


def browser_key(create: bool = False) -> str | None:
    """This browser's random key for kept receipts (made when `create`), or None. Make it when the
    form is shown, before any send, so two sends at once both carry it."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        return key
    if not create:
        return None
    key = session[SESSION_KEY] = new_token()
    return key


def key_for(form_key: str | None, create: bool = False) -> str | None:
    """Where this browser's receipt from this form is kept: a hash of the form's key and the
    browser's. None without either (a form without a key, a browser never shown the form)."""
    browser = browser_key(create)
    if not form_key or not browser:
        return None
    return hash_token(f"{form_key}:{browser}")


def keep(key: str, receipt: str) -> None:
    """Keep the receipt for SHOWN_FOR. Call it in the transaction that makes what the receipt opens:
    a second send waits for that transaction, then finds it."""
    if not db.in_transaction():
        raise RuntimeError("a receipt is kept in the transaction that makes what it opens")
    KeptReceipt.create(key_hash=key, receipt=receipt, expires_at=utcnow() + SHOWN_FOR)


def shown(key: str | None) -> str | None:
    """The receipt kept under this key, while it may still be shown; None otherwise."""
    if key is None:
        return None
    row = KeptReceipt.get_or_none((KeptReceipt.key_hash == key) & (KeptReceipt.expires_at > utcnow()))
    return row.receipt if row is not None else None


def forget(key: str | None) -> bool:
    """Delete the receipt kept under this key ("I have kept my receipt", Quick exit); True if there was one."""
    if key is None:
        return False
    with db.atomic():
        return KeptReceipt.delete().where(KeptReceipt.key_hash == key).execute() > 0


def forget_ended(now: datetime.datetime | None = None) -> int:
    """Delete every kept receipt whose time is over; how many."""
    with db.atomic():
        return KeptReceipt.delete().where(KeptReceipt.expires_at <= (now or utcnow())).execute()
