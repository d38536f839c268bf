"""A moderator's pages for one alert: its staff page (history, deliveries, sharing), the edit form
(a draft, or a correction of a published alert), the preview that must be reviewed before
publishing, publishing, and withdrawing."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from core.identifiers import KINDS, InvalidIdentifier
from core.permissions import requires
from plugins.alerts import _, delivery, labels, service
from plugins.alerts.content import MAX_IDENTIFIERS, too_many_identifiers, value_problems
from plugins.alerts.details import DESCRIPTION_KEYS, PERSON_FIELDS, VEHICLE_KEYS
from plugins.alerts.errors import AlertError
from plugins.alerts.forms import AlertForm, PublishForm, WithdrawForm
from plugins.alerts.models import DRAFT, WITHDRAWN, Alert
from plugins.alerts.preview import preview_of
from plugins.alerts.reading import history, public_dict
from plugins.alerts.sources import reporter_words, sources_still_consenting
from plugins.alerts.views import bp, may, require_valid


def alert_or_404(alert_id: int) -> Alert:
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None:
        abort(404)
    return alert


def _people_from_form(count: int) -> list[dict]:
    people = []
    for index in range(count + 1):  # the existing people, and one empty row for a new person
        if request.form.get(f"p{index}_remove"):
            continue
        values = {key: request.form.get(f"p{index}_{key}", "").strip()[:1000] for key in PERSON_FIELDS}
        description = {key: values[key] for key in DESCRIPTION_KEYS if values[key]}
        vehicle = {key: values[key] for key in VEHICLE_KEYS if values[key]}
        if description or vehicle:
            people.append({"description": description, "vehicle": vehicle})
    return people


def _identifiers_from_text(text: str) -> list[dict]:
    """One a line: "phone: 07700 900123", or just the value (its kind is then worked out)."""
    from core.identifiers import guess_kind

    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_IDENTIFIERS:  # refused, never cut short without a word
        raise AlertError(too_many_identifiers(len(lines)), 422, "identifiers")
    items = []
    for line in lines:
        kind, sep, value = line.partition(":")
        if sep and kind.strip().lower() in KINDS and value.strip():
            items.append({"kind": kind.strip().lower(), "value": value.strip()})
            continue
        try:
            guessed, _value = guess_kind(line, current_app.config["DEFAULT_COUNTRY"])
        except InvalidIdentifier:
            raise AlertError(_("“%(value)s” is not a phone number, e-mail, plate or online name.",
                                       value=line[:80]), 422, "identifiers") from None
        items.append({"kind": guessed, "value": line})
    return items


@bp.route("/manage/<int:alert_id>/edit", methods=["GET", "POST"])
@requires("alerts.publish")
def edit(alert_id: int):
    alert = alert_or_404(alert_id)
    if alert.status == WITHDRAWN:
        flash(_("This alert was withdrawn and can no longer be changed."), "error")
        return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)
    names = labels.names()
    current = public_dict(alert, staff=True, labels=names)
    form = AlertForm(data=None if request.method == "POST" else {
        "title": alert.title,
        "summary": alert.summary,
        "severity": alert.severity,
        "incident_types": alert.incident_type_codes,
        "regions": [region["code"] for region in current["regions"]],
        "occurred_on": alert.occurred_on,
        "expires_on": alert.expires_on,
        "review_on": alert.review_on,
        "identifiers": "\n".join(f"{item['kind']}: {item['value']}" for item in current["identifiers"]),
        "category": alert.category or "",
    })
    form.category.choices = [SelectChoice("", _("Choose one"))] + [
        SelectChoice(code, name) for code, name in names["categories"].items()]
    form.incident_types.choices = [SelectChoice(code, name) for code, name in names["incident_types"].items()]
    form.regions.choices = [SelectChoice(code, name) for code, name in names["regions"].items()]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            data = {
                "title": form.title.data or "",
                "summary": form.summary.data or "",
                "severity": form.severity.data,
                "incident_types": form.incident_types.data,
                "regions": form.regions.data,
                "occurred_on": form.occurred_on.data,
                "expires_on": form.expires_on.data,
                "review_on": form.review_on.data,
            }
            if alert.is_notice:
                data["category"] = form.category.data or None
            else:
                data["perpetrators"] = _people_from_form(len(current["perpetrators"]))
            problems = value_problems(data)  # every refused field at once, not one per try
            try:
                data["identifiers"] = _identifiers_from_text(form.identifiers.data)
            except AlertError as exc:
                problems[exc.field] = exc.message
            if not problems:
                try:
                    service.update(alert, data, current_user)
                except AlertError as exc:
                    problems[exc.field or "summary"] = exc.message
                else:
                    flash(_("Saved.") if alert.status == DRAFT else
                          _("Correction saved. Members see that this alert was updated."), "info")
                    return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)
            for name, message in problems.items():
                field = getattr(form, name, form.summary)
                field.errors = list(field.errors) + [message]
        status = 422
    # The reporter's own words, to write from: staff only, for those who may read reports anyway,
    # shown beside the form and never copied into the alert. Not for a safety notice, which
    # describes no person: nobody needs to read those descriptions to write it.
    words = reporter_words(alert) if may("reporting.moderate") and not alert.is_notice else []
    return render_template("alerts/edit.html", form=form, alert=current, people=current["perpetrators"],
                           person_fields=PERSON_FIELDS, label=labels.description_label,
                           reporter_words=words, record=alert, sharing_form=_sharing_form(alert)), status


@bp.route("/manage/<int:alert_id>")
@requires("alerts.publish")
def staff_show(alert_id: int):
    alert = alert_or_404(alert_id)
    return staff_page(alert, _sharing_form(alert))


def staff_page(alert: Alert, sharing_form) -> str:
    """The alert's staff page, with this sharing form (federation_views shows it again with errors)."""
    return render_template(
        "alerts/staff_show.html",
        alert=public_dict(alert, staff=True, labels=labels.names()),
        record=alert,
        history=history(alert),
        stats=delivery.stats(alert),
        consenting=sources_still_consenting(alert),
        withdraw_form=WithdrawForm(),
        sharing_form=sharing_form,
    )


def _sharing_form(alert):
    from plugins.alerts.federation_views import sharing_form  # it shows this module's staff page

    return sharing_form(alert)


@bp.route("/manage/<int:alert_id>/preview")
@requires("alerts.publish")
def preview(alert_id: int):
    """Before publishing: the alert exactly as members will see it and how many people will be
    told, with the Publish button, which carries this version and content (PublishForm)."""
    alert = alert_or_404(alert_id)
    if alert.status != DRAFT:
        return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)
    shown = preview_of(alert, labels=labels.names())
    try:
        service.check_can_publish(alert)
        problem = None
    except AlertError as exc:
        problem = exc.message
    form = PublishForm(formdata=None, data={"version": shown["version"], "digest": shown["digest"]})
    return render_template("alerts/preview.html", preview=shown, record=alert, problem=problem, form=form)


@bp.route("/manage/<int:alert_id>/publish", methods=["POST"])
@requires("alerts.publish")
def publish(alert_id: int):
    """Publish the version the moderator previewed: recorded as reviewed by them, then published.
    If the alert changed since the preview, nothing is published and the new preview is shown."""
    alert = alert_or_404(alert_id)
    form = require_valid(PublishForm())
    try:
        seen = (int(form.version.data), form.digest.data)
    except ValueError:
        abort(400)
    try:
        service.review(alert, current_user, seen=seen)
        service.publish(alert, current_user)
    except AlertError as exc:
        flash(exc.message, "error")
        if alert.status == DRAFT:
            return redirect(url_for("alerts.preview", alert_id=alert.id), code=303)
    else:
        flash(_("Published. Subscribers are being told now."), "info")
    return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)


@bp.route("/manage/<int:alert_id>/withdraw", methods=["POST"])
@requires("alerts.publish")
def withdraw(alert_id: int):
    alert = alert_or_404(alert_id)
    form = require_valid(WithdrawForm())
    try:
        service.withdraw(alert, current_user, form.reason.data)
    except AlertError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Withdrawn. It no longer shows in lists, feeds or checks."), "info")
    return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)
