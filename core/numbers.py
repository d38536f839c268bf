"""Reading numbers from forms, addresses and what people type, without surprises.

Python's str.isdigit() is True for much more than 0-9: "²".isdigit() is True but int("²") fails,
and int() reads Arabic-Indic, Persian or fullwidth digits ("١٢" is 12) and numbers of any size,
which the database cannot hold. Checking with isdigit() and then calling int() turned such input
into server errors (500) or wrong answers. Two kinds of number come in, and each has its helper:

- whole_number(): ids and counts the application itself put in a form or an address. Only ASCII
  0-9, and not too long for a 64-bit database column; anything else is None, which each caller
  treats as it treats any other garbage (ignored, not found, or its usual error message).
- ascii_digits(): what a person types by hand (a receipt, a two-factor code), perhaps with the
  digits of their own script or keyboard: every Unicode decimal digit becomes its ASCII digit,
  everything else is kept for the caller to check as before.
"""

from __future__ import annotations

import unicodedata

ASCII_DIGITS = frozenset("0123456789")


def whole_number(text: str | None, max_digits: int = 18) -> int | None:
    """The number written in ASCII digits 0-9 only (at most max_digits of them), else None.

    18 digits always fit a signed 64-bit column. Signs, spaces and other scripts' digits are not
    accepted: callers strip the text first when they mean to allow spaces around it."""
    if not isinstance(text, str) or len(text) > max_digits or not is_ascii_number(text):
        return None
    return int(text)


def ascii_digits(text: str | None) -> str:
    """The text with every Unicode decimal digit (Arabic-Indic, Persian, fullwidth, ...) turned
    into its ASCII digit; other characters (including "²", which is not a decimal digit) are kept."""
    return "".join(_ascii_digit(ch) for ch in (text or ""))


def _ascii_digit(ch: str) -> str:
    if ch in ASCII_DIGITS:
        return ch
    value = unicodedata.decimal(ch, None)
    return ch if value is None else str(value)


def is_ascii_number(text: str) -> bool:
    """True when the text is one or more ASCII digits 0-9 and nothing else."""
    return bool(text) and all(ch in ASCII_DIGITS for ch in text)
