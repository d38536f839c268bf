"""The application factory: configuration, database, plugins, queue, translations, guards."""

from __future__ import annotations

from types import FunctionType, ModuleType

from flask import Flask

from core import crypto, display, i18n, logs, permissions, queue, security, slots
from core import db as database
from core.config import instance_path_from_env, load_config
from core.installation import check_top_level_names
from core.mail import kinds as mail_kinds
from core.plugins import PluginRegistry


class Platform(Flask):
    """Flask, remembering for each function whether it must be wrapped to run synchronously.

    Flask asks this of every request hook and view on every request (a dozen times a request,
    each an inspection of the function's code flags); a plain function's answer never changes.
    Bound methods are made afresh at each use, so they are not remembered: the table stays as
    small as the set of hooks and views.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_of: dict = {}

    def ensure_sync(self, func):
        known = self._sync_of.get(func)
        if known is None:
            known = super().ensure_sync(func)
            if type(func) is FunctionType:
                self._sync_of[func] = known
        return known


def create_app(overrides: dict | None = None, extra_plugins: tuple[ModuleType, ...] = ()) -> Flask:
    """Build the app. Raises core.config.ConfigError, with one clear line, on a bad setting (core's
    own, or one a plugin checks in its check_config hook), or an environment that lacks the driver
    the settings ask for or shares Red Umbrella's package names (core.installation).

    extra_plugins lets tests and embedders add plugin modules beside the installed ones.
    """
    check_top_level_names()  # no other distribution may install `core`, `plugins` or `locales`
    instance_path = (overrides or {}).get("INSTANCE_PATH") or instance_path_from_env()
    app = Platform("core", instance_path=str(instance_path), instance_relative_config=True)
    from core.api import install_converters

    install_converters(app)  # before any blueprint: `<int:...>` ids are bounded to 63 bits
    load_config(app, overrides)
    logs.init_app(app)
    crypto.load_keys(app)
    database.init_app(app)

    registry = PluginRegistry(app, extra_plugins)
    app.extensions["redumbrella.plugins"] = registry
    registry.call_each("check_config", app=app)  # each installed plugin's own settings; ConfigError stops here
    i18n.init_app(app)
    display.init_app(app)
    slots.init_app(app)
    security.init_app(app)
    permissions.init_app(app)
    mail_kinds.init_app(app)

    from core import views
    from core.accounts import auth

    auth.init_app(app)
    views.init_app(app)
    from core import api

    api.init_app(app)
    _register_plugin_blueprints(app, registry)
    security.init_guards(app)
    queue.init_app(app)
    _register_plugin_commands(app, registry)
    return app


def _register_plugin_blueprints(app: Flask, registry: PluginRegistry) -> None:
    """Register every plugin's blueprints once; core.security's guard 404s them while disabled."""
    domains = dict(registry.call_each("register_translations", app=app))
    app.extensions["redumbrella.domains"] = domains
    for owner, blueprint in registry.call_each("register_blueprints", app=app):  # names checked there
        app.register_blueprint(blueprint)
        registry.blueprint_owners[blueprint.name] = owner
    registry.check_tables()  # the plugins' models are imported by now


def _register_plugin_commands(app: Flask, registry: PluginRegistry) -> None:
    from core.cli import PluginCommands

    for owner, command in registry.call_each("register_commands", app=app):
        group = app.cli.commands.get(owner)
        if group is None:
            group = PluginCommands(owner, help=f"Commands of the {owner} plugin (only while it is enabled).")
            app.cli.add_command(group)
        group.add_command(command)
