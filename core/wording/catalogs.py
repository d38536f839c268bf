"""The shipped messages: every msgid of core and of each plugin, and its text in a language.

Which messages exist comes from each domain's template (`messages.pot`, `<plugin>.pot`, installed
with the release; the compiled catalogs of every language are read too, for a domain shipped
without its template). The shipped text in a language comes from the compiled catalog (`.mo`)
the running app reads, found the way it finds it, with the same fallback: a plugin's message that
its own catalog lacks is looked up in core's, then it is the English text.
"""

from __future__ import annotations

import functools
import gettext
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

CORE_DOMAIN = "messages"
ENGLISH_PLURALS = (2, "(n != 1)")  # what babel's translations use when a language has no catalog
EXAMPLE_RANGE = (*range(0, 1001), 10**6, 2 * 10**6, 10**9)  # some rules set millions apart


def message_key(domain: str, context: str, msgid: str) -> str:
    """A fixed-length key for a message: its domain, context and msgid, hashed."""
    return hashlib.sha256(f"{domain}\x00{context}\x00{msgid}".encode()).hexdigest()


@dataclass(frozen=True)
class Source:
    """A translation domain and where its catalogs are."""

    domain: str
    directory: Path
    owner: str  # "core" or the plugin's name
    label: object = field(compare=False)  # the module's (lazy) label, for the pages


@dataclass(frozen=True)
class Plurals:
    """A language's plural rule, as its compiled catalog declares it."""

    count: int
    expr: str

    @functools.cached_property
    def rule(self):
        return gettext.c2py(self.expr)

    def index(self, n: int) -> int:
        return self.rule(n)

    @functools.cached_property
    def examples(self) -> tuple[tuple[int, ...], ...]:
        """For each form, the first few numbers that use it (shown beside each form's field)."""
        found: list[list[int]] = [[] for _ in range(self.count)]
        for n in EXAMPLE_RANGE:
            index = self.index(n)
            if 0 <= index < self.count and len(found[index]) < 4:
                found[index].append(n)
        return tuple(tuple(numbers) for numbers in found)


@dataclass(frozen=True)
class Message:
    domain: str
    context: str  # "" when none
    msgid: str
    msgid_plural: str | None
    shipped: tuple[str, ...]  # what the release shows in the language: one text, or one per plural form
    translated: bool  # False: the shipped text is the English one

    @property
    def key(self) -> str:
        return message_key(self.domain, self.context, self.msgid)

    @property
    def plural(self) -> bool:
        return self.msgid_plural is not None

    @property
    def sources(self) -> tuple[str, ...]:
        """The English texts, whose placeholders and tags an override must keep."""
        return (self.msgid,) if self.msgid_plural is None else (self.msgid, self.msgid_plural)


def sources(app) -> list[Source]:
    """Core's domain, then each installed plugin's (enabled or not)."""
    from core.i18n import CORE_LOCALES
    from core.plugins import get_registry

    registry = get_registry(app)
    core_label = registry.infos["core"].label if "core" in registry.infos else "Core"
    found = [Source(CORE_DOMAIN, CORE_LOCALES, "core", core_label)]
    for owner, domain in app.extensions.get("redumbrella.domains", {}).items():
        found.append(Source(domain.name, Path(domain.directory), owner, registry.infos[owner].label))
    return found


def source_for(app, domain: str) -> Source | None:
    return next((source for source in sources(app) if source.domain == domain), None)


def _mo_path(directory: Path, domain: str, locale: str) -> Path | None:
    """The compiled catalog the running app reads for this language (gettext.find, as babel does)."""
    found = gettext.find(domain, str(directory), [locale])
    return Path(found) if found else None


def _stamp(path: Path | None) -> int:
    try:
        return path.stat().st_mtime_ns if path else 0
    except OSError:
        return 0


@functools.lru_cache(maxsize=64)
def _read_template(path: str, _stamp: int) -> dict[tuple[str, str], str | None]:
    """{(context, msgid): msgid_plural or None} of a .pot or .po file."""
    with open(path, "rb") as handle:
        catalog = read_po(handle)
    return {(message.context or "", message.id[0] if isinstance(message.id, tuple | list) else message.id):
            (message.id[1] if isinstance(message.id, tuple | list) else None)
            for message in catalog if message.id}


@functools.lru_cache(maxsize=256)
def _read_compiled(path: str, _stamp: int):
    """(messages, plurals) of a .mo file: {(context, msgid): (msgid_plural, forms)} of the
    translated messages, and its plural rule."""
    with open(path, "rb") as handle:
        catalog = read_mo(handle)
    found = {}
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(message.string) if isinstance(message.string, tuple | list) else (message.string,)
            if any(forms):
                found[(message.context or "", message.id[0])] = (message.id[1], forms)
        elif message.string:
            found[(message.context or "", message.id)] = (None, (message.string,))
    return found, Plurals(catalog.num_plurals, catalog.plural_expr)


def _compiled(directory: Path, domain: str, locale: str):
    path = _mo_path(directory, domain, locale)
    if path is None:
        return None
    return _read_compiled(str(path), _stamp(path))


def _msgids(source: Source) -> dict[tuple[str, str], str | None]:
    """Every message of a domain: its template, else whatever its compiled catalogs hold."""
    template = source.directory / f"{source.domain}.pot"
    if template.is_file():
        return _read_template(str(template), _stamp(template))
    found: dict[tuple[str, str], str | None] = {}
    for mo in sorted(source.directory.glob(f"*/LC_MESSAGES/{source.domain}.mo")):
        messages, _plurals = _read_compiled(str(mo), _stamp(mo))
        for key, (plural, _forms) in messages.items():
            found.setdefault(key, plural)
    return found


def plurals(source: Source, locale: str) -> Plurals:
    """The plural rule the running app uses for this domain and language."""
    from core.i18n import CORE_LOCALES

    own = _compiled(source.directory, source.domain, locale)
    if own is not None:
        return own[1]
    core = _compiled(CORE_LOCALES, CORE_DOMAIN, locale)
    return core[1] if core is not None else Plurals(*ENGLISH_PLURALS)


def messages(source: Source, locale: str) -> dict[str, Message]:
    """{key: Message} of a domain in a language."""
    from core.i18n import CORE_LOCALES

    own_path = _mo_path(source.directory, source.domain, locale)
    core_path = _mo_path(CORE_LOCALES, CORE_DOMAIN, locale) if source.domain != CORE_DOMAIN else None
    template = source.directory / f"{source.domain}.pot"
    return _messages(source, locale, _stamp(own_path), _stamp(core_path), _stamp(template))


@functools.lru_cache(maxsize=64)
def _messages(source: Source, locale: str, *_stamps) -> dict[str, Message]:
    from core.i18n import CORE_LOCALES

    own = _compiled(source.directory, source.domain, locale)
    core = _compiled(CORE_LOCALES, CORE_DOMAIN, locale) if source.domain != CORE_DOMAIN else None
    rule = plurals(source, locale)
    found: dict[str, Message] = {}
    for (context, msgid), msgid_plural in _msgids(source).items():
        shipped = None
        for catalog in (own, core):
            if catalog is not None and (context, msgid) in catalog[0]:
                shipped = catalog[0][(context, msgid)][1]
                break
        translated = shipped is not None
        if shipped is None:  # gettext's own fallback: the English singular for 1, the plural otherwise
            if msgid_plural is None:
                shipped = (msgid,)
            else:
                shipped = tuple(msgid if 1 in numbers else msgid_plural for numbers in rule.examples)
        message = Message(source.domain, context, msgid, msgid_plural, tuple(shipped), translated)
        found[message.key] = message
    return found
