"""Messages not sent: e-mails in the mail record that failed or are still waiting (core.mail.OutgoingMail).

Staff see what each message was and which record it is about, never an address or a text, and
can try a failed one again. Each kind is shown only to staff holding the permission its owner
declared (core.mail.kinds): links for approved members to those who manage applications,
password resets to those who manage accounts, a module's notices to that module's staff.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from core.db import db, utcnow
from core.mail import FAILED, QUEUED, MailKind, OutgoingMail, mail_kinds, send_again, unsent
from core.mail.kinds import SEE_UNSENT
from core.permissions import requires, user_has

bp = Blueprint("outbox", __name__, url_prefix="/admin/messages")


def _visible_kinds() -> dict[str, MailKind]:
    """The kinds of message this person handles (core.mail.kinds: each declares its permission)."""
    return {name: kind for name, kind in mail_kinds(current_app).items()
            if user_has(current_app, current_user, kind.permission)}


def status_label(row: OutgoingMail) -> str:
    if row.status == FAILED:
        return _("Not sent: every try failed")
    if row.attempts:
        return _("Not sent yet: it will be tried again")
    return _("Waiting to be sent")


@bp.route("")
@requires(SEE_UNSENT)
def index():
    kinds = _visible_kinds()
    return render_template("admin/messages.html", rows=unsent(kinds), kinds=kinds, status_label=status_label,
                           form=FlaskForm(), FAILED=FAILED)


@bp.route("/<int:mail_id>/retry", methods=["POST"])
@requires(SEE_UNSENT)
def retry(mail_id: int):
    from core.audit import record

    if not FlaskForm().validate_on_submit():
        abort(400)
    row = OutgoingMail.get_or_none(OutgoingMail.id == mail_id)
    if row is None or row.kind not in _visible_kinds() or row.status != FAILED or not row.task:
        abort(404)
    with db.atomic():
        row.status, row.attempts, row.updated_at = QUEUED, 0, utcnow()
        row.save()
        record("mail.retried", target=f"mail:{row.id}")
    send_again(row)
    flash(_("We are trying to send it again."), "info")
    return redirect(url_for("outbox.index"), code=303)
