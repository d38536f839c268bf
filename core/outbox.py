"""The loop every outbox table shares (webhooks, federation pushes): claim due rows with a lease,
hand them to the sender, mark each delivered or retried with back-off, give up after the last
delay, and put back the rows of a worker that died.

Each outbox keeps only what is its own: what a row is (its model, and which rows may be sent, e.g.
only those of an active endpoint) and how rows are sent. The guarantees are the same for all:

- A claim is one statement in a write transaction taken up front (BEGIN IMMEDIATE on SQLite,
  FOR UPDATE SKIP LOCKED on PostgreSQL), so two workers never hold the same row.
- The sender marks each row the moment its receiver answered, before the next is handed over; if
  the worker is killed, only what was in flight at that instant is sent again: at most one repeat
  per worker. Its other rows stay "sending" under its claim (core.claims) until the sweep sees the
  claimer is gone, or the lease runs out, and puts them back to "pending".
- A failed attempt waits retry_delays[n] seconds before the next; after the last the row is
  "failed". Only a status code and a short error are kept, never an answer's body.

The alerts' delivery outbox (plugins/alerts/delivery) shares only release_dead_claims: its rows
are claimed per channel, read joined with their recipients as plain tuples, marked "sent" under
relaxed durability with one writer thread at a time on SQLite, and retried after delays and a
lease its settings give at run time, on columns of its own (sent_at, no last_status).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence

from core.claims import claimer, claimer_alive
from core.db import db, is_sqlite, run_sql, utcnow

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


class Outbox:
    """One outbox table. Its model has status, attempts, next_attempt_at, claimed_by, claimed_at,
    last_status, last_error, last_attempt_at and delivered_at; `join` and `ready` (SQL on the row
    aliased "o", with %s placeholders for `ready_params`) say which due rows may be sent now."""

    def __init__(self, model, *, join: str, ready: str, ready_params: tuple = (), retry_delays: Sequence[int],
                 batch: int, lease: datetime.timedelta, log: logging.Logger, event: str, noun: str):
        self.model = model
        self.retry_delays = tuple(retry_delays)
        self.max_attempts = len(self.retry_delays) + 1
        self.batch = batch
        self.lease = lease
        self.log = log
        self.event = event  # log events are "<event>_retry", "<event>_failed", "<event>_claims_released"
        self.noun = noun
        self.ready_params = tuple(ready_params)
        table = model._meta.table_name
        due = f"FROM {table} o {join} WHERE o.status = %s AND o.next_attempt_at <= %s AND {ready}"
        # Only the fixed text given by the outbox's own module is joined in; every value is a parameter.
        self._claim_sql = (
            f"UPDATE {table} SET status = %s, claimed_by = %s, claimed_at = %s "  # noqa: S608  # nosec B608  # fixed text of the outbox module
            f"WHERE id IN (SELECT o.id {due} ORDER BY o.id LIMIT %s{{lock}}) RETURNING id")
        self._due_sql = f"SELECT COUNT(*) {due}"  # noqa: S608  # nosec B608  # fixed text of the outbox module
        self._delivered_sql = (
            f"UPDATE {table} SET status = %s, claimed_by = NULL, attempts = attempts + 1, "  # noqa: S608  # nosec B608  # fixed text of the outbox module
            "last_status = %s, last_error = NULL, last_attempt_at = %s, delivered_at = %s WHERE id = %s")

    # -- claiming ---------------------------------------------------------------------------------

    def claim(self, who: str, limit: int | None = None) -> list[int]:
        """Atomically take up to `limit` due rows for this worker; their ids in order."""
        now = utcnow()
        sql = self._claim_sql.format(lock="" if is_sqlite() else " FOR UPDATE OF o SKIP LOCKED")
        with db.atomic():
            cursor = run_sql(sql, (SENDING, who, now, PENDING, now, *self.ready_params, limit or self.batch))
            return sorted(row[0] for row in cursor.fetchall())

    def release_own(self, who: str) -> int:
        """The rows this worker claimed but did not get to: back to pending."""
        model = self.model
        return model.update(status=PENDING, claimed_by=None).where(
            (model.status == SENDING) & (model.claimed_by == who)).execute()

    def release_dead_claims(self) -> int:
        """Put rows claimed by workers that no longer exist (or whose lease ran out) back to pending."""
        return release_dead_claims(self.model, self.lease, self.log, self.noun, self.event)

    def due_count(self) -> int:
        return run_sql(self._due_sql, (PENDING, utcnow(), *self.ready_params)).fetchone()[0]

    # -- draining ---------------------------------------------------------------------------------

    def drain(self, send: Callable[[list], int], max_rows: int | None = None) -> int:
        """Claim and hand batches of due rows (this worker's, in id order) to `send`, which marks
        each one and returns how many were delivered, until none are due or max_rows were tried."""
        model = self.model
        who = claimer()
        delivered = tried = 0
        try:
            while max_rows is None or tried < max_rows:
                ids = self.claim(who, self.batch if max_rows is None else min(self.batch, max_rows - tried))
                if not ids:
                    break
                tried += len(ids)
                rows = list(model.select().where(model.id.in_(ids) & (model.claimed_by == who)).order_by(model.id))
                if rows:
                    delivered += send(rows)
        finally:
            self.release_own(who)
        return delivered

    # -- marking ----------------------------------------------------------------------------------

    def delivered(self, ids: list[int], http_status: int | None) -> None:
        """The receiver took these rows: delivered, committed before the next is sent."""
        model, now = self.model, utcnow()
        if len(ids) == 1:  # the hot path: once per webhook, as plain SQL
            run_sql(self._delivered_sql, (DELIVERED, http_status, now, now, ids[0]))
            return
        model.update({model.status: DELIVERED, model.claimed_by: None, model.attempts: model.attempts + 1,
                      model.last_status: http_status, model.last_error: None, model.last_attempt_at: now,
                      model.delivered_at: now}).where(model.id.in_(ids)).execute()

    def delay_after(self, attempts: int) -> int | None:
        """Seconds before the next attempt once `attempts` have failed, or None when that was the last."""
        return self.retry_delays[attempts - 1] if attempts < self.max_attempts else None

    def failed(self, rows: list, http_status: int | None, error: str) -> int | None:
        """A failed attempt for each row: pending again after its back-off, or failed after the last.
        Returns the shortest wait before one of them is due again (None when all gave up)."""
        model, now = self.model, utcnow()
        soonest, gave_up = None, False
        for row in rows:
            attempts = row.attempts + 1
            delay = self.delay_after(attempts)
            values = {model.attempts: attempts, model.claimed_by: None, model.last_status: http_status,
                      model.last_error: error[:80], model.last_attempt_at: now}
            if delay is None:
                values[model.status] = FAILED
                gave_up = True
            else:
                values[model.status] = PENDING
                values[model.next_attempt_at] = now + datetime.timedelta(seconds=delay)
                soonest = delay if soonest is None else min(soonest, delay)
            model.update(values).where(model.id == row.id).execute()
        reason = f"HTTP {http_status}" if http_status is not None else error[:40]  # never the receiver's words
        if gave_up:
            self.log.warning(f"{self.noun} failed", extra={"event": f"{self.event}_failed", "reason": reason})
        if soonest is not None:
            self.log.info(f"{self.noun} will be retried", extra={"event": f"{self.event}_retry", "reason": reason})
        return soonest


def release_dead_claims(model, lease: datetime.timedelta, log: logging.Logger, noun: str, event: str) -> int:
    """Put the rows of any outbox table (status, claimed_by, claimed_at) claimed by workers that no
    longer exist, or whose lease ran out, back to pending; logs "<noun> claims released". Also the
    alerts' outbox's, whose lease is a setting read at each sweep."""
    released = 0
    claims = [row[0] for row in model.select(model.claimed_by).where(model.status == SENDING).distinct().tuples()]
    for claim_id in claims:
        if claim_id is None or claimer_alive(claim_id) is False:
            released += model.update(status=PENDING, claimed_by=None).where(
                (model.status == SENDING) & (model.claimed_by == claim_id)).execute()
    released += model.update(status=PENDING, claimed_by=None).where(
        (model.status == SENDING) & (model.claimed_at < utcnow() - lease)).execute()
    if released:
        log.warning(f"{noun} claims released", extra={"event": f"{event}_claims_released", "count": released})
    return released
