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


@hookspec
def consent_withdrawn(app, report, purpose):
    """Called after a reporter withdraws a consent (by account or receipt) and it is committed."""


@hookspec
def trend_series(app, start, end, region):
    """Monthly counts a plugin adds to the trends page, its CSV and GET /api/v1/trends.

    `start` and `end` are naive UTC date-times (the first day of the first month, and of the
    month after the last); `region` is a configured region code, or None for all. Return a list
    of {"key": "alerts_published", "label": lazy or plain text, "note": text (optional),
    "counts": {"YYYY-MM": int}}; leave out a series that has no region when `region` is set.
    Reporting hides every count under 5 and never adds the months up. Counts only: nothing about
    a person. plugins.reporting.trends.month_of(column) groups a date-time column by month in SQL.
    """
