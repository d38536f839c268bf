"""Research exports, under /reporting/research/ (plugins/reporting/research.py does the work).

GET  /                      the requests, and the form to ask (reporting.research_approve to see them)
POST /ask                   an admin asks for an export (reporting.research)
POST /<id>/approve, /refuse another staff member decides (reporting.research_approve; never the asker)
POST /<id>/download         an admin makes the file from the consents as they are now (a ZIP of
                            data.csv and data_dictionary.csv); POST, because every one is counted
                            and audited
"""

from __future__ import annotations

import datetime

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.permissions import requires, user_has
from plugins.reporting import _, research, service
from plugins.reporting.models import ResearchExport

bp = Blueprint("reporting_research", __name__, url_prefix="/reporting/research")


def _user():
    return current_user._get_current_object()


def _month(text: str | None) -> str | None:
    text = (text or "").strip()
    try:
        if len(text) != 7:
            raise ValueError(text)
        datetime.date.fromisoformat(text + "-01")
    except ValueError:
        return None
    return text


def _render(errors: dict | None = None, values: dict | None = None, status: int = 200):
    exports = list(ResearchExport.select().order_by(ResearchExport.requested_at.desc(), ResearchExport.id.desc())
                   .limit(100))
    today = datetime.date.today()
    return render_template(
        "reporting/research/index.html", exports=exports, errors=errors or {},
        values=values or {"first": f"{today.year - 1}-{today.month:02d}", "last": f"{today:%Y-%m}",
                          "attributes": list(research.ATTRIBUTES)},
        labels=research.attribute_labels(), attributes=research.ATTRIBUTES, k=service.settings()["research_k"],
        may_ask=user_has(current_app, current_user, "reporting.research"), me=current_user.id,
        usable=research.usable,
    ), status


def _get(export_id: int) -> ResearchExport:
    export = ResearchExport.get_or_none(ResearchExport.id == export_id)
    if export is None:
        abort(404)
    return export


@bp.route("/")
@requires("reporting.research_approve")
def index():
    return _render()


@bp.route("/ask", methods=["POST"])
@requires("reporting.research")
def ask():
    first, last = _month(request.form.get("first")), _month(request.form.get("last"))
    values = {"first": request.form.get("first", ""), "last": request.form.get("last", ""),
              "attributes": request.form.getlist("attributes")}
    if first is None or last is None:
        return _render({"months": _("Please give months as year-month, e.g. 2025-03.")}, values, 422)
    try:
        research.ask(_user(), first, last, request.form.getlist("attributes"), service.settings()["research_k"])
    except research.ResearchError as exc:
        return _render({"months": str(exc)}, values, 422)
    flash(_("Asked. Another member of staff must approve it before it can be downloaded."), "info")
    return redirect(url_for("reporting_research.index"), code=303)


def _decide(export_id: int, approve: bool):
    try:
        research.decide(_get(export_id), _user(), approve)
    except research.ResearchError as exc:
        return _render({"decide": str(exc)}, status=409)
    flash(_("Approved.") if approve else _("Refused."), "info")
    return redirect(url_for("reporting_research.index"), code=303)


@bp.route("/<int:export_id>/approve", methods=["POST"])
@requires("reporting.research_approve")
def approve(export_id: int):
    return _decide(export_id, True)


@bp.route("/<int:export_id>/refuse", methods=["POST"])
@requires("reporting.research_approve")
def refuse(export_id: int):
    return _decide(export_id, False)


@bp.route("/<int:export_id>/download", methods=["POST"])
@requires("reporting.research")
def download(export_id: int):
    export = _get(export_id)
    try:
        _made, body = research.produce(export, _user())
    except research.ResearchError as exc:
        return _render({"decide": str(exc)}, status=409)
    return Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="research-export-{export.id}.zip"'})
