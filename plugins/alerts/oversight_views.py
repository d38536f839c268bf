"""Oversight pages (alerts.oversee): the delivery outbox and its failures, warnings about accounts
that check a lot, and partner feed tokens."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from core.audit import record
from core.db import utcnow
from core.numbers import whole_number
from core.permissions import requires
from plugins.alerts import _, delivery, feeds, ngettext
from plugins.alerts.forms import EmptyForm, FeedTokenForm
from plugins.alerts.models import CheckWarning, FeedToken
from plugins.alerts.views import bp, require_valid


@bp.route("/manage/deliveries", methods=["GET", "POST"])
@requires("alerts.oversee")
def deliveries():
    form = EmptyForm()
    if request.method == "POST":
        require_valid(form)
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
        require_valid(form)
        warning = CheckWarning.get_or_none(CheckWarning.id == request.form.get("warning", type=whole_number))
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
    form.organisation.choices = [SelectChoice("", _("Not listed"))] + [
        SelectChoice(str(key), name) for key, name in organisations.items()]
    new_token = None
    status = 200
    if request.method == "POST":
        revoke_id = request.form.get("revoke", type=whole_number)
        if revoke_id:
            require_valid(EmptyForm())
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
