"""Server-side session records: rotated at sign-in, idle timeout and absolute lifetime, end-all.

The browser's (signed) session cookie holds the account's id and session_version (Flask-Login) and
a random session key ("sid"). The database keeps only the SHA-256 of that key, the account it
belongs to and two timestamps, so every rule is enforced on the server:

- a new key is made at each sign-in (nothing carried over from before it);
- a session unused for SESSION_IDLE_MINUTES, or older than SESSION_MAX_HOURS, is refused and its
  record deleted, whatever the cookie says;
- end_all_sessions() bumps User.session_version and deletes every record of the account, so no
  copy of an old cookie works again (sign-out, password or two-factor change, disable).

No address, device or other personal data is stored with a session.
"""

from __future__ import annotations

import datetime

from flask import current_app, session
from peewee import CharField, DateTimeField, ForeignKeyField

from core.accounts.models import User
from core.db import BaseModel, utcnow
from core.tokens import hash_token, new_token

SESSION_KEY = "sid"
# last_seen_at is written at most this often, so reading pages does not write on every request.
TOUCH_INTERVAL = datetime.timedelta(seconds=30)


class AccountSession(BaseModel):
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE", index=True)
    key_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)


def idle_limit() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(current_app.config["SESSION_IDLE_MINUTES"]))


def absolute_limit() -> datetime.timedelta:
    return datetime.timedelta(hours=int(current_app.config["SESSION_MAX_HOURS"]))


def start_session(user: User) -> AccountSession:
    """Record a fresh session for the user and put its key in the (already cleared) cookie."""
    key = new_token()
    record = AccountSession.create(user=user, key_hash=hash_token(key))
    session[SESSION_KEY] = key
    return record


def current_record(user: User) -> AccountSession | None:
    """The session record behind this request's cookie, when it belongs to the user and is alive.

    Expired records are deleted on the spot; a live one has its last_seen_at refreshed.
    """
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        return None
    record = AccountSession.get_or_none(AccountSession.key_hash == hash_token(key))
    if record is None or record.user_id != user.id:
        return None
    now = utcnow()
    if now - record.created_at > absolute_limit() or now - record.last_seen_at > idle_limit():
        record.delete_instance()
        return None
    if now - record.last_seen_at > TOUCH_INTERVAL:
        AccountSession.update(last_seen_at=now).where(AccountSession.id == record.id).execute()
        record.last_seen_at = now
    return record


def end_all_sessions(user: User) -> None:
    """Every session of the account ends now, in every browser: old cookies stop working."""
    User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
    AccountSession.delete().where(AccountSession.user == user.id).execute()
    user.session_version = User.get_by_id(user.id).session_version


def purge_expired() -> int:
    """Delete records past either limit (they would be refused anyway); returns how many."""
    now = utcnow()
    return (
        AccountSession.delete()
        .where(
            (AccountSession.created_at < now - absolute_limit())
            | (AccountSession.last_seen_at < now - idle_limit())
        )
        .execute()
    )
