"""What staff see of deliveries: counts per channel and status, the problems, a retry of the failed."""

from __future__ import annotations

from peewee import fn

from core.db import utcnow
from plugins.alerts.models import FAILED, PENDING, Alert, Delivery


def stats(alert: Alert | None = None) -> dict[str, dict[str, int]]:
    """Counts per channel and status (all alerts, or one)."""
    query = Delivery.select(Delivery.channel, Delivery.status, fn.COUNT(Delivery.id))
    if alert is not None:
        query = query.where(Delivery.alert == alert)
    result: dict[str, dict[str, int]] = {}
    for channel, status, count in query.group_by(Delivery.channel, Delivery.status).tuples():
        result.setdefault(channel, {})[status] = count
    return result


def problems(limit: int = 200) -> list[Delivery]:
    """Failed deliveries and those waiting to be retried, newest first."""
    return list(
        Delivery.select()
        .where((Delivery.status == FAILED) | ((Delivery.status == PENDING) & (Delivery.attempts > 0)))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )


def retry_failed(alert_id: int | None = None) -> int:
    query = Delivery.update(status=PENDING, attempts=0, next_attempt_at=utcnow(), claimed_by=None).where(
        Delivery.status == FAILED
    )
    if alert_id is not None:
        query = query.where(Delivery.alert == alert_id)
    count = query.execute()
    return count
