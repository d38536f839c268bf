"""The alerts plugin's metadata and hook implementations."""

from pathlib import Path

from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import Permission
from core.plugins import PluginInfo
from plugins.alerts import _l, domain

plugin_info = PluginInfo(
    name="alerts",
    label=_l("Alerts"),
    description=_l("Warnings sent to members and partners, and the number check."),
    requires=("reporting",),
)


@hookimpl
def register_blueprints(app):
    from plugins.alerts.views import bp

    return [bp]


@hookimpl
def register_migrations(app):
    return Path(__file__).parent / "migrations"


@hookimpl
def register_translations(app):
    return domain


@hookimpl
def register_permissions(app):
    return [
        Permission("alerts.read", _l("Read published alerts"), ("member", "partner", "moderator")),
        Permission("alerts.publish", _l("Write and publish alerts"), ("moderator",)),
    ]


@hookimpl
def nav_items(app, user):
    return [NavItem(_l("Alerts"), "alerts.index", "alerts.read", order=20)]
