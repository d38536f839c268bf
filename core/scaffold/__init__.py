"""`redumbrella new-plugin NAME`: write a new plugin's package, ready to install and test.

The files are templates in files/ (a `.tmpl` suffix, so nothing lints, tests or imports them
here); in paths and contents, @@name@@ is the plugin's name, @@NAME@@ the same in capitals,
@@package@@ its Python package (redumbrella_<name>), @@label@@ its label, @@requires_core@@ the
Red Umbrella releases it is made for and @@core_version@@ this release. In paths, PACKAGE and NAME
stand for the package and the name. What comes out follows docs/writing-a-plugin.md, and
tests/test_scaffold.py installs it and runs its own tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from core import __version__

FILES = Path(__file__).resolve().parent / "files"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,29}$")
# Names a plugin cannot take: core's own and its pages'; `redumbrella new-plugin` adds the names
# of core's commands, which a plugin's command group would hide.
RESERVED = frozenset({
    "core", "api", "admin", "account", "static", "db", "users", "plugins", "keys", "audit", "retention",
    "demo", "init", "serve", "worker", "backup", "restore",
})


class ScaffoldError(Exception):
    """What is wrong with the name or the folder, in one line."""


@dataclass(frozen=True)
class Scaffold:
    name: str
    label: str
    package: str
    root: Path
    files: tuple[Path, ...]


def compatible_releases(version: str = __version__) -> str:
    """The specifier a new plugin starts with: this release's series (">=0.2,<0.3" for 0.2.x;
    ">=1.4,<2" from 1.0 on, when only a major release may break plugins)."""
    parsed = Version(version)
    major, minor = parsed.major, parsed.minor
    if major == 0:
        return f">=0.{minor},<0.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def check_name(name: str, taken: frozenset[str] = frozenset()) -> str:
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"{name!r} cannot be a plugin's name: use 2 to 30 lower-case letters and digits, starting with a "
            "letter (it becomes the start of its tables, permissions and pages: vanlog_entry, vanlog.use, /vanlog/)"
        )
    if name in RESERVED | taken:
        raise ScaffoldError(f"{name!r} is taken by Red Umbrella itself: choose another name")
    return name


def write(name: str, directory: Path, label: str | None = None, taken: frozenset[str] = frozenset()) -> Scaffold:
    """Write the package for plugin `name` into directory/redumbrella-<name>; never overwrite.
    `taken`: more names it may not have (core's commands)."""
    check_name(name, taken)
    label = (label or name.capitalize()).strip()
    if not label or any(char in label for char in '"\\@\n\r'):
        raise ScaffoldError("the label must be one line, without quotes, backslashes or @")
    package = f"redumbrella_{name}"
    root = Path(directory) / f"redumbrella-{name}"
    if root.exists():
        raise ScaffoldError(f"{root} already exists: choose another --dir, or move it away first")
    values = {
        "@@name@@": name,
        "@@NAME@@": name.upper(),
        "@@package@@": package,
        "@@label@@": label,
        "@@requires_core@@": compatible_releases(),
        "@@core_version@@": __version__,
    }
    written = []
    for template in sorted(FILES.rglob("*.tmpl")):
        relative = template.relative_to(FILES).with_suffix("")  # drop .tmpl
        parts = [package if part == "PACKAGE" else part.replace("NAME", name) for part in relative.parts]
        target = root.joinpath(*parts)
        text = template.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return Scaffold(name, label, package, root, tuple(written))
