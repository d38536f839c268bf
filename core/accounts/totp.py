"""TOTP two-factor sign-in (RFC 6238, pyotp) with single-use recovery codes.

- The secret is encrypted at rest (EncryptedTextField). While someone sets it up, the new secret
  waits in pending_secret until they type a code from it, so a half-done setup never locks anyone
  out and a working secret is only replaced by one proven to work.
- A code is accepted once only: the last accepted time step is stored and only a later step is
  accepted next time (an atomic conditional UPDATE, so two requests racing with one code cannot
  both win). Codes from the previous and next 30-second step are accepted for clock drift.
- Ten recovery codes (64 random bits each) are shown once and stored as keyed HMACs (the blind
  index key lives outside the database); each works once.
- Staff roles (core.permissions.staff_roles: a Role says whether it is staff) must use two-factor
  sign-in; core.accounts.auth keeps them on the setup page until they have.
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
from flask import current_app
from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField

from core.accounts.models import User
from core.crypto import EncryptedTextField, keyring
from core.db import BaseModel, db, utcnow
from core.numbers import ascii_digits, is_ascii_number
from core.permissions import staff_roles

INTERVAL = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10


class TotpDevice(BaseModel):
    user = ForeignKeyField(User, backref="totp_devices", on_delete="CASCADE", unique=True)
    secret = EncryptedTextField(null=True)
    pending_secret = EncryptedTextField(null=True)
    confirmed_at = DateTimeField(null=True)
    last_step = BigIntegerField(null=True)


class RecoveryCode(BaseModel):
    user = ForeignKeyField(User, backref="recovery_codes", on_delete="CASCADE", index=True)
    code_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    used_at = DateTimeField(null=True)


# -- who needs what ------------------------------------------------------------------------------


def device(user: User) -> TotpDevice | None:
    return TotpDevice.get_or_none(TotpDevice.user == user.id)


def is_enrolled(user: User) -> bool:
    found = device(user)
    return bool(found and found.secret and found.confirmed_at)


def is_required(user: User) -> bool:
    """Staff roles see other people's data, so their accounts must use two-factor sign-in."""
    return bool(staff_roles(current_app) & frozenset(user.role_names))


def needs_enrolment(user: User) -> bool:
    return is_required(user) and not is_enrolled(user)


# -- setting up ----------------------------------------------------------------------------------


def begin_enrolment(user: User) -> str:
    """Make a new pending secret (the working one, if any, stays until the new one is confirmed)."""
    secret = pyotp.random_base32(length=32)  # 160 bits, as RFC 4226 recommends
    found = device(user)
    if found is None:
        TotpDevice.create(user=user, pending_secret=secret)
    else:
        found.pending_secret = secret
        found.save(only=[TotpDevice.pending_secret])
    return secret


def pending_secret(user: User) -> str | None:
    found = device(user)
    return found.pending_secret if found else None


def provisioning_uri(user: User, secret: str) -> str:
    """otpauth:// URI for authenticator apps. It names the site (its neutral title when one is
    set) and the account number only: no email, since the app's list can be seen on a phone."""
    config = current_app.config
    issuer = config.get("NEUTRAL_TITLE") or config.get("SITE_NAME") or "Red Umbrella"
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=f"account {user.id}", issuer_name=issuer
    )


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data: URI, drawn on the server (no script, no third party)."""
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def group_secret(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn the pending secret on when the code matches it; return new recovery codes, else None."""
    found = device(user)
    if found is None or not found.pending_secret:
        return None
    step = _matching_step(found.pending_secret, code)
    if step is None:
        return None
    with db.atomic():
        found.secret = found.pending_secret
        found.pending_secret = None
        found.confirmed_at = utcnow()
        found.last_step = step  # the code used to confirm cannot be used to sign in
        found.save()
        codes = regenerate_recovery_codes(user)
    return codes


def remove(user: User) -> None:
    """Turn two-factor sign-in off for the account (the secret and recovery codes are deleted)."""
    with db.atomic():
        TotpDevice.delete().where(TotpDevice.user == user.id).execute()
        RecoveryCode.delete().where(RecoveryCode.user == user.id).execute()


# -- checking codes ------------------------------------------------------------------------------


def current_step(at: float | None = None) -> int:
    return int(at if at is not None else time.time()) // INTERVAL


def code_for_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).generate_otp(step)


def _digits(code: str) -> str:
    """The code as typed without spaces and dashes, digits of any script as ASCII (٠-٩, ０-９)."""
    return ascii_digits("".join((code or "").split()).replace("-", ""))


def _matching_step(secret: str, code: str) -> int | None:
    typed = _digits(code)
    if len(typed) != DIGITS or not is_ascii_number(typed):
        return None
    now = current_step()
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_for_step(secret, step), typed):
            return step
    return None


def verify_totp(user: User, code: str) -> bool:
    """True once for a valid code: the same code (or an older one) is refused afterwards."""
    found = device(user)
    if found is None or not found.secret or not found.confirmed_at:
        return False
    step = _matching_step(found.secret, code)
    if step is None:
        return False
    claimed = (
        TotpDevice.update(last_step=step)
        .where(
            (TotpDevice.id == found.id)
            & (TotpDevice.last_step.is_null() | (TotpDevice.last_step < step))
        )
        .execute()
    )
    return claimed == 1


# -- recovery codes ------------------------------------------------------------------------------


def _normalise_recovery(code: str) -> str:
    return _digits(code).lower()


def _recovery_hash(user: User, code: str) -> str:
    return keyring().blind_index("recovery-code", f"{user.id}:{_normalise_recovery(code)}")


def regenerate_recovery_codes(user: User) -> list[str]:
    """Replace the account's recovery codes; the new ones are returned once and stored hashed."""
    codes = []
    for _i in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(8)
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    with db.atomic():
        RecoveryCode.delete().where(RecoveryCode.user == user.id).execute()
        RecoveryCode.insert_many([{"user": user.id, "code_hash": _recovery_hash(user, c)} for c in codes]).execute()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    normalised = _normalise_recovery(code)
    if len(normalised) != 16 or any(ch not in "0123456789abcdef" for ch in normalised):
        return False
    claimed = (
        RecoveryCode.update(used_at=utcnow())
        .where(
            (RecoveryCode.user == user.id)
            & (RecoveryCode.code_hash == _recovery_hash(user, normalised))
            & RecoveryCode.used_at.is_null()
        )
        .execute()
    )
    return claimed == 1


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.select().where((RecoveryCode.user == user.id) & RecoveryCode.used_at.is_null()).count()


def verify_second_factor(user: User, code: str) -> str | None:
    """'totp' or 'recovery' when the code is accepted (once), else None."""
    if verify_totp(user, code):
        return "totp"
    if use_recovery_code(user, code):
        return "recovery"
    return None
