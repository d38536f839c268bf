"""Languages (issue #12): which languages are shipped and offered, how complete each catalog is,
and whether a native speaker has reviewed each one.

The review note is for administrators only (/admin/languages, the settings permission); members
choose a language in the switcher and never see it. Every shipped language is offered by default.
The table in docs/translating.md is the same as locales/languages.toml (docs are code).
"""

from __future__ import annotations

import configparser
import fnmatch
import re
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po
from helpers import sign_in

import core.languages
from core.config import DEFAULTS
from core.db import connection
from core.display import direction
from core.hookspecs import hookimpl
from core.i18n import CORE_LOCALES, PluginDomain
from core.languages import (
    DOCS_PAGE,
    LANGUAGES_FILE,
    LanguagesFileError,
    catalog_completeness,
    catalog_languages,
    compiled_languages,
    docs_section,
    docs_table,
    load,
    shipped,
)
from core.plugins import PluginInfo, get_registry

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/admin/languages/"
NOT_REVIEWED = "Not yet reviewed by a native speaker"


def admin_client(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("admin", email="keeper@example.org"))
    return client


def page_text(response) -> str:
    return response.get_data(as_text=True)


def language_rows(page: str) -> dict[str, str]:
    """{code: the row's HTML} of the languages tables on the page."""
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", page, flags=re.S)
    found = {}
    for row in rows:
        code = re.search(r'<code dir="ltr">([A-Za-z_]+)</code>', row)
        assert code, row
        found[code.group(1)] = row
    return found


# -- the file, the catalogs and the default ---------------------------------------------------


def test_every_shipped_language_is_offered_by_default():
    with_catalogs = {"en", *catalog_languages()}
    assert set(shipped()) == with_catalogs, "languages.toml and the catalogs in locales/ list the same languages"
    assert DEFAULTS["LOCALES"] == shipped(), "the default LOCALES is every shipped language, in the file's order"
    assert {"pl", "bg", "hu", "th", "zh_Hans", "fr", "ar"} <= set(DEFAULTS["LOCALES"])


def test_the_default_configuration_offers_them_all_in_the_switcher(app, client):
    assert app.config["LOCALES"] == shipped(), "the checked configuration keeps the default"
    page = page_text(client.get("/"))
    options = re.findall(r'<option value="([^"]+)" lang="([^"]+)"', page)
    assert [code for code, _tag in options] == shipped()
    for name, code in (("中文 (简体)", "zh_Hans"), ("العربية", "ar"), ("ไทย", "th"), ("Español", "es"),
                       ("Português (Brasil)", "pt_BR"), ("Български", "bg"), ("Polski", "pl")):
        assert f'lang="{code.replace("_", "-")}">{name}</option>' in page or \
            f'lang="{code.replace("_", "-")}" selected>{name}</option>' in page, (code, name)


def test_every_language_has_its_review_status_and_all_are_honestly_unreviewed():
    languages = load()
    assert languages["en"].source and not languages["en"].glossary
    translated = [entry for entry in languages.values() if not entry.source]
    assert {entry.code for entry in translated} == {"es", "pt_BR", "ro", "pl", "bg", "hu", "th", "zh_Hans", "fr", "ar"}
    # None of them has been read by a native speaker yet: the file must not say otherwise.
    assert not [entry.code for entry in translated if entry.reviewed or entry.reviewed_by or entry.reviewed_on]
    for entry in languages.values():
        assert entry.direction == direction(entry.code), f"{entry.code}: the pages are drawn {direction(entry.code)}"
    assert languages["ar"].direction == "rtl"


def test_every_shipped_catalog_is_compiled_for_the_running_app():
    assert set(compiled_languages()) == set(catalog_languages()), "run scripts/i18n.py compile (or pip install -e .)"


def test_the_file_is_installed_with_the_package():
    """setup.cfg must carry locales/languages.toml into the wheel, or an installed site has no review status."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert "locales" in config["options.packages.find"]["include"].split()
    package_data = config["options.package_data"]
    patterns = [pattern.strip() for key in ("locales", "*") if key in package_data
                for pattern in package_data[key].replace("\n", ",").split(",") if pattern.strip()]
    assert any(fnmatch.fnmatch(LANGUAGES_FILE.name, pattern) for pattern in patterns), patterns
    assert LANGUAGES_FILE.parent == CORE_LOCALES


BAD_FILES = {
    "reviewed_without_who": ('[es]\nname = "Spanish"\nglossary = "docs/glossary/es.md"\nreviewed = true\n'
                             'reviewed_by = ""\nreviewed_on = ""\n', "say who reviewed it"),
    "reviewer_but_not_reviewed": ('[es]\nname = "Spanish"\nglossary = "docs/glossary/es.md"\nreviewed = false\n'
                                  'reviewed_by = "Someone"\nreviewed_on = ""\n', "names a reviewer"),
    "bad_date": ('[es]\nname = "Spanish"\nglossary = "docs/glossary/es.md"\nreviewed = true\n'
                 'reviewed_by = "A group"\nreviewed_on = "14/05/2026"\n', "YYYY-MM-DD"),
    "status_left_out": ('[es]\nname = "Spanish"\nglossary = "docs/glossary/es.md"\n', "needs reviewed"),
    "unknown_setting": ('[es]\nname = "Spanish"\nreviwed = true\n', "unknown settings: reviwed"),
    "bad_direction": ('[ar]\nname = "Arabic"\ndirection = "right"\n', "direction must be ltr or rtl"),
    "not_boolean": ('[es]\nname = "Spanish"\nglossary = "docs/glossary/es.md"\nreviewed = "no"\n'
                    'reviewed_by = ""\nreviewed_on = ""\n', "reviewed must be true or false"),
    "source_with_review": ('[en]\nname = "English"\nsource = true\nreviewed = true\n', "source language"),
    "not_toml": ('[es\nname = "Spanish"\n', "not valid TOML"),
}


@pytest.mark.parametrize("text,message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_wrong_languages_file_is_refused_with_a_reason(tmp_path, text, message):
    path = tmp_path / "languages.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LanguagesFileError, match=re.escape(message)):
        load(path)


def test_a_review_is_read_with_who_and_when(tmp_path):
    path = tmp_path / "languages.toml"
    path.write_text('[es]\nname = "Spanish"\nglossary = "docs/glossary/es.md"\nreviewed = true\n'
                    'reviewed_by = "A peer group"\nreviewed_on = "2026-05-14"\n', encoding="utf-8")
    entry = load(path)["es"]
    assert entry.reviewed and entry.reviewed_by == "A peer group" and entry.reviewed_on.isoformat() == "2026-05-14"


# -- how complete a catalog is -----------------------------------------------------------------


FUZZY = "fuzzy:"  # a msgstr starting with this is added as a fuzzy entry


def write_domain(directory: Path, domain: str, english: list, translations: dict[str, dict],
                 compiled_only: tuple = ()) -> None:
    """A domain's template, and each language's .po and .mo as setup.py builds them (fuzzy left
    out): {locale: {msgid: msgstr or (forms)}}. Languages in compiled_only get no .po."""
    directory.mkdir(parents=True, exist_ok=True)
    template = Catalog(domain=domain)
    for msgid in english:
        template.add(msgid)
    with open(directory / f"{domain}.pot", "wb") as handle:
        write_po(handle, template)
    for locale, pairs in translations.items():
        catalog = Catalog(locale=locale, domain=domain)
        for msgid, msgstr in pairs.items():
            fuzzy = isinstance(msgstr, str) and msgstr.startswith(FUZZY)
            catalog.add(msgid, msgstr.removeprefix(FUZZY) if fuzzy else msgstr, flags=("fuzzy",) if fuzzy else ())
        folder = directory / locale / "LC_MESSAGES"
        folder.mkdir(parents=True)
        if locale not in compiled_only:
            with open(folder / f"{domain}.po", "wb") as handle:
                write_po(handle, catalog)
        with open(folder / f"{domain}.mo", "wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)


def test_completeness_counts_translated_messages_against_the_template(tmp_path):
    english = ["Hello", "Goodbye", ("%(num)d report", "%(num)d reports"), "Not translated anywhere"]
    write_domain(tmp_path, "sample", english, {
        "es": {"Hello": "Hola", "Goodbye": "Adiós", ("%(num)d report", "%(num)d reports"): ("%(num)d informe", "")},
        "ro": {"Hello": "Salut", "Goodbye": "La revedere",
               ("%(num)d report", "%(num)d reports"): ("%(num)d raport", "%(num)d rapoarte", "%(num)d de rapoarte"),
               "Gone from the code": "Șters"},
        "pl": {"Hello": "Cześć", "Goodbye": f"{FUZZY}Do widzenia"},
        "bg": {"Hello": "Здравей", "Goodbye": "Довиждане"},
    }, compiled_only=("bg",))
    assert catalog_completeness(tmp_path, "sample", "es") == (2, 4, True), "a plural with an empty form is not done"
    assert catalog_completeness(tmp_path, "sample", "ro") == (3, 4, True), "a message no longer in the code not counted"
    assert catalog_completeness(tmp_path, "sample", "pl") == (1, 4, True), "a fuzzy entry is not translated"
    assert catalog_completeness(tmp_path, "sample", "bg") == (2, 4, True), "installed with compiled catalogs only"
    assert catalog_completeness(tmp_path, "sample", "fr") == (0, 4, False)
    assert core.languages.Completeness("x", "X", 2, 3, True).percent == 66, "rounded down: never 100 too early"
    assert core.languages.Completeness("x", "X", 0, 0, True).percent == 100


def sample_plugin(root: Path) -> ModuleType:
    """An installed plugin with its own catalog: Spanish half translated, Romanian not compiled."""
    directory = root / "sample" / "translations"
    write_domain(directory, "sample", ["One", "Two", "Three", "Four"], {"es": {"One": "Uno", "Two": "Dos"}})
    domain = PluginDomain("sample", directory)
    module = ModuleType("sample_languages_hooks")
    module.plugin_info = PluginInfo(name="sample", label="Sample module")

    @hookimpl
    def register_translations(app):
        return domain

    module.register_translations = register_translations
    return module


# -- the admin page ----------------------------------------------------------------------------


def test_admin_sees_each_language_with_its_review_status_and_completeness(app, make_user):
    client = admin_client(app, make_user)
    response = client.get(PAGE)
    assert response.status_code == 200
    page = page_text(response)
    rows = language_rows(page)
    assert list(rows) == shipped(), "every offered language, in the order offered"
    for code, entry in load().items():
        row = rows[code]
        if entry.source:
            assert NOT_REVIEWED not in row and "Not needed" in row
            continue
        assert NOT_REVIEWED in row, code
        assert f'<code dir="ltr">{entry.glossary}</code>' in row, "the glossary's path, not a link the site lacks"
        assert re.search(r"\d+%", row), f"{code}: how much is translated"
    assert "Written right to left" in rows["ar"] and "Written right to left" not in rows["es"]
    assert 'lang="zh-Hans">中文 (简体)</span>' in rows["zh_Hans"]
    assert "Shipped but not offered here" not in page, "everything shipped is offered by default"
    assert "REDUMBRELLA_LOCALES" in page and 'DEFAULT_LOCALE = "en"' in page
    assert 'LOCALES = ["en", "es", "pt_BR", "ro", "pl", "bg", "hu", "th", "zh_Hans", "fr", "ar"]' in page.replace(
        "&#34;", '"')


def test_the_page_counts_each_enabled_module_from_its_compiled_catalog(make_app, make_user, tmp_path):
    built = make_app({"LOCALES": ["en", "es", "ro"]}, extra_plugins=[sample_plugin(tmp_path)])
    client = admin_client(built, make_user)
    off = language_rows(page_text(client.get(PAGE)))
    assert "Sample module" not in off["es"], "a module that is off is not counted"
    with built.app_context(), connection():
        get_registry(built).set_enabled("sample", True)
    rows = language_rows(page_text(client.get(PAGE)))
    assert re.search(r"Sample module:\s*50% translated \(2 of 4\)", rows["es"]), rows["es"]
    assert re.search(r"Sample module:\s*not ready to use", rows["ro"]), "Romanian has no compiled catalog"


def test_a_reviewed_language_shows_who_and_when(app, make_user, tmp_path, monkeypatch):
    reviewed = LANGUAGES_FILE.read_text(encoding="utf-8").replace(
        '[es]\nname = "Spanish"\ndirection = "ltr"\nglossary = "docs/glossary/es.md"\nreviewed = false\n'
        'reviewed_by = ""\nreviewed_on = ""\n',
        '[es]\nname = "Spanish"\ndirection = "ltr"\nglossary = "docs/glossary/es.md"\nreviewed = true\n'
        'reviewed_by = "A peer group"\nreviewed_on = "2026-05-14"\n')
    assert "A peer group" in reviewed, "the Spanish entry is written as this test expects"
    path = tmp_path / "languages.toml"
    path.write_text(reviewed, encoding="utf-8")
    monkeypatch.setattr(core.languages, "LANGUAGES_FILE", path)
    rows = language_rows(page_text(admin_client(app, make_user).get(PAGE)))
    assert "Reviewed by a native speaker: A peer group, 14 May 2026" in rows["es"]
    assert NOT_REVIEWED not in rows["es"] and NOT_REVIEWED in rows["ro"]


def test_offered_but_not_shipped_and_shipped_but_not_offered(make_app, make_user):
    built = make_app({"LOCALES": ["en", "es", "de"], "DEFAULT_LOCALE": "es"})
    page = page_text(admin_client(built, make_user).get(PAGE, headers={"Accept-Language": "en"}))
    offered, _, rest = page.partition("Shipped but not offered here")
    assert rest, "the languages shipped but not offered have their own list"
    assert list(language_rows(offered)) == ["en", "es", "de"]
    de = language_rows(offered)["de"]
    assert "No translation is shipped" in de and "No review information" in de
    assert "The default language" in language_rows(offered)["es"]
    assert set(language_rows(rest)) == set(shipped()) - {"en", "es"}
    assert NOT_REVIEWED in language_rows(rest)["ar"]


def test_the_page_links_to_local_wording_when_the_platform_has_it(app, make_user):
    page = page_text(admin_client(app, make_user).get(PAGE))
    has_wording = "wording.index" in app.view_functions
    assert ('href="/admin/wording/"' in page) == has_wording


def test_the_page_works_in_every_language_and_right_to_left(app, make_user):
    client = admin_client(app, make_user)
    for code in shipped():
        response = client.get(PAGE, headers={"Accept-Language": code.replace("_", "-")})
        assert response.status_code == 200, code
    arabic = page_text(client.get(PAGE, headers={"Accept-Language": "ar"}))
    assert '<html lang="ar" dir="rtl">' in arabic


def test_admins_find_the_page_in_the_navigation(app, make_user):
    client = admin_client(app, make_user)
    assert 'href="/admin/languages/"' in page_text(client.get("/"))


# -- nobody else ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "partner", "moderator"])
def test_anyone_but_an_admin_is_refused(app, make_user, role):
    client = app.test_client()
    sign_in(client, make_user(role, email=f"{role}@example.org"))
    assert client.get(PAGE).status_code == 403
    assert 'href="/admin/languages/"' not in page_text(client.get("/"))


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_members_never_see_the_review_note_in_any_language(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("member", email="member@example.org"))
    for code in shipped():
        for path in ("/", "/account/profile"):
            response = client.get(path, headers={"Accept-Language": code.replace("_", "-")})
            assert response.status_code == 200, (code, path)
            page = page_text(response)
            assert NOT_REVIEWED not in page and "native speaker" not in page, (code, path)
            assert "docs/glossary" not in page and "languages.toml" not in page, (code, path)


# -- the docs ----------------------------------------------------------------------------------


def test_the_table_in_docs_translating_matches_languages_toml():
    table = docs_section(DOCS_PAGE.read_text(encoding="utf-8"))
    assert table, f"{DOCS_PAGE.name} has lost its table markers"
    assert table == docs_table(), "run: .venv/bin/python -m core.languages docs"
    for code in shipped():
        assert f"| `{code}` |" in table


def test_the_docs_table_says_a_review_when_there_is_one(tmp_path):
    path = tmp_path / "languages.toml"
    path.write_text('[en]\nname = "English"\nsource = true\n\n[es]\nname = "Spanish"\n'
                    'glossary = "docs/glossary/es.md"\nreviewed = true\nreviewed_by = "A peer group"\n'
                    'reviewed_on = "2026-05-14"\n', encoding="utf-8")
    table = docs_table(load(path))
    assert "| `es` | Spanish | left to right | reviewed by A peer group on 2026-05-14 |" in table
    assert "not yet reviewed" not in table


def test_the_docs_are_linked():
    assert "(translating.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    configuration = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    row = next(line for line in configuration.splitlines() if line.startswith("| `REDUMBRELLA_LOCALES`"))
    assert f"`{','.join(DEFAULTS['LOCALES'])}`" in row
