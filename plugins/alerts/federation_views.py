"""The alert page's "Sharing with peer instances" form: distribution and may-pass-on
(service.set_sharing; the same rules as the API's "distribution" and "may_pass_on")."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField

from core.federation import feed
from core.permissions import requires
from plugins.alerts import _, _l, service
from plugins.alerts.edit_views import staff_page
from plugins.alerts.errors import AlertError
from plugins.alerts.models import WITHDRAWN, Alert
from plugins.alerts.views import bp  # the alerts pages' blueprint: this route is one of them


class SharingForm(FlaskForm):
    distribution = SelectField(_l("Who gets it"), validate_choice=True)
    may_pass_on = BooleanField(_l("Peers may pass it on to their own peers"))


def sharing_form(alert: Alert, formdata=None) -> SharingForm | None:
    if alert.status == WITHDRAWN:
        return None
    form = SharingForm(formdata=formdata) if formdata is not None else SharingForm(
        formdata=None, distribution=alert.distribution or feed.LOCAL, may_pass_on=alert.may_pass_on)
    form.distribution.choices = [SelectChoice(value, str(label)) for value, label in feed.distribution_choices()]
    if (alert.distribution or feed.LOCAL) not in {choice.value for choice in form.distribution.choices}:
        form.distribution.choices.append(SelectChoice(alert.distribution, feed.distribution_label(alert.distribution)))
    return form


@bp.route("/manage/<int:alert_id>/sharing", methods=["POST"])
@requires("alerts.publish")
def sharing(alert_id: int):
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None or alert.status == WITHDRAWN:
        abort(404)
    form = sharing_form(alert, formdata=request.form)
    if form.validate_on_submit():
        try:
            service.set_sharing(alert, form.distribution.data,
                                None if alert.is_received else bool(form.may_pass_on.data), current_user)
        except AlertError as exc:
            form.distribution.errors = [*form.distribution.errors, exc.message]
        else:
            flash(_("Sharing saved.") if alert.status == "draft" else
                  _("Sharing saved. Peers get the change at once or at their next fetch."), "info")
            return redirect(url_for("alerts.staff_show", alert_id=alert.id), code=303)
    return staff_page(alert, form), 422
