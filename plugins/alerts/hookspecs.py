"""Hooks the alerts plugin defines for other plugins (documented in docs/plugin-hooks.md)."""

from core.hookspecs import hookspec


@hookspec(firstresult=True)
def send_sms(app, backend, to, body, key):
    """Send one text message for the configured SMS backend; return a truthy id if this plugin sent it."""


@hookspec
def alert_published(app, alert):
    """An alert was published (committed): called on enabled plugins, one at a time, after it is
    visible and its messages are queued. `alert` is the plugins.alerts.models.Alert row."""


@hookspec
def alert_withdrawn(app, alert):
    """A published or draft alert was withdrawn (committed): called on enabled plugins, one at a
    time. Remove or hide anything made from it."""
