"""Fan-out: who an alert reaches, and the outbox rows written for them.

Publishing an alert writes one Delivery row per recipient and channel (unique idempotency key) in
the same transaction as the publication (fan_out); a correction or a withdrawal writes its own
(fan_out_correction, fan_out_withdrawal). audience() counts the same selection for the preview a
moderator sees first. Once the transaction commits, the caller asks the queue to drain (dispatch.kick).
"""

from __future__ import annotations

import functools
from collections import Counter

from flask import current_app
from peewee import JOIN

from core.accounts.models import User, UserRole
from core.db import db, utcnow
from core.permissions import paused_among, roles_for
from plugins.alerts.models import (
    BUNDLED,
    CANCELLED,
    HELD,
    PENDING,
    SENDING,
    SENT,
    SENT_CHANNELS,
    Alert,
    AlertRegion,
    Delivery,
    Subscription,
    SubscriptionRegion,
)

INSERT_CHUNK = 500  # delivery rows written per INSERT
PAUSED_QUERY_CHUNK = 500  # people asked about per paused_among() call: one IN (...) list a statement


def recipients(alert: Alert):
    """(user id, channels, frequency) of active, vetted subscribers to one of the alert's regions."""
    regions = [row.region for row in AlertRegion.select(AlertRegion.region).where(AlertRegion.alert == alert)]
    roles = sorted(roles_for(current_app, "alerts.subscribe"))
    in_region = SubscriptionRegion.select(SubscriptionRegion.subscription).where(SubscriptionRegion.region.in_(regions))
    vetted = UserRole.select(UserRole.user).where(UserRole.role.in_(roles))
    query = (
        Subscription.select(Subscription.user, Subscription.channels, Subscription.frequency)
        .join(User, on=(User.id == Subscription.user))
        .where(
            (User.active == True)  # noqa: E712
            & ((Subscription.all_regions == True) | Subscription.id.in_(in_region))  # noqa: E712
            & Subscription.user.in_(vetted)
        )
        .order_by(Subscription.user)
    )
    return query.tuples().iterator()


class _Outbox:
    """Outbox rows written in chunks (ignoring keys already there); counts what is due now per channel."""

    def __init__(self):
        from plugins.alerts import sms

        self.sms_on = sms.configured(current_app)
        self.now = utcnow()
        self.due: Counter = Counter()
        self.batch: list[tuple] = []

    def channels(self, channels: str | None) -> list[str]:
        """The channels of a subscription that go through the outbox on this instance."""
        return [channel for channel in (channels or "").split(",")
                if channel in SENT_CHANNELS and (channel != "sms" or self.sms_on)]

    def add(self, key: str, kind: str, alert_id: int, user_id: int, channel: str, frequency: str) -> None:
        status = HELD if frequency == "daily" else PENDING
        self.batch.append((key, kind, alert_id, user_id, channel, status, 0, self.now, self.now))
        if status == PENDING:
            self.due[channel] += 1
        if len(self.batch) >= INSERT_CHUNK:
            self.flush()

    def flush(self) -> Counter:
        if self.batch:
            db.execute_sql(_insert_sql(db.param, len(self.batch)), [value for row in self.batch for value in row])
            self.batch = []
        return self.due


@functools.lru_cache(maxsize=4)
def _insert_sql(param: str, rows: int) -> str:
    """One INSERT of `rows` outbox rows, keys already there left alone. Plain SQL: peewee built
    each chunk's statement value by value, three quarters of publishing to 10,000 people."""
    one = "(" + ", ".join([param] * len(_COLUMNS)) + ")"
    return (f"INSERT INTO alerts_delivery ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608  # nosec B608
            f"{', '.join([one] * rows)} ON CONFLICT DO NOTHING")  # only fixed names and placeholders


_COLUMNS = ('"key"', "kind", "alert_id", "user_id", "channel", "status", "attempts", "next_attempt_at", "created_at")


def audience(alert: Alert) -> dict:
    """Who publishing this alert now would tell, counted from the same selection fan_out writes
    rows for (recipients and _Outbox.channels), for the preview a moderator sees first:

    - people: how many people get a message (e-mail and/or text), straight away or in their daily one;
    - channels: how many messages per channel ({"email": n, "sms": n}; sms only where offered);
    - daily: how many of those people get it in their daily message;
    - on_site_only: subscribers to its regions who chose "On this site only" (no message; the
      alert list marks it new for them).

    People whose reading of alerts is paused now (the access_paused hook: the training module's
    partner gate) are in none of these: the drain cancels their messages (dispatch.TELLS_WHAT_IS_NEW)
    and they cannot open the alert list, so the preview counts only who will actually be told.
    """
    outbox = _Outbox()
    subscribers = list(recipients(alert))
    paused: set[int] = set()
    ids = [user_id for user_id, _channels, _frequency in subscribers]
    for start in range(0, len(ids), PAUSED_QUERY_CHUNK):  # the drain asks per batch the same way
        paused |= paused_among(current_app, ids[start:start + PAUSED_QUERY_CHUNK], "alerts.read")
    counts: Counter = Counter()
    people = daily = on_site_only = 0
    for user_id, channels, frequency in subscribers:
        if user_id in paused:
            continue
        mine = outbox.channels(channels)
        if not mine:
            on_site_only += "web" in (channels or "").split(",")
            continue
        people += 1
        daily += frequency == "daily"
        counts.update(mine)
    offered = [channel for channel in SENT_CHANNELS if channel != "sms" or outbox.sms_on]
    return {"people": people, "channels": {channel: counts[channel] for channel in offered}, "daily": daily,
            "on_site_only": on_site_only}


def fan_out(alert: Alert) -> Counter:
    """Write the outbox rows for a newly published alert; returns how many are due per channel."""
    outbox = _Outbox()
    for user_id, channels, frequency in recipients(alert):
        for channel in outbox.channels(channels):
            outbox.add(f"alert:{alert.id}:{user_id}:{channel}", "alert", alert.id, user_id, channel, frequency)
    return outbox.flush()


def fan_out_correction(alert: Alert) -> Counter:
    """Tell the people who would get this alert now that it was corrected, in the correction's
    transaction. Each recipient and channel gets one of:

    - nothing, when the alert (or an earlier correction) is still held for their daily digest:
      the digest lists each alert once, as it reads when the digest goes;
    - the alert itself, as on publication, when it was never queued for them (they subscribed
      to its regions since, or the correction added a region);
    - an "update" message keyed by the alert's version (alert:<id>:v<version>:<user>:<channel>),
      so each correction is sent once and the same correction written again is not.
    """
    held = set(Delivery.select(Delivery.user, Delivery.channel).where(
        (Delivery.alert == alert) & (Delivery.status == HELD) & Delivery.kind.in_(["alert", "update"])).tuples())
    queued = set(Delivery.select(Delivery.user, Delivery.channel).where(
        (Delivery.alert == alert) & (Delivery.kind == "alert")).tuples())
    outbox = _Outbox()
    for user_id, channels, frequency in recipients(alert):
        for channel in outbox.channels(channels):
            if (user_id, channel) in held:
                continue
            if (user_id, channel) in queued:
                outbox.add(f"alert:{alert.id}:v{alert.version}:{user_id}:{channel}", "update", alert.id, user_id,
                           channel, frequency)
            else:
                outbox.add(f"alert:{alert.id}:{user_id}:{channel}", "alert", alert.id, user_id, channel, frequency)
    return outbox.flush()


def fan_out_withdrawal(alert: Alert) -> Counter:
    """Tell the people this alert (or a correction of it) actually reached that it was withdrawn, on
    the channels it reached them by, so they stop passing it on. Called after cancel_for_alert, in
    the withdrawal's transaction; never carries the reason. People it never reached hear nothing."""
    roles = sorted(roles_for(current_app, "alerts.subscribe"))
    vetted = UserRole.select(UserRole.user).where(UserRole.role.in_(roles))
    reached_by = set(reached(alert).tuples())
    outbox = _Outbox()
    if not reached_by:
        return outbox.flush()
    subscribers = (
        Subscription.select(Subscription.user, Subscription.channels, Subscription.frequency)
        .join(User, on=(User.id == Subscription.user))
        .where((User.active == True) & Subscription.user.in_(vetted)  # noqa: E712
               & Subscription.user.in_(reached(alert).select(Delivery.user)))
        .order_by(Subscription.user)
        .tuples()
    )
    for user_id, channels, frequency in subscribers.iterator():
        for channel in outbox.channels(channels):
            if (user_id, channel) in reached_by:
                outbox.add(f"alert:{alert.id}:v{alert.version}:{user_id}:{channel}", "withdraw", alert.id, user_id,
                           channel, frequency)
    return outbox.flush()


def reached(alert: Alert | int, user_id: int | None = None, channel: str | None = None):
    """(user, channel) pairs this alert's messages were sent to (alone, or bundled in a digest that
    went), or are being handed over to right now."""
    digest = Delivery.alias()
    gone = [SENT, SENDING]
    query = (
        Delivery.select(Delivery.user, Delivery.channel)
        .join(digest, JOIN.LEFT_OUTER, on=(Delivery.digest == digest.id))
        .where((Delivery.alert == alert) & Delivery.kind.in_(["alert", "update"])
               & (Delivery.status.in_(gone) | ((Delivery.status == BUNDLED) & digest.status.in_(gone))))
    )
    if user_id is not None:
        query = query.where((Delivery.user == user_id) & (Delivery.channel == channel))
    return query.distinct()


def cancel_for_alert(alert: Alert) -> int:
    return (
        Delivery.update(status=CANCELLED, claimed_by=None)
        .where((Delivery.alert == alert) & Delivery.status.in_([PENDING, HELD]))
        .execute()
    )
