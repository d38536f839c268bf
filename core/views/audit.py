"""The audit log page for administrators: filter by action, account, record and date; paginated.

The log holds codes and references only (an account id, "report:R-7KQ2"), never names or
contact details, so this page shows no personal data. Reading the log is itself recorded.
Filters are a plain GET form, so links to a filtered page can be shared between administrators
and the page works without JavaScript.
"""

from __future__ import annotations

import datetime
import math

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from core.audit import AuditEntry, record
from core.permissions import requires

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
READ_AUDIT = "admin.audit"
PER_PAGE = 50


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
    form.action.choices = [SelectChoice("", _l("Any action"))] + [SelectChoice(code) for code in _known_actions()]
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
        page_url=lambda number: url_for("audit.index", **{**_filter_args(), "page": number}),
        filter_url=lambda **changes: url_for("audit.index", **{**_filter_args(), **changes, "page": 1}),
    )


def _filter_args() -> dict:
    return {key: value for key, value in request.args.items() if key != "page" and value}
