"""Lesson text: a safe subset of Markdown, rendered on the server and sanitised.

Trainers write Markdown. markdown-it-py renders it with HTML input switched off (raw HTML is shown
as text, never passed through) and without images (the site loads nothing from third parties:
`![alt](url)` stays text). nh3 (ammonia) then keeps only an allow-list of tags, and links only to
http, https and mailto addresses, each with rel="nofollow noopener". What reaches the page is
the sanitised output, marked safe for Jinja only here.

Both libraries are imported on first use: only lesson pages need them, and every web and queue
process would otherwise carry them (docs/speed.md, memory).
"""

from __future__ import annotations

import functools

from markupsafe import Markup

ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "a", "h2", "h3", "h4", "blockquote", "code", "pre", "br"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener"
# Removed with everything inside them (not only the tag): their content is never readable text.
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math"}
MAX_BODY = 100_000  # characters of Markdown in one lesson


@functools.cache
def _renderer():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    # A heading written as "# Title" would be an h1 beside the page's own; shift every level down
    # one (h1-h3 become h2-h4; deeper ones lose their tag to the sanitiser and stay as text).
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    return md


def _shifted(tag: str) -> str:
    level = min(int(tag[1]) + 1, 6)
    return f"h{level}"


def _heading_open(self, tokens, idx, options, env):
    return f"<{_shifted(tokens[idx].tag)}>"


def _heading_close(self, tokens, idx, options, env):
    return f"</{_shifted(tokens[idx].tag)}>\n"



def sanitise(html: str) -> str:
    """Keep only the allowed tags and safe links (a second line of defence behind the renderer)."""
    import nh3

    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render(text: str | None) -> Markup:
    """The lesson's Markdown as sanitised HTML, safe to put in a page."""
    if not text:
        return Markup("")
    return Markup(sanitise(_renderer().render(text[:MAX_BODY])))  # noqa: S704  # nosec B704  # sanitised by nh3
