"""Messages not sent: core's e-mails that failed or are still waiting (core.mail.OutgoingMail).

Staff see what each message was and which record it is about, never an address or a text, and
can try a failed one again. Each kind is shown only to staff who handle it: links for approved
members and answers to applications to those who manage applications, invitations and password
resets to those who manage accounts.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from core.db import db, utcnow
from core.mail import FAILED, QUEUED, OutgoingMail, unsent
from core.permissions import requires, user_has

bp = Blueprint("outbox", __name__, url_prefix="/admin/messages")
SEE_UNSENT = "admin.messages"

# kind: (what it is, the permission of the staff who handle it)
KINDS = {
    "set_password": (_l("Link for an approved member to set a password"), "admin.members"),
    "application_declined": (_l("Answer to a declined application"), "admin.members"),
    "invitation": (_l("Invitation to a staff account"), "admin.users"),
    "reset_password": (_l("Password reset link"), "admin.users"),
    # Only for those who may know the address has an account (core.accounts.membership.duplicates).
    "existing_account": (_l("Answer to an application from someone who already has an account"), "admin.users"),
}


def _task(kind: str):
    from core.accounts import invitations, membership, reset

    return {
        "set_password": invitations.mail_password_link,
        "application_declined": membership.mail_application_declined,
        "invitation": invitations.mail_invitation,
        "reset_password": reset.mail_reset_link,
        "existing_account": membership.mail_existing_account,
    }[kind]


def _visible_kinds() -> list[str]:
    return [kind for kind, (_label, permission) in KINDS.items()
            if user_has(current_app, current_user, permission)]


def status_label(row: OutgoingMail) -> str:
    if row.status == FAILED:
        return _("Not sent: every try failed")
    if row.attempts:
        return _("Not sent yet: it will be tried again")
    return _("Waiting to be sent")


@bp.route("")
@requires(SEE_UNSENT)
def index():
    rows = unsent(_visible_kinds())
    return render_template("admin/messages.html", rows=rows, kinds=KINDS, status_label=status_label,
                           form=FlaskForm(), FAILED=FAILED)


@bp.route("/<int:mail_id>/retry", methods=["POST"])
@requires(SEE_UNSENT)
def retry(mail_id: int):
    from core.audit import record

    if not FlaskForm().validate_on_submit():
        abort(400)
    row = OutgoingMail.get_or_none(OutgoingMail.id == mail_id)
    if row is None or row.kind not in _visible_kinds() or row.status != FAILED:
        abort(404)
    with db.atomic():
        row.status, row.attempts, row.updated_at = QUEUED, 0, utcnow()
        row.save()
        record("mail.retried", target=f"mail:{row.id}")
    _task(row.kind)(int(row.target.partition(":")[2]), mail_id=row.id)
    flash(_("We are trying to send it again."), "info")
    return redirect(url_for("outbox.index"), code=303)
