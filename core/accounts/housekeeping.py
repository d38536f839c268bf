"""Retention rules for authentication's own tables: nothing is kept longer than it is useful.

Core's retention_rules hook (core/builtin.py) returns these alongside its other rules; the daily
sweep (core.retention) then deletes the rows for real.
"""

from __future__ import annotations

import datetime

from core.retention import RetentionRule

REVOKED_TOKENS_KEPT_DAYS = 90


def _idle(app) -> datetime.timedelta:
    return datetime.timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"]))


def _lifetime(app) -> datetime.timedelta:
    return datetime.timedelta(hours=int(app.config["SESSION_MAX_HOURS"]))


def _throttle_window(app) -> datetime.timedelta:

    return datetime.timedelta(minutes=app.config["LOGIN_THROTTLE_MINUTES"])


def retention_rules(app) -> list[RetentionRule]:
    from core.accounts.sessions import AccountSession
    from core.accounts.throttle import LoginAttempt
    from core.accounts.tokens import AccessToken

    return [
        RetentionRule(AccountSession, AccountSession.last_seen_at, _idle, label="idle sessions"),
        RetentionRule(AccountSession, AccountSession.created_at, _lifetime, label="sessions past their lifetime"),
        RetentionRule(LoginAttempt, LoginAttempt.created_at, _throttle_window, label="sign-in attempt counts"),
        RetentionRule(
            AccessToken,
            AccessToken.revoked_at,
            datetime.timedelta(days=REVOKED_TOKENS_KEPT_DAYS),
            condition=lambda: AccessToken.revoked_at.is_null(False),
            label="revoked access tokens",
        ),
    ]
