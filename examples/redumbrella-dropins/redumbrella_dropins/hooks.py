"""The dropins plugin's metadata and hook implementations."""

from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import PUBLIC, Permission, Role
from core.plugins import PluginInfo

from redumbrella_dropins import __version__, _l

plugin_info = PluginInfo(
    name="dropins",
    label=_l("Drop-ins"),
    description=_l("Where and when people can call in for support."),
    version=__version__,
    requires_core=">=0.2,<0.3",  # the Red Umbrella releases this version was written and tested for
    requires=(),  # for example ("reporting",) if it used reporting's tables or hooks
)


@hookimpl
def register_blueprints(app):
    from redumbrella_dropins.api import api
    from redumbrella_dropins.views import bp

    return [bp, api]


@hookimpl
def register_roles(app):
    return [Role("dropins_volunteer", _l("Drop-in volunteer (keeps the list of drop-ins up to date)"))]


@hookimpl
def register_permissions(app):
    return [Permission("dropins.manage", _l("List and edit drop-ins"), ("dropins_volunteer", "admin"))]


@hookimpl
def audit_actions(app):
    return {"dropins.created": _l("Drop-in listed")}


@hookimpl
def register_tasks(app):
    from redumbrella_dropins.tasks import daily_count, dropin_listed

    return [dropin_listed, daily_count]


@hookimpl
def register_commands(app):
    from redumbrella_dropins.commands import add

    return [add]


@hookimpl
def settings_schema(app):
    from redumbrella_dropins.schemas import DropinsSettings

    return DropinsSettings


@hookimpl
def nav_items(app, user):
    return [NavItem(_l("Drop-ins"), "dropins.index", PUBLIC, order=60,
                    description=_l("Where and when you can call in."))]


@hookimpl
def demo_data(app, accounts):
    from redumbrella_dropins.models import DropIn

    if not DropIn.select().exists():
        DropIn.create(name="Demo drop-in (made up)", area="Demo town", opening_times="Tuesdays 10:00-14:00")


@hookimpl
def register_api(app, spec):
    from redumbrella_dropins.api import describe

    describe(spec)
