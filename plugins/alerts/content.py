"""What a moderator may set on an alert, and the rules its values follow: which fields are
editable, the dates and number of identifiers allowed, what a draft needs before it is published,
and `apply_values`, which writes validated values onto an alert (regions, identifiers as the check matches
them, the people's allowlisted details)."""

from __future__ import annotations

import json

from flask import current_app

from core.crypto import keyring
from core.identifiers import InvalidIdentifier, normalise
from plugins.alerts import _
from plugins.alerts.details import allowed_details
from plugins.alerts.errors import AlertError
from plugins.alerts.labels import kind_label, notice_category_labels
from plugins.alerts.models import SEVERITIES, Alert, AlertIdentifier, AlertPerpetrator, AlertRegion
from plugins.alerts.reading import latest_today, regions_of, today

EDITABLE = ("title", "summary", "severity", "incident_types", "occurred_on", "regions", "expires_on",
            "review_on", "identifiers", "perpetrators", "category")
MAX_IDENTIFIERS = 30  # phone numbers, e-mails, plates and online names on one alert


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


def check_publishable(alert: Alert) -> None:
    """What a draft needs before it is published, whoever wrote it (AlertError)."""
    if alert.is_notice and alert.category not in notice_category_labels():
        raise AlertError(_("Please choose what this safety notice is about before publishing."), 422, "category")
    if not (alert.summary or "").strip():
        raise AlertError(_("Please write a summary before publishing."), 422, "summary")
    if not regions_of(alert):
        raise AlertError(_("Please choose at least one region before publishing."), 422, "regions")


def apply_values(alert: Alert, values: dict) -> bool:
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
            description, vehicle = allowed_details(person.get("description"), person.get("vehicle"))
            if description or vehicle:
                AlertPerpetrator.create(
                    alert=alert,
                    position=position,
                    description=json.dumps(description) if description else None,
                    vehicle=json.dumps(vehicle) if vehicle else None,
                )
    return entered
