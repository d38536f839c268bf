"""Every shipped language is complete, and every catalog matches the strings in the code.

A missing translation, a fuzzy entry, a placeholder or an HTML tag that differs from the English,
or a string in the code that nobody extracted fails here, naming the catalog and the message. So
does a language with catalogs but no entry in locales/languages.toml (its review status) or no
glossary, and a glossary whose status line says something else than languages.toml.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.languages import LANGUAGES_FILE, load

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
# An HTML tag as written in a message: "<a href=\"%(url)s\">", "</strong>", "<br>". A translation
# keeps every tag of the English exactly (attributes too) and adds none: the order may change.
TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9-]*\b[^<>]*>")
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


def forms_for_one_number(plural_expr: str) -> set[int]:
    """The plural forms the catalog's rule uses for exactly one number (Arabic's "one" and "two",
    Spanish's singular), found by trying the numbers up to 2000. Not French's first form (0 and 1)."""
    rule = gettext.c2py(plural_expr)
    numbers: dict[int, list[int]] = {}
    for n in range(2000):
        numbers.setdefault(rule(n), []).append(n)
    return {form for form, found in numbers.items() if len(found) == 1}


def placeholders_kept(expected: list[str], translated: list[str], *, one_number: bool) -> bool:
    """Every placeholder of the English, no other: only a plural form used for exactly one number
    may leave out the count, %(num)d ("Un raport." rather than "1 raport.")."""
    if translated == expected:
        return True
    return one_number and sorted([*translated, "num"]) == expected


def test_the_placeholder_check_lets_only_a_one_number_form_drop_the_count():
    assert placeholders_kept(["num"], ["num"], one_number=False)
    assert placeholders_kept(["num"], [], one_number=True)
    assert not placeholders_kept(["num"], [], one_number=False), "a form for several numbers needs the count"
    assert not placeholders_kept(["name", "num"], ["num"], one_number=True), "only the count may go"
    assert not placeholders_kept(["num"], ["num", "num"], one_number=False), "no placeholder twice"
    assert not placeholders_kept(["name"], ["nome"], one_number=False), "the name is not translated"
    assert forms_for_one_number("(n != 1)") == {0}
    assert forms_for_one_number("(n > 1)") == set(), "Brazilian Portuguese's first form is for 0 and 1"
    assert forms_for_one_number("(n == 0 ? 0 : n == 1 ? 1 : n == 2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
                                "n%100>=11 ? 4 : 5)") == {0, 1, 2}


def tags(text: str) -> list[str]:
    return sorted(re.sub(r"\s+", " ", tag) for tag in TAG.findall(text))


def test_the_tag_check_sees_a_changed_missing_or_added_tag():
    english = 'Read <a href="%(url)s">the guide</a> first.'
    assert tags('Lee primero <a href="%(url)s">la guía</a>.') == tags(english)
    assert tags('<a href="%(url)s">La guía</a>: léela primero.') == tags(english), "the order may change"
    assert tags('Lee <a href="https://x.test">la guía</a>.') != tags(english), "an attribute changed"
    assert tags("Lee la guía.") != tags(english), "a tag left out"
    assert tags('Lee <a href="%(url)s"><b>la guía</b></a>.') != tags(english), "a tag added"
    assert tags("Bonjour <script>") != tags("Hello"), "a tag where the English has none"


# Languages with a catalog, by domain: every catalog of this repository ships the same ones.
SHIPPED = {(folder, domain): {po.parts[-3] for po in folder.glob(f"*/LC_MESSAGES/{domain}.po")}
           for _source, folder, domain in catalogs()}
KNOWN = load()
TRANSLATED = [code for code, entry in KNOWN.items() if not entry.source]


def test_every_catalog_ships_every_language_in_languages_toml_and_no_other():
    assert {"es", "pt_BR", "ro"} <= set(TRANSLATED), "the three first languages are still shipped"
    for (folder, domain), shipped in SHIPPED.items():
        assert shipped == set(TRANSLATED), (
            f"{folder.relative_to(ROOT)} ({domain}) has catalogs for {sorted(shipped)}, but "
            f"{LANGUAGES_FILE.relative_to(ROOT)} lists {sorted(TRANSLATED)}: add the language there "
            f"(with its review status and glossary), or run scripts/i18n.py init for the missing catalogs"
        )


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_shipped_language_has_a_review_status_and_a_glossary(code):
    entry = KNOWN[code]
    assert entry.glossary == f"docs/glossary/{code}.md", f"{code}: the glossary goes in docs/glossary/{code}.md"
    glossary = ROOT / entry.glossary
    assert glossary.is_file(), f"{code}: no glossary at {entry.glossary} (docs/translating.md says what goes in it)"
    text = glossary.read_text(encoding="utf-8")
    status = next((line for line in text.splitlines() if line.startswith("> Status:")), "")
    assert status, f"{entry.glossary}: the glossary starts with a '> Status:' line saying who reviewed it"
    says_unreviewed = "not yet reviewed by a native speaker" in status
    assert says_unreviewed != entry.reviewed, (
        f"{entry.glossary} says {status!r}, but languages.toml says reviewed = {str(entry.reviewed).lower()}"
    )
    rows = [line for line in text.splitlines() if re.match(r"\|\s*sex workers?\b", line)]
    assert rows, f"{entry.glossary}: the table has no row for 'sex worker' (the word the community uses)"


@pytest.mark.parametrize("po", [po for po, _ in PO_FILES], ids=lambda p: str(p.relative_to(ROOT)))
def test_catalog_is_complete_and_keeps_placeholders(po):
    catalog = read(po)
    assert not catalog.fuzzy, f"{po}: the header is missing or fuzzy, so the catalog would not compile"
    single = forms_for_one_number(catalog.plural_expr)
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
        for form, translated in enumerate(strings):
            if not placeholders_kept(expected, names(translated), one_number=len(ids) > 1 and form in single):
                problems.append(f"placeholders differ: {ids[0]!r} -> {translated!r}")
            if tags(translated) != tags(ids[-1]):
                problems.append(f"HTML tags differ: {ids[0]!r} -> {translated!r}")
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
