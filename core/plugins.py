"""The plugin registry: finds plugins, knows which are enabled, and calls their hooks.

Every installed plugin is loaded at start-up. Whether it is enabled is data (the plugin_state
table), read once per request and once per task, so every web and queue worker follows a change
without a restart. Hooks are only ever called through this registry, which skips disabled plugins.

Loading also checks what can be checked before anything runs (docs/writing-a-plugin.md): the core
versions a plugin supports (requires_core), the plugins it requires, and the naming rules (its
blueprints, permissions and tables start with its name). It fills in what a plugin leaves out by
convention: the migrations/, translations/ and templates/ folders beside its hooks module.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from types import GeneratorType, ModuleType

import pluggy
from flask import g, has_request_context
from flask_babel import gettext as _
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from core import __version__ as CORE_VERSION
from core import hookspecs, stored_state
from core.config import ConfigError
from core.db import db, run_sql
from core.models import PluginState

log = logging.getLogger("redumbrella.plugins")

ENTRY_POINT_GROUP = "redumbrella.plugins"
CORE = "core"
CORE_DISTRIBUTION = "redumbrella"


@dataclass(frozen=True)
class PluginInfo:
    """What a plugin says about itself, as `plugin_info` in its hooks module.

    The folders are found by convention beside the hooks module (the folder that holds it): a
    relative path is taken from there, an absolute one as it is, and None means the plugin has
    none. A plugin that implements register_migrations or register_translations itself is taken at
    its word instead.
    """

    name: str
    label: object  # a lazy string, translated when shown
    description: object = ""
    requires: tuple[str, ...] = ()
    # A plugin module may define hookspecs for events other plugins implement (report_verified).
    hookspecs: ModuleType | None = field(default=None, compare=False)
    # Empty: the version of the distribution that installed it (its pyproject.toml's version).
    version: str = ""
    # The Red Umbrella releases it works with, as a PEP 440 specifier (">=0.2,<0.3"); empty: any.
    requires_core: str = ""
    migrations: str | Path | None = "migrations"
    translations: str | Path | None = "translations"
    templates: str | Path | None = "templates"


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


class PluginLoadError(PluginError, ConfigError):
    """An installed plugin that cannot be loaded: start-up stops with this one line (the CLI and
    core.wsgi print it as they print a configuration error)."""


class PluginNameError(PluginLoadError, ValueError):
    """A plugin's blueprint, permission or table is not named after it."""


class PluginRegistry:
    def __init__(self, app, extra_plugins: tuple[ModuleType, ...] = ()):
        self.app = app
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.modules: dict[str, ModuleType] = {}
        found = [(self._core_module(), CORE_VERSION)]
        found += [(_load(ep), _distribution_version(ep)) for ep in self._entry_points()]
        found += [(module, "") for module in extra_plugins]
        for module, installed_version in found:
            info = getattr(module, "plugin_info", None)
            if not isinstance(info, PluginInfo):
                raise PluginLoadError(f"{module.__name__} is installed as a plugin but has no PluginInfo "
                                      "named plugin_info")
            if info.name in self.infos:
                raise PluginLoadError(f"two plugins are called {info.name}")
            info = replace(info, version=info.version or installed_version)
            _check_core_version(info)
            if info.hookspecs is not None:
                self.pm.add_hookspecs(info.hookspecs)
            self.infos[info.name] = info
            self.modules[info.name] = module
        for name, module in self.modules.items():
            self.pm.register(module, name=name)
        for info in self.infos.values():
            missing = [name for name in info.requires if name not in self.infos]
            if missing:
                raise PluginLoadError(f"plugin {info.name} requires {', '.join(missing)}, which is not installed")
        # A hook implementation whose name matches no hookspec (a typo) fails here, at start-up.
        self.pm.check_pending()
        self._subset_callers: dict = {}
        self.blueprint_owners: dict[str, str] = {}
        self.packages = _own_packages(self.modules)

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
        """Names of enabled plugins (core included), read once per request (core.stored_state)."""
        if not has_request_context():
            return self._read_enabled()
        here = g._get_current_object()
        names = here.get("enabled_plugins")
        if names is None:
            state = stored_state.current()
            names = (frozenset({CORE} | {name for name in state.enabled if name in self.infos})
                     if state is not None else self._read_enabled())
            here.enabled_plugins = names
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
            stored_state.forget()
            g.enabled_plugins = frozenset(current)
        from core.audit import record

        record("plugin.enabled" if enabled else "plugin.disabled", target=f"plugin:{name}")
        hook = "plugin_enabled" if enabled else "plugin_disabled"
        self.notify(hook, include=(name,), app=self.app, name=name)

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

    def notify(self, hook_name: str, include: tuple[str, ...] = (), **kwargs) -> None:
        """Tell every enabled plugin (and those in include) that something happened, one at a time.

        For events whose change is already made (a report committed, a module turned on): one
        plugin's failure is logged by type and place, the others are still told, and the caller goes
        on, so a module's bug never costs a reporter the receipt of a report that was kept. Inside a
        transaction each plugin gets a savepoint, so its failed statement does not spoil the rest.
        """
        for plugin in sorted(self.enabled() | frozenset(include)):
            tell = self._caller(hook_name, frozenset(self.infos) - {plugin})
            try:
                if db.in_transaction():
                    with db.atomic():
                        tell(**kwargs)
                else:
                    tell(**kwargs)
            except Exception:  # noqa: BLE001  # logged; the event's change stands
                log.exception("hook failed", extra={"event": "hook_failed", "plugin": plugin, "reason": hook_name})

    def call_each(self, hook_name: str, enabled_only: bool = False, **kwargs) -> list[tuple[str, object]]:
        """Call a hook plugin by plugin, returning (plugin name, result) pairs.

        Registration hooks use this with enabled_only=False: blueprints, tasks and migrations of
        every installed plugin are registered once, and guarded at dispatch instead.
        """
        names = [name for name in self.infos if not enabled_only or name in self.enabled()]
        results = []
        for name in names:
            caller = self._caller(hook_name, frozenset(self.infos) - {name})
            items = [item for result in _as_list(caller(**kwargs)) for item in _as_list(result)]
            if hook_name in _CONVENTIONS and not self.implements(hook_name, name):
                items.extend(_as_list(_CONVENTIONS[hook_name](self, name)))
            if hook_name in _NAMING_RULES and name != CORE:
                for item in items:
                    _NAMING_RULES[hook_name](name, item)
            if hook_name == "register_blueprints":
                items.extend(self._templates_blueprint(name, items))
            results.extend((name, item) for item in items)
        return results

    def implements(self, hook_name: str, name: str) -> bool:
        """Whether plugin `name` has its own implementation of a hook."""
        return any(impl.plugin_name == name for impl in getattr(self.pm.hook, hook_name).get_hookimpls())

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

    # -- conventions and naming rules ------------------------------------------------------------

    def folder(self, name: str, kind: str) -> Path | None:
        """A plugin's migrations, translations or templates folder, if it has one.

        PluginInfo's field names it: relative to the folder of the plugin's hooks module, or
        absolute. None when the field is None, the folder does not exist, or the plugin has no
        package of its own (a module shared with other plugins, or made in memory by a test).
        """
        wanted = getattr(self.infos[name], kind)
        if wanted is None or name == CORE:  # core's own folders are its business
            return None
        path = Path(wanted)
        if not path.is_absolute():
            package = self.packages.get(name)
            if package is None:
                return None
            path = package[1] / path
        return path if path.is_dir() else None

    def _templates_blueprint(self, name: str, blueprints: list) -> list:
        """A blueprint without routes that adds the plugin's templates/ folder to the search path,
        unless one of its own blueprints already does."""
        from flask import Blueprint

        if name == CORE:
            return []
        folder = self.folder(name, "templates")
        if folder is None:
            return []
        for blueprint in blueprints:
            own = Path(blueprint.root_path, blueprint.template_folder) if blueprint.template_folder else None
            if own is not None and own.resolve() == folder.resolve():
                return []
        return [Blueprint(f"{name}_templates", self.modules[name].__name__, template_folder=str(folder))]

    def check_tables(self) -> None:
        """Every model defined in a plugin's package has a table named <plugin>_...

        Called once the app's blueprints are registered (core.app), when a plugin's views have
        imported its models; a package's `models` module is imported here if it was not yet.
        """
        from core.db import BaseModel

        for name, (package, _folder) in self.packages.items():
            if name != CORE and importlib.util.find_spec(f"{package}.models") is not None:
                importlib.import_module(f"{package}.models")
        for model in _subclasses(BaseModel):
            owner = self._owner_of_module(model.__module__)
            if owner is not None and owner != CORE:
                _check_table(owner, model._meta.table_name, model.__name__)

    def _owner_of_module(self, module_name: str) -> str | None:
        for name, module in self.modules.items():
            if module_name == module.__name__:
                return name
        for name, (package, _folder) in self.packages.items():
            if module_name.startswith(f"{package}."):
                return name
        return None


def _load(entry_point) -> ModuleType:
    """Import one installed plugin. A plugin that cannot be imported (a missing dependency, a bug)
    stops start-up with one line naming it and the way back, not a traceback: it may be one that
    guards something (training's partner gate), so the site does not run without it."""
    try:
        return entry_point.load()
    except Exception as exc:  # noqa: BLE001  # any import-time failure is this plugin's
        dist = getattr(entry_point, "dist", None)
        distribution = (dist.metadata["Name"] if dist is not None else "") or entry_point.value.partition(".")[0]
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        way_back = ("reinstall Red Umbrella" if distribution.lower() == CORE_DISTRIBUTION
                    else f"fix it, or remove it with `pip uninstall {distribution}`")
        raise PluginLoadError(f"plugin {entry_point.name} could not be loaded ({reason}): {way_back}, "
                              "then start again") from exc


def _distribution_version(entry_point) -> str:
    """The version of the distribution an entry point comes from; core's own for built-in plugins
    (read from core, so an editable install that was not reinstalled still says the truth)."""
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return ""
    if (dist.metadata["Name"] or "").lower() == CORE_DISTRIBUTION:
        return CORE_VERSION
    return dist.version or ""


def _check_core_version(info: PluginInfo) -> None:
    """Stop start-up when a plugin says it does not work with this release of Red Umbrella."""
    if not info.requires_core or info.name == CORE:
        return
    try:
        supported = SpecifierSet(info.requires_core)
    except InvalidSpecifier:
        raise PluginLoadError(
            f"plugin {info.name} {info.version}: requires_core {info.requires_core!r} is not a version "
            f"specifier such as '>=0.2,<0.3'"
        ) from None
    try:
        running = Version(CORE_VERSION)
    except InvalidVersion:  # pragma: no cover - core's own version is a literal
        return
    if not supported.contains(running, prereleases=True):
        raise PluginLoadError(
            f"plugin {info.name} {info.version or '(no version)'} works with Red Umbrella {info.requires_core}, "
            f"but this is Red Umbrella {CORE_VERSION}: install a release of {info.name} made for "
            f"{CORE_VERSION}, or remove it"
        )


def _own_packages(modules: dict[str, ModuleType]) -> dict[str, tuple[str, Path]]:
    """{plugin: (package name, its folder)} for each plugin whose hooks module sits in a package
    of its own (the package itself, or its `hooks` module); conventions and the table check apply
    to those only. A single-file plugin (tests/fixtures/x_plugin.py) owns no package: the folder it
    sits in holds other code."""
    candidates: dict[str, tuple[str, Path]] = {}
    for name, module in modules.items():
        file = getattr(module, "__file__", None)
        if not hasattr(module, "__path__") and module.__name__.rpartition(".")[2] != "hooks":
            continue
        package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
        if file and package:
            candidates[name] = (package, Path(file).resolve().parent)
    shared = {package for package, _folder in candidates.values()
              if sum(1 for other, _f in candidates.values() if other == package) > 1}
    return {name: found for name, found in candidates.items() if found[0] not in shared}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _default_migrations(registry: PluginRegistry, name: str):
    return registry.folder(name, "migrations") if name != CORE else None


def _default_translations(registry: PluginRegistry, name: str):
    """The PluginDomain named `domain` in the plugin's package (its __init__.py), or a new one for
    its translations/ folder."""
    from core.i18n import PluginDomain

    if name == CORE:
        return None
    folder = registry.folder(name, "translations")
    if folder is None:
        return None
    package = registry.packages[name][0]
    existing = getattr(sys.modules.get(package), "domain", None)
    if isinstance(existing, PluginDomain) and existing.name == name:
        return existing
    return PluginDomain(name, folder)


# register_* hooks a plugin may leave out: core then finds what they would return by convention.
_CONVENTIONS = {"register_migrations": _default_migrations, "register_translations": _default_translations}


def _check_blueprint(owner: str, blueprint) -> None:
    if blueprint.name != owner and not blueprint.name.startswith(f"{owner}_"):
        raise PluginNameError(f"plugin {owner} registers blueprint {blueprint.name}: name it {owner} or {owner}_...")


def _check_permission(owner: str, permission) -> None:
    if not permission.name.startswith(f"{owner}."):
        raise PluginNameError(
            f"plugin {owner} defines permission {permission.name}: name it {owner}.<action>")


def _check_table(owner: str, table: str, model: str) -> None:
    if not table.startswith(f"{owner}_"):
        raise PluginNameError(f"plugin {owner} has model {model} with table {table}: name it {owner}_...")


def _check_mail_kind(owner: str, kind) -> None:
    if not kind.name.startswith(f"{owner}_"):
        raise PluginNameError(f"plugin {owner} declares mail kind {kind.name}: name it {owner}_<what>")


_NAMING_RULES = {"register_blueprints": _check_blueprint, "register_permissions": _check_permission,
                 "register_mail_kinds": _check_mail_kind}


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
