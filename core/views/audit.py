"""The audit log page for administrators: filter by action, account, record and date; paginated.

The log holds codes and references only (an account id, "report:R-7KQ2"), never names or
contact details, so this page shows no personal data. Reading the log is itself recorded.
Filters are a plain GET form, so links to a filtered page can be shared between administrators
and the page works without JavaScript.
"""

from __future__ import annotations

import datetime
import math

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from core.audit import AuditEntry, record
from core.permissions import requires

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
READ_AUDIT = "admin.audit"
PER_PAGE = 50

# What core's own action codes mean, for the page; each plugin labels its own through the
# audit_actions hook (docs/plugin-hooks.md). A code nobody labels is shown as it is.
CORE_ACTIONS = {
    "account.created": _l("Account created"),
    "account.deleted": _l("Account deleted"),
    "account.erased": _l("Account and its data erased"),
    "account.disabled": _l("Account turned off"),
    "account.password_set": _l("Password set for an account"),
    "audit.keyed": _l("Audit log protected with its key"),
    "audit.viewed": _l("Audit log read"),
    "auth.password_changed": _l("Password changed"),
    "auth.password_reset": _l("Password reset with a link"),
    "auth.recovery_code_used": _l("Recovery code used to sign in"),
    "auth.recovery_codes_replaced": _l("Recovery codes replaced"),
    "auth.reset_requested": _l("Password reset asked for"),
    "auth.sign_in_failed": _l("Sign-in failed"),
    "auth.signed_in": _l("Signed in"),
    "auth.signed_out": _l("Signed out"),
    "auth.throttled": _l("Too many attempts: asked to wait"),
    "auth.token_created": _l("Access token created"),
    "auth.token_revoked": _l("Access token withdrawn"),
    "auth.two_factor_disabled": _l("Two-factor sign-in turned off"),
    "auth.two_factor_enabled": _l("Two-factor sign-in set up"),
    "auth.two_factor_failed": _l("Wrong two-factor code"),
    "auth.two_factor_replaced": _l("Two-factor sign-in moved to a new device"),
    "auth.two_factor_reset": _l("Two-factor sign-in reset by an administrator"),
    "backup.restored": _l("Backup restored"),
    "invitation.accepted": _l("Invitation accepted"),
    "invitation.created": _l("Invitation sent"),
    "invitation.resent": _l("Invitation sent again"),
    "invitation.revoked": _l("Invitation withdrawn"),
    "keys.file_forgotten": _l("A removed key file is no longer expected"),
    "keys.rotated": _l("Encryption key replaced"),
    "mail.retried": _l("Message sent again"),
    "membership.application_viewed": _l("Membership application read"),
    "membership.applied": _l("Membership applied for"),
    "membership.approved": _l("Membership application approved"),
    "membership.approved_existing_account": _l("Membership approved for an existing account"),
    "membership.declined": _l("Membership application declined"),
    "organisation.changed": _l("Organisation changed"),
    "organisation.created": _l("Organisation created"),
    "organisation.member_added": _l("Person added to an organisation"),
    "organisation.member_removed": _l("Person removed from an organisation"),
    "plugin.disabled": _l("Module turned off"),
    "plugin.enabled": _l("Module turned on"),
    "plugin.settings_changed": _l("Module settings changed"),
    "profile.updated": _l("Own account details changed"),
    "retention.deleted": _l("Old records deleted (retention)"),
    "wording.changed": _l("Wording of a message changed"),
    "wording.imported": _l("Wording imported from a file"),
    "wording.reverted": _l("Wording of a message back to the shipped text"),
}


def action_labels() -> dict[str, object]:
    """{code: label} from core and every installed plugin (enabled or not: a module that is off
    keeps its entries in the log). Asked once per request."""
    from flask import g

    from core.plugins import get_registry

    if "audit_action_labels" not in g:
        labels: dict[str, object] = {}
        for _name, found in get_registry().call_each("audit_actions", app=current_app):
            if isinstance(found, dict):
                labels.update(found)
        g.audit_action_labels = labels
    return g.audit_action_labels


def action_label(code: str) -> str:
    return str(action_labels().get(code, code))


@bp.app_template_global("staff_name")
def staff_name(user_id) -> str:
    """For any staff page: who did something, as "Working name (#3)" when that account is staff
    and has a working name, else "#3" (members stay numbers); "" for nobody."""
    from flask import g

    if not user_id:
        return ""
    known = g.setdefault("staff_names", {})
    if user_id not in known:
        known.update({user_id: None, **staff_names([user_id])})
    name = known.get(user_id)
    return f"{name} (#{user_id})" if name else f"#{user_id}"


def staff_names(actor_ids) -> dict[int, str]:
    """Working names of the staff accounts among actor_ids, which staff may see; other accounts
    (members) stay numbers, as the log keeps them."""
    from core.accounts.models import User, UserRole
    from core.permissions import staff_roles

    ids = {actor_id for actor_id in actor_ids if actor_id}
    roles = staff_roles(current_app)
    if not ids or not roles:
        return {}
    staff = (User.select(User.id, User.working_name).join(UserRole)
             .where(User.id.in_(ids), UserRole.role.in_(roles)).distinct())
    return {user.id: user.working_name for user in staff if user.working_name}


class AuditFilterForm(FlaskForm):
    """Read from the query string; a GET form changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], default="")
    actor = IntegerField(
        _l("Account number"),
        validators=[Optional(), NumberRange(min=1, message=_l("Please enter an account number, such as 12."))],
    )
    target = StringField(
        _l("Record"),
        validators=[Optional(), Length(max=128, message=_l("Please use at most %(max)d characters."))],
        description=_l('For example "user:12". End with a colon, such as "plugin:", to see every record of a kind.'),
    )
    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date, included)"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Parse errors of numbers and dates come from WTForms; give them our translated words.
        for name, message in (
            ("actor", _l("Please enter an account number, such as 12.")),
            ("date_from", _l("Please enter a date, such as 2026-03-31.")),
            ("date_to", _l("Please enter a date, such as 2026-03-31.")),
        ):
            getattr(self, name).parse_error_message = message

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must be on or after the start date."))


def _parse_error_aware(form: AuditFilterForm) -> bool:
    """Validate, replacing WTForms' own English parse messages by our translated ones."""
    valid = form.validate()
    for field in (form.actor, form.date_from, form.date_to):
        if field.process_errors:
            field.errors = [field.parse_error_message]
            valid = False
    return valid


def _filtered(form: AuditFilterForm):
    query = AuditEntry.select()
    if form.action.data:
        query = query.where(AuditEntry.action == form.action.data)
    if form.actor.data:
        query = query.where(AuditEntry.actor_id == form.actor.data)
    target = (form.target.data or "").strip()
    if target.endswith(":"):
        query = query.where(AuditEntry.target.startswith(target))
    elif target:
        query = query.where(AuditEntry.target == target)
    if form.date_from.data:
        start = datetime.datetime.combine(form.date_from.data, datetime.time.min)
        query = query.where(AuditEntry.created_at >= start)
    if form.date_to.data:
        end = datetime.datetime.combine(form.date_to.data + datetime.timedelta(days=1), datetime.time.min)
        query = query.where(AuditEntry.created_at < end)
    return query


def _known_actions() -> list[str]:
    rows = AuditEntry.select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    return [row.action for row in rows]


@bp.route("/")
@requires(READ_AUDIT)
def index():
    # Recorded first, so the page shows its own reading; filter values are not recorded, since an
    # administrator may type anything into them.
    record("audit.viewed", target="audit")
    form = AuditFilterForm(formdata=request.args)
    known = sorted(((action_label(code), code) for code in _known_actions()), key=lambda pair: pair[0].lower())
    form.action.choices = [SelectChoice("", _l("Any action"))] + [SelectChoice(code, label) for label, code in known]
    if not _parse_error_aware(form):
        return render_template("admin/audit.html", form=form, entries=[], total=0, page=1, pages=0), 400
    query = _filtered(form)
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    # A page number that is not one (or is past the end) shows the nearest page there is.
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    entries = list(query.order_by(AuditEntry.id.desc()).paginate(page, PER_PAGE))
    return render_template(
        "admin/audit.html",
        form=form,
        entries=entries,
        total=total,
        page=page,
        pages=pages,
        action_label=action_label,
        names=staff_names(entry.actor_id for entry in entries),
        page_url=lambda number: url_for("audit.index", **{**_filter_args(), "page": number}),
        filter_url=lambda **changes: url_for("audit.index", **{**_filter_args(), **changes, "page": 1}),
    )


def _filter_args() -> dict:
    return {key: value for key, value in request.args.items() if key != "page" and value}
