"""Answers that are the same for every anonymous visitor, kept in memory by each worker (issue #14):
the home page and the lists of choices (GET /api/v1/regions...).

What is kept: only what an anonymous visitor is shown, never anything of a person. An answer is
kept and served only for a GET without a query string, from nobody signed in (no session, no
token), whose cookie session holds nothing but a CSRF token and a chosen language (no flashed
message; NEUTRAL_SESSION_KEYS). A page's CSRF token is never kept: the page is kept with a marker in its place, and each
visitor gets their own token in it, exactly as when it is rendered.

What invalidates it: every request that uses the cache reads what is stored that such an answer
can depend on, and an answer is kept under those values (all read in the one statement every
request makes, core.stored_state):
- the enabled plugins (the plugin guard needs them on every request anyway);
- every plugin's stored settings, core's included;
- the local wording version of the request's language.
Because these are the stored values themselves, not a signal sent to this process, a settings
change, a plugin toggle or a wording edit made through any worker, process or command shows at the
very next request of every other. The language, its direction and the script root are part of the
key; configuration, templates and compiled catalogs belong to the process.

So only answers that depend on nothing else may be kept: for an anonymous visitor, the plugins'
nav_items and page_blocks hooks may depend on their settings and on which plugins are enabled,
not on other stored data (docs/writing-a-plugin.md). An answer whose making went wrong (a page
block that failed and was left out) is not kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Response, current_app, g, request, session
from flask_login import current_user

from core import kept_receipts, stored_state
from core.per_app import per_app

EXTENSION = "redumbrella.anonymous_cache"
# What an anonymous visitor's cookie session may hold for a kept answer to be theirs as well: a CSRF
# token, a chosen language, Flask-Login's "_fresh" mark (False once a visitor without a login came
# back) and the random key a kept receipt is found by (core.kept_receipts: given by any form that
# answers with a receipt, shown nowhere else). A flashed message, a sign-in or anything else makes
# the answer theirs alone.
NEUTRAL_SESSION_KEYS = frozenset({"csrf_token", "locale", "_fresh", kept_receipts.SESSION_KEY})
MAX_ENTRIES = 256  # names x languages; more means something is wrong: start again


@dataclass(frozen=True)
class Entry:
    body: str | bytes
    mimetype: str
    has_token: bool  # the page held this visitor's CSRF token, now a marker


class Store:
    """One per app: the stamp (what was stored when the entries were made) and the entries."""

    def __init__(self):
        self.marker = f"csrf-{secrets.token_hex(16)}"  # stands for a visitor's token in a kept page
        self.state: tuple[tuple, dict] = ((), {})  # replaced whole: threads may race, harmlessly
        self.made = 0  # how many answers were made rather than served from memory (tests read it)

    def entries_for(self, stamp: tuple) -> dict:
        state = self.state
        if state[0] != stamp:
            state = self.state = (stamp, {})  # anything else changed: nothing kept is valid
        return state[1]


def store(app=None) -> Store:
    return per_app(EXTENSION, Store, app)


def eligible() -> bool:
    """Whether this request sees what every anonymous visitor sees (see the module's docstring)."""
    if request.method not in ("GET", "HEAD") or request.query_string or g.get("database_unavailable"):
        return False
    if current_user.is_authenticated:  # first: loading a user may flash "your session has ended"
        return False
    return set(session.keys()) <= NEUTRAL_SESSION_KEYS


def _stamp(state: stored_state.StoredState, language: str) -> tuple[tuple, int]:
    """(stamp, wording version): what every kept answer depends on (the enabled plugins and every
    plugin's stored settings), and the language's local wording version, which keys its entries."""
    return (state.enabled, frozenset(state.settings.items())), state.wording.get(language, 0)


def language_and_locale() -> tuple[str, str]:
    """The request's locale (en_GB) and the language its local wording is stored under (en)."""
    from flask_babel import get_locale

    from core.wording.overlay import language

    locale = str(get_locale())
    return language(locale), locale


def cached(name: str, make) -> Response:
    """The answer `make()` gives (a page's HTML, or a Response), kept for anonymous visitors."""
    if not eligible():
        return make()
    state = stored_state.current()
    if state is None:  # nothing read to keep an answer under (a database not yet upgraded)
        return make()
    kept = store()
    language, locale = language_and_locale()
    stamp, wording = _stamp(state, language)
    entries = kept.entries_for(stamp)
    entry_key = (name, locale, wording, request.script_root)
    entry = entries.get(entry_key)
    if entry is not None:
        return _response(kept, entry)
    kept.made += 1
    answer = make()
    entry = _entry(kept, answer)
    if entry is None:
        return answer  # not an answer that can be kept (an error, a redirect): as without a cache
    # Kept only if complete and if nothing it depends on changed while it was made.
    now = stored_state.read_again()
    if not g.get("page_block_failed") and now is not None and _stamp(now, language) == (stamp, wording):
        if len(entries) >= MAX_ENTRIES:
            entries.clear()
        entries[entry_key] = entry
    return _response(kept, entry)


def _entry(kept: Store, answer) -> Entry | None:
    if isinstance(answer, str):
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        has_token = bool(token) and token in answer
        body = answer.replace(token, kept.marker) if has_token else answer
        return Entry(body, "text/html", has_token)
    if isinstance(answer, Response) and answer.status_code == 200 and not answer.is_streamed:
        return Entry(answer.get_data(), answer.mimetype, False)
    return None


def _response(kept: Store, entry: Entry) -> Response:
    body = entry.body
    if entry.has_token:
        from flask_wtf.csrf import generate_csrf

        body = body.replace(kept.marker, generate_csrf())  # this visitor's own, in their session
    return current_app.response_class(body, mimetype=entry.mimetype)
