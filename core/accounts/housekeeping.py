"""Retention rules for authentication's own tables (and the throttle's counts, which sign-in
started): nothing is kept longer than it is useful.

Core's retention_rules hook (core/builtin.py) returns these alongside its other rules; the daily
sweep (core.retention) then deletes the rows for real.
"""

from __future__ import annotations

import datetime

from core.retention import RetentionRule

REVOKED_TOKENS_KEPT_DAYS = 90
THROTTLE_ENDED = datetime.timedelta(seconds=1)  # a count whose window ended counts for nothing


def _idle(app) -> datetime.timedelta:
    return datetime.timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"]))


def _lifetime(app) -> datetime.timedelta:
    return datetime.timedelta(hours=int(app.config["SESSION_MAX_HOURS"]))


def retention_rules(app) -> list[RetentionRule]:
    from core.accounts.sessions import AccountSession
    from core.accounts.tokens import AccessToken
    from core.throttle import ThrottleCount

    return [
        RetentionRule(AccountSession, AccountSession.last_seen_at, _idle, label="idle sessions"),
        RetentionRule(AccountSession, AccountSession.created_at, _lifetime, label="sessions past their lifetime"),
        # Every throttle's counts (core.throttle), once their window has ended: sign-in, reset,
        # applications, and the plugins' receipts, checks and lookups alike.
        RetentionRule(ThrottleCount, ThrottleCount.expires_at, THROTTLE_ENDED, label="attempt counts"),
        RetentionRule(
            AccessToken,
            AccessToken.revoked_at,
            datetime.timedelta(days=REVOKED_TOKENS_KEPT_DAYS),
            condition=lambda: AccessToken.revoked_at.is_null(False),
            label="revoked access tokens",
        ),
    ]
