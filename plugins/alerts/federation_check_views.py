"""The staff page of the cross-instance check (plugins/alerts/federation_check.py): the warning list
(ours, and what peers offer), peers' published tokens, and warnings about peers that ask a lot."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from core.audit import record
from core.db import utcnow
from core.federation.models import Peer
from core.identifiers import KINDS, InvalidIdentifier
from core.numbers import whole_number
from core.permissions import requires
from plugins.alerts import _, _l, federation_check
from plugins.alerts.config import settings
from plugins.alerts.federation_check_models import ACTIVE, PROPOSED, PeerCheckWarning, PeerTokenState, WarningEntry
from plugins.alerts.forms import EmptyForm
from plugins.alerts.labels import kind_label

bp = Blueprint("alerts_peers", __name__, url_prefix="/alerts/manage/peer-checks")


class WarningEntryForm(FlaskForm):
    kind = SelectField(_l("What it is"), validate_choice=False)
    value = StringField(_l("Number, e-mail, plate, online name or website"),
                        validators=[DataRequired(message=_l("Please write what should never match.")),
                                    Length(max=254)])
    label = StringField(_l("Whose it is"), validators=[Length(max=120)],
                        description=_l("For example “Samaritans” or “Police (non-emergency)”."))
    shared = BooleanField(_l("Offer it to our peers"), default=True)

    def validate_kind(self, field):
        if field.data not in KINDS:
            from wtforms.validators import ValidationError

            raise ValidationError(_("Please choose what it is."))


def _form() -> WarningEntryForm:
    form = WarningEntryForm()
    form.kind.choices = [SelectChoice(kind, kind_label(kind)) for kind in KINDS]
    return form


def _entry_or_404(entry_id) -> WarningEntry:
    entry = WarningEntry.get_or_none(WarningEntry.id == entry_id) if isinstance(entry_id, int) else None
    if entry is None:
        abort(404)
    return entry


@bp.route("", methods=["GET", "POST"])
@requires("alerts.oversee")
def index():
    form = _form()
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "")
        if action == "add":
            if form.validate_on_submit():
                try:
                    federation_check.add_entry(form.kind.data, form.value.data, form.label.data, form.shared.data,
                                               current_user.id)
                except InvalidIdentifier:
                    form.value.errors.append(_("We could not read that as a %(kind)s. Short numbers such as 999 "
                                               "never match a check anyway.", kind=kind_label(form.kind.data)))
                    status = 422
                else:
                    flash(_("It is on the warning list: checks will never match it."), "info")
                    return redirect(url_for("alerts_peers.index"), code=303)
            else:
                status = 422
        else:
            if not EmptyForm().validate_on_submit():
                abort(400)
            entry_id = request.form.get("entry", type=whole_number)
            warning_id = request.form.get("warning", type=whole_number)
            if action == "remove":
                entry = _entry_or_404(entry_id)
                if entry.source_peer_id is not None and entry.status != ACTIVE:
                    abort(404)
                federation_check.remove_entry(entry, current_user.id)
                flash(_("It is off the warning list."), "info")
            elif action in ("adopt", "dismiss"):
                entry = _entry_or_404(entry_id)
                if entry.source_peer_id is None:
                    abort(404)
                federation_check.decide(entry, action == "adopt", current_user.id)
                flash(_("Adopted: checks here will never match it.") if action == "adopt"
                      else _("Set aside: it does not apply here."), "info")
            elif action == "resolve" and warning_id:
                warning = PeerCheckWarning.get_or_none(PeerCheckWarning.id == warning_id)
                if warning is not None and warning.resolved_at is None:
                    warning.resolved_at, warning.resolved_by = utcnow(), current_user.id
                    warning.save()
                    record("alerts.peer_check_warning_resolved", target=f"peer:{warning.peer_id}")
            else:
                abort(400)
            return redirect(url_for("alerts_peers.index"), code=303)
    peers = {peer.id: peer for peer in Peer.select()}
    states = {row.peer_id: row for row in PeerTokenState.select()}
    warnings = list(PeerCheckWarning.select().order_by(PeerCheckWarning.resolved_at.is_null(False),
                                                       PeerCheckWarning.id.desc()).limit(100))
    return render_template(
        "alerts/peer_checks.html", form=form, action_form=EmptyForm(),
        own=federation_check.own_entries(), proposed=federation_check.peer_entries(PROPOSED),
        adopted=federation_check.peer_entries(ACTIVE), peers=peers,
        active_peers=[peer for peer in peers.values() if peer.active], states=states, warnings=warnings,
        enabled=federation_check.enabled(), settings=settings(),
    ), status


@bp.context_processor
def _helpers():
    return {"kind_label": kind_label}
