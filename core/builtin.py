"""Core's own hook implementations: core is registered as the always-enabled plugin "core"."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import Permission
from core.plugins import PluginInfo
from core.queue import crontab, periodic_task

plugin_info = PluginInfo(name="core", label=_l("Core"), description=_l("Accounts, settings and the audit log."))


@periodic_task(crontab(minute="*"))
def heartbeat():
    """Lets /healthz tell whether a queue worker is running."""
    from core.health import beat

    beat()


@hookimpl
def register_permissions(app):
    return [
        Permission("admin.plugins", _l("Turn modules on and off and change their settings"), ("admin",)),
        Permission("admin.audit", _l("Read the audit log"), ("admin",)),
        Permission("admin.users", _l("Manage accounts and roles"), ("admin",)),
    ]


@hookimpl
def register_tasks(app):
    from core.retention import purge_expired

    return [heartbeat, purge_expired]


@hookimpl
def nav_items(app, user):
    return [
        NavItem(_l("Settings"), "admin.plugins", "admin.plugins", order=90),
        NavItem(_l("Audit log"), "audit.index", "admin.audit", order=91),
    ]
