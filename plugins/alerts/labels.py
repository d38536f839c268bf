"""The words people read for the alerts plugin's codes: the configured choices (regions, incident
types, safety notice categories) and our fixed names for kinds, severities, statuses, history
entries, channels and outbox states. A code without a name is shown as it is."""

from __future__ import annotations

from types import MappingProxyType

from core.per_app import per_app
from plugins.alerts import _l
from plugins.alerts.config import settings
from plugins.alerts.models import (
    BUNDLED,
    CANCELLED,
    DRAFT,
    FAILED,
    HELD,
    NOTICE,
    PENDING,
    PERSON,
    PUBLISHED,
    SENDING,
    SENT,
    UPDATED,
    WITHDRAWN,
)


def choice_labels(kind: str) -> dict[str, str]:
    """Code -> name of one configured list of the reporting plugin ("regions", "incident_types")."""
    from plugins.reporting.options import configured

    return {choice.code: str(choice.label) for choice in configured(kind)}


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


def names() -> dict:
    """Every configured list at once, as pages, the API and public_dict take them (read-only).

    Translating every name costs more than a check (about 0.25 ms), so each app (one a process)
    keeps them under all they depend on, read on each call: the language, its local wording
    version and the lists as stored in the settings (read once per request anyway). Nothing
    personal is kept.
    """
    from flask_babel import get_locale

    from core.settings import plugin_settings
    from core.wording.overlay import version

    locale = str(get_locale())
    stored = plugin_settings("reporting")
    key = (locale, version(locale), tuple(stored["regions"]), tuple(stored["incident_types"]),
           tuple(settings()["notice_categories"]))
    kept = per_app("redumbrella.alerts.names", dict)
    found = kept.get(key)
    if found is None:
        if len(kept) > 64:  # versions and lists come and go: never grow without end
            kept.clear()
        found = kept[key] = {
            "regions": MappingProxyType(choice_labels("regions")),
            "incident_types": MappingProxyType(choice_labels("incident_types")),
            "categories": MappingProxyType(notice_category_labels()),
        }
    return dict(found)


IDENTIFIER_NAMES = {
    "phone": _l("phone number"),
    "email": _l("email address"),
    "plate": _l("number plate"),
    "handle": _l("online name or profile"),
    "website": _l("website"),
}
# What members read to tell the two kinds of warning apart (the list, a page, a message).
ALERT_KIND_NAMES = {PERSON: _l("About a person"), NOTICE: _l("Safety notice")}
SEVERITY_NAMES = {"low": _l("Be aware"), "medium": _l("Take care"), "high": _l("Serious danger")}
STATUS_NAMES = {DRAFT: _l("draft"), PUBLISHED: _l("published"), UPDATED: _l("updated"), WITHDRAWN: _l("withdrawn")}
# What a history entry (AlertRevision.action) records, for the staff view.
ACTION_NAMES = {
    "created": _l("Created"),
    "edited": _l("Edited"),
    "reviewed": _l("Reviewed (preview seen)"),
    "published": _l("Published"),
    "corrected": _l("Corrected"),
    "withdrawn": _l("Withdrawn"),
    "received": _l("Received from a peer instance"),
    "sharing": _l("Sharing with peers changed"),
}
CHANNEL_NAMES = {"email": _l("E-mail"), "sms": _l("Text message (SMS)"), "web": _l("On this site only")}
# The state of one outbox message (models.DELIVERY_STATES), for staff.
DELIVERY_STATE_NAMES = {
    HELD: _l("Held for the daily digest"),
    PENDING: _l("Waiting to be sent"),
    SENDING: _l("Being sent"),
    SENT: _l("Sent"),
    FAILED: _l("Failed"),
    CANCELLED: _l("Cancelled"),
    BUNDLED: _l("Bundled into a daily digest"),
}
# What one outbox message is about (Delivery.kind), for staff.
MESSAGE_KIND_NAMES = {
    "alert": _l("New alert"),
    "update": _l("Correction"),
    "withdraw": _l("Withdrawal"),
    "digest": _l("Daily digest"),
}
# The perpetrator details a moderator may write (details.PERSON_FIELDS).
DETAIL_NAMES = {
    "gender": _l("Gender"),
    "age_range": _l("Age"),
    "height": _l("Height"),
    "build": _l("Build"),
    "hair": _l("Hair"),
    "features": _l("Distinguishing features"),
    "languages": _l("Languages or accent"),
    "make": _l("Make"),
    "model": _l("Model"),
    "colour": _l("Colour"),
}


def _word(table: dict, code) -> str:
    """The name of code in the reader's language, or the code itself when it has none."""
    return str(table[code]) if code in table else code


def kind_label(kind: str) -> str:
    return _word(IDENTIFIER_NAMES, kind)


def alert_kind_label(kind: str) -> str:
    return _word(ALERT_KIND_NAMES, kind)


def severity_label(severity: str) -> str:
    return _word(SEVERITY_NAMES, severity)


def status_label(alert_or_status) -> str:
    return _word(STATUS_NAMES, getattr(alert_or_status, "status", alert_or_status))


def action_label(action: str) -> str:
    return _word(ACTION_NAMES, action)


def channel_label(channel: str) -> str:
    return _word(CHANNEL_NAMES, channel)


def delivery_status_label(status: str) -> str:
    return _word(DELIVERY_STATE_NAMES, status)


def message_kind_label(kind: str) -> str:
    return _word(MESSAGE_KIND_NAMES, kind)


def description_label(key: str) -> str:
    return _word(DETAIL_NAMES, key)
