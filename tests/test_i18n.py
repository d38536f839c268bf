"""Translations (issue 2, item 7).

The locale is the signed-in person's preference, else their explicit choice (the language switcher,
a plain form), else Accept-Language, else the instance default; `<html lang>` is the locale the page
was rendered in, as a BCP 47 tag. Each plugin has its own catalog: two plugins that translate the
same msgid differently never collide (catalogs built here with babel's write_mo). A language with
no compiled catalog falls back to English without an error.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Blueprint, render_template_string
from helpers import post_form, sign_in

from core.db import connection
from core.hookspecs import hookimpl
from core.i18n import CORE_LOCALES, PluginDomain
from core.permissions import PUBLIC, requires
from core.plugins import PluginInfo, get_registry

PAGE = """{% extends "base.html" %}{% block content %}
<p id="direct">{{ direct }}</p><p id="template">{{ _("Hello") }}</p><p id="lazy">{{ lazy }}</p>
{% endblock %}"""


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    assert match, "no <html lang> on the page"
    return match.group(1)


def make_plugin(root: Path, name: str, messages: dict[str, dict[str, str]]) -> ModuleType:
    """A plugin with a page at /<name>/ and its own compiled catalog: {locale: {msgid: msgstr}}."""
    directory = root / name / "translations"
    for locale, pairs in messages.items():
        catalog = Catalog(locale=locale, domain=name)
        for msgid, msgstr in pairs.items():
            catalog.add(msgid, msgstr)
        folder = directory / locale / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with open(folder / f"{name}.mo", "wb") as handle:
            write_mo(handle, catalog)
    domain = PluginDomain(name, directory)
    bp = Blueprint(name, f"{__name__}.{name}", url_prefix=f"/{name}")

    @bp.route("/")
    @requires(PUBLIC)
    def index():
        return render_template_string(PAGE, direct=domain.gettext("Hello"), lazy=domain.lazy_gettext("Hello"))

    module = ModuleType(f"{name}_hooks")
    module.plugin_info = PluginInfo(name=name, label=name)

    @hookimpl
    def register_blueprints(app):
        return [bp]

    @hookimpl
    def register_translations(app):
        return domain

    module.register_blueprints = register_blueprints
    module.register_translations = register_translations
    return module


@pytest.fixture
def two_plugins(app, make_app, tmp_path):
    """Two plugins translating the same msgids differently; alpha also translates a core msgid."""
    alpha = make_plugin(tmp_path, "alpha", {"es": {"Hello": "Hola desde alfa", "Language": "Idioma de alfa"},
                                            "pt_BR": {"Hello": "Olá do alfa"}})
    beta = make_plugin(tmp_path, "beta", {"es": {"Hello": "Hola desde beta"}})
    built = make_app({"LOCALES": ["en", "es", "pt_BR", "de"]}, extra_plugins=[alpha, beta])
    with built.app_context(), connection():
        for name in ("alpha", "beta"):
            get_registry(built).set_enabled(name, True)
    return built


def _texts(response) -> dict[str, str]:
    page = response.get_data(as_text=True)
    return {key: re.search(rf'<p id="{key}">([^<]*)</p>', page).group(1) for key in ("direct", "template", "lazy")}


def test_two_plugins_with_the_same_msgid_do_not_collide(two_plugins):
    client = two_plugins.test_client()
    spanish = {"Accept-Language": "es"}
    alpha = client.get("/alpha/", headers=spanish)
    beta = client.get("/beta/", headers=spanish)
    assert alpha.status_code == beta.status_code == 200
    assert _texts(alpha) == dict.fromkeys(("direct", "template", "lazy"), "Hola desde alfa")
    assert _texts(beta) == dict.fromkeys(("direct", "template", "lazy"), "Hola desde beta")
    # alpha's translation of a core msgid stays on alpha's pages: core's and beta's are untouched.
    assert "Idioma de alfa" in alpha.get_data(as_text=True)
    assert "Idioma de alfa" not in beta.get_data(as_text=True)
    assert "Idioma de alfa" not in client.get("/", headers=spanish).get_data(as_text=True)
    # Asked again in the other order and another language, each keeps its own.
    assert _texts(client.get("/beta/", headers={"Accept-Language": "pt-BR"}))["template"] == "Hello"
    assert _texts(client.get("/alpha/", headers={"Accept-Language": "pt-BR"}))["template"] == "Olá do alfa"


def test_a_language_without_a_compiled_catalog_falls_back_to_english(two_plugins):
    assert CORE_LOCALES.is_dir() and not list(CORE_LOCALES.glob("de/**/*.mo")), "needs a language with no catalog"
    client = two_plugins.test_client()
    german = {"Accept-Language": "de"}
    home = client.get("/", headers=german)
    assert home.status_code == 200 and html_lang(home) == "de"
    assert "Quick exit" in home.get_data(as_text=True)
    page = client.get("/alpha/", headers=german)
    assert page.status_code == 200 and html_lang(page) == "de"
    assert _texts(page) == dict.fromkeys(("direct", "template", "lazy"), "Hello")
    assert client.get("/no-such-page", headers=german).status_code == 404


def test_locale_order_accept_language_then_instance_default(make_app):
    client = make_app({"DEFAULT_LOCALE": "ro"}).test_client()
    assert html_lang(client.get("/")) == "ro", "no other signal: the instance default"
    assert html_lang(client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})) == "ro"
    assert html_lang(client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})) == "es"
    assert html_lang(client.get("/", headers={"Accept-Language": "pt-BR,pt;q=0.9"})) == "pt-BR"


def test_explicit_choice_beats_accept_language_and_works_without_javascript(client):
    spanish = {"Accept-Language": "es"}
    page = client.get("/", headers=spanish).get_data(as_text=True)
    form = re.search(r'<form method="post" action="/language"[^>]*>(.*?)</form>', page, re.S)
    assert form, "the language switcher is a plain form on every page"
    assert 'name="locale"' in form.group(1) and 'type="submit"' in form.group(1)
    assert 'value="pt_BR" lang="pt-BR"' in form.group(1)

    chosen = post_form(client, "/language", {"locale": "pt_BR", "next": "/account/login"}, headers=spanish)
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith("/account/login")
    after = client.get("/account/login", headers=spanish)
    assert html_lang(after) == "pt-BR"
    assert '<option value="pt_BR" lang="pt-BR" selected>' in after.get_data(as_text=True)

    ignored = post_form(client, "/language", {"locale": "xx", "next": "https://elsewhere.example/"}, headers=spanish)
    assert ignored.status_code == 303 and not ignored.headers["Location"].startswith("https://elsewhere")
    assert html_lang(client.get("/", headers=spanish)) == "pt-BR", "an unknown choice changes nothing"


def test_signed_in_preference_beats_choice_and_accept_language(app, client, make_user):
    from core.accounts.models import User

    person = make_user("member")
    sign_in(client, person)
    romanian = {"Accept-Language": "ro"}
    assert html_lang(client.get("/", headers=romanian)) == "ro", "no preference yet: Accept-Language"
    with client.session_transaction() as session:
        session["locale"] = "es"
    assert html_lang(client.get("/", headers=romanian)) == "es", "no preference yet: the explicit choice"

    with app.app_context(), connection():
        User.update(locale="pt_BR").where(User.id == person.id).execute()
    assert html_lang(client.get("/", headers=romanian)) == "pt-BR", "the account's preference comes first"

    # Choosing a language while signed in is remembered on the account.
    post_form(client, "/language", {"locale": "ro", "next": "/"})
    with app.app_context(), connection():
        assert User.get_by_id(person.id).locale == "ro"
    with client.session_transaction() as session:
        session["locale"] = "es"
    assert html_lang(client.get("/", headers={"Accept-Language": "es"})) == "ro"


def test_english_dates_follow_the_instances_variant_en_gb_by_default(make_app):
    """"6 Dec 2026" for a reader in the UK, not "Dec 6, 2026" (or "12/6/26", read there as 12 June);
    the language stays "en" for choosing and storing, in requests and in queue tasks alike."""
    import datetime

    from flask_babel import format_date

    from core.i18n import current_language, force_language

    day = datetime.date(2026, 12, 6)
    app = make_app()
    client = app.test_client()
    home = client.get("/", headers={"Accept-Language": "en"})
    assert html_lang(home) == "en-GB"
    assert re.search(r'<option value="en" lang="en" selected>', home.get_data(as_text=True)), "English stays chosen"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert format_date(day, "medium") == "6 Dec 2026" and current_language() == "en"
    with app.app_context():  # a queue task, outside any request: the stored code "en"
        with force_language("en"):
            assert format_date(day, "medium") == "6 Dec 2026"
        with force_language("es"):
            assert format_date(day, "medium") == "6 dic 2026"
    american = make_app({"ENGLISH_VARIANT": "en_US"})
    with american.test_request_context(headers={"Accept-Language": "en"}):
        assert format_date(day, "medium") == "Dec 6, 2026" and current_language() == "en"


def test_an_english_variant_that_is_not_english_stops_start_up(make_app):
    from core.config import ConfigError

    for wrong in ("fr_FR", "xx_YY"):
        with pytest.raises(ConfigError, match="ENGLISH_VARIANT must be an English locale"):
            make_app({"ENGLISH_VARIANT": wrong})


# (language, two numbers whose words differ there): Polish says "1 nowe" and "2 nowe" but "5 nowych";
# Arabic's translation puts the number after a colon ("الجديدة: 1"), which reads right for any count.
@pytest.mark.parametrize("language,one,other", [("es", 1, 2), ("pt_BR", 1, 2), ("ro", 1, 2), ("fr", 1, 2),
                                                ("bg", 1, 2), ("pl", 2, 5)])
def test_the_menu_says_one_new_alert_in_the_singular(language, one, other):
    """'Alertas (1 nuevas)' was a count pasted into a plural phrase: the menu's label is a plural
    message, and where the words change with the number they do."""
    import gettext

    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parent.parent / "plugins" / "alerts" / "translations" / language / "LC_MESSAGES"
    with (po / "alerts.po").open("rb") as handle:
        catalog = read_po(handle)
    message = catalog.get(("Alerts (%(num)d new)", "Alerts (%(num)d new)"))
    assert message is not None and all(message.string), f"{language}: the menu label is not translated"
    form = gettext.c2py(catalog.plural_expr)
    first, second = message.string[form(one)], message.string[form(other)]
    assert (first % {"num": 1}) != (second % {"num": 1}), f"{language}: {first!r} is used for {one} and {other} alike"


def test_an_api_error_is_in_each_requests_language_not_the_first_ones(app, make_user):
    """A schema's fields share their messages with the schema class (marshmallow copies fields
    shallowly): translating them in place once made the first request's language stick."""
    from casework_common import bearer, token_for
    from helpers import enable

    from core.accounts.models import User

    enable(app, "reporting", "alerts")
    tokens = {}
    for language in ("es", "en"):
        user = make_user("member", email=f"{language}@example.org")
        with app.app_context(), connection():
            User.update(locale=language).where(User.id == user.id).execute()
        tokens[language] = token_for(app, user)
    client = app.test_client()

    def error(language: str) -> str:
        answer = client.post("/api/v1/check", json={"identifier": 5}, headers=bearer(tokens[language]))
        assert answer.status_code == 422
        return answer.get_json()["error"]["fields"]["identifier"][0]

    spanish = error("es")
    english = error("en")
    assert spanish != english and english == "This is not the right kind of value."
    assert error("es") == spanish
