"""Claiming and releasing outbox rows, and recording what became of each.

A drain claims a few rows (status "sending", claimed_by = host:pid:start:thread), and each is then
finished ("sent", "failed", "cancelled") or put back for a retry with back-off (retry_seconds ×
2^attempts, at most six hours, up to max_attempts). If the worker is killed, its claimed rows stay
"sending" until release_dead_claims sees that the claiming process is gone (or its lease ran out)
and puts them back to "pending".
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from typing import NamedTuple

from core.accounts.models import User
from core.db import db, is_sqlite, run_sql, utcnow, write_turn
from core.outbox import release_dead_claims as shared_release
from plugins.alerts.config import settings
from plugins.alerts.models import FAILED, PENDING, SENDING, SENT, Delivery, Subscription

log = logging.getLogger("redumbrella.alerts.delivery")

CLAIM_BATCH = 50
MAX_BACKOFF = datetime.timedelta(hours=6)


def claim(channel: str, who: str, limit: int = CLAIM_BATCH) -> list[int]:
    """Atomically take up to `limit` due rows of one channel for this worker, the longest due first.

    In the order of the (status, channel, next_attempt_at) index, so a claim reads `limit` entries
    of it. In id order, SQLite sorted every due row for each claim: claiming 10,000 rows in batches
    cost 15 us of CPU a row, against 9 now."""
    now = utcnow()
    lock = "" if is_sqlite() else " FOR UPDATE SKIP LOCKED"
    sql = (  # only the fixed lock clause is joined in
        "UPDATE alerts_delivery SET status = %s, claimed_by = %s, claimed_at = %s "  # noqa: S608  # nosec B608
        "WHERE id IN (SELECT id FROM alerts_delivery WHERE status = %s AND channel = %s "
        f"AND next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s{lock}) RETURNING id"
    )
    with db.atomic():  # on SQLite: the writers' queue, then BEGIN IMMEDIATE (core.db)
        cursor = run_sql(sql, (SENDING, who, now, PENDING, channel, now, limit))
        return sorted(row[0] for row in cursor.fetchall())


class Claimed(NamedTuple):
    """A claimed row and what sending it needs: the recipient's address for its channel (decrypted),
    language, whether the account is active and the channels they chose (None: no subscription).
    Plain tuples, not models: building three models per message was a fifth of a drain's time.
    Held only in the drain's memory, like the models before them."""

    id: int
    key: str
    kind: str
    alert_id: int | None
    user_id: int
    channel: str
    attempts: int
    address: str | None
    locale: str | None
    active: bool
    channels: str | None

    @property
    def subscribed(self) -> bool:
        return self.channels is not None and self.channel in self.channels.split(",")


# The address column of each channel (decrypted only for the channel that needs it), and its field.
_ADDRESS = {"email": ("u.email", User.email), "sms": ("s.sms_number", Subscription.sms_number)}
_CLAIMED_SQL = {  # only the fixed column names above are joined in
    channel: 'SELECT d.id, d."key", d.kind, d.alert_id, d.user_id, d.channel, d.attempts, '  # noqa: S608  # nosec B608
    f"{column}, u.locale, u.active, s.channels FROM alerts_delivery d "
    'LEFT JOIN "user" u ON u.id = d.user_id LEFT JOIN alerts_subscription s ON s.user_id = d.user_id '
    "WHERE d.status = %s AND d.channel = %s AND d.claimed_by = %s ORDER BY d.id"
    for channel, (column, _field) in {**_ADDRESS, "": ("NULL", None)}.items()
}


def claimed(channel: str, who: str) -> list[Claimed]:
    """The rows of `channel` this worker holds and has not finished, in id order."""
    field = _ADDRESS.get(channel, ("", None))[1]
    rows = run_sql(_CLAIMED_SQL[channel if field else ""], (SENDING, channel, who)).fetchall()
    return [Claimed(*row[:7], None if row[7] is None else field.python_value(row[7]), row[8], bool(row[9]), row[10])
            for row in rows]


def release_dead_claims() -> int:
    """Put rows claimed by workers that no longer exist (or whose lease ran out) back to pending."""
    lease = datetime.timedelta(seconds=settings()["claim_lease_seconds"])
    return shared_release(Delivery, lease, log, noun="outbox", event="alerts")


@contextlib.contextmanager
def relaxed_durability():
    """Commit "sent" marks without waiting for the disk to confirm each one.

    A committed mark survives the worker being killed either way (SQLite in WAL mode with
    synchronous=NORMAL; PostgreSQL with synchronous_commit off, the server keeps running). Only a
    power cut of the database machine could lose the last marks, and then those messages are
    sent again: repeated, never lost. Waiting for the disk on every message would cap delivery
    at the disk's sync rate.
    """
    sqlite = is_sqlite()
    db.execute_sql("PRAGMA synchronous = NORMAL" if sqlite else "SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        db.execute_sql("PRAGMA synchronous = FULL" if sqlite else "RESET synchronous_commit")


def finish(row: Claimed | Delivery, status: str, error: str | None = None) -> None:
    now = utcnow()
    if status == SENT:  # the hot path: once per message, as plain SQL
        sql = ("UPDATE alerts_delivery SET status = %s, claimed_by = NULL, last_error = NULL, "
               "attempts = attempts + 1, sent_at = %s WHERE id = %s")
        with write_turn():  # a statement alone: it takes its turn in the writers' queue itself
            run_sql(sql, (SENT, now, row.id))
        return
    values = {
        Delivery.status: status,
        Delivery.claimed_by: None,
        Delivery.last_error: (error or None) and error[:64],
    }
    if status in (SENT, FAILED):
        values[Delivery.attempts] = Delivery.attempts + 1
    if status == SENT:
        values[Delivery.sent_at] = now
    Delivery.update(values).where(Delivery.id == row.id).execute()
    if status == FAILED:
        log.warning("delivery failed", extra={"event": "alerts_delivery_failed", "reason": error})


def retry(row: Claimed | Delivery, error: str) -> None:
    conf = settings()
    attempts = row.attempts + 1
    if attempts >= conf["max_attempts"]:
        finish(row, FAILED, error=error)
        return
    delay = min(datetime.timedelta(seconds=conf["retry_seconds"] * 2 ** (attempts - 1)), MAX_BACKOFF)
    Delivery.update(
        status=PENDING, claimed_by=None, attempts=attempts, last_error=error[:64], next_attempt_at=utcnow() + delay
    ).where(Delivery.id == row.id).execute()
    log.info("delivery will be retried", extra={"event": "alerts_delivery_retry", "reason": error})


def release_own(who: str, reason: str | None = None) -> None:
    """Rows this worker claimed but did not get to: back to pending (later, when the server is down)."""
    values = {Delivery.status: PENDING, Delivery.claimed_by: None}
    if reason:
        values[Delivery.next_attempt_at] = utcnow() + datetime.timedelta(seconds=settings()["retry_seconds"])
        values[Delivery.last_error] = reason[:64]
    Delivery.update(values).where((Delivery.status == SENDING) & (Delivery.claimed_by == who)).execute()
