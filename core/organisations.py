"""Organisations: the police force, NHS trust or charity a member of staff works for.

Core keeps the list and who belongs where, because several modules need it (training enrols and
reports by organisation, alerts' partner feeds belong to one). A person belongs to at most one
organisation; an organisation manager (a role a module declares) sees only their own people.
"""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField

from core.accounts.models import User
from core.db import BaseModel, utcnow

KINDS = ("police", "health", "support", "local_authority", "justice", "education", "other")


class Organisation(BaseModel):
    name = CharField(max_length=200)
    kind = CharField(max_length=32, default="other")  # KINDS: the sector, for reports by sector
    region = CharField(max_length=64, null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "organisation"


class OrganisationMember(BaseModel):
    user = ForeignKeyField(User, unique=True, on_delete="CASCADE", backref="+")
    organisation = ForeignKeyField(Organisation, on_delete="CASCADE", backref="members")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "organisation_member"


def organisation_of(user) -> Organisation | None:
    """The organisation a person belongs to, or None."""
    if not getattr(user, "id", None):
        return None
    link = OrganisationMember.get_or_none(OrganisationMember.user == user.id)
    return link.organisation if link else None


def set_organisation(user, organisation: Organisation | None) -> None:
    """Put a person in an organisation (or in none); call inside the caller's transaction."""
    OrganisationMember.delete().where(OrganisationMember.user == user.id).execute()
    if organisation is not None:
        OrganisationMember.create(user=user.id, organisation=organisation)
