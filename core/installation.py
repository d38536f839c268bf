"""What the Python environment must hold for Red Umbrella, checked at start-up with one clear line.

Drivers. The PostgreSQL and Redis drivers are extras, so an instance on SQLite installs neither:
`pip install 'redumbrella[postgres]'` (psycopg2) and `'redumbrella[redis]'` (redis). A
configuration that names a PostgreSQL database or a Redis queue without its driver stops start-up
naming the extra to install (check_drivers, from core.config), instead of failing at the first
connection with a library's own words.

Top-level names. The distribution installs its repository's folders as the packages `core`,
`plugins` and `locales`. Those names are generic, and Python has one namespace for every
distribution in an environment: another distribution shipping a `core` or `plugins` package
would write into the same folders, and whichever was imported would be half of one and half of
the other. Renaming them on install (a `redumbrella_` prefix through package_dir) would break
every `import core...` in the code, the plugins and their tests, so the names stay, and
check_top_level_names() makes sure no other installed distribution claims them: one that does
stops start-up, named, with the remedy (a virtual environment of Red Umbrella's own, as
docs/deployment.md installs it). Plugins of other authors have top-level packages of their own
(`redumbrella_dropins`), never a module inside `plugins`.
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import packages_distributions
from urllib.parse import urlparse

from core.config import ENV_PREFIX, ConfigError

DISTRIBUTION = "redumbrella"
TOP_LEVEL = ("core", "plugins", "locales")
# extra: (what needs it, the module its driver provides)
DRIVERS = {"postgres": ("a PostgreSQL database", "psycopg2"), "redis": ("a Redis queue", "redis")}


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def missing_driver(extra: str) -> str:
    """The one line that says which extra to install."""
    needs, module = DRIVERS[extra]
    setting = "DATABASE_URL" if extra == "postgres" else "REDIS_URL"
    return (f"{ENV_PREFIX}_{setting} asks for {needs}, but its driver ({module}) is not installed: "
            f"pip install '{DISTRIBUTION}[{extra}]'")


def check_drivers(config) -> None:
    """Raise ConfigError when the configured database or queue has no driver installed."""
    if urlparse(config["DATABASE_URL"]).scheme.split("+")[0] in {"postgres", "postgresql"} \
            and not _importable(DRIVERS["postgres"][1]):
        raise ConfigError(missing_driver("postgres"))
    if config["REDIS_URL"] and not _importable(DRIVERS["redis"][1]):
        raise ConfigError(missing_driver("redis"))


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@functools.cache
def foreign_owners() -> dict[str, tuple[str, ...]]:
    """Other installed distributions that ship one of Red Umbrella's top-level packages, by name.
    Read once per process (it reads every installed distribution's file list)."""
    owners = packages_distributions()
    found = {}
    for name in TOP_LEVEL:
        others = sorted({dist for dist in owners.get(name, ()) if _canonical(dist) != DISTRIBUTION})
        if others:
            found[name] = tuple(others)
    return found


def check_top_level_names() -> None:
    """Raise ConfigError when another distribution in this environment installs `core`, `plugins`
    or `locales`."""
    found = foreign_owners()
    if found:
        name, others = next(iter(found.items()))
        raise ConfigError(
            f"the Python package '{name}' belongs to Red Umbrella, but {', '.join(others)} installs one of the "
            f"same name in this environment: install Red Umbrella in a virtual environment of its own "
            f"(docs/deployment.md), or remove {', '.join(others)}"
        )
