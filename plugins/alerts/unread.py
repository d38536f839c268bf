"""The web channel: which alerts are new or updated since a member or partner last read the list.

Someone who gets alerts "on this site" has no e-mail or text telling them something changed, so
the list marks what is new or updated since their last visit and the navigation says how many
there are ("Alerts (2 new)"). The first visit marks nothing: calling every alert ever published
"new" would only be noise. Only a time is kept per account, never which alerts were opened.
"""

from __future__ import annotations

from peewee import DateTimeField, ForeignKeyField

from core.accounts.models import User
from core.db import BaseModel, utcnow
from plugins.alerts.models import VISIBLE_STATUSES, Alert, AlertRegion, Subscription, SubscriptionRegion

NEW, UPDATED = "new", "updated"


class Reader(BaseModel):
    user = ForeignKeyField(User, unique=True, backref="+", on_delete="CASCADE")
    seen_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "alerts_reader"


def last_seen(user):
    """When this account last read the alert list, or None before its first visit."""
    row = Reader.get_or_none(Reader.user == user.id)
    return row.seen_at if row else None


def marks(alerts: list[Alert], seen_at) -> dict[int, str]:
    """NEW or UPDATED for each alert published or corrected after seen_at."""
    if seen_at is None:
        return {}
    found = {}
    for alert in alerts:
        if alert.published_at and alert.published_at > seen_at:
            found[alert.id] = NEW
        elif alert.corrected_at and alert.corrected_at > seen_at:
            found[alert.id] = UPDATED
    return found


def count_new(user) -> int:
    """Visible alerts published or corrected since the last visit, in the person's own regions
    when they chose some (all regions otherwise)."""
    seen_at = last_seen(user)
    if seen_at is None:
        return 0
    today = utcnow().date()
    query = Alert.select(Alert.id).where(
        Alert.status.in_(VISIBLE_STATUSES)
        & (Alert.expires_on.is_null() | (Alert.expires_on >= today))
        & ((Alert.published_at > seen_at) | (Alert.corrected_at > seen_at))
    )
    own_regions = (SubscriptionRegion.select(SubscriptionRegion.region).join(Subscription)
                   .where((Subscription.user == user.id) & (Subscription.all_regions == False)))  # noqa: E712
    regions = [row.region for row in own_regions]
    if regions:
        query = query.where(Alert.id.in_(AlertRegion.select(AlertRegion.alert).where(AlertRegion.region.in_(regions))))
    return query.count()


def mark_seen(user) -> None:
    now = utcnow()
    Reader.insert(user=user.id, seen_at=now).on_conflict(
        conflict_target=[Reader.user], update={Reader.seen_at: now}
    ).execute()
