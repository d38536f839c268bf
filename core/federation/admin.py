"""Administrators' pages for federation: this instance's identity, peers, sharing groups.

/admin/peers shows this instance's fingerprint and public key (to give to other groups), the peers
with the state of their last exchange, and adds a peer in two steps: the address and key, then a
page showing the key's fingerprint to read over the phone with the other group's admin before it
is added. A peer's own page sets auto-publish and its region mapping, replaces its key, and
removes it. Sharing groups are named lists of peers. Every change is audited (core.federation.service).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from core.audit import record
from core.db import db
from core.federation import identity, service
from core.federation.models import Peer, PushMessage, Received, SharingGroup
from core.federation.registration import MANAGE_PEERS
from core.form_fields import CheckboxesField
from core.permissions import requires

bp = Blueprint("federation_admin", __name__, url_prefix="/admin/peers")


class PeerForm(FlaskForm):
    base_url = StringField(_l("Address of the other instance"), validators=[
        InputRequired(message=_l("Please give the other instance's address.")), Length(max=500)])
    public_key = StringField(_l("Its public key"), validators=[
        InputRequired(message=_l("Please paste the public key the other group gave you.")), Length(max=100)])
    name = StringField(_l("Name for it here (optional)"), validators=[Optional(), Length(max=60)])
    auto_publish = BooleanField(_l("Publish its alerts here at once, without a moderator's review"))


class ConfirmPeerForm(PeerForm):
    confirmed = BooleanField(_l("I read the fingerprint with the other group's admin and it is the same"),
                             validators=[InputRequired(message=_l("Please compare the fingerprint first."))])
    step = HiddenField(default="confirm")


class PeerSettingsForm(FlaskForm):
    auto_publish = BooleanField(_l("Publish its alerts here at once, without a moderator's review"))
    region_map = TextAreaField(_l("Its regions and ours"), validators=[Length(max=5000)])


class KeyForm(FlaskForm):
    public_key = StringField(_l("Its new public key"), validators=[
        InputRequired(message=_l("Please paste the public key the other group gave you.")), Length(max=100)])


class GroupForm(FlaskForm):  # prefix "group": it shares the Peers page with PeerForm
    name = StringField(_l("Name of the group"), validators=[
        InputRequired(message=_l("Please give the group a name.")), Length(max=60)])


class MembersForm(FlaskForm):
    members = CheckboxesField(_l("Peers in this group"), choices=[], coerce=int)


def _peer_or_404(peer_id: int) -> Peer:
    peer = Peer.get_or_none((Peer.id == peer_id) & Peer.removed_at.is_null())
    if peer is None:
        abort(404)
    return peer


def _group_or_404(group_id: int) -> SharingGroup:
    group = SharingGroup.get_or_none(SharingGroup.id == group_id)
    if group is None:
        abort(404)
    return group


def state_label(peer: Peer) -> str:
    if peer.last_pull_at is None:
        return _("Not fetched yet")
    if peer.last_error is None:
        return _("Fetched without a problem")
    if peer.last_error == "HTTP 401":
        return _("It does not accept us (yet): its admin must add this instance too")
    return _("Could not fetch (%(code)s)", code=peer.last_error)


def _render_index(form: PeerForm | None = None, group_form: GroupForm | None = None, status: int = 200):
    peers = list(Peer.select().where(Peer.removed_at.is_null()).order_by(Peer.name))
    return render_template(
        "admin/peers.html", peers=peers, groups=list(SharingGroup.select().order_by(SharingGroup.name)),
        form=form or PeerForm(formdata=None), group_form=group_form or GroupForm(formdata=None, prefix="group"),
        fingerprint=identity.fingerprint(), public_key=identity.public_key_b64(), state_label=state_label,
        waiting=PushMessage.select().where(PushMessage.status.in_(["pending", "sending"])).count(),
    ), status


@bp.route("")
@requires(MANAGE_PEERS)
def index():
    return _render_index()


@bp.route("/add", methods=["POST"])
@requires(MANAGE_PEERS)
def add():
    """Step 1 (address and key): show the fingerprint to compare. Step 2 (confirmed): add it."""
    confirming = request.form.get("step") == "confirm"
    form = ConfirmPeerForm() if confirming else PeerForm()
    if not form.validate_on_submit():
        if confirming and not form.confirmed.data:
            return _render_confirm(form, status=422)
        return _render_index(form=form, status=422)
    url = service.check_base_url(form.base_url.data)
    key = identity.normalise_public_key(form.public_key.data)
    if url is None or not (url.startswith("https://") or service._loopback(url)):
        url = None
        form.base_url.errors = [*form.base_url.errors, _("Please give the peer's full address, starting with https://.")]
    if key is None:
        form.public_key.errors = [*form.public_key.errors, _("That is not a public key: it is 44 characters of "
                                                             "letters, digits, + and /, as the peer's settings page "
                                                             "shows it.")]
    if form.errors or url is None or key is None:
        return _render_index(form=form, status=422)
    published = service.fetch_identity(url)
    if not confirming:
        confirm = ConfirmPeerForm(formdata=None, base_url=url, public_key=key, name=form.name.data,
                                  auto_publish=form.auto_publish.data)
        return _render_confirm(confirm, published=published)
    try:
        peer = service.add_peer(url, key, form.name.data or None, form.auto_publish.data, current_user.id,
                                published=published)
    except service.FederationError as error:
        form.base_url.errors = [*form.base_url.errors, str(error)]
        return _render_confirm(form, published=published, status=422)
    flash(_("Peer added. Nothing is exchanged until its admin adds this instance too."), "info")
    return redirect(url_for("federation_admin.peer", peer_id=peer.id), code=303)


def _render_confirm(form, published: dict | None = None, status: int = 200):
    key = identity.normalise_public_key(form.public_key.data or "") or ""
    return render_template("admin/peer_confirm.html", form=form, fingerprint=identity.fingerprint(key) if key else "",
                           published=published, published_fingerprint=(
                               identity.fingerprint(str(published.get("public_key", ""))) if published else ""),
                           ), status


def _render_peer(peer: Peer, settings_form: PeerSettingsForm | None = None, key_form: KeyForm | None = None,
                 status: int = 200):
    if settings_form is None:
        settings_form = PeerSettingsForm(formdata=None, auto_publish=peer.auto_publish, region_map="\n".join(
            f"{theirs} = {ours}" for theirs, ours in peer.regions.items()))
    received = Received.select().where(Received.peer == peer)
    return render_template(
        "admin/peer.html", peer=peer, settings_form=settings_form, key_form=key_form or KeyForm(formdata=None),
        state_label=state_label, received=received.count(),
        received_live=received.where(Received.tombstone == False).count(),  # noqa: E712
        pushes_waiting=PushMessage.select().where((PushMessage.peer == peer)
                                                  & PushMessage.status.in_(["pending", "sending"])).count(),
        pushes_failed=PushMessage.select().where((PushMessage.peer == peer) & (PushMessage.status == "failed")).count(),
        groups=[group for group in SharingGroup.select().order_by(SharingGroup.name)
                if peer.id in {member.id for member in service.members_of(group)}],
    ), status


@bp.route("/<int:peer_id>")
@requires(MANAGE_PEERS)
def peer(peer_id: int):
    return _render_peer(_peer_or_404(peer_id))


@bp.route("/<int:peer_id>/settings", methods=["POST"])
@requires(MANAGE_PEERS)
def settings(peer_id: int):
    found = _peer_or_404(peer_id)
    form = PeerSettingsForm()
    if not form.validate_on_submit():
        return _render_peer(found, settings_form=form, status=422)
    try:
        mapping = service.parse_region_map(form.region_map.data)
    except service.FederationError as error:
        form.region_map.errors = [*form.region_map.errors, str(error)]
        return _render_peer(found, settings_form=form, status=422)
    if bool(form.auto_publish.data) != found.auto_publish:
        service.set_auto_publish(found, form.auto_publish.data, current_user.id)
    if mapping != found.regions:
        service.set_region_map(found, mapping, current_user.id)
    flash(_("Saved."), "info")
    return redirect(url_for("federation_admin.peer", peer_id=found.id), code=303)


@bp.route("/<int:peer_id>/key", methods=["POST"])
@requires(MANAGE_PEERS)
def key(peer_id: int):
    found = _peer_or_404(peer_id)
    form = KeyForm()
    if form.validate_on_submit():
        try:
            service.set_key(found, form.public_key.data, current_user.id)
        except service.FederationError as error:
            form.public_key.errors = [*form.public_key.errors, str(error)]
        else:
            flash(_("Key replaced. Compare its new fingerprint with the other group's admin."), "info")
            return redirect(url_for("federation_admin.peer", peer_id=found.id), code=303)
    return _render_peer(found, key_form=form, status=422)


@bp.route("/<int:peer_id>/remove", methods=["POST"])
@requires(MANAGE_PEERS)
def remove(peer_id: int):
    found = _peer_or_404(peer_id)
    service.remove_peer(found, current_user.id)
    flash(_("Peer removed. Nothing is exchanged with it any more. What it sent stays here, marked as from it, "
            "until a moderator withdraws it."), "info")
    return redirect(url_for("federation_admin.index"), code=303)


@bp.route("/pull", methods=["POST"])
@requires(MANAGE_PEERS)
def pull():
    from core.federation.pull import pull_all

    with db.atomic():
        record("federation.pulled", target="peers", actor_id=current_user.id)
    results = pull_all()
    accepted = sum(counts["accepted"] for counts in results.values())
    failed = sum(1 for counts in results.values() if counts["error"])
    flash(_("Feeds fetched: %(accepted)d new or changed, %(failed)d peers could not be reached.",
            accepted=accepted, failed=failed), "info")
    return redirect(url_for("federation_admin.index"), code=303)


# -- sharing groups ---------------------------------------------------------------------------------


@bp.route("/groups", methods=["POST"])
@requires(MANAGE_PEERS)
def create_group():
    form = GroupForm(prefix="group")
    if form.validate_on_submit():
        try:
            group = service.create_group(form.name.data, current_user.id)
        except service.FederationError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            flash(_("Sharing group created. Choose its peers."), "info")
            return redirect(url_for("federation_admin.group", group_id=group.id), code=303)
    return _render_index(group_form=form, status=422)


def _members_form(group: SharingGroup, formdata=None) -> MembersForm:
    form = MembersForm(formdata=formdata) if formdata is not None else MembersForm(
        formdata=None, members=[peer.id for peer in service.members_of(group)])
    form.members.choices = [SelectChoice(peer.id, f"{peer.name} ({peer.fingerprint})") for peer in
                            Peer.select().where(Peer.removed_at.is_null()).order_by(Peer.name)]
    return form


def _render_group(group: SharingGroup, form: MembersForm | None = None, status: int = 200):
    return render_template("admin/sharing_group.html", group=group, form=form or _members_form(group),
                           in_use=service.group_in_use(group)), status


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@requires(MANAGE_PEERS)
def group(group_id: int):
    found = _group_or_404(group_id)
    if request.method == "GET":
        return _render_group(found)
    form = _members_form(found, formdata=request.form)
    if not form.validate_on_submit():
        return _render_group(found, form, 422)
    chosen = set(form.members.data or [])
    service.set_members(found, [peer for peer in Peer.select().where(Peer.removed_at.is_null())
                                if peer.id in chosen], current_user.id)
    flash(_("Saved. What is shared with this group now goes to these peers."), "info")
    return redirect(url_for("federation_admin.group", group_id=found.id), code=303)


@bp.route("/groups/<int:group_id>/delete", methods=["POST"])
@requires(MANAGE_PEERS)
def delete_group(group_id: int):
    found = _group_or_404(group_id)
    try:
        service.delete_group(found, current_user.id)
    except service.FederationError as error:
        flash(str(error), "error")
        return _render_group(found, status=409)
    flash(_("Sharing group deleted."), "info")
    return redirect(url_for("federation_admin.index"), code=303)
