"""Administrators' pages for webhooks: endpoints per organisation, their secrets and deliveries.

/admin/webhooks lists every endpoint with its last status and adds new ones; an endpoint's own
page shows its last deliveries, and pauses, resumes, deletes, replaces the secret, sends a test
message or sends one again. Every change is audited by reference (webhook:3), never by address.
A secret is shown once, on the page that answers the request that made it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired

from core.form_fields import CheckboxesField
from core.organisations import Organisation
from core.permissions import requires
from core.webhooks import service
from core.webhooks.models import DELIVERED, FAILED, PENDING, SENDING, WebhookDelivery, WebhookEndpoint
from core.webhooks.registration import MANAGE_WEBHOOKS

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


class EndpointForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=str, choices=[], validate_choice=True)
    url = StringField(_l("Address (URL) of the partner's system"), validators=[
        InputRequired(message=_l("Please give the address the partner's system receives webhooks at."))])
    events = CheckboxesField(_l("Events to send"), choices=[],
                             choice_message=_l("Please choose among the events listed."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation.choices = [SelectChoice(str(row.id), row.name) for row in
                                     Organisation.select().order_by(Organisation.name, Organisation.id)]
        self.events.choices = [SelectChoice(name, str(event.label)) for name, event in
                               service.declared_events(enabled_only=True).items()]


def status_label(delivery: WebhookDelivery | None) -> str:
    if delivery is None:
        return _("Nothing sent yet")
    if delivery.status == DELIVERED:
        return _("Delivered")
    if delivery.status == FAILED:
        return _("Not delivered: every try failed")
    if delivery.status == SENDING:
        return _("Being sent")
    if delivery.attempts:
        return _("Not delivered yet: it will be tried again")
    return _("Waiting to be sent")


def shown_url(url: str) -> str:
    """The address without its query string, which often holds the partner's own token."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "?"
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def event_labels() -> dict[str, str]:
    labels = {name: str(event.label) for name, event in service.declared_events().items()}
    labels[service.TEST_EVENT] = _("Test message")
    return labels


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    found = WebhookEndpoint.get_or_none(WebhookEndpoint.id == endpoint_id)
    if found is None:
        abort(404)
    return found


def _organisation_names(ids) -> dict[int, str]:
    return {row.id: row.name for row in Organisation.select(Organisation.id, Organisation.name)
            .where(Organisation.id.in_(list(ids)))} if ids else {}


def _render_index(form: EndpointForm, status: int = 200):
    endpoints = list(WebhookEndpoint.select().order_by(WebhookEndpoint.organisation, WebhookEndpoint.id))
    names = _organisation_names({endpoint.organisation_id for endpoint in endpoints})
    latest = service.latest_by_endpoint([endpoint.id for endpoint in endpoints])
    return render_template(
        "admin/webhooks.html", form=form, endpoints=endpoints, names=names, latest=latest,
        status_label=status_label, shown_url=shown_url, labels=event_labels(),
        events=service.declared_events(enabled_only=True), has_organisations=bool(form.organisation.choices),
    ), status


@bp.route("", methods=["GET", "POST"])
@requires(MANAGE_WEBHOOKS)
def index():
    form = EndpointForm()
    if request.method == "GET":
        return _render_index(form)
    if form.validate_on_submit():
        try:
            url = service.check_url(form.url.data)
        except service.WebhookError as error:
            form.url.errors = [*form.url.errors, str(error)]
        try:
            chosen = service.check_events(form.events.data)
        except service.WebhookError as error:
            form.events.errors = [*form.events.errors, str(error)]
        if not form.url.errors and not form.events.errors:
            endpoint, secret = service.create_endpoint(int(form.organisation.data), url, chosen, current_user.id)
            flash(_("Webhook added. It is on: the events you chose are sent from now on."), "info")
            return _render_endpoint(endpoint, new_secret=secret, status=201)
    return _render_index(form, 422)


def _render_endpoint(endpoint: WebhookEndpoint, new_secret: str | None = None, status: int = 200):
    organisation = Organisation.get_or_none(Organisation.id == endpoint.organisation_id)
    return render_template(
        "admin/webhooks_endpoint.html", endpoint=endpoint, organisation=organisation, new_secret=new_secret,
        deliveries=service.last_deliveries(endpoint.id), status_label=status_label, shown_url=shown_url,
        labels=event_labels(), PENDING=PENDING, FAILED=FAILED,
    ), status


@bp.route("/<int:endpoint_id>")
@requires(MANAGE_WEBHOOKS)
def show(endpoint_id: int):
    return _render_endpoint(_endpoint_or_404(endpoint_id))


@bp.route("/<int:endpoint_id>/secret", methods=["POST"])
@requires(MANAGE_WEBHOOKS)
def rotate(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    secret = service.rotate_secret(endpoint)
    flash(_("New secret made. The old one also signs for the next 24 hours, so the partner can switch over."),
          "info")
    return _render_endpoint(WebhookEndpoint.get_by_id(endpoint.id), new_secret=secret)


@bp.route("/<int:endpoint_id>/pause", methods=["POST"])
@requires(MANAGE_WEBHOOKS)
def pause(endpoint_id: int):
    service.set_active(_endpoint_or_404(endpoint_id), False)
    flash(_("Paused. Nothing is sent to this address until you resume it."), "info")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id), code=303)


@bp.route("/<int:endpoint_id>/resume", methods=["POST"])
@requires(MANAGE_WEBHOOKS)
def resume(endpoint_id: int):
    service.set_active(_endpoint_or_404(endpoint_id), True)
    flash(_("Resumed. Messages that were waiting are sent now."), "info")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint_id), code=303)


@bp.route("/<int:endpoint_id>/delete", methods=["POST"])
@requires(MANAGE_WEBHOOKS)
def delete(endpoint_id: int):
    service.delete_endpoint(_endpoint_or_404(endpoint_id))
    flash(_("Webhook deleted, with its messages."), "info")
    return redirect(url_for("webhooks.index"), code=303)


@bp.route("/<int:endpoint_id>/test", methods=["POST"])
@requires(MANAGE_WEBHOOKS)
def test(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    service.send_test(endpoint)
    flash(_("Test message queued. Its state shows in the list below."), "info")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id), code=303)


@bp.route("/<int:endpoint_id>/deliveries/<int:delivery_id>/retry", methods=["POST"])
@requires(MANAGE_WEBHOOKS)
def retry(endpoint_id: int, delivery_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    delivery = WebhookDelivery.get_or_none((WebhookDelivery.id == delivery_id)
                                           & (WebhookDelivery.endpoint == endpoint.id))
    if delivery is None:
        abort(404)
    try:
        service.retry_now(delivery)
    except service.WebhookError as error:
        flash(str(error), "error")
        return _render_endpoint(endpoint, status=409)
    flash(_("We are sending it again now."), "info")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id), code=303)
