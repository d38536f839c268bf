"""Members' and partners' pages: the list of alerts with its filters, an alert's page and its
printable version, and the short neutral links (/n/<id>) that messages carry. An alert that was
published and is no longer shown answers 410 (gone_page); a draft is a 404."""

from __future__ import annotations

import datetime

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from core.permissions import requires
from plugins.alerts import labels, sms, subscriptions, unread
from plugins.alerts.filters import filtered, filters_from_request, paginate
from plugins.alerts.models import WITHDRAWN, Alert
from plugins.alerts.reading import is_visible, public_dict
from plugins.alerts.views import bp, may

links = Blueprint("alerts_links", __name__, url_prefix="/n")


@bp.route("/")
@requires("alerts.read")
def index():
    filters = filters_from_request()
    subscription = subscriptions.get(current_user)
    mine = subscriptions.as_dict(subscription)
    if "region" not in request.args and mine["regions"] and not mine["all_regions"] and "web" in mine["channels"]:
        # The "web" channel: the list opens on the person's own regions.
        filters["region"] = mine["regions"][0] if len(mine["regions"]) == 1 else ""
    alerts, page, pages = paginate(filtered(filters), request.args.get("page", 1, type=int))
    names = labels.names()
    marks = unread.marks(alerts, unread.last_seen(current_user))
    unread.mark_seen(current_user)
    # Say which region is shown (whether the person chose it here or in their settings), with a
    # plain link to every region: an empty list must not read as "there are no alerts at all".
    region = names["regions"].get(filters["region"]) if filters["region"] else None
    everywhere = {key: value for key, value in request.args.items() if key != "page"}
    everywhere["region"] = ""  # present but empty: all regions, and the settings' region is not applied
    return render_template(
        "alerts/index.html",
        alerts=[public_dict(alert, labels=names) for alert in alerts],
        marks=marks,
        filters=filters,
        names=names,
        page=page,
        pages=pages,
        subscribed=subscription is not None,
        sms_on=sms.configured(current_app),
        region=region,
        only_region=bool(region) and not any(filters[key] for key in ("q", "type", "since", "until", "kind")),
        all_regions_url=url_for("alerts.index", **everywhere),
    )


class AlertGone(Exception):
    """An alert that was published and is no longer shown: "withdrawn" or "ended" (past its end date)."""

    def __init__(self, alert_id: int, reason: str):
        super().__init__(reason)
        self.alert_id = alert_id
        self.reason = reason


def visible_or_404(alert_id: int) -> Alert:
    """The alert if members may read it now. One that was published and has since been withdrawn or
    ended raises AlertGone (old links in messages and print-outs lead there); anything else,
    drafts included, is 404: nobody learns that a draft exists."""
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is not None and is_visible(alert):
        return alert
    if alert is not None and alert.published_at is not None:
        raise AlertGone(alert.id, "withdrawn" if alert.status == WITHDRAWN else "ended")
    abort(404)


def gone_page(gone: AlertGone):
    """410 Gone, calmly: the alert is no longer current, please do not pass it on. Nothing of the
    alert itself (not even its title) and never the reason it was withdrawn."""
    return render_template("alerts/gone.html", reason=gone.reason, alert_id=gone.alert_id,
                           staff=may("alerts.publish")), 410


@bp.route("/<int:alert_id>")
@requires("alerts.read")
def show(alert_id: int):
    try:
        alert = visible_or_404(alert_id)
    except AlertGone as gone:
        return gone_page(gone)
    # Alerts requires reporting, so its form is there; looked up by endpoint all the same, so a
    # renamed route loses the link rather than breaking the alert.
    report_url = url_for("reporting.report") if "reporting.report" in current_app.view_functions else None
    return render_template("alerts/show.html", alert=public_dict(alert, labels=labels.names()),
                           report_url=report_url)


@bp.route("/<int:alert_id>/print")
@requires("alerts.read")
def printable(alert_id: int):
    try:
        alert = visible_or_404(alert_id)
    except AlertGone as gone:
        return gone_page(gone)
    return render_template("alerts/print.html", alert=public_dict(alert, labels=labels.names()),
                           printed_on=datetime.date.today())


@links.route("/<int:alert_id>", endpoint="open")
@requires("alerts.read")
def open_alert(alert_id: int):
    try:
        visible_or_404(alert_id)
    except AlertGone as gone:
        return gone_page(gone)  # answered here: the old link needs no second address in the history
    return redirect(url_for("alerts.show", alert_id=alert_id))


@links.route("/")
@requires("alerts.read")
def latest():
    return redirect(url_for("alerts.index"))
