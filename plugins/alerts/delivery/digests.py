"""Daily digests: held messages folded into one per person and channel, and what one tells about."""

from __future__ import annotations

import datetime
import zoneinfo

from flask import current_app

from core.db import db
from plugins.alerts import _, ngettext
from plugins.alerts.config import settings
from plugins.alerts.delivery.outbox import Claimed
from plugins.alerts.models import BUNDLED, HELD, PENDING, WITHDRAWN, Alert, Delivery
from plugins.alerts.reading import is_visible


def local_now() -> datetime.datetime:
    try:
        zone = zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = datetime.UTC
    return datetime.datetime.now(zone)


def build_digests(now: datetime.datetime | None = None) -> int:
    """Once the digest hour has come, fold each person's held messages into one per channel."""
    now = now or local_now()
    if now.hour < settings()["digest_hour"]:
        return 0
    day = now.date().isoformat()
    pairs = list(Delivery.select(Delivery.user, Delivery.channel).where(Delivery.status == HELD).distinct().tuples())
    made = 0
    for user_id, channel in pairs:
        key = f"digest:{day}:{user_id}:{channel}"
        with db.atomic():
            Delivery.insert(key=key, kind="digest", user=user_id, channel=channel, status=PENDING).on_conflict_ignore(
            ).execute()
            digest = Delivery.get(Delivery.key == key)
            if digest.status != PENDING:
                continue  # today's digest already went: these wait for tomorrow's
            Delivery.update(status=BUNDLED, digest=digest.id).where(
                (Delivery.user == user_id) & (Delivery.channel == channel) & (Delivery.status == HELD)
            ).execute()
            made += 1
    return made


def digest_counts(digest: Claimed | Delivery) -> dict[str, int]:
    """What one digest tells about, each alert counted once: new (still published), updated (still
    published, and not also new in this digest) and withdrawn; and notices: how many of the new and
    updated are safety notices."""
    rows = list(Delivery.select(Delivery.kind, Delivery.alert).where(Delivery.digest == digest.id).tuples())
    alerts = {alert.id: alert for alert in Alert.select(Alert.id, Alert.status, Alert.expires_on, Alert.kind)
              .where(Alert.id.in_({alert_id for _kind, alert_id in rows if alert_id}))}
    found: dict[str, set] = {"alert": set(), "update": set(), "withdraw": set()}
    for kind, alert_id in rows:
        alert = alerts.get(alert_id)
        if alert is None or kind not in found:
            continue
        if (alert.status == WITHDRAWN) if kind == "withdraw" else is_visible(alert):
            found[kind].add(alert_id)
    shown = found["alert"] | found["update"]
    return {"new": len(found["alert"]), "updated": len(found["update"] - found["alert"]),
            "withdrawn": len(found["withdraw"]),
            "notices": sum(1 for alert_id in shown if alerts[alert_id].kind == "notice")}


def digest_lines(counts: dict[str, int]) -> tuple[list[str], str]:
    """(sentences, sign-in prompt) of a digest, in the current language."""
    if not counts["updated"] and not counts["withdrawn"]:
        return [], ngettext("There is %(num)d new thing for you to read. Sign in to see it:",
                            "There are %(num)d new things for you to read. Sign in to see them:", counts["new"])
    lines = []
    if counts["new"]:
        lines.append(ngettext("%(num)d new thing for you to read.", "%(num)d new things for you to read.",
                              counts["new"]))
    if counts["updated"]:
        lines.append(ngettext("%(num)d thing for you to read has been updated.",
                              "%(num)d things for you to read have been updated.", counts["updated"]))
    if counts["withdrawn"]:
        lines.append(ngettext("%(num)d thing we sent you has been withdrawn. Please do not pass it on.",
                              "%(num)d things we sent you have been withdrawn. Please do not pass them on.",
                              counts["withdrawn"]))
    if counts["new"] or counts["updated"]:
        return lines, _("Sign in to see them:")
    return lines, _("Sign in to see what is current:")
