"""Administrators' pages for organisations (core.organisations): list, add, edit, and who belongs.

An organisation is a police force, NHS trust or charity whose staff use the platform (partners,
learners, their organisation manager). A person belongs to at most one; moving them to another
takes them out of the first. Changes are audited by reference only.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from core.accounts.models import User
from core.db import db
from core.identifiers import InvalidIdentifier, normalise_email
from core.numbers import whole_number
from core.organisations import Organisation, OrganisationMember, set_organisation
from core.permissions import requires

bp = Blueprint("organisations", __name__)
MANAGE_USERS = "admin.users"


def kind_labels() -> dict[str, object]:
    return {"police": _l("Police"), "health": _l("Health"), "support": _l("Support service"),
            "local_authority": _l("Local authority"), "justice": _l("Courts and justice"),
            "education": _l("Education"), "other": _l("Other")}


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Please give the organisation's name.")),
                                               Length(max=200, message=_l("Please use at most %(max)d characters."))])
    kind = SelectField(_l("Sector"), choices=[], validate_choice=True)
    region = StringField(_l("Region (optional)"), validators=[
        Optional(), Length(max=64, message=_l("Please use at most %(max)d characters."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(code, label) for code, label in kind_labels().items()]


class MemberForm(FlaskForm):
    email = EmailField(_l("Email address of their account"), validators=[
        InputRequired(message=_l("Please enter an email address.")),
        Length(max=254, message=_l("That is too long."))])


def _clean(form: OrganisationForm) -> dict | None:
    """The form's values, or None after adding a message to a field holding characters core's
    text rule refuses (core.text)."""
    from core import text

    values = {"name": form.name.data.strip(), "kind": form.kind.data,
              "region": (form.region.data or "").strip() or None}
    refused = False
    for name in ("name", "region"):
        kind = text.problem(values[name], multiline=False) if values[name] else None
        if kind:
            form[name].errors = [*form[name].errors, text.message(kind)]
            refused = True
    return None if refused else values


@bp.route("/admin/organisations", methods=["GET", "POST"])
@requires(MANAGE_USERS)
def index():
    from core.audit import record

    form = OrganisationForm()
    status = 200
    if form.validate_on_submit() and (values := _clean(form)) is not None:
        with db.atomic():
            organisation = Organisation.create(**values)
            record("organisation.created", target=f"organisation:{organisation.id}")
        flash(_("Organisation added."), "info")
        return redirect(url_for("organisations.edit", organisation_id=organisation.id), code=303)
    if request.method == "POST":
        status = 422
    rows = list(Organisation.select().order_by(Organisation.name, Organisation.id))
    counts = {row.organisation_id: row.count for row in OrganisationMember.select(
        OrganisationMember.organisation, fn.COUNT(OrganisationMember.id).alias("count")
    ).group_by(OrganisationMember.organisation)} if rows else {}
    return render_template("admin/organisations.html", form=form, organisations=rows, counts=counts,
                           kinds=kind_labels()), status


def _organisation_or_404(organisation_id: int) -> Organisation:
    found = Organisation.get_or_none(Organisation.id == organisation_id)
    if found is None:
        abort(404)
    return found


@bp.route("/admin/organisations/<int:organisation_id>", methods=["GET", "POST"])
@requires(MANAGE_USERS)
def edit(organisation_id: int):
    from core.audit import record

    organisation = _organisation_or_404(organisation_id)
    action = request.form.get("action", "save") if request.method == "POST" else None
    form = OrganisationForm(obj=organisation) if action != "save" else OrganisationForm()
    member_form = MemberForm() if action == "add_member" else MemberForm(formdata=None)
    status = 200
    if action == "save":
        if form.validate_on_submit() and (values := _clean(form)) is not None:
            with db.atomic():
                Organisation.update(**values).where(Organisation.id == organisation.id).execute()
                record("organisation.changed", target=f"organisation:{organisation.id}")
            flash(_("Saved."), "info")
            return redirect(url_for("organisations.edit", organisation_id=organisation.id), code=303)
        status = 422
    elif action == "add_member":
        if member_form.validate_on_submit():
            person = _account(member_form)
            if person is not None:
                with db.atomic():
                    set_organisation(person, organisation)
                    record("organisation.member_added", target=f"organisation:{organisation.id} user:{person.id}")
                flash(_("Added to the organisation."), "info")
                return redirect(url_for("organisations.edit", organisation_id=organisation.id), code=303)
        status = 422
    elif action == "remove_member":
        user_id = request.form.get("user", "")
        link = None
        if (member_id := whole_number(user_id)) is not None:
            link = OrganisationMember.get_or_none((OrganisationMember.organisation == organisation.id)
                                                  & (OrganisationMember.user == member_id))
        if link is None:
            abort(404)
        with db.atomic():
            link.delete_instance()
            record("organisation.member_removed", target=f"organisation:{organisation.id} user:{user_id}")
        flash(_("Taken out of the organisation."), "info")
        return redirect(url_for("organisations.edit", organisation_id=organisation.id), code=303)
    elif action is not None:
        abort(400)
    people = list(User.select().join(OrganisationMember, on=(OrganisationMember.user == User.id))
                  .where(OrganisationMember.organisation == organisation.id).order_by(User.id))
    return render_template("admin/organisation_edit.html", organisation=organisation, form=form,
                           member_form=member_form, people=people, kinds=kind_labels()), status


def _account(form: MemberForm) -> User | None:
    try:
        email = normalise_email(form.email.data)
    except InvalidIdentifier:
        form.email.errors.append(_("Please enter a valid email address."))
        return None
    person = User.by_email(email)
    if person is None:
        form.email.errors.append(_("No account uses that address. Invite the person first; you can choose "
                                   "their organisation on the invitation page."))
    return person

