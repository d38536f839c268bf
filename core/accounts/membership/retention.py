"""Membership's retention rules (core.retention): declined applications after the core setting
declined_retention_days, spent set-password links after a day, expired invitations after 30 days."""

from __future__ import annotations

import datetime

from core.accounts.invitations import Invitation, PasswordLink
from core.accounts.membership.models import MembershipApplication
from core.retention import RetentionRule, days_setting


def retention_rules() -> list:
    """Declined applications and spent links are deleted for good after their time."""
    return [
        RetentionRule(
            model=MembershipApplication,
            age_field=MembershipApplication.decided_at,
            max_age=days_setting("core", "declined_retention_days"),
            condition=lambda: MembershipApplication.status == "declined",
            label="declined membership applications",
        ),
        RetentionRule(
            model=PasswordLink,
            age_field=PasswordLink.expires_at,
            max_age=datetime.timedelta(days=1),
            label="used or expired set-password links",
        ),
        RetentionRule(
            model=Invitation,
            age_field=Invitation.expires_at,
            max_age=datetime.timedelta(days=30),
            label="expired invitations",
        ),
    ]
