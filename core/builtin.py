"""Core's own hook implementations: core is registered as the always-enabled plugin "core"."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.federation import registration as federation
from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import PUBLIC, Permission, Role
from core.plugins import PluginInfo
from core.queue import crontab, periodic_task
from core.webhooks import registration as webhooks

plugin_info = PluginInfo(name="core", label=_l("Core"), description=_l("Accounts, settings and the audit log."))


@periodic_task(crontab(minute="*"))
def heartbeat():
    """Lets /healthz tell whether a queue worker is running."""
    from core.health import beat

    beat()


@periodic_task(crontab(minute="*/5"))
def forget_ended_receipts() -> int:
    """A receipt kept to be shown again (core.kept_receipts) goes soon after its few minutes are
    over, rather than staying encrypted until the daily sweep."""
    from core.kept_receipts import forget_ended

    return forget_ended()


@hookimpl
def register_roles(app):
    """The roles every module needs; a plugin adds its own (casework's caseworker, training's trainer)."""
    return [
        Role("member", _l("Member (a sex worker)")),
        Role("partner", _l("Partner (staff of a front-line organisation)")),
        Role("moderator", _l("Moderator (reviews reports, publishes alerts)"), staff=True),
        Role("admin", _l("Administrator"), staff=True),
    ]


@hookimpl
def register_permissions(app):
    return [
        Permission("admin.plugins", _l("Turn modules on and off and change their settings"), ("admin",)),
        Permission("admin.audit", _l("Read the audit log"), ("admin",)),
        Permission("admin.users", _l("Manage accounts and roles"), ("admin",)),
        Permission("admin.members", _l("Approve or decline membership applications"), ("admin", "moderator")),
        Permission("admin.messages", _l("See e-mails that could not be sent"), ("admin", "moderator")),
        *webhooks.permissions(),
        *federation.permissions(),
    ]


@hookimpl
def audit_actions(app):
    from core.views.audit import CORE_ACTIONS

    return {**CORE_ACTIONS, **webhooks.AUDIT_ACTIONS, **federation.AUDIT_ACTIONS}


@hookimpl
def register_mail_kinds(app):
    """Core's own e-mails; only those who may know the address has an account see existing_account
    (core.accounts.membership.duplicates)."""
    from core.mail import MailKind

    return [
        MailKind("set_password", _l("Link for an approved member to set a password"), "admin.members"),
        MailKind("application_declined", _l("Answer to a declined application"), "admin.members"),
        MailKind("invitation", _l("Invitation to a staff account"), "admin.users"),
        MailKind("reset_password", _l("Password reset link"), "admin.users"),
        MailKind("existing_account", _l("Answer to an application from someone who already has an account"),
                 "admin.users"),
    ]


@hookimpl
def register_tasks(app):
    from core.accounts import invitations, membership, reset
    from core.mail.record import resend_lost
    from core.retention import purge_expired

    return [heartbeat, forget_ended_receipts, purge_expired, resend_lost, invitations.mail_password_link,
            invitations.mail_invitation, membership.mail_application_declined, membership.mail_existing_account,
            reset.mail_reset_link,
            *webhooks.tasks(), *federation.tasks()]


@hookimpl
def nav_items(app, user):
    return [
        NavItem(_l("Organisations"), "organisations.index", "admin.users", order=88),
        NavItem(_l("Overview"), "overview.index", "admin.plugins", order=89),
        NavItem(_l("Settings"), "admin.plugins", "admin.plugins", order=90),
        NavItem(_l("Audit log"), "audit.index", "admin.audit", order=91),
        NavItem(_l("Messages not sent"), "outbox.index", "admin.messages", order=92),
        *webhooks.nav_items(),
        *federation.nav_items(),
        NavItem(_l("Languages"), "languages.index", "admin.plugins", order=93),
        *_membership_nav(user),
    ]


def _membership_nav(user) -> list[NavItem]:
    from core.accounts.membership import MANAGE_MEMBERS, core_settings

    items = [NavItem(_l("Applications"), "membership.queue", MANAGE_MEMBERS, order=85)]
    if not getattr(user, "is_authenticated", False) and core_settings()["accept_applications"]:
        items.append(NavItem(_l("Become a member"), "membership.apply", PUBLIC, order=10))
    return items


@hookimpl
def settings_schema(app):
    """Core's settings page: membership applications and one-time links."""
    from core.accounts.membership import CoreSettings

    return CoreSettings


@hookimpl
def retention_rules(app):
    from core.accounts.housekeeping import retention_rules as auth_rules
    from core.accounts.membership import retention_rules as membership_rules

    return [*membership_rules(), *auth_rules(app), *webhooks.retention_rules(), *federation.retention_rules(),
            _kept_receipts_rule()]


def _kept_receipts_rule():
    """Receipts kept to be shown again go every few minutes (forget_ended_receipts); the sweep
    catches any left while the queue was stopped."""
    import datetime

    from core.models import KeptReceipt
    from core.retention import RetentionRule

    return RetentionRule(model=KeptReceipt, age_field=KeptReceipt.expires_at, max_age=datetime.timedelta(seconds=1),
                         label="receipts kept to be shown again")
