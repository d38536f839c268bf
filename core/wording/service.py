"""Search the shipped messages of a language, save an override, go back to the shipped text.

Every change is written inside one transaction with its audit entry (`wording.changed`,
`wording.reverted`, `wording.imported`; the target names the language, the domain and the
message's key, nothing else) and raises the language's version, so that every worker reloads
that language's overrides at its next request (core.wording.overlay).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app, has_request_context
from flask_login import current_user

from core.db import db, utcnow
from core.wording import overlay
from core.wording.catalogs import CORE_DOMAIN, Message, Source, messages, plurals, sources
from core.wording.checks import normalise, problems
from core.wording.models import WordingOverride, WordingVersion

MAX_QUERY = 200
MAX_RESULTS = 50


@dataclass
class Found:
    """A message as the admin pages show it: where it is from, the shipped text, any override."""

    source: Source
    message: Message | None  # None: this release no longer has the msgid (an override kept from before)
    override: WordingOverride | None

    @property
    def unused(self) -> bool:
        return self.message is None

    @property
    def current(self) -> tuple[str, ...]:
        if self.override is not None:
            return tuple(self.override.texts)
        return self.message.shipped if self.message else ()

    @property
    def key(self) -> str:
        return self.message.key if self.message else self.override.message_key


def target(locale: str, domain: str, key: str) -> str:
    """The audit log's reference to a message: language, domain and key, no text."""
    return f"wording:{locale}:{domain}:{key[:16]}"


def _enabled_domains(app) -> set[str]:
    from core.plugins import get_registry

    enabled = get_registry(app).enabled()
    return {source.domain for source in sources(app) if source.owner in enabled or source.owner == "core"}


def _overrides(locale: str) -> dict[tuple[str, str], WordingOverride]:
    return {(row.domain, row.message_key): row
            for row in WordingOverride.select().where(WordingOverride.locale == locale)}


def search(app, locale: str, query: str) -> tuple[list[Found], int]:
    """Messages of core and the enabled plugins whose English, shipped or changed text contains
    the query (any case); at most MAX_RESULTS of them, and how many matched."""
    needle = query.strip().casefold()[:MAX_QUERY]
    if not needle:
        return [], 0
    changed = _overrides(locale)
    enabled = _enabled_domains(app)
    found, total = [], 0
    for source in sources(app):
        if source.domain not in enabled:
            continue
        for key, message in messages(source, locale).items():
            override = changed.get((source.domain, key))
            texts = [*message.sources, *message.shipped, *(override.texts if override else ())]
            if any(needle in text.casefold() for text in texts):
                total += 1
                if len(found) < MAX_RESULTS:
                    found.append(Found(source, message, override))
    return found, total


def changed(app, locale: str) -> list[Found]:
    """Every override of a language, those the release no longer uses included."""
    by_domain = {source.domain: source for source in sources(app)}
    result = []
    query = WordingOverride.select().where(WordingOverride.locale == locale).order_by(
        WordingOverride.domain, WordingOverride.msgid)
    for row in query:
        source = by_domain.get(row.domain) or Source(row.domain, by_domain[CORE_DOMAIN].directory, row.domain,
                                                     row.domain)  # a plugin no longer installed
        message = messages(source, locale).get(row.message_key) if row.domain in by_domain else None
        result.append(Found(source, message, row))
    return result


def counts(locales) -> dict[str, int]:
    from peewee import fn

    rows = (WordingOverride.select(WordingOverride.locale, fn.COUNT(WordingOverride.id).alias("n"))
            .where(WordingOverride.locale.in_(list(locales))).group_by(WordingOverride.locale))
    return {row.locale: row.n for row in rows}


def find(app, locale: str, domain: str, key: str) -> Found | None:
    """A message by domain and key, with its override; None when neither exists."""
    source = next((source for source in sources(app) if source.domain == domain), None)
    override = WordingOverride.get_or_none(WordingOverride.locale == locale, WordingOverride.message_key == key,
                                           WordingOverride.domain == domain)
    message = messages(source, locale).get(key) if source else None
    if message is None and override is None:
        return None
    if source is None:
        return Found(Source(domain, sources(app)[0].directory, domain, domain), None, override)
    return Found(source, message, override)


def form_count(source: Source, locale: str, message: Message) -> int:
    return plurals(source, locale).count if message.plural else 1


def check(source: Source, locale: str, message: Message, forms: list[str]) -> tuple[list[str], dict[int, list[str]]]:
    """(the forms as they would be kept, {form index: problems})."""
    kept = [normalise(form, message.sources) for form in forms]
    return kept, problems(message.sources, kept, form_count(source, locale, message))


def _actor() -> int | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def _bump(locale: str) -> None:
    """Raise the language's version: every worker reloads its overrides at its next request."""
    WordingVersion.insert(locale=locale, version=1).on_conflict(
        conflict_target=[WordingVersion.locale], update={WordingVersion.version: WordingVersion.version + 1},
    ).execute()


def _write(locale: str, message: Message, forms: list[str]) -> str:
    """Store one override (inside the caller's transaction); "changed", or "shipped" when the text
    is the shipped one again (any override is then removed), or "unchanged"."""
    from core.audit import record

    existing = WordingOverride.get_or_none(WordingOverride.locale == locale,
                                           WordingOverride.message_key == message.key)
    if tuple(forms) == message.shipped:
        if existing is None:
            return "unchanged"
        existing.delete_instance()
        record("wording.reverted", target=target(locale, message.domain, message.key))
        return "shipped"
    if existing is not None and existing.texts == list(forms):
        return "unchanged"
    values = {"locale": locale, "domain": message.domain, "context": message.context, "msgid": message.msgid,
              "msgid_plural": message.msgid_plural, "forms": json.dumps(list(forms), ensure_ascii=False),
              "message_key": message.key, "changed_by": _actor(), "changed_at": utcnow()}
    WordingOverride.insert(**values).on_conflict(
        conflict_target=[WordingOverride.locale, WordingOverride.message_key],
        update={getattr(WordingOverride, name): value for name, value in values.items()
                if name not in ("locale", "message_key")},
    ).execute()
    record("wording.changed", target=target(locale, message.domain, message.key))
    return "changed"


def save(locale: str, message: Message, forms: list[str]) -> str:
    """Store an override already checked (check()); see _write for the answer."""
    with db.atomic():
        outcome = _write(locale, message, forms)
        if outcome != "unchanged":
            _bump(locale)
    overlay.forget(locale)
    return outcome


def save_many(locale: str, items: list[tuple[Message, list[str]]]) -> dict[str, int]:
    """Store several checked overrides in one transaction (an import); {outcome: how many}."""
    from core.audit import record

    tally = {"changed": 0, "shipped": 0, "unchanged": 0}
    with db.atomic():
        for message, forms in items:
            tally[_write(locale, message, forms)] += 1
        if tally["changed"] or tally["shipped"]:
            _bump(locale)
        record("wording.imported", target=f"wording:{locale}")
    overlay.forget(locale)
    return tally


def revert(locale: str, domain: str, key: str) -> bool:
    """Back to the shipped text; False when there was no override."""
    from core.audit import record

    with db.atomic():
        deleted = WordingOverride.delete().where(
            WordingOverride.locale == locale, WordingOverride.domain == domain, WordingOverride.message_key == key,
        ).execute()
        if deleted:
            record("wording.reverted", target=target(locale, domain, key))
            _bump(locale)
    overlay.forget(locale)
    return bool(deleted)


def locales() -> list[str]:
    return list(current_app.config["LOCALES"])
