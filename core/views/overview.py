"""The administrators' overview: what is waiting for someone, core's and each module's (the
"admin_overview" slot of core/slots.py), each line shown only to those who handle it."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from core.mail import FAILED, OutgoingMail
from core.permissions import requires, user_has

bp = Blueprint("overview", __name__, url_prefix="/admin")
SEE_OVERVIEW = "admin.plugins"


def _waiting_applications() -> int | None:
    from flask import current_app

    from core.accounts.membership import MANAGE_MEMBERS, MembershipApplication

    if not user_has(current_app, current_user, MANAGE_MEMBERS):
        return None
    return MembershipApplication.select().where(MembershipApplication.status == "pending").count()


def _failed_messages() -> int | None:
    from flask import current_app

    if not user_has(current_app, current_user, "admin.messages"):
        return None
    return OutgoingMail.select().where(OutgoingMail.status == FAILED).count()


@bp.route("/")
@requires(SEE_OVERVIEW)
def index():
    return render_template("admin/overview.html", applications=_waiting_applications(),
                           failed_messages=_failed_messages())
