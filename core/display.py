"""How values are shown on pages: phone numbers as people write them, and identifiers (numbers,
e-mails, plates, online names, websites) kept left-to-right inside right-to-left text.

    {{ number|phone }}                 07912 345678 in a <bdi dir="ltr">
    {{ value|identifier(kind) }}       the same for any identifier kind
    {{ number|phone_text }}            the readable number without markup (plain-text e-mails, SMS)
    {{ names|join_list }}              a list as the language joins one ("a, b and c"; Arabic "a وb وc")

A page in Arabic runs right to left, but "+44 7912 345678" or "name@example.com" must not: each is
isolated (<bdi>) and given its own direction, so its digits and punctuation never reorder.
"""

from __future__ import annotations

from babel import Locale
from babel.lists import format_list
from flask import current_app
from markupsafe import Markup

from core.identifiers import readable_phone

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "ckb", "yi", "dv"})


def direction(code: str) -> str:
    """"rtl" for a language written right to left, else "ltr"."""
    return "rtl" if code.split("_")[0] in RTL_LANGUAGES else "ltr"


RLM = "\u200f"  # RIGHT-TO-LEFT MARK: starts a line right to left even when its first word is a number


def directed_text(text: str, code: str | None) -> str:
    """Plain text (an e-mail, a text message, a subject) for a right-to-left language starts every
    line with a right-to-left mark, so mail apps and phones show it right to left even where a line
    begins with a number, a link or a name in Latin letters. Left-to-right text is unchanged."""
    if not code or direction(code) != "rtl":
        return text
    return "\n".join(RLM + line if line.strip() and not line.startswith(RLM) else line for line in text.split("\n"))


def join_list(items, conjunction: bool = True) -> str:
    """Items joined the way the current language joins a list ("Leeds, York and Hull"; in Arabic
    "Leeds وYork وHull", in Chinese with 、): Latin commas look wrong in other scripts.

    conjunction=False joins with the language's separator alone ("Dave, Big D"; Arabic "، "), for
    what are several names of one thing, where "and" would read as several people."""
    from core.i18n import current_language, formatting_locale

    words = [str(item) for item in items]
    if len(words) < 2:
        return "".join(words)
    code = formatting_locale(current_language())
    try:
        if conjunction:
            return format_list(words, style="standard", locale=code)
        return _separator(code).join(words)
    except (KeyError, ValueError):  # a locale without CLDR list patterns
        return ", ".join(words)


def _separator(code: str) -> str:
    """What CLDR puts between two items in the middle of a list, unless that is a word (Arabic's و):
    then the comma of the language's script."""
    middle = Locale.parse(code).list_patterns["standard"]["middle"]
    separator = middle.replace("{0}", "").replace("{1}", "")
    if any(char.isalpha() for char in separator):
        return "، " if direction(code) == "rtl" else ", "
    return separator


def phone_text(value: str | None) -> str:
    if not value:
        return ""
    return readable_phone(str(value), current_app.config["DEFAULT_COUNTRY"])


def ltr(text: str | None) -> Markup:
    """Text that must read left to right whatever the page's direction."""
    return Markup('<bdi dir="ltr">{}</bdi>').format(text or "")


def phone(value: str | None) -> Markup:
    return ltr(phone_text(value)) if value else Markup("")


def identifier(value: str | None, kind: str = "") -> Markup:
    return phone(value) if kind == "phone" else ltr(value)


def init_app(app) -> None:
    app.jinja_env.filters.update(phone=phone, phone_text=phone_text, identifier=identifier, ltr=ltr,
                                 join_list=join_list)
    app.jinja_env.globals.update(text_direction=direction)
