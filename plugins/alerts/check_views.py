"""The identifier check page: a member types a phone number, e-mail, plate or online name and
reads whether we hold a warning that matches (plugins/alerts/check.py). The identifier is never
shown back."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from core.identifiers import InvalidIdentifier
from core.permissions import requires
from plugins.alerts import _, check, labels
from plugins.alerts.check_answers import answer_message, check_limits, quota_message, read_as_message
from plugins.alerts.config import settings
from plugins.alerts.forms import CheckForm
from plugins.alerts.models import Alert
from plugins.alerts.reading import public_dict
from plugins.alerts.views import bp


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
                names = labels.names()
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
