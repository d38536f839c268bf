"""Draining the outbox: send what is due, one message at a time, each marked sent once accepted.

A drain claims rows (outbox.claim), sends them one by one over one open connection (Sender), and
commits each row as "sent" the moment the server accepted it, before handing over the next. Only
the one message being handed over at the instant a worker dies can be sent twice: at most one
repeat per worker. The sweep (a periodic task that also runs as soon as a worker starts) releases
dead workers' claims, bundles digests and asks the queue to drain what is due.
"""

from __future__ import annotations

import logging
from collections import Counter

from flask import current_app

from core.claims import claimer
from core.db import utcnow
from core.mail import NotConnected, PermanentFailure, TemporaryFailure
from core.permissions import paused_among
from plugins.alerts.delivery.digests import build_digests, digest_counts
from plugins.alerts.delivery.fan_out import reached
from plugins.alerts.delivery.outbox import (
    CLAIM_BATCH,
    claim,
    claimed,
    finish,
    relaxed_durability,
    release_dead_claims,
    release_own,
    retry,
)
from plugins.alerts.delivery.sender import Sender
from plugins.alerts.models import CANCELLED, FAILED, PENDING, SENT, Alert, Delivery
from plugins.alerts.reading import is_visible

log = logging.getLogger("redumbrella.alerts.delivery")

# Messages about something new to read. A person whose reading of alerts is paused (the
# access_paused hook: the training module's partner gate) is not sent them: each is cancelled
# when it would go, their subscription unchanged. A withdrawal still reaches them: it is about
# something they were already sent, so they stop passing it on.
TELLS_WHAT_IS_NEW = ("alert", "update", "digest")


def kick(due: Counter | dict) -> None:
    """After commit: ask the queue to drain each channel that has messages due (ids only)."""
    from plugins.alerts.tasks import drain_outbox

    config = current_app.config
    for channel, count in due.items():
        if not count:
            continue
        drains = 1 if config["QUEUE_IMMEDIATE"] else max(1, min(config["QUEUE_WORKERS"], -(-count // CLAIM_BATCH)))
        for _n in range(drains):
            drain_outbox(channel)


def drain(channel: str, max_messages: int | None = None) -> int:
    """Send due messages of one channel until none are left; returns how many were sent."""
    who = claimer()
    sender = Sender(channel)
    sent = 0
    try:
        with relaxed_durability():
            while max_messages is None or sent < max_messages:
                batch = CLAIM_BATCH if max_messages is None else min(CLAIM_BATCH, max_messages - sent)
                if not claim(channel, who, batch):
                    break
                try:
                    sent += _send_claimed(sender, who)
                except TemporaryFailure as failure:
                    # The server is unreachable: put the rest back with a delay, stop this drain.
                    release_own(who, reason=str(failure))
                    break
    finally:
        sender.close()
        release_own(who)
    if sent:
        log.info("outbox drained", extra={"event": "alerts_sent", "channel": channel, "count": sent})
    return sent


def _send_claimed(sender: Sender, who: str) -> int:
    rows = claimed(sender.channel, who)
    alert_ids = {row.alert_id for row in rows if row.alert_id}
    alerts = {alert.id: alert for alert in Alert.select().where(Alert.id.in_(alert_ids))} if alert_ids else {}
    sender.versions = {alert_id: alert.version for alert_id, alert in alerts.items()}
    paused = paused_among(current_app, {row.user_id for row in rows if row.kind in TELLS_WHAT_IS_NEW}, "alerts.read")
    sent = 0
    for row in rows:
        if (
            not row.active
            or not row.subscribed
            or (row.kind in TELLS_WHAT_IS_NEW and row.user_id in paused)
            or (row.kind in ("alert", "update") and not is_visible(alerts[row.alert_id]))
            or (row.kind == "withdraw" and not reached(row.alert_id, row.user_id, row.channel).exists())
            or (row.kind == "digest" and not any(digest_counts(row).values()))
        ):
            finish(row, CANCELLED)
            continue
        try:
            sender.send(row)
        except PermanentFailure as failure:
            finish(row, FAILED, error=str(failure))
            continue
        except TemporaryFailure as failure:
            retry(row, str(failure))
            if isinstance(failure, NotConnected) or row.channel == "email" and sender.mail.connection is None:
                raise  # the line is gone: the rest of the batch goes back with a delay
            continue
        finish(row, SENT)  # committed before the next message is handed over
        sent += 1
    return sent


def due_channels() -> list[str]:
    rows = (
        Delivery.select(Delivery.channel)
        .where((Delivery.status == PENDING) & (Delivery.next_attempt_at <= utcnow()))
        .distinct()
        .tuples()
    )
    return [row[0] for row in rows]


def sweep() -> dict:
    """Every minute, and as soon as a worker starts: recover, bundle digests, drain what is due."""
    released = release_dead_claims()
    digests = build_digests()
    channels = due_channels()
    if channels:
        counts = Counter({channel: _due_count(channel) for channel in channels})
        kick(counts)
    return {"released": released, "digests": digests, "channels": channels}


def _due_count(channel: str) -> int:
    return (
        Delivery.select()
        .where((Delivery.status == PENDING) & (Delivery.channel == channel) & (Delivery.next_attempt_at <= utcnow()))
        .count()
    )
