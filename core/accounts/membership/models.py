"""A membership application, encrypted, with blind indexes of its email and mobile, and the
earlier applications or accounts it repeats."""

from __future__ import annotations

import json

from peewee import CharField, DateTimeField, IntegerField

from core.accounts.models import User
from core.crypto import EncryptedTextField, keyring
from core.db import BaseModel, utcnow

PHONE_KIND = "account-phone"


class MembershipApplication(BaseModel):
    working_name = EncryptedTextField()
    email = EncryptedTextField(null=True)
    email_index = CharField(max_length=64, null=True, index=True)  # same kind as User.email_index
    phone = EncryptedTextField(null=True)
    phone_index = CharField(max_length=64, null=True, index=True)
    work_types = EncryptedTextField(null=True)  # a JSON list
    region = EncryptedTextField(null=True)
    note = EncryptedTextField(null=True)
    locale = CharField(max_length=16)
    status = CharField(max_length=16, default="pending", index=True)  # pending, declined
    created_at = DateTimeField(default=utcnow, index=True)
    decided_at = DateTimeField(null=True, index=True)
    decided_by = IntegerField(null=True)
    decline_reason = EncryptedTextField(null=True)

    @property
    def work_type_list(self) -> list[str]:
        return json.loads(self.work_types) if self.work_types else []


def phone_lookup(normalised: str) -> str:
    return keyring().blind_index(PHONE_KIND, normalised)


def duplicates(application: MembershipApplication, include_accounts: bool = False) -> list[dict]:
    """Earlier applications with the same email or mobile and, only when include_accounts, that an
    account has it too (never which one).

    Applications are what everyone reviewing them sees anyway. Whether an address has an account
    is not: the join form is public, so anyone holding admin.members could apply with someone's
    email and read the answer here. So only those who can list every account (admin.users) are
    told, and approving answers the same either way (see approve).
    """
    from core.accounts.profile import AccountProfile

    found = []
    A = MembershipApplication
    for kind, index, column in (("email", application.email_index, A.email_index),
                                ("mobile", application.phone_index, A.phone_index)):
        if not index:
            continue
        for other in A.select(A.id, A.status).where((column == index) & (A.id != application.id)).order_by(A.id):
            found.append({"kind": kind, "what": "application", "id": other.id, "status": other.status})
        if not include_accounts:
            continue
        if kind == "email":
            users = User.select(User.id).where(User.email_index == index)
        else:
            users = User.select(User.id).join(AccountProfile).where(AccountProfile.phone_index == index)
        if users.exists():
            found.append({"kind": kind, "what": "account"})
    return found
