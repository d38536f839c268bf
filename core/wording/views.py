"""The admin pages for local wording, under /admin/wording (the settings permission, admin.plugins).

Choose a language; find messages of core and every enabled module by their English, shipped or
changed text; change one (each plural form of the language shown with the numbers it is used
for) or take it back to the shipped text; export the language's changes as a .po file, or import
one. Every change is audited (core.wording.service).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from core.permissions import requires
from core.wording import po_io, service
from core.wording.catalogs import plurals

bp = Blueprint("wording", __name__, url_prefix="/admin/wording")
MANAGE_WORDING = "admin.plugins"  # the settings permission: administrators only
KEY = re.compile(r"[0-9a-f]{64}")

def _locale_or_404(locale: str) -> str:
    if locale not in current_app.config["LOCALES"]:
        abort(404)
    return locale


def _found_or_404(locale: str, domain: str, key: str) -> service.Found:
    if not KEY.fullmatch(key) or len(domain) > 64:
        abort(404)
    found = service.find(current_app, locale, domain, key)
    if found is None:
        abort(404)
    return found


@bp.route("/")
@requires(MANAGE_WORDING)
def index():
    locales = service.locales()
    return render_template("admin/wording.html", locales=locales, counts=service.counts(locales))


@bp.route("/<locale>/")
@requires(MANAGE_WORDING)
def language(locale: str):
    return _language_page(_locale_or_404(locale))


def _language_page(locale: str, import_problems: list[str] | None = None, status: int = 200):
    query = request.args.get("q", "")[: service.MAX_QUERY]
    results, total = service.search(current_app, locale, query) if query.strip() else ([], 0)
    return render_template("admin/wording_language.html", locale=locale, query=query, results=results,
                           total=total, limit=service.MAX_RESULTS, changed=service.changed(current_app, locale),
                           import_problems=import_problems or [],
                           max_import_mb=po_io.MAX_IMPORT_BYTES // (1024 * 1024)), status


def _form_labels(found: service.Found, locale: str, count: int) -> list[str]:
    if count == 1:
        return [_("Text in this language")]
    examples = plurals(found.source, locale).examples
    return [_("Form %(number)d (for example: %(numbers)s)", number=index + 1,
              numbers=", ".join(str(n) for n in examples[index]) if index < len(examples) else "-")
            for index in range(count)]


@bp.route("/<locale>/<domain>/<key>", methods=["GET", "POST"])
@requires(MANAGE_WORDING)
def edit(locale: str, domain: str, key: str):
    locale = _locale_or_404(locale)
    found = _found_or_404(locale, domain, key)
    message = found.message
    count = service.form_count(found.source, locale, message) if message else len(found.current)
    values = list(found.current) + [""] * max(0, count - len(found.current))
    errors: dict[int, list[str]] = {}
    status = 200
    if request.method == "POST":
        if message is None:  # no longer in this release: it can only be removed
            abort(404)
        values = [request.form.get(f"form-{index}", "") for index in range(count)]
        kept, errors = service.check(found.source, locale, message, values)
        if errors:
            status = 422
        else:
            outcome = service.save(locale, message, kept)
            flash(_("This message is the shipped text again.") if outcome == "shipped"
                  else _("Saved. Every page shows the new wording from now on.") if outcome == "changed"
                  else _("Nothing was changed."), "info")
            return redirect(url_for("wording.edit", locale=locale, domain=domain, key=key), code=303)
    return render_template("admin/wording_edit.html", locale=locale, found=found, values=values, errors=errors,
                           labels=_form_labels(found, locale, count), count=count), status


@bp.route("/<locale>/<domain>/<key>/revert", methods=["POST"])
@requires(MANAGE_WORDING)
def revert(locale: str, domain: str, key: str):
    locale = _locale_or_404(locale)
    found = _found_or_404(locale, domain, key)
    if service.revert(locale, domain, key):
        flash(_("This message is the shipped text again."), "info")
    if found.message is None:  # nothing left to show
        return redirect(url_for("wording.language", locale=locale), code=303)
    return redirect(url_for("wording.edit", locale=locale, domain=domain, key=key), code=303)


@bp.route("/<locale>/export")
@requires(MANAGE_WORDING)
def export(locale: str):
    locale = _locale_or_404(locale)
    return Response(po_io.export(current_app, locale), mimetype="text/x-gettext-translation",
                    headers={"Content-Disposition": f'attachment; filename="wording-{locale}.po"'})


@bp.route("/<locale>/import", methods=["POST"])
@requires(MANAGE_WORDING)
def import_file(locale: str):
    locale = _locale_or_404(locale)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _language_page(locale, [_("Please choose a .po file to import.")], 422)
    data = upload.stream.read(po_io.MAX_IMPORT_BYTES + 1)
    try:
        plan = po_io.plan_import(current_app, locale, data)
    except po_io.ImportRefused as exc:
        return _language_page(locale, exc.problems, 422)
    tally = service.save_many(locale, plan.items)
    flash(ngettext("%(num)d message changed.", "%(num)d messages changed.", tally["changed"]) + " "
          + ngettext("%(num)d message is the shipped text again.", "%(num)d messages are the shipped text again.",
                     tally["shipped"]), "info")
    if plan.unknown:
        flash(ngettext("%(num)d message is not in this release and was left out: %(messages)s",
                       "%(num)d messages are not in this release and were left out: %(messages)s",
                       len(plan.unknown), messages="; ".join(f"“{text}”" for text in plan.unknown[:10])
                       + ("; …" if len(plan.unknown) > 10 else "")), "info")
    return redirect(url_for("wording.language", locale=locale), code=303)
