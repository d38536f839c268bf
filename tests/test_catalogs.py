"""Every shipped language is complete, and every catalog matches the strings in the code.

A missing translation, a fuzzy entry, a placeholder that differs from the English, or a string in
the code that nobody extracted fails here, naming the catalog and the message.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]


def catalogs():
    """(source folder, catalog folder, domain) for core and each plugin, like scripts/i18n.py."""
    yield ROOT / "core", ROOT / "locales", "messages"
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if (plugin / "hooks.py").exists():
            yield plugin, plugin / "translations", plugin.name


PO_FILES = sorted(
    (po, source) for source, folder, domain in catalogs() for po in folder.glob(f"*/LC_MESSAGES/{domain}.po")
)


def read(po: Path):
    with po.open("rb") as handle:
        return read_po(handle)


def names(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_every_catalog_ships_the_three_required_languages():
    for _source, folder, domain in catalogs():
        shipped = {po.parts[-3] for po in folder.glob(f"*/LC_MESSAGES/{domain}.po")}
        assert {"es", "pt_BR", "ro"} <= shipped, (folder, shipped)


@pytest.mark.parametrize("po", [po for po, _ in PO_FILES], ids=lambda p: str(p.relative_to(ROOT)))
def test_catalog_is_complete_and_keeps_placeholders(po):
    catalog = read(po)
    assert not catalog.fuzzy, f"{po}: the header is missing or fuzzy, so the catalog would not compile"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        expected = names(ids[-1])
        for translated in strings:
            if names(translated) != expected and not (len(ids) > 1 and set(names(translated)) <= set(expected)):
                problems.append(f"placeholders differ: {ids[0]!r} -> {translated!r}")
    assert not problems, f"{po}:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("source,folder,domain", list(catalogs()), ids=lambda v: getattr(v, "name", str(v)))
def test_every_string_in_the_code_is_in_the_catalogs(source, folder, domain):
    in_code = {
        (message if isinstance(message, str) else message[0])
        for _file, _line, message, _comments, _context in extract_from_dir(
            source, METHODS, keywords=KEYWORDS, options_map={"**/templates/**": {"extensions": "jinja2.ext.i18n"}}
        )
    }
    for po in folder.glob(f"*/LC_MESSAGES/{domain}.po"):
        in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in read(po) if m.id}
        missing = sorted(in_code - in_catalog)
        assert not missing, f"{po} lacks {len(missing)} string(s) from the code (run scripts/i18n.py extract and " \
                            f"update, then translate): {missing[:10]}"
