#!/usr/bin/env python3
"""Keep the translation catalogs in step with the code: core in locales/, each plugin in its own.

    python scripts/i18n.py extract   write messages.pot for core and <plugin>.pot for each plugin
    python scripts/i18n.py update [LANG]  merge new strings into every (or one) language's .po
    python scripts/i18n.py compile   build the .mo files (pip install does this too)
    python scripts/i18n.py init LANG add a language to every catalog
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]


def catalogs():
    """(source folder, catalog folder, domain) for core and each plugin."""
    yield ROOT / "core", ROOT / "locales", "messages"
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if (plugin / "hooks.py").exists():
            yield plugin, plugin / "translations", plugin.name


def pybabel(*args) -> None:
    subprocess.run([*PYBABEL, *map(str, args)], check=True, cwd=ROOT)  # noqa: S603


def languages(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / "LC_MESSAGES").is_dir()) if folder.exists() else []


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    for source, folder, domain in catalogs():
        pot = folder / f"{domain}.pot"
        folder.mkdir(exist_ok=True)
        if command == "extract":
            pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
                    "--sort-output", "--omit-header", "-o", pot, source.relative_to(ROOT))
        elif command == "update":
            wanted = sys.argv[2:] or languages(folder)
            for lang in [code for code in languages(folder) if code in wanted]:
                # Keep each catalog's header: without it babel takes the catalog as fuzzy and skips it.
                pybabel("update", "-D", domain, "-i", pot, "-d", folder, "-l", lang, "--no-fuzzy-matching",
                        "--ignore-obsolete")  # a removed string goes; git keeps its history
        elif command == "compile":
            if languages(folder):
                pybabel("compile", "-D", domain, "-d", folder)
        elif command == "init" and len(sys.argv) == 3:
            pybabel("init", "-D", domain, "-i", pot, "-d", folder, "-l", sys.argv[2])
        else:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
