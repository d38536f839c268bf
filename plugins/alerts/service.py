"""Writing, reviewing, publishing, correcting and withdrawing alerts, and what members may see of them.

The allowlist lives here and only here: `public_dict` is what every page, feed, e-mail and API
answer is built from, and `create_from_reports` copies from reports only structured facts
(COPIED_FROM_REPORTS): what happened, when, where, and the perpetrator identifiers the check
matches. Nothing the reporter wrote in their own words (the perpetrator's description and
vehicle, the narrative, names, the place) is ever copied into an alert: free text in an alert is
typed by a moderator. `reporter_words` shows a moderator the description and vehicle the reporter
gave, beside the form, to write from (staff only; never saved in the alert).

Publishing needs a review (`review`): a moderator saw the preview of exactly the current content
(the alert as members will see it and how many people will be told). Every edit clears it.

A safety notice (kind "notice", `create_notice`) is an alert about a condition rather than one
person. It may cite reports (a pattern; the same eligibility as an alert's) or none, takes only
their incident types, regions and date, carries a category (the notice_categories setting) and
the identifiers a moderator enters (never a person's description), and goes through everything
else exactly as an alert about a person does.
"""

from __future__ import annotations

import datetime
import hashlib
import json

from flask import current_app
from peewee import Value, fn

from core import webhooks
from core.audit import record
from core.crypto import keyring
from core.db import db, utcnow
from core.identifiers import InvalidIdentifier, normalise
from core.settings import plugin_settings
from plugins.alerts import _, federation
from plugins.alerts.models import (
    BUNDLED,
    CANCELLED,
    DRAFT,
    FAILED,
    HELD,
    IDENTIFIER_KINDS,
    NOTICE,
    PENDING,
    PERSON,
    PUBLISHED,
    SENDING,
    SENT,
    SEVERITIES,
    UPDATED,
    VISIBLE_STATUSES,
    WITHDRAWN,
    Alert,
    AlertIdentifier,
    AlertPerpetrator,
    AlertRegion,
    AlertRevision,
    AlertSource,
    Candidate,
)

# What a draft takes from its reports, field by field (docs/modules/alerts.md, "Where alerts
# come from"). Only structured facts, never text the reporter typed:
#   incident types  codes from the configured list             copied
#   region          a code from the configured list            copied
#   occurred_on     a date (the latest of the reports)         copied
#   identifiers     phones, e-mails, plates, online names,     copied with include_perpetrators
#                   normalised (E.164, lower case...), as the check matches them
#   description, vehicle (gender, age, height, build, hair,    never copied: free text; shown to the
#     distinguishing features, languages; make, model, colour) moderator beside the form (reporter_words)
#   names, narrative, location, time of day, work setting,     never copied, never read here
#     contact method, anything about the reporter
COPIED_FROM_REPORTS = ("incident_types", "region", "occurred_on", "identifiers")

# The perpetrator details an alert may carry, written by a moderator. Names, narrative, location and
# everything about the reporter are deliberately absent.
DESCRIPTION_KEYS = ("gender", "age_range", "height", "build", "hair", "features", "languages")
VEHICLE_KEYS = ("make", "model", "colour")
EDITABLE = ("title", "summary", "severity", "incident_types", "occurred_on", "regions", "expires_on",
            "review_on", "identifiers", "perpetrators", "category")
MAX_IDENTIFIERS = 30  # phone numbers, e-mails, plates and online names on one alert


class AlertError(Exception):
    """A change the rules refuse; the message is translated and says why. status: the HTTP status."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


# -- reports an alert may be written from ---------------------------------------------------------


def reporting_models():
    from plugins.reporting import models

    return models


def eligible(report) -> bool:
    """Verified, and the reporter currently agrees to a community warning."""
    return report.status == "verified" and report.has_consent("share_alert")


def eligible_reports(limit: int = 200) -> list:
    """Verified reports with a current share_alert consent, newest first (for the moderator's picker)."""
    models = reporting_models()
    Report, Consent = models.Report, models.Consent
    consented = Consent.select(Consent.report).where(
        (Consent.purpose == "share_alert") & Consent.withdrawn_at.is_null()
    )
    return list(
        Report.select()
        .where((Report.status == "verified") & (Report.id.in_(consented)))
        .order_by(Report.verified_at.desc(nulls="LAST"), Report.id.desc())
        .limit(limit)
    )


def reports_by_reference(references: list[str]) -> list:
    """The reports named, each checked; raises AlertError (422) naming the first that cannot be used."""
    Report = reporting_models().Report
    found = []
    for reference in references:
        report = Report.get_or_none(Report.reference == str(reference).strip().upper())
        if report is None:
            raise AlertError(_("There is no report %(reference)s.", reference=reference), 422, "reports")
        if not eligible(report):
            raise AlertError(
                _("Report %(reference)s cannot be used: an alert needs a verified report whose reporter "
                  "agreed to a community warning.", reference=report.reference),
                422,
                "reports",
            )
        found.append(report)
    if not found:
        raise AlertError(_("Please choose at least one report."), 422, "reports")
    return found


def details_from_reports(reports: list) -> dict:
    """What a draft may take from these reports: the structured facts of COPIED_FROM_REPORTS,
    nothing the reporter typed."""
    models = reporting_models()
    incident_types: list[str] = []
    regions: list[str] = []
    dates = []
    identifiers = []
    seen_identifiers = set()
    for report in reports:
        for code in report.incident_type_codes:
            if code not in incident_types:
                incident_types.append(code)
        if report.region and report.region not in regions:
            regions.append(report.region)
        if report.occurred_on:
            dates.append(report.occurred_on)
        rows = models.PerpetratorIdentifier.select().where(models.PerpetratorIdentifier.report == report)
        for row in rows:
            if row.kind in IDENTIFIER_KINDS and (row.kind, row.blind_index) not in seen_identifiers:
                seen_identifiers.add((row.kind, row.blind_index))
                identifiers.append({"kind": row.kind, "value": row.display})
    return {
        "incident_types": incident_types,
        "regions": regions,
        "occurred_on": max(dates) if dates else None,
        "identifiers": identifiers,
    }


def reporter_words(alert: Alert) -> list[dict]:
    """For the moderator writing the alert, staff only: the description and vehicle each source
    report gives of the people who did harm, as the reporter wrote them. Shown beside the form to
    write from; never copied into the alert and never part of what members see.
    [{"reference": "R-...", "people": [{"description": {...}, "vehicle": {...}}]}]"""
    models = reporting_models()
    ids = source_report_ids(alert)
    if not ids:
        return []
    found = []
    for report in models.Report.select().where(models.Report.id.in_(ids)).order_by(models.Report.id):
        people = []
        for person in models.Perpetrator.select().where(models.Perpetrator.report == report).order_by(
                models.Perpetrator.position):
            description = {k: v for k, v in person.description_dict.items() if k in DESCRIPTION_KEYS and v}
            vehicle = {k: v for k, v in person.vehicle_dict.items() if k in VEHICLE_KEYS and v}
            if description or vehicle:
                people.append({"description": description, "vehicle": vehicle})
        found.append({"reference": report.reference, "people": people})
    return found


# -- writing --------------------------------------------------------------------------------------


def settings() -> dict:
    """The plugin's settings; core reads them with one small query per request and loads the
    schema only when the stored values changed (the identifier check reads them on every call)."""
    return plugin_settings("alerts")


def notice_category_labels() -> dict[str, str]:
    """Code -> name of the configured safety notice categories, in the configured order: our
    translated name for a listed code, an instance's own name as written."""
    from plugins.alerts.schemas import NOTICE_CATEGORIES
    from plugins.reporting.options import parse_line

    found = {}
    for line in settings()["notice_categories"]:
        try:
            code, name = parse_line(line)
        except ValueError:
            continue  # the settings page refuses bad lines; skip any that got stored anyway
        found[code] = name or str(NOTICE_CATEGORIES.get(code, code))
    return found


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
    for report in reports:
        if not eligible(report):
            raise AlertError(_("Report %(reference)s cannot be used: an alert needs a verified report whose "
                               "reporter agreed to a community warning.", reference=report.reference), 422, "reports")
    copied = details_from_reports(reports) if reports else {"incident_types": [], "regions": [], "occurred_on": None}
    values = {"incident_types": copied["incident_types"], "occurred_on": copied["occurred_on"],
              "regions": copied["regions"]}
    given = {key: value for key, value in data.items() if key in EDITABLE and value is not None}
    check_values(given)
    values.update(given)
    if not values.get("expires_on"):
        values["expires_on"] = _default_expiry()
    with db.atomic():
        alert = Alert.create(kind=NOTICE, created_by=actor.id if actor else None, summary="", title="")
        for report in reports:
            AlertSource.insert(alert=alert, report_id=report.id).on_conflict_ignore().execute()
        entered = _apply(alert, values)
        alert.save()
        _revision(alert, "created", actor)
    record("alerts.notice_created", target=alert.target(), actor_id=actor.id if actor else None)
    if entered:
        record("alerts.identifiers_entered", target=alert.target(), actor_id=actor.id if actor else None)
    return alert


def create_from_reports(reports: list, data: dict, actor) -> Alert:
    """A draft from these reports: their structured facts (details_from_reports), and the
    perpetrator identifiers unless include_perpetrators is False. data may set any EDITABLE field:
    what a moderator writes (summary, title, a description of the person...) is theirs; nothing
    the reporter typed is copied."""
    for report in reports:
        if not eligible(report):
            raise AlertError(_("Report %(reference)s cannot be used: an alert needs a verified report whose "
                               "reporter agreed to a community warning.", reference=report.reference), 422, "reports")
    copied = details_from_reports(reports)
    values = {
        "incident_types": copied["incident_types"],
        "occurred_on": copied["occurred_on"],
        "regions": copied["regions"],
        "identifiers": copied["identifiers"] if data.get("include_perpetrators", True) else [],
    }
    given = {key: value for key, value in data.items() if key in EDITABLE and value is not None}
    check_values(given)
    values.update(given)
    if not values.get("expires_on"):
        values["expires_on"] = _default_expiry()
    with db.atomic():
        alert = Alert.create(created_by=actor.id if actor else None, summary="", title="")
        for report in reports:
            AlertSource.insert(alert=alert, report_id=report.id).on_conflict_ignore().execute()
            Candidate.update(dismissed_at=utcnow()).where(
                (Candidate.report_id == report.id) & Candidate.dismissed_at.is_null()
            ).execute()
        entered = _apply(alert, values)
        alert.save()
        _revision(alert, "created", actor)
    record("alerts.created", target=alert.target(), actor_id=actor.id if actor else None)
    if entered and data.get("identifiers") is not None:
        record("alerts.identifiers_entered", target=alert.target(), actor_id=actor.id if actor else None)
    return alert


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
        entered = _apply(alert, changes)
        alert.version += 1
        alert.changed_at = utcnow()
        _clear_review(alert)  # any edit: the review was of what was there before
        action = "edited"
        if alert.status in VISIBLE_STATUSES:
            _check_publishable(alert)
            alert.status = UPDATED
            alert.corrected_at = alert.changed_at
            action = "corrected"
        alert.save()
        _revision(alert, action, actor)
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
        _revision(alert, "sharing", actor)
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


def check_can_publish(alert: Alert) -> None:
    """What stops a draft from being published, whoever reviewed it (AlertError)."""
    if alert.status != DRAFT:
        raise AlertError(_("Only a draft can be published; this alert is %(status)s.", status=status_label(alert)))
    for report_id in source_report_ids(alert):
        report = reporting_models().Report.get_or_none(reporting_models().Report.id == report_id)
        if report is not None and not eligible(report):
            raise AlertError(
                _("Report %(reference)s no longer allows a community warning (its consent was withdrawn or "
                  "its status changed), so this alert cannot be published.", reference=report.reference)
            )
    _check_publishable(alert)


def preview(alert: Alert, labels: dict | None = None) -> dict:
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
    from plugins.alerts import ngettext

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
        _revision(alert, "reviewed", actor)
        record("alerts.reviewed", target=alert.target(), actor_id=actor.id if actor else None)
    return preview(alert)


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
        _revision(alert, "published", actor)
        queued = delivery.fan_out(alert)
        webhooks.emit("alert.published", lambda: {"alert": public_dict(alert)})
        federation.sync(alert)
    record("alerts.published", target=alert.target(), actor_id=actor.id if actor else None)
    delivery.kick(queued)
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
        _revision(alert, "withdrawn", actor, note=alert.withdrawn_reason)
        delivery.cancel_for_alert(alert)
        queued = delivery.fan_out_withdrawal(alert)  # after the cancel: these are the last messages about it
        if alert.published_at is not None:  # partners never saw a draft
            webhooks.emit("alert.withdrawn", {"alert": {"id": alert.id, "status": WITHDRAWN,
                                                        "withdrawn_at": _iso(now)}})
        federation.sync(alert)
    record("alerts.withdrawn", target=alert.target(), actor_id=actor.id if actor else None)
    delivery.kick(queued)
    return alert


def value_problems(values: dict) -> dict[str, str]:
    """Field -> translated message, for values the rules refuse (the web form shows them all at
    once; check_values raises the first for every other caller, the API included).

    - The date it happened cannot be in the future (the later of today in UTC and in the instance's
      time zone, so a moderator ahead of UTC can still write today's date).
    - The end date cannot have passed: on that day the alert would leave every list, feed and check
      at once, and subscribers would be told it was updated. Taking an alert down is Withdraw.
    - At most MAX_IDENTIFIERS identifiers: none is ever dropped without saying so.
    """
    problems = {}
    occurred = values.get("occurred_on")
    if occurred and occurred > latest_today():
        problems["occurred_on"] = _("The date it happened cannot be in the future. Please check it.")
    expires = values.get("expires_on")
    if expires and expires < today():
        problems["expires_on"] = _("This day has passed: the alert would stop showing at once, and subscribers would "
                                   "be told it was updated. Choose today or a later day. To take an alert down now, "
                                   "use Withdraw on its page.")
    identifiers = values.get("identifiers") or []
    if len(identifiers) > MAX_IDENTIFIERS:
        problems["identifiers"] = too_many_identifiers(len(identifiers))
    return problems


def too_many_identifiers(count: int) -> str:
    return _("An alert can list at most %(max)d phone numbers, e-mails, plates and online names, and this has "
             "%(count)d. Please keep the most useful ones.", max=MAX_IDENTIFIERS, count=count)


def check_values(values: dict) -> None:
    """Raise AlertError (422, naming the field) for the first value the rules refuse."""
    for field, message in value_problems(values).items():
        raise AlertError(message, 422, field)


def _check_publishable(alert: Alert) -> None:
    if alert.is_notice and alert.category not in notice_category_labels():
        raise AlertError(_("Please choose what this safety notice is about before publishing."), 422, "category")
    if not (alert.summary or "").strip():
        raise AlertError(_("Please write a summary before publishing."), 422, "summary")
    if not regions_of(alert):
        raise AlertError(_("Please choose at least one region before publishing."), 422, "regions")


def _apply(alert: Alert, values: dict) -> bool:
    """Set the editable fields given in values (already validated by a schema or form). True when
    the identifiers the check matches were changed (the caller audits who entered them)."""
    if alert.is_notice and any(values.get("perpetrators") or []):
        raise AlertError(_("A safety notice is not about one person, so it has no description of a person. "
                           "Write an alert about a person instead, or put what people should look out for "
                           "in the summary."), 422, "perpetrators")
    if "category" in values:
        if not alert.is_notice and values["category"]:
            raise AlertError(_("Only a safety notice has a category."), 422, "category")
        if alert.is_notice:
            if values["category"] and values["category"] not in notice_category_labels():
                raise AlertError(_("Please choose what this safety notice is about."), 422, "category")
            alert.category = values["category"] or None
    entered = False
    for key in ("title", "summary"):
        if key in values:
            setattr(alert, key, (values[key] or "").strip())
    if "severity" in values:
        if values["severity"] not in SEVERITIES:
            raise AlertError(_("Please choose a severity."), 422, "severity")
        alert.severity = values["severity"]
    if "incident_types" in values:
        alert.incident_types = ",".join(dict.fromkeys(values["incident_types"] or []))
    for key in ("occurred_on", "expires_on", "review_on"):
        if key in values:
            setattr(alert, key, values[key])
    if alert.id is None:
        alert.save()
    if "regions" in values:
        AlertRegion.delete().where(AlertRegion.alert == alert).execute()
        for region in dict.fromkeys(values["regions"] or []):
            AlertRegion.create(alert=alert, region=region)
    if "identifiers" in values:
        before = set(AlertIdentifier.select(AlertIdentifier.kind, AlertIdentifier.blind_index).where(
            AlertIdentifier.alert == alert).tuples())
        AlertIdentifier.delete().where(AlertIdentifier.alert == alert).execute()
        country = current_app.config["DEFAULT_COUNTRY"]
        seen = set()
        for item in values["identifiers"] or []:
            kind = item["kind"]
            try:
                value = normalise(kind, item["value"], country)
            except (InvalidIdentifier, ValueError):
                raise AlertError(_("“%(value)s” is not a valid %(kind)s.", value=item["value"],
                                   kind=kind_label(kind)), 422, "identifiers") from None
            if (kind, value) in seen:
                continue
            seen.add((kind, value))
            AlertIdentifier.create(
                alert=alert, kind=kind, blind_index=keyring().blind_index(kind, value), display=value
            )
        entered = before != {(kind, keyring().blind_index(kind, value)) for kind, value in seen}
    if "perpetrators" in values:
        AlertPerpetrator.delete().where(AlertPerpetrator.alert == alert).execute()
        for position, person in enumerate(values["perpetrators"] or []):
            description = {k: v for k, v in (person.get("description") or {}).items() if k in DESCRIPTION_KEYS and v}
            vehicle = {k: v for k, v in (person.get("vehicle") or {}).items() if k in VEHICLE_KEYS and v}
            if description or vehicle:
                AlertPerpetrator.create(
                    alert=alert,
                    position=position,
                    description=json.dumps(description) if description else None,
                    vehicle=json.dumps(vehicle) if vehicle else None,
                )
    return entered


def _revision(alert: Alert, action: str, actor, note: str | None = None) -> None:
    AlertRevision.create(
        alert=alert,
        version=alert.version,
        action=action,
        status=alert.status,
        snapshot=json.dumps(public_dict(alert, staff=True), default=str),
        note=note,
        changed_by=actor.id if actor else None,
    )


# -- reading --------------------------------------------------------------------------------------


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


def source_report_ids(alert: Alert) -> list[int]:
    return [row.report_id for row in AlertSource.select(AlertSource.report_id).where(AlertSource.alert == alert)]


def source_references(alert: Alert) -> list[str]:
    Report = reporting_models().Report
    ids = source_report_ids(alert)
    if not ids:
        return []
    return [row.reference for row in Report.select(Report.reference).where(Report.id.in_(ids))]


def sources_still_consenting(alert: Alert) -> bool:
    """False when a source report's consent to a community warning was withdrawn since (staff see it)."""
    Report = reporting_models().Report
    for report_id in source_report_ids(alert):
        report = Report.get_or_none(Report.id == report_id)
        if report is not None and not eligible(report):
            return False
    return True


def choice_labels(kind: str) -> dict[str, str]:
    from plugins.reporting.options import configured

    return {choice.code: str(choice.label) for choice in configured(kind)}


def kind_label(kind: str) -> str:
    return {
        "phone": _("phone number"),
        "email": _("email address"),
        "plate": _("number plate"),
        "handle": _("online name or profile"),
        "website": _("website"),
    }.get(kind, kind)


def alert_kind_label(kind: str) -> str:
    """What members read to tell the two kinds of warning apart (the list, a page, a message)."""
    return {PERSON: _("About a person"), NOTICE: _("Safety notice")}.get(kind, kind)


def severity_label(severity: str) -> str:
    return {"low": _("Be aware"), "medium": _("Take care"), "high": _("Serious danger")}.get(severity, severity)


def status_label(alert_or_status) -> str:
    status = getattr(alert_or_status, "status", alert_or_status)
    return {
        DRAFT: _("draft"),
        PUBLISHED: _("published"),
        UPDATED: _("updated"),
        WITHDRAWN: _("withdrawn"),
    }.get(status, status)


def action_label(action: str) -> str:
    """What a history entry (AlertRevision.action) records, for the staff view."""
    return {
        "created": _("Created"),
        "edited": _("Edited"),
        "reviewed": _("Reviewed (preview seen)"),
        "published": _("Published"),
        "corrected": _("Corrected"),
        "withdrawn": _("Withdrawn"),
        "received": _("Received from a peer instance"),
        "sharing": _("Sharing with peers changed"),
    }.get(action, action)


def channel_label(channel: str) -> str:
    return {"email": _("E-mail"), "sms": _("Text message (SMS)"), "web": _("On this site only")}.get(channel, channel)


def delivery_status_label(status: str) -> str:
    """The state of one outbox message (models.DELIVERY_STATES), for staff."""
    return {
        HELD: _("Held for the daily digest"),
        PENDING: _("Waiting to be sent"),
        SENDING: _("Being sent"),
        SENT: _("Sent"),
        FAILED: _("Failed"),
        CANCELLED: _("Cancelled"),
        BUNDLED: _("Bundled into a daily digest"),
    }.get(status, status)


def message_kind_label(kind: str) -> str:
    """What one outbox message is about (Delivery.kind), for staff."""
    return {
        "alert": _("New alert"),
        "update": _("Correction"),
        "withdraw": _("Withdrawal"),
        "digest": _("Daily digest"),
    }.get(kind, kind)


def description_label(key: str) -> str:
    return {
        "gender": _("Gender"),
        "age_range": _("Age"),
        "height": _("Height"),
        "build": _("Build"),
        "hair": _("Hair"),
        "features": _("Distinguishing features"),
        "languages": _("Languages or accent"),
        "make": _("Make"),
        "model": _("Model"),
        "colour": _("Colour"),
    }.get(key, key)


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
        names = labels.get("categories") or notice_category_labels()
        category = {"code": alert.category, "label": names.get(alert.category, alert.category)}
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
        "published_at": _iso(alert.published_at),
        "updated_at": _iso(alert.corrected_at),
        "expires_on": alert.expires_on.isoformat() if alert.expires_on else None,
        "identifiers": [{"kind": row.kind, "value": row.display} for row in identifiers],
        "perpetrators": [
            {"description": person.description_dict, "vehicle": person.vehicle_dict} for person in perpetrators
        ],
        "from_peer": federation.provenance(alert),
    }
    if staff:
        data.update(
            {
                "distribution": alert.distribution or "local",
                "may_pass_on": bool(alert.may_pass_on),
                "version": alert.version,
                "review_on": alert.review_on.isoformat() if alert.review_on else None,
                "created_at": _iso(alert.created_at),
                "withdrawn_at": _iso(alert.withdrawn_at),
                "reports": source_references(alert),
                "reviewed": alert.status == DRAFT and is_reviewed(alert),
                "reviewed_at": _iso(alert.reviewed_at),
            }
        )
    return data


def default_title(alert: Alert, labels: dict) -> str:
    if alert.is_notice:
        if alert.category:
            names = labels.get("categories") or notice_category_labels()
            return names.get(alert.category, alert.category)
        return _("Safety notice")
    names = [labels["incident_types"].get(code, code) for code in alert.incident_type_codes[:2]]
    return ", ".join(names) if names else _("Alert")


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"


def history(alert: Alert) -> list[AlertRevision]:
    return list(AlertRevision.select().where(AlertRevision.alert == alert).order_by(AlertRevision.id))


def add_candidate(report) -> None:
    """Called when a report is verified: if a warning may be shared, put it before moderators."""
    if eligible(report):
        Candidate.insert(report_id=report.id).on_conflict_ignore().execute()


def open_candidates() -> list:
    """Verified, consenting reports that no alert uses yet and nobody dismissed."""
    Report = reporting_models().Report
    rows = list(Candidate.select().where(Candidate.dismissed_at.is_null()).order_by(Candidate.created_at.desc()))
    # A safety notice citing a report (a pattern) does not warn about its person: still a candidate.
    used = {row.report_id for row in AlertSource.select(AlertSource.report_id).join(Alert).where(
        Alert.kind == PERSON)}
    reports = []
    for row in rows:
        if row.report_id in used:
            continue
        report = Report.get_or_none(Report.id == row.report_id)
        if report is not None and eligible(report):
            reports.append(report)
    return reports
