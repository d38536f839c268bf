"""The life of an alert: writing a draft, correcting it, reviewing, publishing, sharing with peers
and withdrawing. Each change claims the alert's row (two people's changes never silently overwrite
each other), records a revision and an audit entry, and queues what subscribers, partners and peers
are told in the same transaction.

`create_from_reports` copies from reports only structured facts (sources.COPIED_FROM_REPORTS):
what happened, when, where, and the perpetrator identifiers the check matches. Nothing the
reporter wrote in their own words is ever copied into an alert: free text in an alert is typed by
a moderator. What members see of an alert is reading.public_dict, the allowlist.

Publishing needs a review (`review`): a moderator saw the preview of exactly the current content
(preview.py). Every edit clears it.

A safety notice (kind "notice", `create_notice`) is an alert about a condition rather than one
person. It may cite reports (a pattern; the same eligibility as an alert's) or none, takes only
their incident types, regions and date, carries a category (the notice_categories setting) and
the identifiers a moderator enters (never a person's description), and goes through everything
else exactly as an alert about a person does.
"""

from __future__ import annotations

import datetime
import json

from flask import current_app

from core import webhooks
from core.audit import record
from core.db import db, utcnow
from core.plugins import get_registry
from plugins.alerts import _, federation
from plugins.alerts.config import settings
from plugins.alerts.content import EDITABLE, apply_values, check_publishable, check_values
from plugins.alerts.errors import AlertError
from plugins.alerts.labels import status_label
from plugins.alerts.models import (
    DRAFT,
    NOTICE,
    PERSON,
    PUBLISHED,
    UPDATED,
    VISIBLE_STATUSES,
    WITHDRAWN,
    Alert,
    AlertRevision,
    AlertSource,
)
from plugins.alerts.preview import content_digest, is_reviewed, preview_of, stale_review_message
from plugins.alerts.reading import is_visible, iso, public_dict
from plugins.alerts.sources import check_eligible, details_from_reports, dismiss_candidates, no_longer_eligible


def _default_expiry() -> datetime.date | None:
    days = settings()["default_expiry_days"]
    return datetime.date.today() + datetime.timedelta(days=days) if days else None


def create_notice(reports: list, data: dict, actor) -> Alert:
    """A draft safety notice: about a condition (an area, a fake advertiser, a scam, a venue, an
    operation, a harm-reduction warning), not one person. It may cite reports (a pattern) or none
    (the group's own knowledge); cited reports must be verified with consent to a community warning,
    like an alert's, and give only their incident types, regions and date, never their identifiers
    or anything the reporter typed. data may set any EDITABLE field but perpetrators; category is
    needed before publishing. Citing a report does not take it off the list of reports waiting for
    an alert about the person."""
    alert, entered = _create_draft(NOTICE, reports, data, actor)
    actor_id = actor.id if actor else None
    record("alerts.notice_created", target=alert.target(), actor_id=actor_id)
    if entered:
        record("alerts.identifiers_entered", target=alert.target(), actor_id=actor_id)
    return alert


def create_from_reports(reports: list, data: dict, actor) -> Alert:
    """A draft from these reports: their structured facts (details_from_reports), and the
    perpetrator identifiers unless include_perpetrators is False. data may set any EDITABLE field:
    what a moderator writes (summary, title, a description of the person...) is theirs; nothing
    the reporter typed is copied."""
    alert, entered = _create_draft(PERSON, reports, data, actor)
    actor_id = actor.id if actor else None
    record("alerts.created", target=alert.target(), actor_id=actor_id)
    if entered and data.get("identifiers") is not None:
        record("alerts.identifiers_entered", target=alert.target(), actor_id=actor_id)
    return alert


def _create_draft(kind: str, reports: list, data: dict, actor) -> tuple[Alert, bool]:
    """A draft of this kind citing reports: their structured facts, then the EDITABLE values in data.
    An alert about a person also takes their identifiers (unless data's include_perpetrators is
    False) and takes its reports off the candidates' list. Returns the alert and
    whether identifiers the check matches were entered (apply_values)."""
    check_eligible(reports)
    copied = details_from_reports(reports)
    values = {"incident_types": copied["incident_types"], "occurred_on": copied["occurred_on"],
              "regions": copied["regions"]}
    if kind == PERSON:
        values["identifiers"] = copied["identifiers"] if data.get("include_perpetrators", True) else []
    given = {key: value for key, value in data.items() if key in EDITABLE and value is not None}
    check_values(given)
    values.update(given)
    if not values.get("expires_on"):
        values["expires_on"] = _default_expiry()
    with db.atomic():
        alert = Alert.create(kind=kind, created_by=actor.id if actor else None, summary="", title="")
        for report in reports:
            AlertSource.insert(alert=alert, report_id=report.id).on_conflict_ignore().execute()
        if kind == PERSON:
            dismiss_candidates([report.id for report in reports])
        entered = apply_values(alert, values)
        alert.save()
        record_revision(alert, "created", actor)
    return alert, entered


def update(alert: Alert, data: dict, actor) -> Alert:
    """Edit a draft, or correct a published alert: members then see that it was updated, and when,
    and subscribers are told (through the outbox, in the same transaction) when what members see
    of it changed."""
    from plugins.alerts import delivery

    if alert.status == WITHDRAWN:
        raise AlertError(_("This alert was withdrawn and can no longer be changed."))
    changes = {key: value for key, value in data.items() if key in EDITABLE}
    check_values(changes)
    before = member_view(alert) if alert.status in VISIBLE_STATUSES else None
    queued: dict = {}
    with db.atomic():
        _claim(alert)
        entered = apply_values(alert, changes)
        alert.version += 1
        alert.changed_at = utcnow()
        _clear_review(alert)  # any edit: the review was of what was there before
        action = "edited"
        if alert.status in VISIBLE_STATUSES:
            check_publishable(alert)
            alert.status = UPDATED
            alert.corrected_at = alert.changed_at
            action = "corrected"
        alert.save()
        record_revision(alert, action, actor)
        if before is not None and is_visible(alert) and member_view(alert) != before:
            queued = delivery.fan_out_correction(alert)
        if action == "corrected" and is_visible(alert):
            webhooks.emit("alert.updated", lambda: {"alert": public_dict(alert)})
        federation.sync(alert)
    record(f"alerts.{action}", target=alert.target(), actor_id=actor.id if actor else None)
    if entered:  # who entered or changed the numbers, e-mails, plates, names or websites the check matches
        record("alerts.identifiers_entered", target=alert.target(), actor_id=actor.id if actor else None)
    delivery.kick(queued)
    return alert


def set_sharing(alert: Alert, distribution: str | None, may_pass_on: bool | None, actor) -> Alert:
    """Who the alert is shared with ("local", "peers", "group:NAME") and whether peers may pass it
    on; a published alert goes to (or is taken back from) peers at once. Not a correction: members
    and subscribers are not told. AlertError (422, field "distribution") when it cannot be."""
    if distribution is None and may_pass_on is None:
        return alert
    try:
        value = federation.check_sharing(alert, distribution, may_pass_on)
    except federation.SharingError as error:
        raise AlertError(str(error), 422, "distribution") from None
    with db.atomic():
        _claim(alert)
        if value is not None:
            alert.distribution = value
        if may_pass_on is not None and not alert.is_received:
            alert.may_pass_on = bool(may_pass_on)
        alert.save()
        record_revision(alert, "sharing", actor)
        federation.sync(alert)
    record("alerts.sharing_changed", target=alert.target(), actor_id=actor.id if actor else None)
    return alert


def member_view(alert: Alert) -> dict:
    """What a correction may change for the people warned: the alert as members read it, without
    its status and dates of publication, correction and end (a new review date or end date alone
    is not news to send)."""
    data = public_dict(alert)
    for key in ("status", "published_at", "updated_at", "expires_on"):
        data.pop(key, None)
    return data


def check_can_publish(alert: Alert) -> None:
    """What stops a draft from being published, whoever reviewed it (AlertError)."""
    if alert.status != DRAFT:
        raise AlertError(_("Only a draft can be published; this alert is %(status)s.", status=status_label(alert)))
    report = no_longer_eligible(alert)
    if report is not None:
        raise AlertError(
            _("Report %(reference)s no longer allows a community warning (its consent was withdrawn or "
              "its status changed), so this alert cannot be published.", reference=report.reference)
        )
    check_publishable(alert)


def review(alert: Alert, actor, seen: tuple[int, str] | None = None) -> dict:
    """Record that actor (a moderator) saw the preview of the alert as it is now; returns that
    preview. seen: the (version, digest) the moderator's preview showed (the web form carries
    them); a different alert now is refused (409), so only what was seen is ever approved.

    One moderator may write and review the same alert: a moderator either wrote its text or
    approved it, which is what the rule asks. Reporter text is never in a draft to approve."""
    check_can_publish(alert)
    with db.atomic():
        _claim(alert)
        digest = content_digest(alert)
        if seen is not None and (seen[0] != alert.version or seen[1] != digest):
            raise AlertError(_("This alert was changed after you opened its preview (by you in another window, or "
                               "by another moderator). Please look at the new preview before publishing."))
        alert.reviewed_by = actor.id if actor else None
        alert.reviewed_at = utcnow()
        alert.reviewed_version = alert.version
        alert.reviewed_digest = digest
        alert.save()
        record_revision(alert, "reviewed", actor)
        record("alerts.reviewed", target=alert.target(), actor_id=actor.id if actor else None)
    return preview_of(alert)


def publish(alert: Alert, actor) -> Alert:
    """Make a reviewed draft visible and send it to subscribers (through the outbox, after
    commit). Refused (409) unless a moderator reviewed the preview of exactly this version and
    content (review)."""
    from plugins.alerts import delivery

    check_can_publish(alert)
    if not is_reviewed(alert):
        raise AlertError(stale_review_message(alert))
    with db.atomic():
        # The row as reviewed, or nothing: an edit committed since (or under way) wins, and this
        # publication is refused rather than sending what nobody saw.
        claimed = Alert.update(version=Alert.version + 1).where(
            (Alert.id == alert.id) & (Alert.status == DRAFT) & (Alert.version == alert.version)
            & (Alert.reviewed_version == alert.version) & (Alert.reviewed_digest == alert.reviewed_digest)
        ).execute()
        if claimed != 1:
            raise AlertError(_("This alert was changed after its preview was reviewed. Please look at the preview "
                               "again, then publish."))
        now = utcnow()
        alert.status = PUBLISHED
        alert.published_at = now
        alert.changed_at = now
        alert.version += 1
        alert.save()
        record_revision(alert, "published", actor)
        queued = delivery.fan_out(alert)
        webhooks.emit("alert.published", lambda: {"alert": public_dict(alert)})
        federation.sync(alert)
    record("alerts.published", target=alert.target(), actor_id=actor.id if actor else None)
    delivery.kick(queued)
    get_registry().notify("alert_published", app=current_app._get_current_object(), alert=alert)
    return alert


def _claim(alert: Alert) -> None:
    """Take the alert's row for this transaction if it is still as this request read it (version
    and status), else refuse (409): two people's changes never silently overwrite each other, and a
    publication never goes out with content changed under it. On PostgreSQL the UPDATE also locks
    the row until commit; SQLite has one writer at a time."""
    claimed = Alert.update(version=Alert.version).where(
        (Alert.id == alert.id) & (Alert.version == alert.version) & (Alert.status == alert.status)
    ).execute()
    if claimed != 1:
        raise AlertError(_("Someone else changed this alert a moment ago. Please open it again to see their "
                           "change, then make yours."))


def _clear_review(alert: Alert) -> None:
    alert.reviewed_by = None
    alert.reviewed_at = None
    alert.reviewed_version = None
    alert.reviewed_digest = None


def withdraw(alert: Alert, actor, reason: str | None = None) -> Alert:
    """Take an alert out of every list, feed and check at once; its history stays for staff. The
    people it reached are told it was withdrawn (never why: the reason is for staff only)."""
    from plugins.alerts import delivery

    if alert.status == WITHDRAWN:
        raise AlertError(_("This alert is already withdrawn."))
    with db.atomic():
        now = utcnow()
        alert.status = WITHDRAWN
        alert.withdrawn_at = now
        alert.changed_at = now
        alert.withdrawn_reason = (reason or "").strip() or None
        alert.version += 1
        _clear_review(alert)
        alert.save()
        record_revision(alert, "withdrawn", actor, note=alert.withdrawn_reason)
        delivery.cancel_for_alert(alert)
        queued = delivery.fan_out_withdrawal(alert)  # after the cancel: these are the last messages about it
        if alert.published_at is not None:  # partners never saw a draft
            webhooks.emit("alert.withdrawn", {"alert": {"id": alert.id, "status": WITHDRAWN,
                                                        "withdrawn_at": iso(now)}})
        federation.sync(alert)
    record("alerts.withdrawn", target=alert.target(), actor_id=actor.id if actor else None)
    delivery.kick(queued)
    get_registry().notify("alert_withdrawn", app=current_app._get_current_object(), alert=alert)
    return alert


def record_revision(alert: Alert, action: str, actor, note: str | None = None) -> None:
    """One entry of the alert's history: what members would see of it now, and who did what."""
    AlertRevision.create(
        alert=alert,
        version=alert.version,
        action=action,
        status=alert.status,
        snapshot=json.dumps(public_dict(alert, staff=True), default=str),
        note=note,
        changed_by=actor.id if actor else None,
    )
