"""The alerts pages' blueprint and what every page shares: `may` for templates, the date filters
and the label helpers. The pages themselves are in the *_views modules, each one group of pages:
list_views (the list, an alert's page, short links), check_views, subscription_views,
manage_views (the moderators' list and new drafts), edit_views (edit, preview, publish, withdraw),
oversight_views (deliveries, check warnings, partner feeds), federation_views (sharing with peers).
"""

from __future__ import annotations

import datetime
import json

from flask import Blueprint, abort, current_app
from flask_login import current_user

from core.permissions import user_has
from plugins.alerts import labels

bp = Blueprint("alerts", __name__, url_prefix="/alerts", static_folder="static")


def require_valid(form):
    """The posted form, once its CSRF token and fields are valid; anything else is refused (400)."""
    if not form.validate_on_submit():
        abort(400)
    return form


def may(permission: str) -> bool:
    return user_has(current_app, current_user, permission)


@bp.app_template_filter("alerts_pretty")
def _pretty_filter(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


@bp.app_template_filter("alerts_date")
def _date_filter(value) -> str:
    """An ISO date or date-time string (or a date) in the reader's language."""
    from flask_babel import format_date

    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.rstrip("Z")).date() if "T" in value else \
                datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime.datetime):
        value = value.date()
    return format_date(value, "medium")


@bp.app_template_filter("alerts_datetime")
def _datetime_filter(value) -> str:
    from flask_babel import format_datetime

    return format_datetime(value, "short") if value else ""


@bp.app_template_filter("alerts_type_label")
def _type_label(code: str) -> str:
    return labels.choice_labels("incident_types").get(code, code)


@bp.context_processor
def _helpers():
    return {"may": may, "kind_label": labels.kind_label, "detail_label": labels.description_label,
            "status_label": labels.status_label, "action_label": labels.action_label,
            "channel_label": labels.channel_label, "delivery_status_label": labels.delivery_status_label,
            "message_kind_label": labels.message_kind_label, "alert_kind_label": labels.alert_kind_label,
            "severity_word": labels.severity_label}
