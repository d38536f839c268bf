"""Normalising identifiers so that every way of writing one thing gives one blind index.

"07700 900123", "+44 7700 900123" and "447700900123" are one phone; "Bob@Example.com " and
"bob@example.com" are one email; "ab12 cde" and "AB12-CDE" are one plate.
"""

from __future__ import annotations

import re

import phonenumbers

KINDS = ("phone", "email", "plate", "handle")


class InvalidIdentifier(ValueError):
    """The text cannot be read as an identifier of that kind."""


def normalise_phone(text: str, default_country: str) -> str:
    """E.164 form. A number with its country code but no '+' (447700900123) is accepted too."""
    cleaned = re.sub(r"[^\d+]", "", text or "")
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
    # An assigned number first; else one of the right length for its country: numbers from
    # unassigned ranges (the UK's 07700 900xxx) are still someone's identifier and must match.
    # With one reading there is nothing to prefer, and the cheap length test decides.
    tests = (phonenumbers.is_possible_number,) if len(parsed) == 1 else (
        phonenumbers.is_valid_number, phonenumbers.is_possible_number)
    for acceptable in tests:
        for number in parsed:
            if acceptable(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidIdentifier(text)


def normalise_email(text: str) -> str:
    value = (text or "").strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise InvalidIdentifier(text)
    return value


def normalise_plate(text: str) -> str:
    value = re.sub(r"[^0-9A-Za-z]", "", text or "").upper()
    if not 2 <= len(value) <= 12:
        raise InvalidIdentifier(text)
    return value


def normalise_handle(text: str) -> str:
    """Lower case, without a leading @ or the scheme and www. of a profile address."""
    value = (text or "").strip().lower()
    value = re.sub(r"^https?://(www\.)?", "", value).rstrip("/")
    value = value.lstrip("@")
    if not value or len(value) > 200:
        raise InvalidIdentifier(text)
    return value


def normalise(kind: str, text: str, default_country: str = "GB") -> str:
    if kind == "phone":
        return normalise_phone(text, default_country)
    if kind == "email":
        return normalise_email(text)
    if kind == "plate":
        return normalise_plate(text)
    if kind == "handle":
        return normalise_handle(text)
    raise ValueError(f"unknown identifier kind {kind}")


def guess_kind(text: str, default_country: str = "GB") -> tuple[str, str]:
    """For a free-form check: (kind, normalised) of an email, phone, plate or handle, in that order."""
    stripped = (text or "").strip()
    if "@" in stripped and not stripped.startswith("@"):
        return "email", normalise_email(stripped)
    if re.fullmatch(r"[\d\s()+.-]{6,}", stripped):
        return "phone", normalise_phone(stripped, default_country)
    if re.fullmatch(r"[A-Za-z0-9 -]{2,10}", stripped) and re.search(r"\d", stripped):
        return "plate", normalise_plate(stripped)
    return "handle", normalise_handle(stripped)
