"""Normalising identifiers so that every way of writing one thing gives one blind index.

"07700 900123", "+44 7700 900123" and "447700900123" are one phone; "Bob@Example.com " and
"bob@example.com" are one email; "ab12 cde" and "AB12-CDE" are one plate.

Numbers and names are often copied from adverts as links, so a link gives the same value as
the plain form: "tel:07700900123", "https://wa.me/447700900123" and
"https://api.whatsapp.com/send?phone=447700900123" are that phone, and a profile address such as
"https://www.instagram.com/someone/" is the handle "someone" (its last path segment).

A website (a fake agency's, a scam's) is its host name: "https://www.Fake-Agency.example/book?x=1"
and "fake-agency.example" are the website "fake-agency.example" (urllib.parse reads the address,
the standard library's IDNA codec spells an international name in ASCII, "www." is dropped). A
warning about a website covers every page of it and of its subdomains (website_readings).

These run on every identifier check: patterns are compiled once, none can backtrack badly, and
nothing here touches the network.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import phonenumbers

from core.numbers import ascii_digits

KINDS = ("phone", "email", "plate", "handle", "website")

# -- links ----------------------------------------------------------------------------------------

# tel:, sms: and the like (RFC 3966, RFC 5724): the number is what comes before any ;parameter,
# ?query or second recipient.
_DIAL_LINK = re.compile(r"(?:tel|callto|sms|smsto|mms|mmsto):/{0,2}([^;?#,&]*)", re.IGNORECASE)
# WhatsApp's link by number (wa.me/447700900123, always international, often without the +) and
# Telegram's (t.me/+447700900123; t.me/+AbC… is a group invitation, not a number).
_CHAT_PATH = re.compile(r"(?:https?://)?(?:www\.)?(?:wa\.me/|(?:t|telegram)\.me/(?=\+\d))([^/?#]*)",
                        re.IGNORECASE)
# The same apps with the number in the query: api.whatsapp.com/send?phone=…, whatsapp://send?phone=…,
# viber://chat?number=….
_CHAT_QUERY = re.compile(
    r"(?:(?:https?://)?(?:api\.|web\.|www\.)?whatsapp\.com/send/?|whatsapp://send/?|viber://(?:chat|add|contact)/?)"
    r"\?([^#]*)",
    re.IGNORECASE,
)
_NUMBER_PARAM = re.compile(r"(?:^|&)(?:phone|number)=([^&]*)", re.IGNORECASE)

# A web address with a path: "instagram.com/someone", "https://x.com/someone?ref=…". The host
# needs a dot and a top-level domain of letters; no two parts of it can match the same text.
_ADDRESS = re.compile(r"(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(/[^?#]*)", re.IGNORECASE)
# Segments of a profile page that are not the person's name: onlyfans.com/someone/media,
# instagram.com/someone/reels/, x.com/someone/with_replies.
_SECTIONS = frozenset({
    "about", "featured", "followers", "following", "likes", "media", "photos", "posts", "reels", "tagged",
    "videos", "with_replies",
})
# A post's address names the person before these: x.com/someone/status/123, tiktok.com/@someone/video/123.
_POST_MARKERS = frozenset({"status", "video", "photo"})
# A page rather than a name (facebook.com/profile.php?id=…): the whole address is kept instead.
_PAGE = re.compile(r"\.(?:php|html?|aspx?|jsp|cgi)$")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_OLD_HANDLE_PREFIX = re.compile(r"^https?://(www\.)?")

# -- plain text -------------------------------------------------------------------------------------

_NOT_PHONE_CHARS = re.compile(r"[^\d+]")
_PHONE_TEXT = re.compile(r"[\d\s()+.-]{6,}")
_GUESS_PLATE = re.compile(r"[A-Za-z0-9 -]{2,10}")
_DIGIT = re.compile(r"\d")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NOT_PLATE_CHARS = re.compile(r"[^0-9A-Za-z]")


class InvalidIdentifier(ValueError):
    """The text cannot be read as an identifier of that kind."""


class NotAMobile(InvalidIdentifier):
    """A real phone number, but of a kind that cannot receive text messages (a landline...)."""


def phone_in_link(text: str) -> str | None:
    """The number in a tel:, sms:, WhatsApp, Telegram or Viber link, as written there ("" when the
    link has none); None when the text is not such a link."""
    text = (text or "").strip()
    if ":" not in text and "/" not in text:
        return None  # the usual case, a plain number: nothing more to look at
    found = _DIAL_LINK.match(text)
    if found:
        return unquote(found[1]).strip()
    found = _CHAT_PATH.match(text)
    if found:
        number = unquote(found[1]).strip()
    else:
        found = _CHAT_QUERY.match(text)
        if not found:
            return None
        param = _NUMBER_PARAM.search(found[1])
        number = unquote(param[1]).strip() if param else ""
    # These apps only take international numbers; the + is usually left out (wa.me/447700900123).
    # The first digit may be in another script (phonenumbers reads those); a 0 is a national number.
    first = ascii_digits(number[:1])
    if first and first in "123456789":
        number = "+" + number
    return number


def _old_handle(text: str) -> str:
    """How a handle was read before links were understood: the whole address, without its scheme
    and www. Identifiers stored that way are still matched by the check."""
    value = (text or "").strip().lower()
    return _OLD_HANDLE_PREFIX.sub("", value).rstrip("/").lstrip("@")


def handle_in_address(text: str) -> str | None:
    """The name in a profile address (instagram.com/someone/ → "someone"): its last path segment
    without query, fragment, trailing slash or leading @, leaving out the sections of a profile
    page (…/media, …/reels) and what follows a post's marker (…/status/123). None when the text is
    not a web address with a path, or its path names a page (profile.php) rather than a person."""
    found = _ADDRESS.match((text or "").strip())
    if not found:
        return None
    segments = [segment for segment in found[1].split("/") if segment]
    for position, segment in enumerate(segments[1:], start=1):
        if segment.lower() in _POST_MARKERS:
            del segments[position:]
            break
    while len(segments) > 1 and segments[-1].lower() in _SECTIONS:
        segments.pop()
    if not segments:
        return None
    name = unquote(segments[-1]).strip().lower().lstrip("@")
    if not name or _PAGE.search(name):
        return None
    return name


# -- phones -----------------------------------------------------------------------------------------

_FORMATS: dict[int, tuple] = {}


def _formats(country_code: int) -> tuple:
    """The country's national formatting rules, compiled once: (leading digits, whole number)."""
    rules = _FORMATS.get(country_code)
    if rules is None:
        region = phonenumbers.region_code_for_country_code(country_code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
        rules = tuple(
            (re.compile(rule.leading_digits_pattern[-1]) if rule.leading_digits_pattern else None,
             re.compile(rule.pattern))
            for rule in (metadata.number_format if metadata else ())
        )
        _FORMATS[country_code] = rules
    return rules


def _right_length(number: phonenumbers.PhoneNumber) -> bool:
    """Whether a number not known to be in use still has a length its country uses for numbers
    that start like it.

    phonenumbers' possible-length test alone is too loose for that: a UK number may have 9 digits
    (some area codes), so "07700 90012", a mobile with a digit missing, is "possible"; and "12345"
    is possible as a local number, which is not a number anyone can be reached on from outside its
    area. A number must be IS_POSSIBLE (not TOO_SHORT, not IS_POSSIBLE_LOCAL_ONLY) and fit one of
    the country's formatting rules for its leading digits (a UK number starting 7 has 10 digits).
    A country whose metadata has no formatting rules is judged by its lengths alone.
    """
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return False
    rules = _formats(number.country_code)
    if not rules:
        return True
    national = phonenumbers.national_significant_number(number)
    return any((leading is None or leading.match(national)) and whole.fullmatch(national) for leading, whole in rules)


def _normalise_plain_phone(text: str, default_country: str) -> str:
    cleaned = _NOT_PHONE_CHARS.sub("", text or "")
    if not cleaned:
        raise InvalidIdentifier(text)
    candidates = [cleaned]
    if not cleaned.startswith("+") and not cleaned.startswith("0"):
        candidates.append("+" + cleaned)
    parsed = []
    for candidate in candidates:
        try:
            parsed.append(phonenumbers.parse(candidate, default_country))
        except phonenumbers.NumberParseException:
            continue
    # An assigned number first; else one of the right length for its country and leading digits:
    # numbers from unassigned ranges (the UK's 07700 900xxx) are still someone's identifier and
    # must match. With one reading there is nothing to prefer, and the cheap length test goes first.
    tests = (_right_length, phonenumbers.is_valid_number) if len(parsed) == 1 else (
        phonenumbers.is_valid_number, _right_length)
    for acceptable in tests:
        for number in parsed:
            if acceptable(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidIdentifier(text)


def normalise_phone(text: str, default_country: str) -> str:
    """E.164 form. A number with its country code but no '+' (447700900123) is accepted too, and so
    is a tel:, sms:, WhatsApp, Telegram or Viber link to a number."""
    number = phone_in_link(text)
    if number is not None:
        if not number:
            raise InvalidIdentifier(text)
        return _normalise_plain_phone(number, default_country)
    return _normalise_plain_phone(text, default_country)


def readable_phone(value: str, default_country: str) -> str:
    """A stored E.164 number as people write it: the national format for a number of the instance's
    country (07912 345678), the international one for any other (+33 6 12 34 56 78). Anything that
    is not a number it can read is given back unchanged."""
    try:
        number = phonenumbers.parse(value, default_country)
    except phonenumbers.NumberParseException:
        return value
    if phonenumbers.region_code_for_country_code(number.country_code) == default_country:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})


def normalise_mobile(text: str, default_country: str) -> str:
    """E.164 form of a number text messages can go to: in use (is_valid_number) and a mobile.

    Raises InvalidIdentifier for anything else, NotAMobile for a valid number of another type (a
    landline, a freephone number). Stricter than normalise_phone, which must also accept numbers
    from unassigned ranges because they are someone's identifier.
    """
    value = normalise_phone(text, default_country)
    number = phonenumbers.parse(value)
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier(text)
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise NotAMobile(text)
    return value


# -- the other kinds ------------------------------------------------------------------------------


def normalise_email(text: str) -> str:
    value = (text or "").strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:"):].partition("?")[0]
    if not _EMAIL.fullmatch(value):
        raise InvalidIdentifier(text)
    return value


def normalise_plate(text: str) -> str:
    value = _NOT_PLATE_CHARS.sub("", text or "").upper()
    if not 2 <= len(value) <= 12:
        raise InvalidIdentifier(text)
    return value


def _checked_handle(value: str, text: str) -> str:
    if not value or len(value) > 200 or not _LETTER_OR_DIGIT.search(value):
        raise InvalidIdentifier(text)  # "!!!" or "@ @" is nobody's name
    return value


def normalise_handle(text: str, default_country: str = "GB") -> str:
    """Lower case, without a leading @; a profile address gives the name in it ("someone" for
    https://www.instagram.com/someone/), and a WhatsApp or tel: link gives its number in E.164 (as
    "+447700900123" written as a handle would be). A handle needs at least one letter or digit."""
    text = text or ""
    number = phone_in_link(text)
    if number is not None:
        if not number:
            raise InvalidIdentifier(text)
        return _normalise_plain_phone(number, default_country)
    name = handle_in_address(text)
    return _checked_handle(name if name is not None else _old_handle(text), text)


def handle_as_before(text: str) -> str | None:
    """A link as handles were read before links were understood: the whole address without its
    scheme and www. (None when that is no name). Identifiers stored that way still match."""
    old = _old_handle(text)
    if not old or len(old) > 200 or not _LETTER_OR_DIGIT.search(old):
        return None
    return old


def handle_readings(text: str, default_country: str = "GB") -> list[str]:
    """Every value a handle written this way may be stored under: normalise_handle's, then for a
    link the value handles were given before links were understood."""
    value = normalise_handle(text, default_country)
    if "/" in text or ":" in text:
        old = handle_as_before(text)
        if old is not None and old != value:
            return [value, old]
    return [value]


# A host name: labels of letters, digits and hyphens (not at either end), a top-level domain of
# letters (or an IDNA "xn--" one), at most 253 characters. Digits-only tops ("1.5") are not websites.
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
# Text that reads as a web address without being a link: "fake-agency.example", "www.x.co.uk/book".
_BARE_ADDRESS = re.compile(r"(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\.?(?::\d{1,5})?(?:[/?#]\S*)?")
MAX_WEBSITE_READINGS = 4


def normalise_website(text: str) -> str:
    """The host name of a web address, in lower-case ASCII, without "www." and a trailing dot:
    "https://www.Fake-Agency.example:8443/book?x=1" and "fake-agency.example" give
    "fake-agency.example"; "https://bücher.example" gives "xn--bcher-kva.example"."""
    value = (text or "").strip()
    if not value or len(value) > 2000 or any(char.isspace() for char in value) or "@" in value.split("/")[0]:
        raise InvalidIdentifier(text)
    if "://" not in value:
        value = "http://" + value.lstrip("/")
    try:
        parts = urlsplit(value)
        host = parts.hostname  # lower case, without the port or any user:password@
    except ValueError:
        raise InvalidIdentifier(text) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidIdentifier(text)
    try:
        host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidIdentifier(text) from None
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    if (len(labels) < 2 or len(host) > 253 or not _TOP_LEVEL.fullmatch(labels[-1])
            or not all(_HOST_LABEL.fullmatch(label) for label in labels)):
        raise InvalidIdentifier(text)
    return host


def website_readings(text: str) -> list[str]:
    """The website and the sites it belongs to, most precise first, down to two labels:
    "https://book.fake-agency.example/x" gives ["book.fake-agency.example", "fake-agency.example"],
    so a warning about a website also covers its subdomains (at most MAX_WEBSITE_READINGS)."""
    host = normalise_website(text)
    labels = host.split(".")
    return [".".join(labels[start:]) for start in range(len(labels) - 1)][:MAX_WEBSITE_READINGS]


def looks_like_website(text: str) -> bool:
    """An http(s) link, or text shaped like a host name with an optional path ("fake-agency.example")."""
    stripped = (text or "").strip()
    if "@" in stripped:
        return False
    lowered = stripped.lower()
    return lowered.startswith(("http://", "https://")) or _BARE_ADDRESS.fullmatch(stripped) is not None


def normalise(kind: str, text: str, default_country: str = "GB") -> str:
    if kind == "phone":
        return normalise_phone(text, default_country)
    if kind == "email":
        return normalise_email(text)
    if kind == "plate":
        return normalise_plate(text)
    if kind == "handle":
        return normalise_handle(text, default_country)
    if kind == "website":
        return normalise_website(text)
    raise ValueError(f"unknown identifier kind {kind}")


def looks_like_phone(text: str) -> bool:
    """Only digits, spaces and ()+.- (at least 6 characters): a phone number, not a name or plate."""
    return _PHONE_TEXT.fullmatch(text) is not None


def guess_kind(text: str, default_country: str = "GB") -> tuple[str, str]:
    """For a free-form check: (kind, normalised) of a phone link, a web address (a handle), an
    email, a phone, a plate or a handle, in that order."""
    stripped = (text or "").strip()
    if "/" in stripped or ":" in stripped:
        if phone_in_link(stripped) is not None:
            return "phone", normalise_phone(stripped, default_country)
        if "://" in stripped or _ADDRESS.match(stripped):
            return "handle", normalise_handle(stripped, default_country)
    if "@" in stripped and not stripped.startswith("@"):
        return "email", normalise_email(stripped)
    if _PHONE_TEXT.fullmatch(stripped):
        return "phone", normalise_phone(stripped, default_country)
    if _GUESS_PLATE.fullmatch(stripped) and _DIGIT.search(stripped):
        return "plate", normalise_plate(stripped)
    return "handle", normalise_handle(stripped, default_country)
