"""The reporting plugin's metadata and hook implementations."""

from pathlib import Path

from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import PUBLIC, Permission
from core.plugins import PluginInfo
from plugins.reporting import _l, domain, hookspecs

plugin_info = PluginInfo(
    name="reporting",
    label=_l("Reporting"),
    description=_l("Sex workers report harm safely; moderators review what is reported."),
    hookspecs=hookspecs,
)


@hookimpl
def register_blueprints(app):
    from plugins.reporting.views import bp

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
        Permission("reporting.moderate", _l("Review reports and message reporters"), ("moderator",)),
    ]


@hookimpl
def settings_schema(app):
    from plugins.reporting.schemas import ReportingSettings

    return ReportingSettings


@hookimpl
def nav_items(app, user):
    return [NavItem(_l("Report an incident"), "reporting.index", PUBLIC, order=10)]
