"""A member's choice of how to be told of new alerts (by e-mail, by text message where this
service sends them, or no messages), how often, and for which regions (plugins/alerts/subscriptions.py)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from core.identifiers import InvalidIdentifier
from core.permissions import requires
from plugins.alerts import _, labels, sms, subscriptions
from plugins.alerts.forms import SubscriptionForm
from plugins.alerts.views import bp


@bp.route("/subscription", methods=["GET", "POST"])
@requires("alerts.subscribe")
def subscription_page():
    """One choice of how to be told (by e-mail, by text message where this service sends them, or
    no messages), how often, and where. Text messages are offered only where SMS is set up."""
    names = labels.names()
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
    form.channels.choices = [SelectChoice(value, label) for value, label in choices]
    form.regions.choices = [SelectChoice(code, name) for code, name in names["regions"].items()]
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
