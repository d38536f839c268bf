"""One rule for the text people send, for the JSON API and the web forms alike.

`problem(text, multiline)` names what is wrong with a piece of text, or None; `message(problem)`
says it in words, translated; `clean(text, multiline)` applies the rule and returns the text to
keep (or raises TextRefused). What is refused, and why:

- a lone surrogate (U+D800 to U+DFFF on its own): half of a character, as when a phone app cuts
  an emoji in two. It cannot be stored or shown (it is not valid UTF-8), so it is refused with a
  message saying so, never turned into a server error that loses the report;
- control characters: C0 (below U+0020) other than tab (and line breaks in multi-line text),
  DEL, and C1 (U+0080 to U+009F). They are invisible, mean nothing in a report, and can break
  what reads the text later (terminals, CSV exports, feeds);
- invisible formatting characters that change how text reads without being seen: the
  bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069), which
  can make "+44 7700 900123" display as another number, and the zero-width and invisible ones
  (U+200B, U+2060 to U+2064, U+FEFF, U+180E, U+00AD), which make two identical-looking texts
  differ. The zero-width joiner and non-joiner (U+200C, U+200D) are kept: emoji sequences and
  several scripts need them.

Control characters are judged *before* anything is trimmed, so ten thousand invisible characters
never shrink to an empty, "short" text; the length a person is told is the length they sent.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

SURROGATE = "surrogate"
CONTROL = "control"
INVISIBLE = "invisible"

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL_SINGLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_MULTI = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060-\u2064\ufeff\u180e\u00ad]")


class TextRefused(ValueError):
    """The text breaks the rule; .problem is SURROGATE, CONTROL or INVISIBLE."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def problem(text: str, multiline: bool = True) -> str | None:
    """What is wrong with text (SURROGATE, CONTROL or INVISIBLE), or None when it may be kept."""
    if _SURROGATES.search(text):
        return SURROGATE
    if (_CONTROL_MULTI if multiline else _CONTROL_SINGLE).search(text):
        return CONTROL
    if _INVISIBLE.search(text):
        return INVISIBLE
    return None


def message(kind: str) -> str:
    """The translated message for a problem, for a field error."""
    if kind == SURROGATE:
        return _("Part of this text could not be read: a character was cut in half (this can happen "
                 "with emoji). Please check the text and send it again.")
    if kind == CONTROL:
        return _("Please remove the special characters from this text.")
    return _("This text contains invisible formatting characters (for example a hidden change of "
             "writing direction or a zero-width space). Please type it again without them.")


def clean(text: str, multiline: bool = True) -> str:
    """The text to keep: trimmed of spaces, tabs and line breaks at its ends, with Windows line ends
    made plain. Raises TextRefused. Only those ordinary blanks are trimmed before the rule is
    applied (str.strip would also drop U+001C to U+001F and vertical tabs, hiding them)."""
    kept = text.strip(" \t\r\n").replace("\r\n", "\n")
    found = problem(kept, multiline)
    if found:
        raise TextRefused(found)
    return kept


def displayable(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD, so a page showing it again (with the
    field's error) can always be written as UTF-8."""
    return _SURROGATES.sub("\ufffd", text)


def surrogate_paths(value):
    """Where decoded JSON holds a lone surrogate, as paths (tuples of keys and list positions),
    keys included. Only surrogates are looked for here, in every string whatever field it is for:
    no text can hold one. The other rules belong to the fields that take text for people."""
    stack = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _SURROGATES.search(item):
                yield path
        elif isinstance(item, dict):
            for key, sub in item.items():
                if _SURROGATES.search(key):
                    yield path + (displayable(key),)
                else:
                    stack.append((path + (key,), sub))
        elif isinstance(item, list):
            stack.extend((path + (index,), sub) for index, sub in enumerate(item))
