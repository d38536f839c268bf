"""Applying local wording at run time: an override wins over the shipped catalog.

core.i18n lays an Overlay over the translations of core's domain and of every plugin's domain, so
gettext, ngettext, pgettext, npgettext and lazy strings all pass through it, in pages, e-mails
and queue tasks alike (anything with an app context; the language is the one being rendered).

Cheap and current on every worker: on the first translation of a request (or task) in a language,
that language's version in `wording_version` is read (a request has it with the rest of its stored
state, core.stored_state; a task reads its one indexed row). The worker keeps each
language's overrides in memory with the version they were read at, and reads them again only when
the version moved, which every change does in its own transaction. So a change made in one worker
shows in every other worker's next request, with no restart and no query per message.

An override is text, never markup. A template marks every translated string safe, so an override
is returned as a LocalText whose __html__ escapes it, keeping exactly the tags of the shipped
English message (core.wording.checks refuses any other tag when it is saved; this is the second
lock). In a plain-text template (e-mails) and in Python code it is the text as written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from flask import current_app, g
from markupsafe import escape
from peewee import DatabaseError, InterfaceError

from core import stored_state
from core.per_app import per_app
from core.wording.checks import tags as shipped_tags

log = logging.getLogger("redumbrella.wording")
EXTENSION = "redumbrella.wording"
_MEMO = "_wording_tables"  # in flask.g: {locale: table} read for this request or task
VERSION_SQL = "SELECT version FROM wording_version WHERE locale = %s"
OVERRIDES_SQL = 'SELECT "domain", context, msgid, msgid_plural, forms FROM wording_override WHERE locale = %s'


class LocalText(str):
    """An administrator's wording. Plain text in Python; in an autoescaped template, escaped
    except for the shipped message's own tags."""

    allowed_tags: tuple[str, ...] = ()

    def __new__(cls, text: str, allowed_tags: tuple[str, ...] = ()):
        made = super().__new__(cls, text)
        made.allowed_tags = allowed_tags
        return made

    def __html__(self) -> str:
        html = str(escape(str(self)))
        for tag in self.allowed_tags:
            html = html.replace(str(escape(tag)), tag)
        return html


@dataclass(frozen=True)
class Entry:
    forms: tuple[str, ...]
    tags: tuple[str, ...]

    def text(self, index: int = 0) -> LocalText | None:
        if 0 <= index < len(self.forms) and self.forms[index]:
            return LocalText(self.forms[index], self.tags)
        return None


class Store:
    """One per app: each language's overrides as last read, with the version they were read at."""

    def __init__(self):
        self._tables: dict[str, tuple[int, dict]] = {}
        self.loads = 0  # how many times a language's overrides were read (tests check it stays put)

    def table(self, locale: str, version: int | None = None) -> dict[tuple[str, str, str], Entry]:
        """The language's overrides at its stored version (read here unless the caller read it)."""
        from core.db import run_sql

        if version is None:
            row = run_sql(VERSION_SQL, (locale,)).fetchone()
            version = row[0] if row else 0
        cached = self._tables.get(locale)
        if cached is not None and cached[0] == version:
            return cached[1]
        table = self._load(locale) if version else {}
        self._tables[locale] = (version, table)  # one assignment: threads of a queue worker may race, harmlessly
        return table

    def _load(self, locale: str) -> dict[tuple[str, str, str], Entry]:
        from core.db import run_sql

        self.loads += 1
        rows = run_sql(OVERRIDES_SQL, (locale,)).fetchall()
        table = {}
        for domain, context, msgid, msgid_plural, forms in rows:
            english = (msgid,) if msgid_plural is None else (msgid, msgid_plural)
            table[(domain, context or "", msgid)] = Entry(tuple(json.loads(forms)), shipped_tags(english))
        return table


def store(app=None) -> Store:
    return per_app(EXTENSION, Store, app)


class _Memo:
    """What one request or task has read: each language's overrides, and the overlays handed out."""

    __slots__ = ("tables", "overlays")

    def __init__(self):
        self.tables: dict[str, dict] = {}
        self.overlays: dict[tuple[int, str], Overlay] = {}


def _memo(create: bool = True) -> _Memo | None:
    """This request's or task's memo (in flask.g); None outside an app context."""
    try:
        here = g._get_current_object()  # once: each attribute through the proxy makes an AttributeError first
    except RuntimeError:  # no app context
        return None
    memo = getattr(here, _MEMO, None)
    if memo is None and create:
        memo = _Memo()
        setattr(here, _MEMO, memo)
    return memo


def overrides(locale: str) -> dict:
    """This language's overrides, checked against the database once per request or task."""
    memo = _memo()
    if memo is None:
        return {}
    table = memo.tables.get(locale)
    if table is None:
        table = memo.tables[locale] = _read(locale)
    return table


def version(locale: str) -> int:
    """The version of a language's overrides this request or task sees (0: none). Key by it what
    is built once from translated text and kept (a schema's messages), so that it never outlives
    an administrator's change."""
    code = language(locale)
    memo = _memo(create=False)
    if memo is None or code not in memo.tables:
        # Nothing translated in it yet: its overrides will be read at the version this request's
        # stored state holds, so that is the version, without reading them (a cached answer may
        # need no translation at all: the identifier check's).
        state = stored_state.current()
        if state is not None:
            return state.wording.get(code, 0)
    overrides(code)
    cached = store()._tables.get(code)
    return cached[0] if cached else 0


def forget(locale: str | None = None) -> None:
    """Drop what this request or task has read, so that it sees its own change."""
    stored_state.forget()
    memo = _memo(create=False)
    if memo is not None:
        memo.tables.pop(locale, None) if locale else memo.tables.clear()


def _read(locale: str) -> dict:
    from core.db import connection, db

    database = db.obj  # the database itself: each attribute through peewee's proxy fails first
    if g._get_current_object().get("database_unavailable") or database is None:
        return {}
    try:
        if database.is_closed():  # a translation outside a request's connection: borrow one
            with connection():
                return store().table(locale)
        state = stored_state.current()  # in a request: the version came with its other stored state
        if state is not None:
            return store().table(locale, state.wording.get(locale, 0))
        if database.in_transaction():  # a savepoint, so that a missing table cannot spoil the caller's work
            with database.atomic():
                return store().table(locale)
        return store().table(locale)
    except (DatabaseError, InterfaceError) as exc:
        # Before `redumbrella db upgrade` has made the tables: the shipped text, and one log line.
        if not getattr(store(), "warned", False):
            store().warned = True
            log.warning("local wording unavailable", extra={"event": "wording_unavailable",
                                                             "reason": type(exc).__name__})
        return {}


class Overlay:
    """Translations with a language's overrides of one domain laid over them; anything else
    (the plural rule, the catalog, fallbacks) is the shipped translations' own."""

    __slots__ = ("inner", "locale", "domain")

    def __init__(self, inner, locale: str, domain: str):
        self.inner = inner
        self.locale = locale
        self.domain = domain

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _entry(self, context: str, msgid: str) -> Entry | None:
        table = overrides(self.locale)
        return table.get((self.domain, context, msgid)) if table else None

    def _index(self, n) -> int:
        return self.inner.plural(n)

    def gettext(self, message):
        entry = self._entry("", message)
        found = entry.text() if entry else None
        return found if found is not None else self.inner.gettext(message)

    def ngettext(self, singular, plural, n):
        entry = self._entry("", singular)
        found = entry.text(self._index(n)) if entry else None
        return found if found is not None else self.inner.ngettext(singular, plural, n)

    def pgettext(self, context, message):
        entry = self._entry(context or "", message)
        found = entry.text() if entry else None
        return found if found is not None else self.inner.upgettext(context, message)

    def npgettext(self, context, singular, plural, n):
        entry = self._entry(context or "", singular)
        found = entry.text(self._index(n)) if entry else None
        return found if found is not None else self.inner.unpgettext(context, singular, plural, n)

    # The names babel and flask-babel call, and gettext's fallback chain calls on a fallback.
    ugettext = gettext
    ungettext = ngettext
    upgettext = pgettext
    unpgettext = npgettext


def overlay(translations, domain: str):
    """The translations core.i18n hands out, with this domain's overrides over them. One overlay
    per shipped translations object and domain for the length of a request, since every message
    passes through here."""
    memo = _memo()
    if memo is None:
        return translations
    found = memo.overlays.get((id(translations), domain))
    if found is not None and found.inner is translations:
        return found
    from flask_babel import get_locale

    locale = get_locale()
    if locale is None:
        return translations
    made = memo.overlays[(id(translations), domain)] = Overlay(translations, language(str(locale)), domain)
    return made


def language(locale: str) -> str:
    """The language code overrides are stored under (as LOCALES names it) for a request's locale:
    English is rendered in a regional variant (en_GB) but stored as "en"."""
    available = current_app._get_current_object().config.get("LOCALES") or ()
    if locale in available:
        return locale
    base = locale.split("_")[0]
    return base if base in available else locale
