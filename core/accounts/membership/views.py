"""The membership pages: the public application form (/join) and the staff queue (/admin/members),
where an application is read (audited), approved or declined."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts.invitations import PasswordLink, mail_password_link
from core.accounts.membership.forms import ApplicationForm, ApproveForm, DeclineForm, fill_choices
from core.accounts.membership.models import MembershipApplication, duplicates, phone_lookup
from core.accounts.membership.settings import choice_label, core_settings
from core.accounts.membership.tasks import mail_application_declined, mail_existing_account
from core.accounts.models import User
from core.db import db, utcnow
from core.i18n import current_language
from core.identifiers import normalise_phone
from core.mail import queue_mail
from core.permissions import PUBLIC, requires, user_has

log = logging.getLogger("redumbrella.membership")
bp = Blueprint("membership", __name__)
MANAGE_MEMBERS = "admin.members"
SEE_ACCOUNTS = "admin.users"  # told that an application matches an account: they can list accounts anyway


def may_see_accounts() -> bool:
    """Whether the signed-in person may be told that an application matches an existing account."""
    return user_has(current_app, current_user, SEE_ACCOUNTS)


def applications_closed():
    return render_template("account/apply_closed.html"), 404


APPLY_LIMIT_SETTING = "APPLY_MAX_PER_ADDRESS"  # per sign-in throttle window (15 minutes by default)


def _applications_from_here() -> tuple[str, int]:
    """The throttle key of this client's address and how many applications it sent lately.

    Counted by core.throttle in the sign-in throttle's window under a scope of its own, with the
    address only as a keyed hash, so a flood from one address cannot fill the queue; other
    addresses are unaffected.
    """
    from core import throttle as counter
    from core.accounts import throttle

    key = throttle.address_key(kind=throttle.APPLY)
    return key, counter.count(throttle.LIMITS[throttle.APPLY], key)


# -- public pages --------------------------------------------------------------------------


@bp.route("/join", methods=["GET", "POST"])
@requires(PUBLIC)
def apply():
    """The membership application form."""
    if not core_settings()["accept_applications"]:
        return applications_closed()
    form = ApplicationForm()
    fill_choices(form)
    if request.method == "POST":
        throttle_key, recent = _applications_from_here()
        if recent >= current_app.config[APPLY_LIMIT_SETTING]:
            flash(_("Many applications were sent from this connection just now. Please wait a few minutes and "
                    "try again."), "error")
            return render_template("account/apply.html", form=form), 429
    if form.validate_on_submit():
        from core import throttle as counter
        from core.accounts.throttle import APPLY, LIMITS

        counter.hit(LIMITS[APPLY], [throttle_key])
        country = current_app.config["DEFAULT_COUNTRY"]
        email = form.email.data or None
        phone = normalise_phone(form.mobile.data, country) if form.mobile.data else None
        application = MembershipApplication.create(
            working_name=form.working_name.data.strip(),
            email=email,
            email_index=User.email_lookup(email) if email else None,
            phone=phone,
            phone_index=phone_lookup(phone) if phone else None,
            work_types=json.dumps(form.work_types.data),
            region=form.region.data,
            note=(form.note.data or "").strip() or None,
            locale=current_language(),
        )
        log.info("membership application received", extra={"event": "membership_applied"})
        from core.audit import record

        record("membership.applied", target=f"application:{application.id}", actor_id=None)
        return redirect(url_for("membership.applied"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/apply.html", form=form), status


@bp.route("/join/thanks")
@requires(PUBLIC)
def applied():
    if not core_settings()["accept_applications"]:
        return applications_closed()
    return render_template("account/applied.html")


# -- staff pages ---------------------------------------------------------------------------


@bp.route("/admin/members")
@requires(MANAGE_MEMBERS)
def queue():
    """Applications waiting for a decision, oldest first."""
    A = MembershipApplication
    pending = list(A.select().where(A.status == "pending").order_by(A.created_at))
    declined = A.select().where(A.status == "declined").count()
    accounts = may_see_accounts()
    rows = [{"application": item, "duplicates": duplicates(item, accounts)} for item in pending]
    return render_template("admin/members.html", rows=rows, declined=declined,
                           accepting=core_settings()["accept_applications"])


def _pending_or_404(application_id: int) -> MembershipApplication:
    A = MembershipApplication
    found = A.get_or_none((A.id == application_id) & (A.status == "pending"))
    if found is None:
        abort(404)
    return found


@bp.route("/admin/members/applications/<int:application_id>")
@requires(MANAGE_MEMBERS)
def application(application_id: int):
    """One application in full; every view is recorded in the audit log."""
    from core.audit import record

    found = _pending_or_404(application_id)
    record("membership.application_viewed", target=f"application:{found.id}")
    return render_template(
        "admin/members_application.html",
        application=found,
        duplicates=duplicates(found, may_see_accounts()),
        approve_form=ApproveForm(),
        decline_form=DeclineForm(),
        label=choice_label,
    )


def approved_by_email_message() -> str:
    """What staff read after approving an application that gave an email address, whether or not
    the address already had an account (one answer, so approving cannot be used to look it up)."""
    return _("Approved. We are sending them a link to set their password. If it cannot be sent, it will "
             "be listed under Messages not sent.")


@bp.route("/admin/members/applications/<int:application_id>/approve", methods=["POST"])
@requires(MANAGE_MEMBERS)
def approve(application_id: int):
    """Make a member account from the application, then delete the application."""
    from core.accounts.profile import AccountProfile
    from core.audit import record

    found = _pending_or_404(application_id)
    existing = User.get_or_none(User.email_index == found.email_index) if found.email_index else None
    if existing is not None:
        # The address already has an account. Saying so here would make the public form a way to
        # look anyone up, so staff get the same answer as for a new member and no account is
        # made; the address's owner is told by e-mail, with a link to choose a new password.
        with db.atomic():
            found.delete_instance()
            record("membership.approved_existing_account", target=f"application:{application_id} user:{existing.id}")
        queue_mail(mail_existing_account, "existing_account", f"user:{existing.id}", existing.id)
        flash(approved_by_email_message(), "info")
        return redirect(url_for("membership.queue"), code=303)
    with db.atomic():
        user = User.create(
            email=found.email,
            email_index=found.email_index,
            working_name=found.working_name,
            password_hash=None,
            locale=found.locale,
        )
        user.grant("member")
        AccountProfile.create(
            user=user,
            phone=found.phone,
            phone_index=found.phone_index,
            contact_email=bool(found.email),
            contact_sms=bool(found.phone),
            region=found.region,
            work_types=found.work_types,
        )
        found.delete_instance()
        record("membership.approved", target=f"application:{application_id} user:{user.id}")
        link = None if user.email else PasswordLink.issue(user)
    if user.email:
        queue_mail(mail_password_link, "set_password", f"user:{user.id}", user.id)
        flash(approved_by_email_message(), "info")
        return redirect(url_for("membership.queue"), code=303)
    from core.mail import external_url

    # No email: staff pass the one-time link on (by text message, for example). Shown once.
    return render_template(
        "admin/members_approved.html",
        link=external_url("invitations.set_password", token=link),
        hours=int(core_settings()["link_valid_hours"]),
    )


@bp.route("/admin/members/applications/<int:application_id>/decline", methods=["POST"])
@requires(MANAGE_MEMBERS)
def decline(application_id: int):
    from core.audit import record

    found = _pending_or_404(application_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return render_template(
            "admin/members_application.html",
            application=found,
            duplicates=duplicates(found, may_see_accounts()),
            approve_form=ApproveForm(),
            decline_form=form,
            label=choice_label,
        ), 422
    found.status = "declined"
    found.decided_at = utcnow()
    found.decided_by = current_user.id
    found.decline_reason = (form.reason.data or "").strip() or None
    found.save()
    record("membership.declined", target=f"application:{found.id}")
    if form.notify.data and found.email:
        queue_mail(mail_application_declined, "application_declined", f"application:{found.id}", found.id)
    flash(_("Declined."), "info")
    return redirect(url_for("membership.queue"), code=303)
