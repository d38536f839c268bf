"""A language's local wording as a .po file: export it, import it (on the admin page or with
`redumbrella wording export|import LANG FILE`).

Each entry's msgctxt names its domain ("messages" for core, a plugin's name), then "|" and the
message's own context if it has one, because one msgid may be changed in several modules. An
imported file without that (a translator's catalog) is matched by msgid and context, core first.
An import is checked whole before anything is written: a file that cannot be read, is for
another language or has a message that breaks a placeholder or a tag is refused with every
problem listed; msgids this release does not have are reported and skipped; untranslated and
fuzzy entries are skipped; an entry equal to the shipped text removes any override.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from babel.core import UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, write_po
from flask_babel import gettext as _

from core.wording import service
from core.wording.catalogs import CORE_DOMAIN, Message, messages, plurals, sources

MAX_IMPORT_BYTES = 2 * 1024 * 1024  # every catalog of this release together is about half of it
MAX_ENTRIES = 10000
SEPARATOR = "|"


class ImportRefused(ValueError):
    """Nothing was imported; .problems says why, one sentence each (translated)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ImportPlan:
    items: list[tuple[Message, list[str]]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # msgids this release does not have (shortened)
    skipped: int = 0  # untranslated or fuzzy entries


def preview(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def export(app, locale: str) -> bytes:
    """The language's overrides as a .po file (UTF-8)."""
    core = next(source for source in sources(app) if source.domain == CORE_DOMAIN)
    rule = plurals(core, locale)
    catalog = Catalog(locale=locale, project="Red Umbrella local wording", version="1", charset="utf-8",
                      fuzzy=False, header_comment="# Local wording of this Red Umbrella instance "
                                                  "(docs/local-wording.md).\n#")
    catalog.mime_headers = [("Plural-Forms", f"nplurals={rule.count}; plural={rule.expr};")]
    for found in service.changed(app, locale):
        row = found.override
        texts = row.texts
        context = row.domain + (SEPARATOR + row.context if row.context else "")
        comments = [f"Module: {found.source.label}"]
        if found.unused:
            comments.append("No longer used by this release: kept, but shown nowhere.")
        if row.msgid_plural is None:
            catalog.add(row.msgid, texts[0], context=context, auto_comments=comments)
        else:
            catalog.add((row.msgid, row.msgid_plural), tuple(texts), context=context, auto_comments=comments)
    out = io.BytesIO()
    write_po(out, catalog, width=0, include_previous=False)
    return out.getvalue()


def _parse(data: bytes) -> Catalog:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused([_("This file is too large: a .po file of local wording can be at most %(size)d MB.",
                               size=MAX_IMPORT_BYTES // (1024 * 1024))])
    if not data.strip():
        raise ImportRefused([_("This file is empty.")])
    try:
        return read_po(io.BytesIO(data), abort_invalid=True)
    except (PoFileError, UnicodeDecodeError, UnknownLocaleError, ValueError, LookupError):
        raise ImportRefused([_("This file could not be read as a .po file. Please choose a .po file exported "
                               "from this page or saved by a translation editor.")]) from None


def _same_language(found, locale: str) -> bool:
    if found is None:
        return True
    code = str(found)
    return code == locale or ("_" not in locale and code.split("_")[0] == locale)


def _lookup(app, locale: str, context: str, msgid: str, catalogs: dict) -> Message | None:
    """The message an entry is about: by the domain its msgctxt names, else core's, else the
    first module that has it."""
    from core.wording.catalogs import message_key

    def get(domain: str, own_context: str) -> Message | None:
        if domain not in catalogs:
            return None
        return catalogs[domain].get(message_key(domain, own_context, msgid))

    head, _sep, rest = context.partition(SEPARATOR)
    if head in catalogs:
        found = get(head, rest)
        if found is not None:
            return found
    for domain in catalogs:  # core first, then the plugins in order
        found = get(domain, context)
        if found is not None:
            return found
    return None


def plan_import(app, locale: str, data: bytes) -> ImportPlan:
    """Read and check a .po file for a language; raises ImportRefused with every problem."""
    catalog = _parse(data)
    if not _same_language(catalog.locale, locale):
        raise ImportRefused([_("This file is for the language “%(found)s”, not “%(wanted)s”.",
                               found=str(catalog.locale), wanted=locale)])
    entries = [entry for entry in catalog if entry.id]
    if len(entries) > MAX_ENTRIES:
        raise ImportRefused([_("This file has too many messages: at most %(max)d.", max=MAX_ENTRIES)])
    all_sources = sources(app)
    catalogs = {source.domain: messages(source, locale) for source in all_sources}
    by_domain = {source.domain: source for source in all_sources}
    plan, found_problems = ImportPlan(), []
    for entry in entries:
        msgid = entry.id[0] if isinstance(entry.id, tuple | list) else entry.id
        strings = list(entry.string) if isinstance(entry.string, tuple | list) else [entry.string or ""]
        if entry.fuzzy or not any(strings):
            plan.skipped += 1
            continue
        message = _lookup(app, locale, entry.context or "", msgid, catalogs)
        if message is None:
            plan.unknown.append(preview(msgid))
            continue
        if message.plural and not isinstance(entry.id, tuple | list):
            found_problems.append(_("“%(message)s”: this release has plural forms for it, but the file has one text.",
                                    message=preview(msgid)))
            continue
        if not message.plural and isinstance(entry.id, tuple | list):
            found_problems.append(_("“%(message)s”: the file has plural forms for it, but this release has one text.",
                                    message=preview(msgid)))
            continue
        kept, problems = service.check(by_domain[message.domain], locale, message, strings)
        for listed in problems.values():
            found_problems.extend(_("“%(message)s”: %(problem)s", message=preview(msgid), problem=problem)
                                  for problem in listed)
        if not problems:
            plan.items.append((message, kept))
    if found_problems:
        raise ImportRefused(found_problems)
    return plan
