"""What an override must keep from the shipped message, so that it can never break a page.

- Placeholders, exactly: `%(name)s`, `%s`, `{name}`. A placeholder the code does not fill would
  stop the page with an error; one left out would lose the value (a name, a date). In a plural
  message each form may leave out the count (`%(num)d`), as "One report" does.
- A percent sign on its own: in a template every message is formatted, so a single `%` (not
  `%%`, not a placeholder) would stop the page; curly brackets likewise where a message is
  formatted with them.
- HTML: a template marks translated text as safe, so an override may hold no tag but exactly the
  tags of the shipped message (the runtime escapes everything else anyway: core.wording.overlay).
- Text: core's rule for text people send (core.text), and a length limit.
"""

from __future__ import annotations

import re
from collections import Counter

from flask_babel import gettext as _

from core import text as text_rule

MAX_TEXT = 5000  # characters per form
PERCENT = re.compile(r"%(?:\(([^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
BRACE = re.compile(r"\{\{|\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}|\{\d*\}")
# What a browser reads as the start of markup: "<" then a letter, "/", "!" or "?" (the HTML
# tokenizer's tag open state); "<5" or "a < b" stay text.
TAG = re.compile(r"<[A-Za-z/!?][^<>]*>?")
COUNT_NAMES = {"num"}  # flask-babel's ngettext fills %(num)d with the count


def tags(texts) -> tuple[str, ...]:
    """The exact tags in the shipped English texts: the only ones an override may contain."""
    return tuple(sorted({tag for text in texts for tag in TAG.findall(text)}))


def _percent(text: str) -> tuple[list[str], bool]:
    """(placeholders other than %%, whether a % is left that is neither)."""
    found = [match.group(0) for match in PERCENT.finditer(text) if match.group(0) != "%%"]
    return found, "%" in PERCENT.sub("", text)


def _braces(text: str) -> tuple[list[str], bool]:
    found = [token for token in BRACE.findall(text) if token not in ("{{", "}}")]
    rest = BRACE.sub("", text)
    return found, "{" in rest or "}" in rest


def placeholders(text: str) -> list[str]:
    return _percent(text)[0] + _braces(text)[0]


def _is_count(token: str) -> bool:
    match = PERCENT.fullmatch(token)
    return bool(match and match.group(1) in COUNT_NAMES)


def _positional(token: str) -> bool:
    """%s or {} (filled in order), not %(name)s or {name} (filled by name)."""
    if token.startswith("{"):
        return not re.fullmatch(r"\{[A-Za-z_]\w*\}", token)
    return not token.startswith("%(")


def form_problems(sources: tuple[str, ...], form: str, plural: bool) -> list[str]:
    """What is wrong with one form of an override (translated sentences); [] when it may be kept."""
    problems: list[str] = []
    if not form.strip():
        return [_("Please write the text. To go back to the shipped text, use “Back to the shipped text”.")]
    if len(form) > MAX_TEXT:
        problems.append(_("Please use at most %(max)d characters.", max=MAX_TEXT))
    kind = text_rule.problem(form, multiline=True)
    if kind:
        problems.append(text_rule.message(kind))

    shipped = [token for source in sources for token in placeholders(source)]
    own = placeholders(form)
    unknown = sorted({token for token in own if token not in shipped})
    missing = sorted({token for token in shipped if token not in own and not (plural and _is_count(token))})
    if not plural:  # positional placeholders (%s, {}) are filled in order: as many as the shipped text
        have, want = Counter(own), Counter(shipped)
        for token in sorted(set(have) & set(want)):
            if _positional(token) and have[token] != want[token]:
                problems.append(_("%(placeholder)s must appear %(count)d times, as in the shipped text.",
                                  placeholder=token, count=want[token]))
    if missing:
        problems.append(_("Please keep %(placeholders)s exactly as in the shipped text: each is replaced by a "
                          "value (a number, a name, a date) when the message is shown.",
                          placeholders=", ".join(missing)))
    if unknown:
        problems.append(_("%(placeholders)s is not in the shipped text, so nothing would fill it in. Please "
                          "remove it, or write the placeholder exactly as the shipped text does.",
                          placeholders=", ".join(unknown)))
    # A message whose shipped text has a lone % or bracket is never formatted, so the override may too.
    if _percent(form)[1] and not any(_percent(source)[1] for source in sources):
        problems.append(_("Please write a percent sign as %(double)s: here a single %(single)s starts a "
                          "placeholder.", double="%%", single="%"))
    if _braces(form)[1] and not any(_braces(source)[1] for source in sources):
        if any(_braces(source)[0] for source in sources):
            problems.append(_("Please write a curly bracket as %(double)s: here a single one starts a "
                              "placeholder.", double="{{ }}"))
        else:
            problems.append(_("Please leave out the curly brackets %(brackets)s: they can stop this message from "
                              "being shown.", brackets="{ }"))
    allowed = set(tags(sources))
    refused = [tag for tag in TAG.findall(form) if tag not in allowed]
    if refused:
        if allowed:
            problems.append(_("This message can only use the HTML tags of the shipped text (%(allowed)s). Please "
                              "remove %(refused)s.", allowed=" ".join(sorted(allowed)), refused=" ".join(refused)))
        else:
            problems.append(_("This message is shown as plain text and cannot hold HTML: please remove "
                              "%(refused)s. A %(lt)s directly before a letter is read as the start of a tag.",
                              refused=" ".join(refused), lt="<"))
    return problems


def problems(sources: tuple[str, ...], forms: list[str], count: int) -> dict[int, list[str]]:
    """{form index: problems} for an override's forms; {} when every form may be kept.

    count is how many forms the message has in the language: 1, or its number of plural forms.
    """
    plural = len(sources) > 1
    found: dict[int, list[str]] = {}
    if len(forms) != count:
        found[-1] = [_("This message needs %(count)d texts in this language, one for each plural form.",
                       count=count)]
    for index, form in enumerate(forms):
        listed = form_problems(sources, form, plural)
        if listed:
            found[index] = listed
    return found


def normalise(form: str, sources: tuple[str, ...]) -> str:
    """Windows line ends made plain; blanks at the ends trimmed unless the shipped text has some."""
    form = form.replace("\r\n", "\n").replace("\r", "\n")
    source = sources[0]
    if source == source.lstrip(" \t\n"):
        form = form.lstrip(" \t\n")
    if source == source.rstrip(" \t\n"):
        form = form.rstrip(" \t\n")
    return form
