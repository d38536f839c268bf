"""The plugin registry: finds plugins, knows which are enabled, and calls their hooks.

Every installed plugin is loaded at start-up. Whether it is enabled is data (the plugin_state
table), read once per request and once per task, so every web and queue worker follows a change
without a restart. Hooks are only ever called through this registry, which skips disabled plugins.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import GeneratorType, ModuleType

import pluggy
from flask import g, has_request_context
from flask_babel import gettext as _

from core import hookspecs
from core.db import run_sql
from core.models import PluginState

ENTRY_POINT_GROUP = "redumbrella.plugins"
CORE = "core"


@dataclass(frozen=True)
class PluginInfo:
    """What a plugin says about itself, as `plugin_info` in its hooks module."""

    name: str
    label: object  # a lazy string, translated when shown
    description: object = ""
    requires: tuple[str, ...] = ()
    # A plugin module may define hookspecs for events other plugins implement (report_verified).
    hookspecs: ModuleType | None = field(default=None, compare=False)


class PluginError(Exception):
    """A plugin change that cannot be made; the message says why, with the plugins' names as the
    command line takes them. A refusal for a requirement also says which plugins, so the admin
    page can name them by their translated labels: `needs` (enabling `plugin` needs `others` on)
    or `needed_by` (disabling `plugin` is refused while `others` are on)."""

    def __init__(self, message: str, *, kind: str = "", plugin: str = "", others: tuple[str, ...] = ()):
        super().__init__(message)
        self.kind = kind
        self.plugin = plugin
        self.others = others


class PluginRegistry:
    def __init__(self, app, extra_plugins: tuple[ModuleType, ...] = ()):
        self.app = app
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        modules = [self._core_module()] + [ep.load() for ep in self._entry_points()] + list(extra_plugins)
        for module in modules:
            info = module.plugin_info
            if info.name in self.infos:
                raise PluginError(f"two plugins are called {info.name}")
            if info.hookspecs is not None:
                self.pm.add_hookspecs(info.hookspecs)
            self.infos[info.name] = info
        for module in modules:
            self.pm.register(module, name=module.plugin_info.name)
        for info in self.infos.values():
            missing = [name for name in info.requires if name not in self.infos]
            if missing:
                raise PluginError(f"plugin {info.name} requires {', '.join(missing)}, which is not installed")
        # A hook implementation whose name matches no hookspec (a typo) fails here, at start-up.
        self.pm.check_pending()
        self._subset_callers: dict = {}
        self.blueprint_owners: dict[str, str] = {}

    @staticmethod
    def _entry_points():
        return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)

    @staticmethod
    def _core_module():
        from core import builtin

        return builtin

    # -- enabled state ---------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Installed plugins other than core, in a stable order."""
        return [name for name in self.infos if name != CORE]

    def enabled(self) -> frozenset[str]:
        """Names of enabled plugins (core included), read once per request."""
        if has_request_context() and "enabled_plugins" in g:
            return g.enabled_plugins
        names = self._read_enabled()
        if has_request_context():
            g.enabled_plugins = names
        return names

    def _read_enabled(self) -> frozenset[str]:
        rows = run_sql("SELECT name FROM plugin_state WHERE enabled = %s", (True,))  # every request
        return frozenset({CORE} | {name for (name,) in rows if name in self.infos})

    def is_enabled(self, name: str) -> bool:
        return name in self.enabled()

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a plugin, refusing a change that would break a requirement."""
        if name not in self.infos or name == CORE:
            raise PluginError(_("there is no plugin called %(name)s", name=name))
        with _state_lock():
            current = set(self._read_enabled())
            self._check_and_save(name, enabled, current)
        if has_request_context():
            g.enabled_plugins = frozenset(current)
        from core.audit import record

        record("plugin.enabled" if enabled else "plugin.disabled", target=f"plugin:{name}")
        hook = "plugin_enabled" if enabled else "plugin_disabled"
        self.call(hook, include=(name,), app=self.app, name=name)

    def _check_and_save(self, name: str, enabled: bool, current: set[str]) -> None:
        """Inside the lock: refuse a change that breaks a requirement, else store it."""
        if enabled:
            missing = [req for req in self.infos[name].requires if req not in current]
            if missing:
                needed = ", ".join(missing)
                raise PluginError(_("%(name)s needs %(needed)s: enable %(needed)s first", name=name, needed=needed),
                                  kind="needs", plugin=name, others=tuple(missing))
            current.add(name)
        else:
            dependants = [other for other in current if name in self.infos[other].requires]
            if dependants:
                names = ", ".join(sorted(dependants))
                raise PluginError(_("%(names)s needs %(name)s: disable %(names)s first", names=names, name=name),
                                  kind="needed_by", plugin=name, others=tuple(sorted(dependants)))
            current.discard(name)
        PluginState.insert(name=name, enabled=enabled).on_conflict(
            conflict_target=[PluginState.name],
            update={PluginState.enabled: enabled, PluginState.changed_at: PluginState.changed_at.default()},
        ).execute()

    # -- hook calls ------------------------------------------------------------------------

    def call(self, hook_name: str, include: tuple[str, ...] = (), **kwargs) -> list:
        """Call a hook on every enabled plugin (and those in include); return their results."""
        active = self.enabled() | frozenset(include)
        skip = frozenset(self.infos) - active
        return self._caller(hook_name, skip)(**kwargs)

    def call_each(self, hook_name: str, enabled_only: bool = False, **kwargs) -> list[tuple[str, object]]:
        """Call a hook plugin by plugin, returning (plugin name, result) pairs.

        Registration hooks use this with enabled_only=False: blueprints, tasks and migrations of
        every installed plugin are registered once, and guarded at dispatch instead.
        """
        names = [name for name in self.infos if not enabled_only or name in self.enabled()]
        results = []
        for name in names:
            caller = self._caller(hook_name, frozenset(self.infos) - {name})
            outcome = caller(**kwargs)
            results.extend((name, item) for result in _as_list(outcome) for item in _as_list(result))
        return results

    def _caller(self, hook_name: str, skip: frozenset[str]):
        key = (hook_name, skip)
        if key not in self._subset_callers:
            plugins = [self.pm.get_plugin(name) for name in skip]
            self._subset_callers[key] = self.pm.subset_hook_caller(hook_name, remove_plugins=plugins)
        return self._subset_callers[key]

    def call_plugin(self, hook_name: str, name: str, **kwargs):
        """Call one plugin's implementation of a hook and no other's (None if it has none)."""
        if name not in self.infos:
            return None
        return self._caller(hook_name, frozenset(self.infos) - {name})(**kwargs)

    def collect(self, hook_name: str, **kwargs) -> list:
        """Call a hook on enabled plugins and flatten the lists they return into one list."""
        return [item for result in self.call(hook_name, **kwargs) for item in _as_list(result)]


def get_registry(app=None) -> PluginRegistry:
    from flask import current_app

    return (app or current_app).extensions["redumbrella.plugins"]


def _as_list(value) -> list:
    """Hooks return one value, a list (or tuple, or generator), or None; treat them all as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | GeneratorType) else [value]


@contextmanager
def _state_lock():
    """One plugin change at a time, so two admins cannot leave alerts on with reporting off."""
    from core.db import db, is_sqlite

    with db.atomic():  # on SQLite this already holds the write lock (BEGIN IMMEDIATE, core.db)
        if not is_sqlite():
            db.execute_sql("LOCK TABLE plugin_state IN SHARE ROW EXCLUSIVE MODE")
        yield
