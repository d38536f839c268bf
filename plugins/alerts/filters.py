"""The filters of the alert lists (region, incident type, dates, words, kind) read from a request's
query string, and the page of results to show: shared by the members' list, the moderators' list
and the API."""

from __future__ import annotations

import datetime
import math

from flask import request

from plugins.alerts import labels
from plugins.alerts.models import ALERT_KINDS
from plugins.alerts.reading import search

PER_PAGE = 20


def _date_arg(name: str) -> datetime.date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def paginate(query, page: int):
    """One page of PER_PAGE results, the page number actually shown (within range) and the number of pages."""
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(page, 1), pages)
    return list(query.paginate(page, PER_PAGE)), page, pages


def filters_from_request() -> dict:
    """The filters asked for; a code that is not configured, or a date that is not one, is ignored."""
    names = labels.names()
    region = request.args.get("region", "")
    incident_type = request.args.get("type", "")
    return {
        "region": region if region in names["regions"] else "",
        "type": incident_type if incident_type in names["incident_types"] else "",
        "since": _date_arg("since"),
        "until": _date_arg("until"),
        "q": request.args.get("q", "").strip()[:200],
        "kind": request.args.get("kind", "") if request.args.get("kind", "") in ALERT_KINDS else "",
    }


def filtered(filters: dict, query=None):
    """The alerts (visible ones unless query says otherwise) that match filters, newest first."""
    return search(query, region=filters["region"] or None, incident_type=filters["type"] or None,
                  since=filters["since"], until=filters["until"], text=filters["q"] or None,
                  kind=filters.get("kind") or None)
