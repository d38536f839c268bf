"""Blocks plugins add to core's pages, so core never names a plugin: the home page (a signed-in
person's own things first: "your next appointment", "your certificate expires in 10 days"), the
profile, and the administrators' overview.

A plugin implements the page_blocks hook:

    @hookimpl
    def page_blocks(app, slot, user):
        if slot != "home" or not user.is_authenticated:
            return None
        return PageBlock(_("Your next appointment"), render_block(domain, "casework/slots/next.html", ...))

Only enabled plugins are asked, once per page; blocks are shown in `order`, then by plugin name.
A block is the plugin's own template rendered with its own catalog (render_block), so its words
are translated as on its own pages. A block that fails is left out and logged (its plugin and
the error type, never a value): the page it sits on must not fail with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app, g, render_template
from flask_babel import get_domain
from flask_login import current_user
from markupsafe import Markup

SLOTS = ("home", "profile", "admin_overview")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageBlock:
    title: str
    body: Markup
    order: int = 50


def render_block(domain, template: str, **context) -> Markup:
    """A plugin's template rendered inside a core page, translated with the plugin's catalog."""
    previous = get_domain()
    domain.as_default()
    try:
        return Markup(render_template(template, **context))  # noqa: S704  # nosec B704  # an autoescaped template
    finally:
        previous.as_default()


def blocks(slot: str) -> list[PageBlock]:
    """The blocks of one slot for the current person, gathered once per request."""
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}; one of {', '.join(SLOTS)}")
    cache = g.setdefault("page_blocks", {})
    if slot not in cache:
        from core.plugins import get_registry

        found = []
        registry = get_registry()
        for name in sorted(registry.enabled()):
            try:
                result = registry.call_plugin("page_blocks", name, app=current_app, slot=slot, user=current_user)
            except Exception as exc:  # noqa: BLE001  # one plugin's block must not break the page
                log.error("page block failed", extra={"event": "page_block_failed", "plugin": name,
                                                      "error": type(exc).__name__})
                g.page_block_failed = True  # the page lacks it: core.anonymous_cache must not keep it
                continue
            found.extend((block.order, name, index, block) for index, block in enumerate(_as_blocks(result)))
        cache[slot] = [block for *_key, block in sorted(found, key=lambda item: item[:3])]
    return cache[slot]


def _as_blocks(outcome) -> list[PageBlock]:
    """A hook call's results (one per implementation), each None, a block or a list of blocks."""
    from core.plugins import _as_list

    return [item for result in _as_list(outcome) for item in _as_list(result) if isinstance(item, PageBlock)]


def init_app(app) -> None:
    app.jinja_env.globals.update(page_blocks=blocks)
