"""Personal access tokens for partner systems: `Authorization: Bearer <token>` on /api/ routes.

A token acts as its holder: the same roles and permissions, nothing more, and it stops working
when the account is disabled or the token is revoked. Only /api/ requests accept tokens, and they
ignore any session cookie sent with them (so CSRF cannot ride on a stray cookie).

At rest only SHA-256 of the token is kept (core.tokens, which says why that is enough). A token
carries 256 random bits; a slow password hash (Argon2) would only make every API call cost
~100 ms and 64 MiB.

Staff tokens do not bypass the two-factor rule: a token of an account that must use two-factor
sign-in but has not set it up is refused (401) until it has.
"""

from __future__ import annotations

import datetime

from flask import g
from peewee import CharField, DateTimeField, ForeignKeyField

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, run_sql, utcnow
from core.tokens import hash_token, new_token

PREFIX = "ru_"  # lets secret scanners and people recognise a Red Umbrella token
TOUCH_INTERVAL = datetime.timedelta(seconds=60)
MAX_LABEL_LENGTH = 80


class AccessToken(BaseModel):
    user = ForeignKeyField(User, backref="access_tokens", on_delete="CASCADE", index=True)
    token_hash = CharField(max_length=64, unique=True)
    label = EncryptedTextField(null=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def create_token(user: User, label: str | None = None) -> tuple[AccessToken, str]:
    """Make a token; the clear token is returned here once and never stored."""
    token = new_token(PREFIX)
    record = AccessToken.create(
        user=user, token_hash=hash_token(token), label=(label or "").strip()[:MAX_LABEL_LENGTH] or None
    )
    return record, token


def tokens_of(user: User) -> list[AccessToken]:
    return list(AccessToken.select().where(AccessToken.user == user.id).order_by(AccessToken.created_at.desc()))


def revoke(user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when there is no such live token."""
    return (
        AccessToken.update(revoked_at=utcnow())
        .where((AccessToken.id == token_id) & (AccessToken.user == user.id) & AccessToken.revoked_at.is_null())
        .execute()
        == 1
    )


def authenticate(header: str) -> User | None:
    """The active account holding this bearer token, or None.

    Runs on every API call, so the token and its account come back in one plain statement and
    the account is built from that row directly (a peewee query would cost more than the lookup).
    """
    from core.accounts import totp

    scheme, _sep, token = (header or "").partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token.startswith(PREFIX) or len(token) > 200:
        return None
    rows = run_sql(_HOLDER_SQL, (hash_token(token),)).fetchall()
    if not rows:
        return None
    row = rows[0]
    user = _user_from_row(row[2:-1])
    # Its roles came in the same statement (one row per role): what User.role_names would read next.
    user._role_names = frozenset(found[-1] for found in rows if found[-1] is not None)
    if not user.active or totp.needs_enrolment(user):
        return None
    token_id, used_at = row[0], AccessToken.last_used_at.python_value(row[1])
    now = utcnow()
    if used_at is None or now - used_at > TOUCH_INTERVAL:
        run_sql("UPDATE access_token SET last_used_at = %s WHERE id = %s", (now, token_id))
    g.access_token_id = token_id
    return user


# The holder of a live token: the token's id and last use, every column of the account in the
# model's order (tests/test_auth_tokens.py keeps this list in step with User), then one of its
# roles: a row per role, one row with NULL for an account without any.
_HOLDER_SQL = (
    "SELECT t.id, t.last_used_at, u.id, u.email_index, u.email, u.working_name, u.password_hash, u.locale, "
    'u.active, u.session_version, u.created_at, r.role FROM access_token t JOIN "user" u ON u.id = t.user_id '
    "LEFT JOIN user_role r ON r.user_id = u.id WHERE t.token_hash = %s AND t.revoked_at IS NULL"
)
_USER_FIELDS = tuple(User._meta.sorted_fields)
_USER_COLUMNS = tuple((field.name, field.python_value) for field in _USER_FIELDS)


def _user_from_row(values) -> User:
    """A User as peewee itself would build it from a SELECT of all its columns: its values in
    place at once (none is dirty), not set one field at a time. User has no foreign key, whose
    accessor would do more than store the value."""
    user = User(__no_default__=1)
    user.__data__ = {name: convert(value) for (name, convert), value in zip(_USER_COLUMNS, values, strict=True)}
    return user
