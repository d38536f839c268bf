"""Password reset by email: a signed, expiring link that stops working once the password changes.

The link carries the account id and a fingerprint of the current password hash, signed with the
instance's secret key (itsdangerous). Nothing is stored: the link expires after
RESET_LINK_MINUTES (60 by default), and setting a password changes the hash, so a link works
once. The link is made inside the queue task, whose only argument is an account id, so neither
the address nor the link ever sits in the queue storage.

Asking for a reset answers the same whether or not the email has an account (a task is queued
either way; for no account it does nothing), and is throttled per typed email and per address.
A reset does not switch two-factor sign-in off: staff still need their code to sign in.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.accounts.models import User
from core.mail import MAIL_RETRIES, MAIL_RETRY_DELAY, tracked
from core.queue import task

SALT = "redumbrella.password-reset"


def link_minutes() -> int:
    return current_app.config["RESET_LINK_MINUTES"]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    material = f"{user.id}:{user.password_hash or '-'}:{user.active}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def make_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_token(token: str) -> User | None:
    """The account a still-valid link belongs to, else None (expired, used, forged, disabled)."""
    try:
        data = _serializer().loads(token, max_age=link_minutes() * 60)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = User.get_or_none(User.id == data.get("u"))
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user


def send_reset_link(user: User | None) -> None:
    """Queue the reset e-mail: recorded (so staff see it if it fails) only for a real account."""
    from core.mail import queue_mail

    if user is None:
        mail_reset_link(0)  # queued either way, so both answers cost the same
    else:
        queue_mail(mail_reset_link, "reset_password", f"user:{user.id}", user.id)


@task(retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY)
@tracked
def mail_reset_link(user_id: int) -> bool:
    """Email a reset link to an active account; does nothing (on purpose) for id 0 or no account."""
    from core.mail import external_url, render_message, send_message

    user = User.get_or_none(User.id == user_id) if user_id else None
    if user is None or not user.active or not user.email:
        return False
    url = external_url("auth.reset_password", token=make_token(user))
    send_message(render_message(user.email, "mail/reset_password.txt", user.locale, link=url, minutes=link_minutes()))
    return True
