"""The casework plugin's metadata and hook implementations."""

from pathlib import Path

from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import Permission, Role
from core.plugins import PluginInfo
from plugins.casework import _l, domain

plugin_info = PluginInfo(
    name="casework",
    label=_l("Casework"),
    description=_l("ISVA and caseworker support for people who ask for it."),
)


@hookimpl
def register_blueprints(app):
    from plugins.casework.views import bp

    return [bp]


@hookimpl
def register_migrations(app):
    return Path(__file__).parent / "migrations"


@hookimpl
def register_translations(app):
    return domain


@hookimpl
def register_roles(app):
    return [
        Role("caseworker", _l("Caseworker (ISVA or support worker)"), staff=True),
        Role("casework_supervisor", _l("Casework supervisor"), staff=True),
    ]


@hookimpl
def register_permissions(app):
    return [
        Permission("casework.cases", _l("Work on support cases"), ("caseworker", "casework_supervisor")),
        Permission("casework.supervise", _l("See every case, approve plans and closures, supervise caseworkers"),
                   ("casework_supervisor",)),
    ]


@hookimpl
def nav_items(app, user):
    return [NavItem(_l("Cases"), "casework.index", "casework.cases", order=30)]
