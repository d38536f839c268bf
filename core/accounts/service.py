"""Creating accounts and changing passwords, shared by the CLI, the pages and the demo."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from core.accounts.models import User
from core.accounts.passwords import hash_password
from core.audit import record
from core.db import db
from core.identifiers import InvalidIdentifier, normalise_email
from core.permissions import role_table

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


class AccountError(ValueError):
    """The account cannot be created or changed as asked; the message says why."""


def check_password(password: str) -> None:
    """Length limits and the bundled breached-password list (core.accounts.passwords)."""
    from core.accounts.passwords import password_problem

    problem = password_problem(password)
    if problem:
        raise AccountError(problem)


def create_account(email: str, password: str, roles, working_name: str | None = None) -> User:
    try:
        email = normalise_email(email)
    except InvalidIdentifier:
        raise AccountError(_("Please enter a valid email address.")) from None
    unknown = set(roles) - set(role_table(current_app))
    if unknown:
        raise AccountError(_("Unknown role: %(role)s", role=", ".join(sorted(unknown))))
    check_password(password)
    with db.atomic():
        if User.by_email(email) is not None:
            raise AccountError(_("An account with that email already exists."))
        user = User.create(
            email_index=User.email_lookup(email),
            email=email,
            working_name=working_name,
            password_hash=hash_password(password),
        )
        user.grant(*roles)
        record("account.created", target=f"user:{user.id}")
    return user
