"""Pages of the alerts plugin: the alert list and pages for members and partners, the identifier
check, subscriptions, and the moderators' pages (write, publish, correct, withdraw, deliveries,
check warnings, partner feed tokens). Short neutral links (/n/<id>) for messages live here too.
"""

from __future__ import annotations

import datetime
import json
import math

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.audit import record
from core.db import utcnow
from core.identifiers import KINDS, InvalidIdentifier
from core.permissions import requires, user_has
from plugins.alerts import _, check, delivery, feeds, ngettext, service, sms, subscriptions, unread
from plugins.alerts.config import settings
from plugins.alerts.content import MAX_IDENTIFIERS, too_many_identifiers, value_problems
from plugins.alerts.details import DESCRIPTION_KEYS, VEHICLE_KEYS
from plugins.alerts.errors import AlertError
from plugins.alerts.forms import (
    AlertForm,
    CheckForm,
    EmptyForm,
    FeedTokenForm,
    NewAlertForm,
    NewNoticeForm,
    PublishForm,
    SubscriptionForm,
    WithdrawForm,
)
from plugins.alerts.labels import (
    action_label,
    alert_kind_label,
    channel_label,
    choice_labels,
    delivery_status_label,
    description_label,
    kind_label,
    message_kind_label,
    notice_category_labels,
    severity_label,
    status_label,
)
from plugins.alerts.models import (
    ALERT_KINDS,
    DRAFT,
    STATUSES,
    WITHDRAWN,
    Alert,
    Candidate,
    CheckWarning,
    FeedToken,
)
from plugins.alerts.preview import preview_of
from plugins.alerts.reading import history, is_visible, public_dict, search
from plugins.alerts.sources import (
    eligible_reports,
    open_candidates,
    reporter_words,
    reports_by_reference,
    sources_still_consenting,
)

bp = Blueprint("alerts", __name__, url_prefix="/alerts", static_folder="static")
links = Blueprint("alerts_links", __name__, url_prefix="/n")

PER_PAGE = 20


def labels() -> dict:
    return {"regions": choice_labels("regions"), "incident_types": choice_labels("incident_types"),
            "categories": notice_category_labels()}


def _date_arg(name: str) -> datetime.date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _page(query, page: int):
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(page, 1), pages)
    return list(query.paginate(page, PER_PAGE)), page, pages


def filters_from_request() -> dict:
    names = labels()
    region = request.args.get("region", "")
    incident_type = request.args.get("type", "")
    return {
        "region": region if region in names["regions"] else "",
        "type": incident_type if incident_type in names["incident_types"] else "",
        "since": _date_arg("since"),
        "until": _date_arg("until"),
        "q": request.args.get("q", "").strip()[:200],
        "kind": request.args.get("kind", "") if request.args.get("kind", "") in ALERT_KINDS else "",
    }


def filtered(filters: dict, query=None):
    return search(query, region=filters["region"] or None, incident_type=filters["type"] or None,
                          since=filters["since"], until=filters["until"], text=filters["q"] or None,
                          kind=filters.get("kind") or None)


# -- members and partners ------------------------------------------------------------------------


@bp.route("/")
@requires("alerts.read")
def index():
    filters = filters_from_request()
    subscription = subscriptions.get(current_user)
    mine = subscriptions.as_dict(subscription)
    if "region" not in request.args and mine["regions"] and not mine["all_regions"] and "web" in mine["channels"]:
        # The "web" channel: the list opens on the person's own regions.
        filters["region"] = mine["regions"][0] if len(mine["regions"]) == 1 else ""
    alerts, page, pages = _page(filtered(filters), request.args.get("page", 1, type=int))
    names = labels()
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


def _visible_or_404(alert_id: int) -> Alert:
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
        alert = _visible_or_404(alert_id)
    except AlertGone as gone:
        return gone_page(gone)
    # Alerts requires reporting, so its form is there; looked up by endpoint all the same, so a
    # renamed route loses the link rather than breaking the alert.
    report_url = url_for("reporting.report") if "reporting.report" in current_app.view_functions else None
    return render_template("alerts/show.html", alert=public_dict(alert, labels=labels()),
                           report_url=report_url)


@bp.route("/<int:alert_id>/print")
@requires("alerts.read")
def printable(alert_id: int):
    try:
        alert = _visible_or_404(alert_id)
    except AlertGone as gone:
        return gone_page(gone)
    return render_template("alerts/print.html", alert=public_dict(alert, labels=labels()),
                           printed_on=datetime.date.today())


def check_limits() -> tuple[int, int]:
    conf = settings()
    return conf["check_limit_account"], conf["check_limit_address"]


def quota_message() -> str:
    return _("You have made the most checks allowed in one day. Please try again tomorrow, or contact us if "
             "you need to check more.")


def answer_message(result: str, with_alerts: bool, kinds: list[str] | tuple = ()) -> str:
    """The answer in words; for a caution, which kind of warning matched (outcome.kinds)."""
    if result == check.NO_RECORD:
        return _("We have no warning about this. That does not mean they are safe: trust your instincts, and "
                 "tell us if something happens.")
    if with_alerts and list(kinds) == ["notice"]:
        return _("This matches a safety notice we published (about a place, a scam or something happening, not "
                 "one person). Please read it before you decide anything.")
    if with_alerts and "notice" in kinds:
        return _("This matches an alert about a person and a safety notice. Please read them before you decide "
                 "anything.")
    if with_alerts:
        return _("We have a warning that matches this. Please read it before you decide anything.")
    return _("We have information that matches this. Please take care, and contact us if you would like to "
             "know more.")


def read_as_message(readings: list[tuple[str, str]]) -> str | None:
    """How the check read what was typed, so a member can spot a typo: the kind, and for a phone
    only its last four digits (the page never shows the identifier back)."""
    if not readings:
        return None
    kind, value = readings[0]
    if kind == "phone":
        return _("Checked as a phone number ending %(digits)s.", digits=value[-4:])
    if kind == "email":
        return _("Checked as an e-mail address.")
    if kind == "plate":
        if any(other == "handle" for other, _value in readings):
            return _("Checked as a number plate and as an online name.")
        return _("Checked as a number plate.")
    if kind == "website":
        return _("Checked as a website.")
    if any(other == "website" and ("handle", value) in readings for other, value in readings):
        # "fake-agency.example": a site's name, or someone's. (For a profile address such as
        # instagram.com/someone the name is what was meant; its site is looked up all the same.)
        return _("Checked as an online name and as a website.")
    return _("Checked as an online name.")


@bp.route("/check", methods=["GET", "POST"])
@requires("alerts.check")
def check_page():
    form = CheckForm()
    outcome = None
    alerts = []
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                outcome = check.run_check(
                    form.identifier.data, current_user.id, request.remote_addr, kind=form.kind.data or None,
                    limits=check_limits(), similar_threshold=settings()["similar_warning"],
                )
            except check.QuotaExceeded:
                return render_template("alerts/check.html", form=form, outcome=None, quota=quota_message()), 429
            except InvalidIdentifier:
                form.identifier.errors.append(_("We could not read that as a phone number, e-mail, number plate or "
                                                "online name. Please check it."))
                status = 422
            else:
                names = labels()
                alerts = [public_dict(a, labels=names)
                          for a in Alert.select().where(Alert.id.in_(outcome.alert_ids))] if outcome.alert_ids else []
                form.identifier.data = ""  # the identifier is not shown back on the answer page
        else:
            status = 422
    return render_template(
        "alerts/check.html",
        form=form,
        outcome=outcome,
        alerts=alerts,
        message=answer_message(outcome.result, bool(alerts), outcome.kinds) if outcome else None,
        read_as=read_as_message(outcome.readings) if outcome else None,
    ), status


@bp.route("/subscription", methods=["GET", "POST"])
@requires("alerts.subscribe")
def subscription_page():
    """One choice of how to be told (by e-mail, by text message where this service sends them, or
    no messages), how often, and where. Text messages are offered only where SMS is set up."""
    names = labels()
    sms_on = sms.configured(current_app)
    subscription = subscriptions.get(current_user)
    current = subscriptions.as_dict(subscription)
    choices = subscriptions.how_choices(current_user, sms_on)
    offered = {value for value, _label in choices}
    if request.method == "POST":
        form = SubscriptionForm()
    else:
        how = subscriptions.how_of(current["channels"]) if subscription is not None else None
        if how is not None and how not in offered:
            # Offered no longer (SMS switched off, no e-mail address): show what is really sent.
            how = "email" if how == "both" and "email" in offered else "web"
        form = SubscriptionForm(data={
            "channels": how, "regions": current["regions"], "all_regions": current["all_regions"],
            "frequency": current["frequency"], "sms_number": current["sms_number"] or _profile_mobile(sms_on),
        })
    form.channels.choices = choices
    form.regions.choices = list(names["regions"].items())
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            channels = list(subscriptions.HOW_CHANNELS[form.channels.data])
            data = {
                "channels": channels,
                "regions": form.regions.data,
                "all_regions": form.all_regions.data,
                "frequency": form.frequency.data,
                "sms_number": None,
            }
            if "sms" in channels and form.sms_number.data:
                from core.identifiers import normalise_mobile
                from plugins.alerts.schemas import sms_number_message

                try:
                    data["sms_number"] = normalise_mobile(form.sms_number.data, current_app.config["DEFAULT_COUNTRY"])
                except InvalidIdentifier as exc:
                    form.sms_number.errors.append(sms_number_message(exc))
            if not form.sms_number.errors:
                try:
                    subscriptions.save(current_user, data, sms_on)
                except subscriptions.SubscriptionError as exc:
                    getattr(form, exc.field).errors.append(exc.message)
                else:
                    flash(_("Your choices are saved."), "info")
                    return redirect(url_for("alerts.subscription_page"), code=303)
        status = 422
    return render_template("alerts/subscription.html", form=form, sms_on=sms_on), status


def _profile_mobile(sms_on: bool) -> str | None:
    """The mobile number the person gave on their account, to start the text-message box with."""
    if not sms_on:
        return None
    from core.accounts.profile import AccountProfile

    return AccountProfile.for_user(current_user).phone or None


# -- short neutral links used in messages ----------------------------------------------------------


@links.route("/<int:alert_id>", endpoint="open")
@requires("alerts.read")
def open_alert(alert_id: int):
    try:
        _visible_or_404(alert_id)
    except AlertGone as gone:
        return gone_page(gone)  # answered here: the old link needs no second address in the history
    return redirect(url_for("alerts.show", alert_id=alert_id))


@links.route("/")
@requires("alerts.read")
def latest():
    return redirect(url_for("alerts.index"))


# -- moderators -------------------------------------------------------------------------------


def _alert_or_404(alert_id: int) -> Alert:
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.route("/manage/")
@requires("alerts.publish")
def manage():
    status = request.args.get("status", "")
    filters = filters_from_request()
    query = Alert.select()
    if status in STATUSES:
        query = query.where(Alert.status == status)
    alerts, page, pages = _page(filtered(filters, query), request.args.get("page", 1, type=int))
    names = labels()
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
    names = labels()
    form.reports.choices = [(report.reference, report.reference) for report in reports]
    if request.method == "GET" and request.args.get("report"):
        form.reports.data = [request.args["report"]]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                chosen = reports_by_reference(form.reports.data or [])
                alert = service.create_from_reports(
                    chosen,
                    {"summary": form.summary.data, "include_perpetrators": form.include_perpetrators.data},
                    current_user,
                )
            except AlertError as exc:
                form.reports.errors = list(form.reports.errors) + [exc.message]
            else:
                flash(_("Draft saved. Check every detail before publishing."), "info")
                return redirect(url_for("alerts.edit", alert_id=alert.id), code=303)
        status = 422
    return render_template("alerts/new.html", form=form, reports=reports, names=names), status


@bp.route("/manage/notices/new", methods=["GET", "POST"])
@requires("alerts.publish")
def new_notice():
    """A draft safety notice: a category, the summary, where, and (for a pattern) the reports it
    cites, which may be none. Everything else is set on the edit page, as for any alert."""
    form = NewNoticeForm()
    reports = eligible_reports()
    names = labels()
    form.category.choices = [("", _("Choose one"))] + list(names["categories"].items())
    form.regions.choices = list(names["regions"].items())
    form.reports.choices = [(report.reference, report.reference) for report in reports]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                cited = reports_by_reference(form.reports.data) if form.reports.data else []
                alert = service.create_notice(cited, {"summary": form.summary.data, "category": form.category.data,
                                                      "regions": form.regions.data or None}, current_user)
            except AlertError as exc:
                form.reports.errors = list(form.reports.errors) + [exc.message]
            else:
                flash(_("Draft saved. Check every detail before publishing."), "info")
                return redirect(url_for("alerts.edit", alert_id=alert.id), code=303)
        status = 422
    return render_template("alerts/new_notice.html", form=form, reports=reports, names=names), status


PERSON_FIELDS = DESCRIPTION_KEYS + VEHICLE_KEYS


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
    alert = _alert_or_404(alert_id)
    if alert.status == WITHDRAWN:
        flash(_("This alert was withdrawn and can no longer be changed."), "error")
        return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)
    names = labels()
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
    form.category.choices = [("", _("Choose one"))] + list(names["categories"].items())
    form.incident_types.choices = list(names["incident_types"].items())
    form.regions.choices = list(names["regions"].items())
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
                           person_fields=PERSON_FIELDS, label=description_label,
                           reporter_words=words, record=alert, sharing_form=_sharing_form(alert)), status


@bp.route("/manage/<int:alert_id>")
@requires("alerts.publish")
def staff_show(alert_id: int):
    alert = _alert_or_404(alert_id)
    return render_template(
        "alerts/staff_show.html",
        alert=public_dict(alert, staff=True, labels=labels()),
        record=alert,
        history=history(alert),
        stats=delivery.stats(alert),
        consenting=sources_still_consenting(alert),
        withdraw_form=WithdrawForm(),
        sharing_form=_sharing_form(alert),
    )


def _sharing_form(alert):
    from plugins.alerts.federation_views import sharing_form

    return sharing_form(alert)


@bp.route("/manage/<int:alert_id>/preview")
@requires("alerts.publish")
def preview(alert_id: int):
    """Before publishing: the alert exactly as members will see it and how many people will be
    told, with the Publish button, which carries this version and content (PublishForm)."""
    alert = _alert_or_404(alert_id)
    if alert.status != DRAFT:
        return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)
    shown = preview_of(alert, labels=labels())
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
    alert = _alert_or_404(alert_id)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
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
    alert = _alert_or_404(alert_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.withdraw(alert, current_user, form.reason.data)
    except AlertError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Withdrawn. It no longer shows in lists, feeds or checks."), "info")
    return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)


@bp.route("/manage/candidates/<int:report_id>/dismiss", methods=["POST"])
@requires("alerts.publish")
def dismiss_candidate(report_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    Candidate.update(dismissed_at=utcnow()).where(Candidate.report_id == report_id).execute()
    return redirect(url_for("alerts.manage"), code=303)


@bp.route("/manage/deliveries", methods=["GET", "POST"])
@requires("alerts.oversee")
def deliveries():
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        count = delivery.retry_failed()
        record("alerts.deliveries_retried", target=f"deliveries:{count}")
        delivery.kick({channel: 1 for channel in delivery.due_channels()})
        flash(ngettext("%(num)d failed message will be tried again.", "%(num)d failed messages will be tried again.",
                       count), "info")
        return redirect(url_for("alerts.deliveries"), code=303)
    return render_template("alerts/deliveries.html", stats=delivery.stats(), problems=delivery.problems(), form=form)


@bp.route("/manage/warnings", methods=["GET", "POST"])
@requires("alerts.oversee")
def warnings():
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        warning = CheckWarning.get_or_none(CheckWarning.id == request.form.get("warning", type=int))
        if warning is not None and warning.resolved_at is None:
            warning.resolved_at = utcnow()
            warning.resolved_by = current_user.id
            warning.save()
            record("alerts.check_warning_resolved", target=f"user:{warning.account_id}")
        return redirect(url_for("alerts.warnings"), code=303)
    rows = list(CheckWarning.select().order_by(CheckWarning.resolved_at.is_null(False), CheckWarning.id.desc())
                .limit(200))
    return render_template("alerts/warnings.html", warnings=rows, form=form)


@bp.route("/manage/feeds", methods=["GET", "POST"])
@requires("alerts.oversee")
def feed_tokens():
    from core.organisations import Organisation

    organisations = {row.id: row.name for row in Organisation.select().order_by(Organisation.name)}
    form = FeedTokenForm()
    form.organisation.choices = [("", _("Not listed"))] + [(str(key), name) for key, name in organisations.items()]
    new_token = None
    status = 200
    if request.method == "POST":
        revoke_id = request.form.get("revoke", type=int)
        if revoke_id:
            if not EmptyForm().validate_on_submit():
                abort(400)
            FeedToken.update(revoked_at=utcnow()).where(
                (FeedToken.id == revoke_id) & FeedToken.revoked_at.is_null()).execute()
            record("alerts.feed_token_revoked", target=f"feed_token:{revoke_id}")
            flash(_("The token no longer works."), "info")
            return redirect(url_for("alerts.feed_tokens"), code=303)
        if form.validate_on_submit():
            chosen = int(form.organisation.data) if form.organisation.data else None
            token_row, new_token = feeds.create_token("" if chosen else form.label.data, current_user, chosen)
            record("alerts.feed_token_created", target=f"feed_token:{token_row.id}")
            choices = form.organisation.choices
            form = FeedTokenForm(formdata=None)
            form.organisation.choices = choices
        else:
            status = 422
    tokens = list(FeedToken.select().order_by(FeedToken.revoked_at.is_null(False), FeedToken.id.desc()))
    return render_template("alerts/feeds.html", form=form, tokens=tokens, new_token=new_token,
                           revoke_form=EmptyForm(), organisations=organisations), status


def may(permission: str) -> bool:
    return user_has(current_app, current_user, permission)


@bp.app_template_filter("alerts_pretty")
def _pretty_filter(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


@bp.app_template_filter("alerts_date")
def _date_filter(value) -> str:
    """An ISO date or date-time string (or a date) in the reader's language."""
    from flask_babel import format_date

    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.rstrip("Z")).date() if "T" in value else \
                datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime.datetime):
        value = value.date()
    return format_date(value, "medium")


@bp.app_template_filter("alerts_datetime")
def _datetime_filter(value) -> str:
    from flask_babel import format_datetime

    return format_datetime(value, "short") if value else ""


@bp.app_template_filter("alerts_type_label")
def _type_label(code: str) -> str:
    return choice_labels("incident_types").get(code, code)


@bp.context_processor
def _helpers():
    return {"may": may, "kind_label": kind_label, "detail_label": description_label,
            "status_label": status_label, "action_label": action_label,
            "channel_label": channel_label, "delivery_status_label": delivery_status_label,
            "message_kind_label": message_kind_label, "alert_kind_label": alert_kind_label,
            "severity_word": severity_label}


from plugins.alerts import federation_views  # noqa: E402, F401  # its sharing route is on this blueprint
