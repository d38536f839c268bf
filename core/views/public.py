"""Pages anyone may open: the home page, how to contact the team, the language switcher, Quick exit's
beacon for a kept receipt and /healthz."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from core.accounts.auth import safe_next
from core.i18n import choose_language
from core.navigation import nav_items
from core.permissions import PUBLIC, requires

bp = Blueprint("core", __name__)


@bp.route("/")
@requires(PUBLIC)
def index():
    """The same for every anonymous visitor: kept per language (core.anonymous_cache)."""
    from core.anonymous_cache import cached

    return cached("home", lambda: render_template("index.html"))


@bp.route("/contact")
@requires(PUBLIC)
def contact():
    """How to reach the team, as the administrators wrote it in core's settings (404 when unset)."""
    lines = contact_lines()
    if not lines:
        abort(404)
    return render_template("contact.html", lines=lines)


def contact_lines() -> list[str]:
    """What the team wrote; none while the database is down (the footer then shows no link)."""
    from flask import g

    from core.accounts.membership import core_settings

    return [] if g.get("database_unavailable") else core_settings()["contact"]


@bp.route("/language", methods=["POST"])
@requires(PUBLIC)
def set_language():
    """The language switcher: a plain form, so it works without JavaScript. A page with answers being
    typed points the switcher at its own form instead (base.html's language_form), which keeps them."""
    choose_language(request.form.get("locale", ""))
    return redirect(safe_next(request.form.get("next")) or url_for("core.index"), code=303)


@bp.route("/receipts/forget", methods=["POST"])
@requires(PUBLIC)
def forget_receipt():
    """Quick exit's beacon (core/static/js/quick-exit.js) from a page showing a kept receipt: it is
    deleted on the way out (core.kept_receipts). Only the caller's own, with the page's CSRF token;
    answers nothing the page would show."""
    from core import kept_receipts, once

    kept_receipts.forget(kept_receipts.key_for(once.posted_key(request.form.get("form_key"))))
    return "", 204


@bp.route("/healthz")
@requires(PUBLIC)
def healthz():
    """Database and queue state as JSON: 200 when both answer, 503 when either does not."""
    from core.health import check

    report = check(current_app)
    return jsonify(report), 200 if report["status"] == "ok" else 503


def init_template_context(app) -> None:
    @app.context_processor
    def _layout_context():
        config = current_app.config
        return {
            "site_title": config["NEUTRAL_TITLE"] or config["SITE_NAME"],
            "neutral_title": bool(config["NEUTRAL_TITLE"]),
            "quick_exit_url": config["QUICK_EXIT_URL"],
            "available_locales": config["LOCALES"],
            "nav_items": nav_items,
            "current_path": request.full_path.rstrip("?") if request else "/",
            "contact_lines": contact_lines,
        }

