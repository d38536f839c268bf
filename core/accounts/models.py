"""People and their roles. Contact details are encrypted; the email is matched by blind index."""

from __future__ import annotations

from flask_login import UserMixin
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField

from core.crypto import EncryptedTextField, keyring
from core.db import BaseModel, run_sql, utcnow
from core.identifiers import normalise_email


class User(UserMixin, BaseModel):
    email_index = CharField(max_length=64, unique=True, null=True)
    email = EncryptedTextField(null=True)
    working_name = EncryptedTextField(null=True)
    password_hash = CharField(max_length=255, null=True)
    locale = CharField(max_length=16, null=True)
    active = BooleanField(default=True)
    # Bumped to end every session of this account (sign-out everywhere, password change, disable).
    session_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def role_names(self) -> frozenset[str]:
        if not hasattr(self, "_role_names"):
            rows = run_sql("SELECT role FROM user_role WHERE user_id = %s", (self.id,))  # every request
            self._role_names = frozenset(row[0] for row in rows)
        return self._role_names

    def grant(self, *roles: str) -> None:
        for role in roles:
            UserRole.insert(user=self, role=role).on_conflict_ignore().execute()
        self.__dict__.pop("_role_names", None)

    @staticmethod
    def email_lookup(email: str) -> str:
        return keyring().blind_index("account-email", normalise_email(email))

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return cls.get_or_none(cls.email_index == cls.email_lookup(email))

    def display_name(self) -> str:
        return self.working_name or f"#{self.id}"


class UserRole(BaseModel):
    user = ForeignKeyField(User, backref="roles", on_delete="CASCADE")
    role = CharField(max_length=32)

    class Meta:
        indexes = ((("user", "role"), True),)
