"""What a moderator reviews before publishing: the alert exactly as members will see it and who
will be told (`preview_of`), and whether that review still holds.

Publishing needs a review: a moderator saw the preview of exactly the current content. The content
is fingerprinted (`content_digest`) from the stored values, so the same in every language; every
edit clears the review (service.update).
"""

from __future__ import annotations

import hashlib
import json

from plugins.alerts import _, ngettext
from plugins.alerts.labels import channel_label
from plugins.alerts.models import Alert, AlertIdentifier, AlertPerpetrator, AlertRevision
from plugins.alerts.reading import public_dict, regions_of


def content_digest(alert: Alert) -> str:
    """SHA-256 of what members would see of the alert, from the stored values (codes, not their
    translated labels, so it is the same in every language). A review is of this content."""
    content = {
        "kind": alert.kind,
        "category": alert.category,
        "title": alert.title or "",
        "summary": alert.summary or "",
        "severity": alert.severity,
        "incident_types": alert.incident_type_codes,
        "occurred_on": alert.occurred_on.isoformat() if alert.occurred_on else None,
        "expires_on": alert.expires_on.isoformat() if alert.expires_on else None,
        "regions": regions_of(alert),
        "identifiers": [[row.kind, row.display] for row in AlertIdentifier.select().where(
            AlertIdentifier.alert == alert).order_by(AlertIdentifier.id)],
        "perpetrators": [[person.description_dict, person.vehicle_dict] for person in AlertPerpetrator.select().where(
            AlertPerpetrator.alert == alert).order_by(AlertPerpetrator.position)],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def is_reviewed(alert: Alert) -> bool:
    """A moderator saw the preview of exactly this version and content."""
    return (alert.reviewed_at is not None and alert.reviewed_version == alert.version
            and alert.reviewed_digest == content_digest(alert))


def preview_of(alert: Alert, labels: dict | None = None) -> dict:
    """What a moderator must see before publishing: the alert exactly as members will see it, and
    who will be told (delivery.audience, the same selection publishing uses)."""
    from plugins.alerts import delivery

    audience = delivery.audience(alert)
    return {
        "alert": public_dict(alert, labels=labels),
        "recipients": audience,
        "message": audience_message(audience),
        "version": alert.version,
        "digest": content_digest(alert),
    }


def audience_message(audience: dict) -> str:
    """ "12 people will be told: e-mail 10, text message 2." in the reader's language."""
    told = ngettext("%(num)d person will be told.", "%(num)d people will be told.", audience["people"])
    parts = [f"{channel_label(channel)} {count}" for channel, count in audience["channels"].items() if count]
    if parts:
        told = f"{told} {_('By channel: %(counts)s.', counts=', '.join(parts))}"
    return told


def stale_review_message(alert: Alert) -> str:
    """Why this draft may not be published yet: never reviewed, or changed since its last review."""
    ever_reviewed = alert.reviewed_at is not None or AlertRevision.select().where(
        (AlertRevision.alert == alert) & (AlertRevision.action == "reviewed")).exists()
    if not ever_reviewed:
        return _("Nobody has reviewed this alert yet. Look at its preview first (the alert as members will see "
                 "it, and how many people will be told), then publish.")
    return _("This alert was changed after its preview was reviewed. Please look at the preview again, then "
             "publish.")
