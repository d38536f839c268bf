"""Alerts across instances: what is shared with peers and how a peer's alert becomes one here.

Sharing (core.federation.feed). A moderator chooses an alert's distribution ("local", the default;
"peers"; "group:NAME") and whether peers may pass it on. Once it is published, `sync` puts it in
the signed feed; each correction is a new signed version, a withdrawal (or going back to "local")
a signed tombstone. A high-severity alert, and every withdrawal, is also pushed at once. What peers
get is `shared_data`: what members see of the alert (reading.public_dict) **without its
identifiers**: phone numbers, e-mails, plates and online names never leave this instance (peers'
members find them through the blinded cross-instance check), and without this instance's ids,
labels, status or review. Codes travel, never translated labels: each instance shows them in its
readers' languages.

Receiving (the "alert" FederatedKind). A peer's alert becomes a draft here marked with where it
came from (received_from, origin_name), with the peer's regions mapped to ours. It is published
through the normal path (service.publish: the same review record, outbox and e-mails to
subscribers in each one's language) at once when the admin chose auto-publish for that peer and
it can be (a region of ours, a known category for a notice), else it waits for a moderator's
review like any draft. A correction from the peer corrects it (subscribers are told, as for any
correction), a tombstone withdraws it. Its provenance follows its route (core.federation.feed):
once its origin delivered it itself, it is "From Origin" whoever brought it first. A newer version
from its origin brings back a copy the federation withdrew (its origin's tombstone or feed, an
end date passed, or a correction that no longer fitted here); a copy a moderator here withdrew
stays withdrawn. A received alert is never shared again: only passed on, unchanged and signed by
its origin, when the origin allowed it and a moderator here chose a distribution for it.
"""

from __future__ import annotations

import datetime
import logging

from core.audit import record
from core.federation import FederatedKind, feed
from core.text import TextRefused, clean
from plugins.alerts.models import (
    ALERT_KINDS,
    DRAFT,
    PERSON,
    SEVERITIES,
    VISIBLE_STATUSES,
    WITHDRAWN,
    Alert,
    AlertRevision,
)

log = logging.getLogger("redumbrella.alerts")

KIND = "alert"
MAX_TITLE, MAX_SUMMARY, MAX_SHORT = 200, 10_000, 200


def distribution_of(alert: Alert) -> str:
    return alert.distribution or feed.LOCAL


# -- sharing ----------------------------------------------------------------------------------------


def shared_data(alert: Alert) -> dict:
    """What peers get of an alert: the member-visible allowlist, codes only, without identifiers."""
    from plugins.alerts.reading import public_dict

    data = public_dict(alert, labels={"regions": {}, "incident_types": {}, "categories": {}})
    return {
        "kind": alert.kind,
        "category": alert.category if alert.is_notice else None,
        "title": alert.title or "",
        "summary": alert.summary or "",
        "severity": alert.severity,
        "incident_types": alert.incident_type_codes,
        "occurred_on": data["occurred_on"],
        "regions": [region["code"] for region in data["regions"]],
        "published_at": data["published_at"],
        "updated_at": data["updated_at"],
        "expires_on": data["expires_on"],
        "perpetrators": data["perpetrators"],
    }


def urgent(alert: Alert) -> bool:
    return alert.severity == "high"


def sync(alert: Alert) -> None:
    """Bring the feed in line with the alert, inside the transaction that changed it: shared while
    published and visible with a distribution other than "local"; a tombstone otherwise, once it
    was shared. A received alert is only ever passed on (unchanged), never shared as ours."""
    from plugins.alerts.reading import is_visible

    ref = str(alert.id)
    if alert.is_received:
        feed.pass_on(KIND, ref, distribution_of(alert) if alert.status in VISIBLE_STATUSES else feed.LOCAL)
        return
    if alert.status == WITHDRAWN or not is_visible(alert) or distribution_of(alert) == feed.LOCAL:
        if alert.status != DRAFT:
            feed.withdraw(KIND, ref)
        return
    feed.share(KIND, ref, shared_data(alert), distribution_of(alert), alert.may_pass_on, urgent(alert))


def check_sharing(alert: Alert | None, distribution: str | None, may_pass_on: bool | None) -> str | None:
    """The distribution to store (normalised), or a translated message saying why it cannot be.
    A received alert may be passed on only if its origin allowed it; may_pass_on is its origin's."""
    from plugins.alerts import _

    if distribution is None:
        return None
    try:
        kind, group = feed.parse_distribution(distribution)
    except feed.DistributionError as error:
        raise SharingError(str(error)) from None
    value = feed.distribution_value(kind, group)
    if alert is not None and alert.is_received:
        if may_pass_on:
            raise SharingError(_("Whether peers may pass on an alert is decided where it was written."))
        if value != feed.LOCAL and not alert.may_pass_on:
            raise SharingError(_("This alert came from %(peer)s, which does not allow passing it on.",
                                 peer=alert.origin_name or alert.received_from))
    return value


class SharingError(ValueError):
    """A distribution this alert cannot have; the message is translated."""


# -- receiving --------------------------------------------------------------------------------------


def _text(value, limit: int, multiline: bool = False) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return clean(value[:limit], multiline)
    except TextRefused:
        return ""


def _date(value) -> datetime.date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _codes(value, limit: int) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item[:64] for item in value[:limit] if isinstance(item, str) and item.strip()]


def _people(value) -> list[dict]:
    from plugins.alerts.details import DESCRIPTION_KEYS, VEHICLE_KEYS

    allowed = {"description": DESCRIPTION_KEYS, "vehicle": VEHICLE_KEYS}
    people = []
    for person in value[:10] if isinstance(value, list) else []:
        if not isinstance(person, dict):
            continue
        kept = {}
        for part in ("description", "vehicle"):
            given = person.get(part)
            kept[part] = {key: _text(text, MAX_SHORT) for key, text in given.items()
                          if key in allowed[part] and isinstance(text, str)} if isinstance(given, dict) else {}
        people.append(kept)
    return people


def values_from(item: feed.ReceivedItem) -> dict:
    """The editable values of a local copy, from what the peer sent (checked field by field; what
    does not fit is left out): its regions mapped to ours and kept only when they are ours."""
    from plugins.alerts.labels import choice_labels, notice_category_labels
    from plugins.alerts.reading import latest_today

    data = item.data or {}
    ours = choice_labels("regions")
    regions = [code for code in item.map_regions(_codes(data.get("regions"), 50)) if code in ours]
    occurred = _date(data.get("occurred_on"))
    if occurred and occurred > latest_today():
        occurred = None
    values = {
        "title": _text(data.get("title"), MAX_TITLE),
        "summary": _text(data.get("summary"), MAX_SUMMARY, multiline=True),
        "severity": data.get("severity") if data.get("severity") in SEVERITIES else "medium",
        "incident_types": _codes(data.get("incident_types"), 20),
        "occurred_on": occurred,
        "expires_on": _date(data.get("expires_on")),
        "regions": regions,
    }
    if data.get("kind") == "notice":
        category = data.get("category")
        values["category"] = category if isinstance(category, str) and category in notice_category_labels() \
            else None
    else:
        values["perpetrators"] = _people(data.get("perpetrators"))
    return values


def _local(item: feed.ReceivedItem) -> Alert | None:
    if item.local_ref is None:
        return None
    try:
        return Alert.get_or_none(Alert.id == int(item.local_ref))
    except ValueError:
        return None


def receive(item: feed.ReceivedItem) -> str | None:
    """Make or correct the local copy of a peer's alert; returns its id (as text)."""
    from plugins.alerts import delivery, service
    from plugins.alerts.content import apply_values
    from plugins.alerts.errors import AlertError
    from plugins.alerts.reading import today

    values = values_from(item)
    expired = values["expires_on"] is not None and values["expires_on"] < today()
    alert = _local(item)
    if alert is None:
        if expired:
            return None
        kind = item.data.get("kind") if item.data and item.data.get("kind") in ALERT_KINDS else PERSON
        alert = Alert.create(kind=kind, status=DRAFT, created_by=None, title="", summary="",
                             may_pass_on=item.may_pass_on, distribution=feed.LOCAL, **_provenance_values(item))
        apply_values(alert, values)
        alert.save()
        service.record_revision(alert, "received", None)
        record("alerts.received", target=alert.target())
        if item.auto_publish:
            _publish(alert, item)
        return str(alert.id)
    if alert.status == WITHDRAWN:
        if not _withdrawn_by_federation(alert):  # withdrawn here by a moderator: it stays withdrawn
            return str(alert.id)
        if expired:
            return str(alert.id)
        alert = _bring_back(alert)
    if expired:
        withdraw(item)
        return str(alert.id)
    Alert.update(may_pass_on=item.may_pass_on, **_provenance_values(item)).where(Alert.id == alert.id).execute()
    alert = Alert.get_by_id(alert.id)
    try:
        service.update(alert, values, None)  # a correction: subscribers told, as for any correction
    except AlertError as error:  # it no longer fits here (no region of ours...): taken down
        log.info("received correction not applied", extra={"event": "alert_correction_refused",
                                                            "reason": (error.field or "rule")[:40]})
        withdraw(item)
        return str(alert.id)
    if alert.status == DRAFT and item.auto_publish:
        _publish(Alert.get_by_id(alert.id), item)
    item.after_commit.append(lambda: delivery.kick({"email": 1, "sms": 1}))
    return str(alert.id)


def _provenance_values(item: feed.ReceivedItem) -> dict:
    """Where the copy comes from: its route, and its origin when that route only relayed it."""
    return {"received_from": item.peer.name[:60], "origin_name": item.origin_name[:120] if item.relayed else None}


def _withdrawn_by_federation(alert: Alert) -> bool:
    """Whether its last withdrawal was the federation's (no one here withdrew it)."""
    last = (AlertRevision.select(AlertRevision.changed_by).where(
        (AlertRevision.alert == alert.id) & (AlertRevision.action == "withdrawn"))
        .order_by(AlertRevision.id.desc()).first())
    return last is not None and last.changed_by_id is None


def _bring_back(alert: Alert) -> Alert:
    """A newer version from its origin after the federation withdrew it: a draft again, then held
    for review or published as the route's settings say, like a new alert from that peer."""
    from core.db import utcnow
    from plugins.alerts import service

    now = utcnow()
    Alert.update(status=DRAFT, withdrawn_at=None, withdrawn_reason=None, changed_at=now,
                 version=Alert.version + 1).where(Alert.id == alert.id).execute()
    alert = Alert.get_by_id(alert.id)
    service.record_revision(alert, "received", None)
    record("alerts.received", target=alert.target())
    return alert


def rerouted(item: feed.ReceivedItem) -> None:
    """Its origin delivered it itself: "From Origin" from now on, whoever brought it first."""
    alert = _local(item)
    if alert is not None:
        Alert.update(**_provenance_values(item)).where(Alert.id == alert.id).execute()


def _publish(alert: Alert, item: feed.ReceivedItem) -> None:
    """Publish a received draft through the normal path, as if a moderator reviewed it: the peer's
    admin chose auto-publish. If it cannot be published here, it waits for a moderator."""
    from core.db import db, utcnow
    from plugins.alerts import delivery, service
    from plugins.alerts.errors import AlertError
    from plugins.alerts.preview import content_digest

    try:
        service.check_can_publish(alert)
        with db.atomic():
            alert.reviewed_by = None
            alert.reviewed_at = utcnow()
            alert.reviewed_version = alert.version
            alert.reviewed_digest = content_digest(alert)
            alert.save()
            service.publish(alert, None)
    except AlertError as error:
        log.info("received alert held", extra={"event": "alert_received_held",
                                                "reason": (error.field or "rule")[:40]})
        return
    item.after_commit.append(lambda: delivery.kick({"email": 1, "sms": 1}))


def withdraw(item: feed.ReceivedItem) -> None:
    """Its origin withdrew it (or stopped sharing it with us): out of every list and check at once."""
    from plugins.alerts import delivery, service

    alert = _local(item)
    if alert is None or alert.status == WITHDRAWN:
        return
    service.withdraw(alert, None)
    item.after_commit.append(lambda: delivery.kick({"email": 1, "sms": 1}))


def kinds() -> list[FederatedKind]:
    return [FederatedKind(KIND, receive, withdraw, pulled=pulled, rerouted=rerouted)]


def pulled(peer) -> None:
    """After each pull of a peer: fetch its check tokens and warning list with its new alerts."""
    from plugins.alerts import federation_check

    federation_check.refresh(peer)


def provenance(alert: Alert) -> str | None:
    """'from Peer X' or 'from Origin, through Peer X' for a received alert, in the reader's language."""
    from plugins.alerts import _

    if not alert.is_received:
        return None
    if alert.origin_name:
        return _("From %(origin)s, through %(peer)s", origin=alert.origin_name, peer=alert.received_from)
    return _("From %(peer)s", peer=alert.received_from)
