"""What members, partners and staff read of alerts: which alerts are visible today, the search
behind the list, the API and feeds, and `public_dict`.

The allowlist lives here and only here: `public_dict` is what every page, feed, e-mail and API
answer is built from. staff=True adds what moderators need (status history fields, source report
references, whether the current content was reviewed).
"""

from __future__ import annotations

import datetime

from flask import current_app
from peewee import Value, fn

from core.db import utcnow
from core.display import join_list
from plugins.alerts import _, federation
from plugins.alerts.labels import alert_kind_label, choice_labels, notice_category_labels, severity_label
from plugins.alerts.models import (
    DRAFT,
    VISIBLE_STATUSES,
    Alert,
    AlertIdentifier,
    AlertPerpetrator,
    AlertRegion,
    AlertRevision,
)
from plugins.alerts.sources import source_references


def today() -> datetime.date:
    return utcnow().date()


def latest_today() -> datetime.date:
    """Today in UTC or in the instance's time zone (DEFAULT_TIMEZONE), whichever is later."""
    import zoneinfo

    try:
        zone = zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return today()
    return max(today(), datetime.datetime.now(zone).date())


def visible_query():
    """Alerts members and partners may see: published or corrected, not withdrawn, not expired."""
    return Alert.select().where(
        Alert.status.in_(VISIBLE_STATUSES) & (Alert.expires_on.is_null() | (Alert.expires_on >= today()))
    )


def is_visible(alert: Alert) -> bool:
    return alert.status in VISIBLE_STATUSES and (alert.expires_on is None or alert.expires_on >= today())


def search(query=None, region: str | None = None, incident_type: str | None = None,
           since: datetime.date | None = None, until: datetime.date | None = None, text: str | None = None,
           kind: str | None = None):
    """Filter a query of alerts: region, incident type, publication dates, words in the text, and
    kind (alerts about a person, or safety notices)."""
    query = query if query is not None else visible_query()
    if kind:
        query = query.where(Alert.kind == kind)
    if region:
        query = query.where(Alert.id.in_(AlertRegion.select(AlertRegion.alert).where(AlertRegion.region == region)))
    if incident_type:
        # incident_types is a comma list: match a whole code.
        padded = Value(",").concat(Alert.incident_types).concat(",")
        query = query.where(padded.contains(f",{incident_type},"))
    if since:
        query = query.where(fn.COALESCE(Alert.published_at, Alert.created_at) >= datetime.datetime.combine(
            since, datetime.time.min))
    if until:
        query = query.where(fn.COALESCE(Alert.published_at, Alert.created_at) < datetime.datetime.combine(
            until + datetime.timedelta(days=1), datetime.time.min))
    for word in (text or "").split()[:8]:
        word = word[:100]
        query = query.where(Alert.title.contains(word) | Alert.summary.contains(word))
    return query.order_by(fn.COALESCE(Alert.published_at, Alert.created_at).desc(), Alert.id.desc())


def regions_of(alert: Alert) -> list[str]:
    return [row.region for row in AlertRegion.select(AlertRegion.region).where(AlertRegion.alert == alert)
            .order_by(AlertRegion.id)]


def public_dict(alert: Alert, staff: bool = False, labels: dict | None = None) -> dict:
    """The alert as members, partners, feeds, e-mails and the API see it: the allowlist only.

    staff=True adds the status history fields and the source report references for moderators.
    """
    labels = labels if labels is not None else {"regions": choice_labels("regions"),
                                                  "incident_types": choice_labels("incident_types")}
    regions = regions_of(alert)
    identifiers = (
        AlertIdentifier.select().where(AlertIdentifier.alert == alert).order_by(AlertIdentifier.id)
    )
    perpetrators = (
        AlertPerpetrator.select().where(AlertPerpetrator.alert == alert).order_by(AlertPerpetrator.position)
    )
    category = None
    if alert.is_notice and alert.category:
        category = {"code": alert.category, "label": _category_name(alert, labels)}
    data = {
        "id": alert.id,
        "kind": alert.kind,
        "kind_label": alert_kind_label(alert.kind),
        "category": category,
        "title": alert.title or default_title(alert, labels),
        "summary": alert.summary,
        "severity": alert.severity,
        "severity_label": severity_label(alert.severity),
        "status": alert.status,
        "incident_types": [
            {"code": code, "label": labels["incident_types"].get(code, code)} for code in alert.incident_type_codes
        ],
        "occurred_on": alert.occurred_on.isoformat() if alert.occurred_on else None,
        "regions": [{"code": code, "label": labels["regions"].get(code, code)} for code in regions],
        "published_at": iso(alert.published_at),
        "updated_at": iso(alert.corrected_at),
        "expires_on": alert.expires_on.isoformat() if alert.expires_on else None,
        "identifiers": [{"kind": row.kind, "value": row.display} for row in identifiers],
        "perpetrators": [
            {"description": person.description_dict, "vehicle": person.vehicle_dict} for person in perpetrators
        ],
        "from_peer": federation.provenance(alert),
    }
    if staff:
        from plugins.alerts.preview import is_reviewed  # the review module reads public_dict

        data.update(
            {
                "distribution": alert.distribution or "local",
                "may_pass_on": bool(alert.may_pass_on),
                "version": alert.version,
                "review_on": alert.review_on.isoformat() if alert.review_on else None,
                "created_at": iso(alert.created_at),
                "withdrawn_at": iso(alert.withdrawn_at),
                "reports": source_references(alert),
                "reviewed": alert.status == DRAFT and is_reviewed(alert),
                "reviewed_at": iso(alert.reviewed_at),
            }
        )
    return data


def default_title(alert: Alert, labels: dict) -> str:
    if alert.is_notice:
        if alert.category:
            return _category_name(alert, labels)
        return _("Safety notice")
    names = [labels["incident_types"].get(code, code) for code in alert.incident_type_codes[:2]]
    return join_list(names) if names else _("Alert")


def _category_name(alert: Alert, labels: dict) -> str:
    names = labels.get("categories") or notice_category_labels()
    return names.get(alert.category, alert.category)


def iso(value) -> str | None:
    """A stored UTC date-time as ISO 8601 with a Z, to the second."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"


def history(alert: Alert) -> list[AlertRevision]:
    return list(AlertRevision.select().where(AlertRevision.alert == alert).order_by(AlertRevision.id))
