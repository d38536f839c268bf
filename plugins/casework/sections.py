"""The parts of a case page, each from the module that owns it.

The case page (views.case) shows, in order, every registered section whose loader returns
something: the loader gets the case and the viewing user and returns the context for its template
`casework/sections/<name>.html`, or None to leave the section out. A module registers its section
when it is imported (plugins/casework/hooks.py imports them all).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    name: str
    order: int
    load: Callable  # (case, user) -> dict | None

    @property
    def template(self) -> str:
        return f"casework/sections/{self.name}.html"


SECTIONS: dict[str, Section] = {}


def section(name: str, order: int) -> Callable:
    """Register a loader for the case page's section `name` (templates/casework/sections/<name>.html)."""

    def register(load: Callable) -> Callable:
        SECTIONS[name] = Section(name, order, load)
        return load

    return register


def sections_for(case, user) -> list[tuple[Section, dict]]:
    shown = []
    for found in sorted(SECTIONS.values(), key=lambda s: s.order):
        context = found.load(case, user)
        if context is not None:
            shown.append((found, context))
    return shown
