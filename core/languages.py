"""The languages Red Umbrella ships: their names, whether a native speaker has reviewed each one,
and how much of each catalog is translated.

locales/languages.toml says, for every language with catalogs, whether a native speaker has
reviewed it (and who, and when), which way it is written and which glossary it follows. The admin
page /admin/languages (core/views/languages.py) shows that to administrators only, and
docs/translating.md carries the same facts as a table, written by `python -m core.languages docs`
and checked by tests/test_languages.py.

How complete a catalog is: the messages of the domain's template (.pot, every string in the
code) that the shipped catalog of the language translates, not fuzzy and with every plural form
filled in. The catalog counted is the .po beside the compiled .mo the running app reads (found as
the app finds it); a language with no compiled catalog counts as not ready, since its pages show
English. The .po is read rather than the .mo because compiling fills an empty plural form with
the English and leaves fuzzy entries out without a trace.
"""

from __future__ import annotations

import datetime
import functools
import gettext
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from core.i18n import CORE_LOCALES

LANGUAGES_FILE = CORE_LOCALES / "languages.toml"
CORE_DOMAIN = "messages"
DIRECTIONS = ("ltr", "rtl")
DOCS_PAGE = CORE_LOCALES.parent / "docs" / "translating.md"
TABLE_START = "<!-- languages table: written by `python -m core.languages docs` from locales/languages.toml -->"
TABLE_END = "<!-- end of languages table -->"


class LanguagesFileError(ValueError):
    """locales/languages.toml is missing or says something that cannot be right."""


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in English, for the docs; pages use core.i18n.language_name (the language's own name)
    direction: str = "ltr"
    source: bool = False  # English: the text is written in it
    glossary: str = ""  # a path under docs/, such as docs/glossary/es.md
    reviewed: bool = False
    reviewed_by: str = ""
    reviewed_on: datetime.date | None = None


def _stamp(path: Path | None) -> int:
    try:
        return path.stat().st_mtime_ns if path else 0
    except OSError:
        return 0


def load(path: Path | None = None) -> dict[str, Language]:
    """{code: Language}, in the file's order (locales/languages.toml unless told). Read again when
    the file changes."""
    path = LANGUAGES_FILE if path is None else Path(path)
    return _load(str(path), _stamp(path))


@functools.lru_cache(maxsize=4)
def _load(path: str, _stamp: int) -> dict[str, Language]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise LanguagesFileError(f"{path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LanguagesFileError(f"{path} is not valid TOML: {exc}") from None
    return {code: _language(path, code, entry) for code, entry in data.items()}


_FIELDS = {"name": str, "direction": str, "source": bool, "glossary": str, "reviewed": bool,
           "reviewed_by": str, "reviewed_on": str}


def _language(path: str, code: str, entry) -> Language:
    where = f"{path} [{code}]"
    if not isinstance(entry, dict):
        raise LanguagesFileError(f"{where} must be a table of settings")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise LanguagesFileError(f"{where} has unknown settings: {', '.join(unknown)}")
    for key, kind in _FIELDS.items():
        if key in entry and not isinstance(entry[key], kind):
            raise LanguagesFileError(f"{where} {key} must be {'true or false' if kind is bool else 'text in quotes'}")
    if not entry.get("name", "").strip():
        raise LanguagesFileError(f"{where} needs a name")
    direction = entry.get("direction", "ltr")
    if direction not in DIRECTIONS:
        raise LanguagesFileError(f"{where} direction must be ltr or rtl, not {direction}")
    source = entry.get("source", False)
    if source:
        if entry.get("reviewed") or entry.get("reviewed_by") or entry.get("reviewed_on") or entry.get("glossary"):
            raise LanguagesFileError(f"{where} is the source language: it has no review or glossary")
        return Language(code, entry["name"], direction, source=True)
    for key in ("glossary", "reviewed", "reviewed_by", "reviewed_on"):
        if key not in entry:
            raise LanguagesFileError(f"{where} needs {key} (write it empty or false rather than leave it out)")
    if not entry["glossary"].startswith("docs/"):
        raise LanguagesFileError(f"{where} glossary must be a path under docs/, such as docs/glossary/{code}.md")
    reviewed, by, on = entry["reviewed"], entry["reviewed_by"].strip(), entry["reviewed_on"].strip()
    if reviewed and not (by and on):
        raise LanguagesFileError(f"{where} is reviewed: say who reviewed it (reviewed_by) and when (reviewed_on)")
    if not reviewed and (by or on):
        raise LanguagesFileError(f"{where} names a reviewer or a date but says reviewed = false")
    try:
        day = datetime.date.fromisoformat(on) if on else None
    except ValueError:
        raise LanguagesFileError(f"{where} reviewed_on must be a date written YYYY-MM-DD, not {on}") from None
    return Language(code, entry["name"], direction, glossary=entry["glossary"], reviewed=reviewed,
                    reviewed_by=by, reviewed_on=day)


def shipped() -> list[str]:
    """The codes of every language Red Umbrella ships, English first."""
    return list(load())


def language(code: str) -> Language | None:
    """What locales/languages.toml says about a language, or None when it says nothing."""
    return load().get(code)


def catalog_languages(directory: Path = CORE_LOCALES, domain: str = CORE_DOMAIN) -> list[str]:
    """Languages with a catalog (.po) for a domain: core's by default."""
    return sorted(po.parts[-3] for po in Path(directory).glob(f"*/LC_MESSAGES/{domain}.po"))


def compiled_languages(directory: Path = CORE_LOCALES, domain: str = CORE_DOMAIN) -> list[str]:
    """Languages whose catalog for a domain is compiled (.mo), so the running app can read it."""
    return sorted(mo.parts[-3] for mo in Path(directory).glob(f"*/LC_MESSAGES/{domain}.mo"))


# -- How complete each catalog is -------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    owner: str  # "core" or a plugin's name
    label: object  # the module's (lazy) label
    translated: int
    total: int
    compiled: bool  # False: no .mo for this language, so these pages show English

    @property
    def percent(self) -> int:
        """Rounded down, so a catalog with one message missing never shows 100."""
        return 100 if not self.total else self.translated * 100 // self.total


def catalog_completeness(directory: Path, domain: str, code: str) -> tuple[int, int, bool]:
    """(translated, total, compiled) of one domain in one language, from its compiled catalog
    counted against the domain's template."""
    directory = Path(directory)
    template = directory / f"{domain}.pot"
    if not template.is_file():  # a plugin shipped without its template: count what its catalog lists
        template = directory / code / "LC_MESSAGES" / f"{domain}.po"
    keys = _template_keys(str(template), _stamp(template)) if template.is_file() else frozenset()
    found = gettext.find(domain, str(directory), [code])  # the .mo the running app reads, as babel finds it
    if not found:
        return 0, len(keys), False
    catalog = Path(found).with_suffix(".po")
    if not catalog.is_file():  # installed from compiled catalogs only
        catalog = Path(found)
    translated = _translated_keys(str(catalog), _stamp(catalog))
    return len(keys & translated), len(keys), True


@functools.lru_cache(maxsize=16)
def _template_keys(path: str, _stamp: int) -> frozenset:
    with open(path, "rb") as handle:
        catalog = read_po(handle)
    return frozenset((message.context or "", _first(message.id)) for message in catalog if message.id)


@functools.lru_cache(maxsize=256)
def _translated_keys(path: str, _stamp: int) -> frozenset:
    """The messages a .po (or .mo) translates: not fuzzy, every form filled in."""
    with open(path, "rb") as handle:
        catalog = read_mo(handle) if path.endswith(".mo") else read_po(handle)
    found = set()
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.id and not message.fuzzy and all(strings):
            found.add((message.context or "", _first(message.id)))
    return frozenset(found)


def _first(msgid) -> str:
    return msgid[0] if isinstance(msgid, tuple | list) else msgid


def completeness(app, code: str) -> list[Completeness]:
    """Core's catalog and each enabled plugin's, for one language."""
    from core.plugins import get_registry

    registry = get_registry(app)
    enabled = registry.enabled()
    core_label = registry.infos["core"].label if "core" in registry.infos else "Core"
    rows = [Completeness("core", core_label, *catalog_completeness(CORE_LOCALES, CORE_DOMAIN, code))]
    for owner, domain in sorted(app.extensions.get("redumbrella.domains", {}).items()):
        if owner in enabled and owner in registry.infos:
            rows.append(Completeness(owner, registry.infos[owner].label,
                                     *catalog_completeness(domain.directory, domain.name, code)))
    return rows


# -- The table in docs/translating.md ---------------------------------------------------------


def docs_table(languages: dict[str, Language] | None = None) -> str:
    """The Markdown table of languages and their review status, as docs/translating.md has it."""
    languages = load() if languages is None else languages
    lines = ["| code | language | written | native speaker review | glossary |", "|---|---|---|---|---|"]
    for entry in languages.values():
        written = "right to left" if entry.direction == "rtl" else "left to right"
        if entry.source:
            review, glossary = "source language", "none (the text is written in English)"
        else:
            review = (f"reviewed by {entry.reviewed_by} on {entry.reviewed_on.isoformat()}" if entry.reviewed
                      else "**not yet reviewed**")
            glossary = f"[{entry.glossary}]({entry.glossary.removeprefix('docs/')})"
        lines.append(f"| `{entry.code}` | {entry.name} | {written} | {review} | {glossary} |")
    return "\n".join(lines) + "\n"


def docs_section(text: str) -> str:
    """What stands between the table's markers in a page's text ("" when they are missing)."""
    if TABLE_START not in text or TABLE_END not in text:
        return ""
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip("\n") + "\n"


def write_docs_table(page: Path = DOCS_PAGE) -> bool:
    """Put the current table between the markers in docs/translating.md; True when it changed."""
    text = page.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        raise LanguagesFileError(f"{page} has no languages table markers ({TABLE_START} ... {TABLE_END})")
    before, rest = text.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    updated = f"{before}{TABLE_START}\n{docs_table()}{TABLE_END}{after}"
    if updated != text:
        page.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: list[str]) -> int:
    """python -m core.languages table|docs: print the table, or write it into docs/translating.md."""
    command = argv[0] if argv else ""
    try:
        if command == "table":
            sys.stdout.write(docs_table())
        elif command == "docs":
            changed = write_docs_table()
            print(f"{DOCS_PAGE}: {'table updated' if changed else 'table already up to date'}")
        else:
            print(main.__doc__)
            return 2
    except LanguagesFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
