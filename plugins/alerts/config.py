"""The alerts plugin's settings, as an administrator stored them (schemas.AlertsSettings)."""

from __future__ import annotations

from core.settings import plugin_settings


def settings() -> dict:
    """The plugin's settings; core reads them with one small query per request and loads the
    schema only when the stored values changed (the identifier check reads them on every call)."""
    return plugin_settings("alerts")
