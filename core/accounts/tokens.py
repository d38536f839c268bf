"""Personal access tokens for partner systems: `Authorization: Bearer <token>` on /api/ routes.

A token acts as its holder: the same roles and permissions, nothing more, and it stops working
when the account is disabled or the token is revoked. Only /api/ requests accept tokens, and they
ignore any session cookie sent with them (so CSRF cannot ride on a stray cookie).

At rest only SHA-256 of the token is kept. A token carries 256 random bits, so no guessing or
offline search can find it from its hash whatever the hash's speed; a slow password hash
(Argon2) would only make every API call cost ~100 ms and 64 MiB, and a salted hash could not be
looked up by index. Slow hashes protect low-entropy secrets (passwords), which tokens are not.

Staff tokens do not bypass the two-factor rule: a token of an account that must use two-factor
sign-in but has not set it up is refused (401) until it has.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from flask import g
from peewee import CharField, DateTimeField, ForeignKeyField

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow

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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, label: str | None = None) -> tuple[AccessToken, str]:
    """Make a token; the clear token is returned here once and never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
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


def revoke_all(user: User) -> int:
    return (
        AccessToken.update(revoked_at=utcnow())
        .where((AccessToken.user == user.id) & AccessToken.revoked_at.is_null())
        .execute()
    )


def authenticate(header: str) -> User | None:
    """The active account holding this bearer token, or None."""
    from core.accounts import totp

    scheme, _sep, token = (header or "").partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token.startswith(PREFIX) or len(token) > 200:
        return None
    record = AccessToken.get_or_none(AccessToken.token_hash == hash_token(token))
    if record is None or record.revoked_at is not None:
        return None
    user = User.get_or_none(User.id == record.user_id)
    if user is None or not user.active or totp.needs_enrolment(user):
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > TOUCH_INTERVAL:
        AccessToken.update(last_used_at=now).where(AccessToken.id == record.id).execute()
    g.access_token_id = record.id
    return user
