"""The moderators' list of alerts (with the reports waiting for one), and the pages that start a
draft: an alert about a person from reports, or a safety notice. Everything else about a draft is
set on its edit page (edit_views)."""

from __future__ import annotations

import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from core.permissions import requires
from plugins.alerts import _, labels, service
from plugins.alerts.errors import AlertError
from plugins.alerts.filters import filtered, filters_from_request, paginate
from plugins.alerts.forms import EmptyForm, NewAlertForm, NewNoticeForm
from plugins.alerts.models import STATUSES, WITHDRAWN, Alert
from plugins.alerts.reading import public_dict
from plugins.alerts.sources import dismiss_candidates, eligible_reports, open_candidates, reports_by_reference
from plugins.alerts.views import bp, require_valid


@bp.route("/manage/")
@requires("alerts.publish")
def manage():
    status = request.args.get("status", "")
    filters = filters_from_request()
    query = Alert.select()
    if status in STATUSES:
        query = query.where(Alert.status == status)
    alerts, page, pages = paginate(filtered(filters, query), request.args.get("page", 1, type=int))
    names = labels.names()
    return render_template(
        "alerts/manage.html",
        alerts=[public_dict(alert, staff=True, labels=names) for alert in alerts],
        candidates=open_candidates(),
        status=status,
        statuses=STATUSES,
        filters=filters,
        names=names,
        page=page,
        pages=pages,
        review_due=Alert.select().where(Alert.review_on.is_null(False) & (Alert.review_on <= datetime.date.today())
                                        & (Alert.status != WITHDRAWN)).count(),
    )


@bp.route("/manage/new", methods=["GET", "POST"])
@requires("alerts.publish")
def new_alert():
    form = NewAlertForm()
    reports = eligible_reports()
    names = labels.names()
    form.reports.choices = [SelectChoice(report.reference) for report in reports]
    if request.method == "GET" and request.args.get("report"):
        form.reports.data = [request.args["report"]]
    status = 200
    if request.method == "POST":
        saved = _draft_saved(form, lambda: service.create_from_reports(
            reports_by_reference(form.reports.data or []),
            {"summary": form.summary.data, "include_perpetrators": form.include_perpetrators.data},
            current_user,
        ))
        if saved is not None:
            return saved
        status = 422
    return render_template("alerts/new.html", form=form, reports=reports, names=names), status


@bp.route("/manage/notices/new", methods=["GET", "POST"])
@requires("alerts.publish")
def new_notice():
    """A draft safety notice: a category, the summary, where, and (for a pattern) the reports it
    cites, which may be none. Everything else is set on the edit page, as for any alert."""
    form = NewNoticeForm()
    reports = eligible_reports()
    names = labels.names()
    form.category.choices = [SelectChoice("", _("Choose one"))] + [
        SelectChoice(code, name) for code, name in names["categories"].items()]
    form.regions.choices = [SelectChoice(code, name) for code, name in names["regions"].items()]
    form.reports.choices = [SelectChoice(report.reference) for report in reports]
    status = 200
    if request.method == "POST":
        saved = _draft_saved(form, lambda: service.create_notice(
            reports_by_reference(form.reports.data) if form.reports.data else [],
            {"summary": form.summary.data, "category": form.category.data, "regions": form.regions.data or None},
            current_user,
        ))
        if saved is not None:
            return saved
        status = 422
    return render_template("alerts/new_notice.html", form=form, reports=reports, names=names), status


@bp.route("/manage/candidates/<int:report_id>/dismiss", methods=["POST"])
@requires("alerts.publish")
def dismiss_candidate(report_id: int):
    require_valid(EmptyForm())
    dismiss_candidates([report_id])
    return redirect(url_for("alerts.manage"), code=303)


def _draft_saved(form, create):
    """For a valid posted form, make the draft (create()) and go to its edit page; None when the
    form is not valid or the reports cannot be used (the reason is shown on the reports field)."""
    if not form.validate_on_submit():
        return None
    try:
        alert = create()
    except AlertError as exc:
        form.reports.errors = list(form.reports.errors) + [exc.message]
        return None
    flash(_("Draft saved. Check every detail before publishing."), "info")
    return redirect(url_for("alerts.edit", alert_id=alert.id), code=303)
