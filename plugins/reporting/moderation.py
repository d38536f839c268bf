"""Moderation pages, under /reporting/moderate/ (permission reporting.moderate).

Every view of a report, and of each of its pictures, is written to the audit log.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.audit import record
from core.numbers import whole_number
from core.permissions import requires, user_has
from plugins.reporting import _, options, service
from plugins.reporting.models import PURPOSES, STATUSES, URGENCY_ROUTINE, URGENCY_URGENT, Attachment, Report
from plugins.reporting.schemas import MAX_MESSAGE
from plugins.reporting.views import purpose_short_labels, status_labels

MODERATE = "reporting.moderate"
REPORTER_ACCOUNT = "reporting.reporter_account"
# The alerts module's page for writing an alert from reports (it takes ?report=<reference>). Looked
# up by endpoint, never imported: the link is there only while that page exists, its module is on
# and this person may open it (see page_link).
WRITE_ALERT_ENDPOINT = "alerts.new_alert"
bp = Blueprint("reporting_moderate", __name__, url_prefix="/reporting/moderate")


def urgency_labels() -> dict[int, str]:
    return {2: _("Urgent"), 1: _("Serious"), 0: _("Routine")}


def moderation_status_labels() -> dict[str, str]:
    return {
        "new": _("New"),
        "triage": _("In triage"),
        "needs_info": _("Needs more information"),
        "verified": _("Verified"),
        "duplicate": _("Duplicate"),
        "rejected": _("Rejected"),
    }


def detail_labels() -> dict[str, str]:
    return {
        "make": _("Make"), "model": _("Model"), "colour": _("Colour"), "gender": _("Gender"),
        "age_range": _("Age, roughly"), "height": _("Height"), "build": _("Build"), "hair": _("Hair"),
        "features": _("Anything that stands out"), "languages": _("Languages spoken or accent"),
        "phone": _("Phone"), "email": _("Email"), "plate": _("Number plate"), "handle": _("Online name"),
    }


def _report_or_404(reference: str) -> Report:
    found = Report.get_or_none(Report.reference == reference.upper())
    if found is None:
        abort(404)
    return found


@bp.route("/")
@requires(MODERATE)
def queue():
    status = request.args.get("status", "open")
    if status not in ("open", *STATUSES):
        status = "open"
    page = whole_number(request.args.get("page", "1"))
    page = page if page is not None and 0 < page < 100_000 else 1
    reports, total = service.queue(status, page)
    return render_template(
        "reporting/moderate/queue.html",
        reports=reports,
        total=total,
        page=page,
        pages=max(1, -(-total // service.PAGE_SIZE)),
        status=status,
        statuses=STATUSES,
        linked=service.linked_counts([r.id for r in reports]),
        urgency=urgency_labels(),
        status_names=moderation_status_labels(),
        label_for=options.label_for,
    )


@bp.route("/<reference>")
@requires(MODERATE)
def report(reference: str):
    found = _report_or_404(reference)
    service.staff_view(found)
    people = service.perpetrators(found)
    # Staff see whether a report came from a signed-in member; the account itself only with the
    # permission that needs it, and showing it is audited on its own.
    reporter_account = None
    if found.reporter_id is not None and user_has(current_app, current_user, REPORTER_ACCOUNT):
        reporter_account = found.reporter_id
        record("report.reporter_account_shown", target=found.target())
    return render_template(
        "reporting/moderate/report.html",
        report=found,
        reporter_account=reporter_account,
        people=people,
        identifiers=service.identifiers_by_perpetrator(found),
        links=service.links(found),
        consents=service.consent_states(found),
        history=service.consent_history(found),
        messages=service.all_messages(found),
        files=service.attachments(found),
        statuses=STATUSES,
        urgency=urgency_labels(),
        status_names=moderation_status_labels(),
        reporter_status=status_labels(),
        purpose_names=purpose_short_labels(),
        label_for=options.label_for,
        purposes=PURPOSES,
        labels=detail_labels(),
        write_alert=_write_alert(found),
    )


def page_link(endpoint: str, **values) -> str | None:
    """The address of another module's page, or None unless the page exists, its module is
    enabled and the signed-in person passes the permission it declares (the same checks the
    request guards make when the link is followed), so a link never leads to a 403 or a 404."""
    from core.permissions import access_paused
    from core.plugins import get_registry

    view = current_app.view_functions.get(endpoint)
    if view is None:
        return None
    registry = get_registry()
    owner = registry.blueprint_owners.get(endpoint.rpartition(".")[0])
    if owner is not None and not registry.is_enabled(owner):
        return None
    permission = getattr(view, "required_permission", None)
    if permission is None or not user_has(current_app, current_user, permission):
        return None
    if access_paused(current_app, current_user, permission) is not None:
        return None
    return url_for(endpoint, **values)


def _write_alert(found: Report) -> dict:
    """What the report page offers for turning a verified report into an alert: a link when the
    reporter agreed to a warning being shared, or the reason there is none."""
    if found.status != "verified":
        return {}
    url = page_link(WRITE_ALERT_ENDPOINT, report=found.reference)
    if url is None:
        return {}
    if not found.has_consent("share_alert"):
        return {"reason": _("The reporter has not agreed to a warning being shared, so no alert can be written "
                            "from this report.")}
    return {"url": url}


def _back(found: Report):
    return redirect(url_for("reporting_moderate.report", reference=found.reference), code=303)


@bp.route("/<reference>/status", methods=["POST"])
@requires(MODERATE)
def set_status(reference: str):
    found = _report_or_404(reference)
    try:
        service.set_status(found, request.form.get("status", ""), current_user, request.form.get("duplicate_of"))
    except service.ModerationError as exc:
        flash(str(exc), "error")
        return _back(found)
    flash(_("Status changed to: %(status)s.", status=moderation_status_labels()[found.status]), "info")
    return _back(found)


@bp.route("/<reference>/urgency", methods=["POST"])
@requires(MODERATE)
def set_urgency(reference: str):
    found = _report_or_404(reference)
    value = whole_number(request.form.get("urgency", ""))
    if value is None or not URGENCY_ROUTINE <= value <= URGENCY_URGENT:
        flash(_("Please choose one of the listed options."), "error")
        return _back(found)
    service.set_urgency(found, value, current_user)
    flash(_("Urgency changed."), "info")
    return _back(found)


def _body() -> str | None:
    body = (request.form.get("body") or "").strip()
    if not body:
        flash(_("Please write something first."), "error")
        return None
    if len(body) > MAX_MESSAGE:
        flash(_("Please keep this under %(count)d characters (it has %(length)d).", count=MAX_MESSAGE,
                length=len(body)), "error")
        return None
    return body


@bp.route("/<reference>/note", methods=["POST"])
@requires(MODERATE)
def add_note(reference: str):
    found = _report_or_404(reference)
    body = _body()
    if body:
        service.add_message(found, "note", body, author=current_user._get_current_object())
        flash(_("Note added. Only staff can see it."), "info")
    return _back(found)


@bp.route("/<reference>/message", methods=["POST"])
@requires(MODERATE)
def message_reporter(reference: str):
    found = _report_or_404(reference)
    body = _body()
    if body:
        service.add_message(found, "to_reporter", body, author=current_user._get_current_object())
        flash(_("Message sent. The reporter sees it when they next open their report."), "info")
    return _back(found)


@bp.route("/<reference>/consent/<purpose>/withdraw", methods=["POST"])
@requires(MODERATE)
def withdraw_consent(reference: str, purpose: str):
    found = _report_or_404(reference)
    if purpose not in PURPOSES:
        abort(404)
    if service.withdraw_consent(found, purpose, by="staff", user=current_user._get_current_object()):
        flash(_("Consent withdrawn, as the reporter asked: %(purpose)s.", purpose=purpose_short_labels()[purpose]),
              "info")
    else:
        flash(_("That consent was not given, so there was nothing to withdraw."), "error")
    return _back(found)


@bp.route("/<reference>/files/<int:file_id>")
@requires(MODERATE)
def attachment(reference: str, file_id: int):
    found = _report_or_404(reference)
    row = Attachment.get_or_none((Attachment.id == file_id) & (Attachment.report == found))
    if row is None:
        abort(404)
    from core.audit import record

    record("report.file_viewed", target=f"{found.target()}:file:{row.id}")
    response = Response(row.data, mimetype=row.content_type)
    response.headers["Content-Disposition"] = "inline"
    return response
