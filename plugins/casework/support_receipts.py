"""The receipt of a request for support, shown again for a few minutes to the browser that sent it.

"Get support" answers a send with the request's receipt (core.receipts: only a hash of it is kept
for good). A second tap on a slow phone reaches the server too, and the browser draws the answer
to that later send, which makes nothing (the form's one-time key, core.once, is claimed): a
receipt shown only in the first answer would be lost for good. So the transaction that makes the
request also keeps its receipt, encrypted (core.crypto), in one row for RECEIPT_SHOWN_FOR, under a
hash of the form's one-time key and of a random key in this browser's session (SESSION_KEY). That
key is put in the session when the form is shown, so two sends at once both carry it. A later
send of the same form from the same browser within that time (a second tap, a reload) shows the
same receipt again; "I have kept my receipt", or Quick exit, deletes it sooner. Another browser,
even one holding the form's key, finds nothing and is told only that the request is already there.

Nothing else is kept: not which request the receipt belongs to, not when it was made; the session
holds a random key and never the receipt; nothing here is logged. Rows that have ended are never
shown, and are deleted by a queue task every few minutes (tasks.forget_ended_receipts) and by the
retention sweep.
"""

from __future__ import annotations

import datetime

from flask import session

from core.db import db, utcnow
from core.tokens import hash_token, new_token
from plugins.casework.models import SentReceipt

SESSION_KEY = "casework_support"
# How long a send of the same form shows the receipt again, to the browser that sent it.
RECEIPT_SHOWN_FOR = datetime.timedelta(minutes=10)


def browser_key(create: bool = False) -> str | None:
    """This browser's random key for kept receipts (made when `create`), or None."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        return key
    if not create:
        return None
    key = session[SESSION_KEY] = new_token()
    return key


def row_key(form_key: str | None, create: bool = False) -> str | None:
    """Where this browser's receipt from this form is kept: a hash of the two keys. None without
    either (a form without a key of ours, a browser that never had the form shown)."""
    browser = browser_key(create)
    if not form_key or not browser:
        return None
    return hash_token(f"{form_key}:{browser}")


def keep(key_hash: str, receipt: str) -> None:
    """Keep the receipt for RECEIPT_SHOWN_FOR. Call it in the transaction that makes the request,
    after claiming the form's key: a second send waits for that transaction, then finds it."""
    if not db.in_transaction():
        raise RuntimeError("a receipt is kept in the transaction that makes its request")
    SentReceipt.create(key_hash=key_hash, receipt=receipt, expires_at=utcnow() + RECEIPT_SHOWN_FOR)


def shown(key_hash: str | None) -> str | None:
    """The receipt kept under this key, while it may still be shown; None otherwise."""
    if key_hash is None:
        return None
    row = SentReceipt.get_or_none((SentReceipt.key_hash == key_hash) & (SentReceipt.expires_at > utcnow()))
    return row.receipt if row is not None else None


def forget(key_hash: str | None) -> bool:
    """Delete the receipt kept under this key ("I have kept my receipt", Quick exit). True when
    there was one."""
    if key_hash is None:
        return False
    with db.atomic():
        return SentReceipt.delete().where(SentReceipt.key_hash == key_hash).execute() > 0


def forget_ended(now: datetime.datetime | None = None) -> int:
    """Delete every kept receipt whose time is over; how many."""
    with db.atomic():
        return SentReceipt.delete().where(SentReceipt.expires_at <= (now or utcnow())).execute()

