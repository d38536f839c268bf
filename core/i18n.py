"""Translations: the locale for each request, and one catalog per plugin.

Core strings live in locales/ (domain "messages"). Each plugin has its own translations/ folder
and domain; while one of its pages is rendered its catalog is the default, falling back to core's
for the shared layout, so two plugins never override each other's strings.

English is one language ("en") for choosing and storing, but dates and numbers follow the
instance's English variant (ENGLISH_VARIANT, en_GB by default: "6 Dec 2026", never "12/6/26"),
so the request's locale is that variant while the language code stays "en" (current_language,
force_language).
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

from babel import Locale, support
from flask import current_app, g, has_request_context, request, session
from flask_babel import Babel, Domain, force_locale, get_babel, get_locale
from flask_login import current_user

CORE_LOCALES = Path(__file__).resolve().parent.parent / "locales"
SESSION_KEY = "locale"


class PluginDomain(Domain):
    """A plugin's own catalog, falling back to core's for strings it does not define."""

    def __init__(self, name: str, directory: Path | str):
        super().__init__(translation_directories=[str(directory)], domain=name)
        self.name = name
        self.directory = Path(directory)

    def get_translations(self):
        return handed_out(self.name, self._overlaid)

    def _overlaid(self, locale):
        key = str(locale)
        cached = self.cache.get(key)
        if cached is not None:
            return local_wording(cached, self.name)
        core = get_babel().instance.domain_instance.get_translations()
        own = support.Translations.load(str(self.directory), [key], self.name)
        if isinstance(own, support.Translations):
            own.add_fallback(core)
            result = own
        else:  # no compiled catalog for this language: core's catalog (or English) it is
            result = core
        self.cache[key] = result
        return local_wording(result, self.name)


_HANDED_OUT = "_redumbrella_translations"  # in flask.g: {domain: (locale, translations)}


def handed_out(domain: str, make):
    """A domain's translations for this request or task, made once per locale: every message asks
    for them, and making them again went through Flask's and flask-babel's globals a dozen times.
    Local wording stays current: the overlay reads this request's overrides at each message."""
    try:
        here = g._get_current_object()
    except RuntimeError:  # no app context: nothing to translate with
        return support.NullTranslations()
    locale = get_locale()
    memo = here.__dict__.get(_HANDED_OUT)
    if memo is None:
        memo = here.__dict__[_HANDED_OUT] = {}
    found = memo.get(domain)
    if found is not None and found[0] is locale:  # force_locale gives another Locale: made anew
        return found[1]
    made = make(locale)
    memo[domain] = (locale, made)
    return made


def formatting_locale(code: str) -> str:
    """The locale a language's dates and numbers follow: English as the instance's variant."""
    if code == "en" and current_app:
        return current_app.config.get("ENGLISH_VARIANT") or "en"
    return code


def current_language() -> str:
    """The language of this request or task as LOCALES names it ("en", not "en_GB")."""
    code = str(get_locale() or current_app.config["DEFAULT_LOCALE"])
    return "en" if code.startswith("en_") or code == "en" else code


def force_language(code: str | None):
    """flask_babel.force_locale for a stored language code (a member's, a report's), with English
    dates and numbers in the instance's variant."""
    if not code:
        return contextlib.nullcontext()
    return force_locale(formatting_locale(code))


def select_locale() -> Locale:
    """The signed-in user's preference, an explicit choice, Accept-Language, then the default."""
    config = current_app._get_current_object().config
    code = _chosen_language(config)
    if code == "en":  # formatting_locale, without asking for the app again
        code = config.get("ENGLISH_VARIANT") or "en"
    return _locale(code)


@functools.lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    """One Locale per code for the process (flask-babel parses a code again on every request)."""
    return Locale.parse(code)


@functools.lru_cache(maxsize=16)
def _dashed(available: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.replace("_", "-") for code in available)


def choose_language(code: str) -> bool:
    """Make `code` this visitor's language: kept in the session, and on a signed-in person's account.
    False (nothing changed) for a code the instance does not offer. The page after a redirect is in
    it (this request's language was already read)."""
    if code not in current_app.config["LOCALES"]:
        return False
    session[SESSION_KEY] = code
    user = current_user._get_current_object()
    if getattr(user, "is_authenticated", False):
        user.locale = code
        user.save(only=["locale"])
    return True


def language_switched():
    """The footer's language switcher, posted to a form of the page (base.html's language_form,
    action "language"): make the posted language this visitor's (choose_language), and, used as
    `with language_switched():`, draw what this request still says in it (the page drawn again
    with the answers typed, a message flashed). Nothing changes for a language not offered."""
    code = request.form.get("locale", "")
    return force_language(code) if choose_language(code) else contextlib.nullcontext()


def _chosen_language(config) -> str:
    available = config["LOCALES"]
    if not has_request_context():  # a queue task or a command: no session, no browser to ask
        return config["DEFAULT_LOCALE"]
    # The objects themselves, not their proxies: this runs on every request.
    user_locale = getattr(current_user._get_current_object(), "locale", None)  # None for nobody signed in
    if user_locale in available:
        return user_locale
    chosen = session._get_current_object().get(SESSION_KEY)
    if chosen in available:
        return chosen
    here = request._get_current_object()
    if here.headers.get("Accept-Language"):
        match = here.accept_languages.best_match(_dashed(tuple(available)))
        if match:
            return match.replace("-", "_")
    return config["DEFAULT_LOCALE"]


@functools.lru_cache(maxsize=64)  # the page footer names every language on every page: ~20 us each
def language_name(code: str) -> str:
    """A language's name in that language ("Español"), for the switcher."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def html_lang() -> str:
    """The BCP 47 tag for <html lang>: pt_BR becomes pt-BR, English its variant (en-GB)."""
    return str(get_locale() or current_app.config["DEFAULT_LOCALE"]).replace("_", "-")


def init_app(app) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(CORE_LOCALES)
    Babel(app, locale_selector=select_locale)
    get_babel(app).instance.domain_instance = CoreDomain()  # local wording: see the end of this file
    app.jinja_env.globals.update(html_lang=html_lang, language_name=language_name, current_language=current_language)


# -- Local wording (issue #12, core/wording/) -----------------------------------------------------
# An administrator's override wins over the shipped catalog. Core's domain (CoreDomain, installed
# as flask-babel's default in init_app) and every PluginDomain hand out their translations through
# local_wording(); core.wording.overlay does the rest. Nothing else in this file knows about it.


class CoreDomain(Domain):
    """Core's domain ("messages"), flask-babel's default, with local wording laid over it."""

    def get_translations(self):
        return handed_out("messages", self._overlaid)

    def _overlaid(self, _locale):
        return local_wording(Domain.get_translations(self), "messages")


def local_wording(translations, domain: str):
    from core.wording.overlay import overlay

    return overlay(translations, domain)
