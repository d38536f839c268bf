"""Events the reporting plugin emits; other plugins (alerts) implement them."""

from core.hookspecs import hookspec


@hookspec
def report_submitted(app, report):
    """Called after a new report is committed. Never put report contents in task arguments."""


@hookspec
def report_verified(app, report):
    """Called after a moderator marks a report verified."""


@hookspec
def consent_given(app, report, purpose):
    """Called after a reporter gives a consent later (by account or receipt) and it is committed."""
