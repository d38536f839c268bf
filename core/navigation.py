"""Main navigation, gathered from enabled plugins on each request and filtered by permission."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_login import current_user

from core.permissions import user_has


@dataclass(frozen=True)
class NavItem:
    label: object  # lazy string
    endpoint: str
    permission: str
    order: int = 50
    # Optional one-line summary shown under the label on the home page's cards (a lazy string).
    description: object = ""


def nav_items() -> list[dict]:
    """Gathered once per request: the layout and the home page's cards both ask, and a plugin's
    items may cost queries (the alerts item counts what is new)."""
    from flask import g

    from core.plugins import get_registry

    if g.get("database_unavailable"):
        return []  # the "unavailable" error page: which plugins are on cannot be known
    if "nav_items" not in g:
        items = get_registry().collect("nav_items", app=current_app, user=current_user)
        visible = [item for item in items if user_has(current_app, current_user, item.permission)]
        g.nav_items = [
            {"label": item.label, "url": url_for(item.endpoint), "endpoint": item.endpoint,
             "description": item.description}
            for item in sorted(visible, key=lambda item: (item.order, str(item.label)))
        ]
    return g.nav_items
