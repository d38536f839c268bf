"""Hooks the alerts plugin defines for other plugins (documented in docs/plugin-hooks.md)."""

from core.hookspecs import hookspec


@hookspec(firstresult=True)
def send_sms(app, backend, to, body, key):
    """Send one text message for the configured SMS backend; return a truthy id if this plugin sent it."""
