"""The administrators' Languages page, /admin/languages (the settings permission, admin.plugins).

Each language the site offers (LOCALES) and each one Red Umbrella ships: how much of core's
catalog and of each enabled module's is translated, and whether a native speaker has reviewed the
translation (core.languages, from locales/languages.toml). The review note is for administrators
only: members choose a language in the switcher and never see it. The page only reads; the
languages offered are configuration (LOCALES), so it says how to change them.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import format_number, format_percent

from core.languages import LanguagesFileError, compiled_languages, completeness, load
from core.permissions import requires

log = logging.getLogger("redumbrella.languages")
bp = Blueprint("languages", __name__, url_prefix="/admin/languages")
MANAGE_LANGUAGES = "admin.plugins"  # the settings permission: administrators only
WORDING_ENDPOINT = "wording.index"  # local wording (core/wording/), when it is installed


@bp.route("/")
@requires(MANAGE_LANGUAGES)
def index():
    try:
        known = load()
    except LanguagesFileError:  # a broken file must not hide the rest of the page
        log.warning("languages file unreadable", extra={"event": "languages_file_invalid"})
        known, file_ok = {}, False
    else:
        file_ok = True
    offered = list(current_app.config["LOCALES"])
    compiled = set(compiled_languages())
    rows = [_row(code, known.get(code), code in compiled, offered=True) for code in offered]
    not_offered = [_row(code, entry, code in compiled, offered=False) for code, entry in known.items()
                   if code not in offered]
    return render_template(
        "admin/languages.html", rows=rows, not_offered=not_offered, file_ok=file_ok, offered=offered,
        default_locale=current_app.config["DEFAULT_LOCALE"],
        wording_url=_wording_url(), format_percent=format_percent, format_number=format_number,
    )


def _row(code: str, entry, compiled: bool, *, offered: bool) -> dict:
    source = bool(entry and entry.source)
    return {
        "code": code,
        "tag": code.replace("_", "-"),
        "entry": entry,
        "source": source,
        "shipped": entry is not None,
        "offered": offered,
        "catalogs": [] if source else completeness(current_app, code),
        "compiled": compiled or source,
    }


def _wording_url() -> str:
    """The local wording page, when the platform has it."""
    if WORDING_ENDPOINT not in current_app.view_functions:
        return ""
    return url_for(WORDING_ENDPOINT)
