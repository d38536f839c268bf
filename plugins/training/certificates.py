"""Certificates: issue, sign, verify, revoke, expiry and renewal reminders.

- **Issue.** When a learner completes a course (learning.check_completion calls `issue_for`), a
  certificate is made with an unguessable code: 20 characters of base32 from `secrets` (100 bits),
  shown in five groups of four (`ABCD-EFGH-JKLM-NPQR-STUV`). One enrolment's completion gives one
  certificate, however often `issue_for` is called (a unique index on the enrolment and the time it
  was completed; a renewal after a new completion gives a new certificate).
- **The name.** A certificate carries the learner's name *as they entered it*: the first time they
  open it, the learner is asked how their name should appear (their working name is offered). Until
  then it is "waiting for a name": listed for the learner, not signed, and unknown to the public
  page. Once entered, the name is signed and cannot be changed (a changed name would make earlier
  downloads disagree with the page).
- **Signed.** The payload is the canonical JSON (sorted keys, no spaces, UTF-8) of every field the
  certificate shows; it is signed with Ed25519 under the instance's training key,
  `<instance>/keys/training_signing.key` (32 random bytes in hex, readable by the owner only,
  created on first use like the other keys and saved by `redumbrella backup --include-keys`). The
  file offered for download is the canonical JSON of {"payload": ..., "signature": ...}; anyone can
  check it against the public key (GET /api/v1/certificates/public-key, or
  `redumbrella training verify FILE`). Any changed byte fails: either the signature no longer fits
  or the file is no longer canonical.
- **Status.** "valid", "expired" (the day after `expires_on`) or "revoked" (a trainer revoked it,
  with a reason shown to the learner and trainers; the public page says only that and when).
- **Throttled lookups.** The public page and API count lookups per address and minute (core.throttle),
  the address only as a keyed hash (core.crypto blind index); over the setting `verify_per_minute`, 429.
- **Renewal reminders.** A daily task e-mails each learner once, `renewal_reminder_days` before a
  certificate of theirs ends.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, has_request_context, url_for

from core import throttle, webhooks
from core.audit import record
from core.crypto import KEY_DIR_NAME, _write_secret, keyring
from core.db import db, lock_row, relaxed_commit, utcnow
from core.queue import crontab, periodic_task, task
from core.text import TextRefused, clean, message

FORMAT = "redumbrella-training-certificate/1"
SIGNING_KEY_FILE = "training_signing.key"
CODE_LENGTH = 20  # base32 characters: 100 bits
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CODE = re.compile(r"[A-Z2-7]{20}")
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})
NAME_MAX = 200
REASON_MAX = 300

VALID, EXPIRED, REVOKED = "valid", "expired", "revoked"


class CertificateError(ValueError):
    """A change the certificate does not allow (its name is set, it is revoked); the message is translated."""


class Throttled(Exception):
    """Too many lookups from one address this minute."""


# -- the instance's signing key --------------------------------------------------------------------

_keys: dict[str, Ed25519PrivateKey] = {}


def key_path(app=None) -> Path:
    app = app or current_app
    return Path(app.instance_path) / KEY_DIR_NAME / SIGNING_KEY_FILE


def signing_key(app=None) -> Ed25519PrivateKey:
    """The training signing key of this instance, created on first use if missing."""
    path = key_path(app)
    key = _keys.get(str(path))
    if key is None:
        if not path.exists():
            _write_secret(path, os.urandom(32).hex() + "\n")  # exclusive create: a racing process keeps the first
        try:
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
        except ValueError:
            raise RuntimeError(f"{path} does not hold a training signing key (64 hex characters)") from None
        _keys[str(path)] = key
    return key


def public_key(app=None) -> Ed25519PublicKey:
    return signing_key(app).public_key()


def public_key_raw(app=None) -> bytes:
    return public_key(app).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(app=None) -> str:
    return public_key(app).public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(raw: bytes) -> str:
    """A short name for a public key (the first 16 hex characters of its SHA-256), carried in each payload."""
    return hashlib.sha256(raw).hexdigest()[:16]


# -- codes -------------------------------------------------------------------------------------------


def new_code() -> str:
    return group("".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH)))


def group(plain: str) -> str:
    return "-".join(plain[i:i + 4] for i in range(0, len(plain), 4))


def normalise_code(text: str | None) -> str | None:
    """The stored form of a code as someone typed it (any case, spaces or dashes, 0/1/8 for O/I/B), or None."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    plain = re.sub(r"[\s-]", "", text).upper().translate(_LOOKALIKES)
    return group(plain) if _CODE.fullmatch(plain) else None


# -- canonical JSON and signatures -------------------------------------------------------------------


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(payload: dict, app=None) -> str:
    return base64.b64encode(signing_key(app).sign(canonical(payload))).decode("ascii")


def document(certificate) -> bytes:
    """The downloadable file: canonical JSON of {"payload", "signature"}."""
    return canonical({"payload": json.loads(certificate.payload), "signature": certificate.signature})


@dataclass
class Checked:
    ok: bool
    problem: str = ""  # a short English reason for the command line
    payload: dict | None = None


def verify_document(data: bytes, public_raw: bytes) -> Checked:
    """Check a downloaded certificate file offline against a public key (32 raw bytes)."""
    if data.endswith(b"\n"):
        data = data[:-1]
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Checked(False, "the file is not a certificate (not JSON)")
    if (not isinstance(parsed, dict) or set(parsed) != {"payload", "signature"}
            or not isinstance(parsed["payload"], dict)):
        return Checked(False, "the file is not a certificate (it needs exactly a payload and a signature)")
    if canonical(parsed) != data:
        return Checked(False, "the file was changed (it is not as it was issued)")
    try:
        signature = base64.b64decode(parsed["signature"], validate=True)
        if base64.b64encode(signature).decode("ascii") != parsed["signature"]:
            raise ValueError("not the canonical base64 of the signature")  # unused bits changed
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, canonical(parsed["payload"]))
    except (InvalidSignature, ValueError, TypeError):
        return Checked(False, "the signature does not match: the certificate was changed or is from another instance")
    return Checked(True, payload=parsed["payload"])


# -- issuing -----------------------------------------------------------------------------------------


def _trainer_names(course) -> list[str]:
    from plugins.training.models import CourseTrainer

    return [t.credited_name for t in CourseTrainer.select(CourseTrainer.credited_name)
            .where(CourseTrainer.course == course.id).order_by(CourseTrainer.id)]


def issue_for(enrolment):
    """The certificate for this completion of the enrolment, made the first time (idempotent).

    Returns None when the enrolment is not completed. The certificate waits for the learner's name
    (see the module's docstring) and is signed when they enter it."""
    from plugins.training.models import Certificate, Course

    if enrolment.completed_at is None:
        return None
    same = (Certificate.enrolment_id == enrolment.id) & (Certificate.completed_at == enrolment.completed_at)
    found = Certificate.get_or_none(same)
    if found is not None:
        return found
    course = Course.get_by_id(enrolment.course_id)
    issued_on = enrolment.completed_at.date()
    expires_on = (issued_on + datetime.timedelta(days=course.certificate_valid_days)
                  if course.certificate_valid_days else None)
    with db.atomic():
        found = Certificate.get_or_none(same)  # SQLite holds the write lock; PostgreSQL: the unique index
        if found is not None:
            return found
        from peewee import IntegrityError

        try:
            with db.atomic():
                certificate = Certificate.create(
                    code=new_code(), course=course.id, user=enrolment.user_id, learner_name="",
                    course_title=course.title, issued_on=issued_on, hours=course.hours or 0,
                    trainers=json.dumps(_trainer_names(course), ensure_ascii=False),
                    expires_on=expires_on, payload="", signature="",
                    enrolment_id=enrolment.id, completed_at=enrolment.completed_at,
                )
        except IntegrityError:  # another worker issued it a moment ago
            return Certificate.get(same)
        record("training.certificate_issued", target=f"certificate:{certificate.id}", actor_id=enrolment.user_id)
    return certificate


def issue(user_id: int | None, course, learner_name: str, issued_on: datetime.date | None = None):
    """Issue and sign a certificate at once (the command line, the demo and the benchmark)."""
    from plugins.training.models import Certificate

    issued_on = issued_on or utcnow().date()
    expires_on = (issued_on + datetime.timedelta(days=course.certificate_valid_days)
                  if course.certificate_valid_days else None)
    with db.atomic():
        certificate = Certificate.create(
            code=new_code(), course=course.id, user=user_id, learner_name="", course_title=course.title,
            issued_on=issued_on, hours=course.hours or 0,
            trainers=json.dumps(_trainer_names(course), ensure_ascii=False),
            expires_on=expires_on, payload="", signature="")
        _sign_with_name(certificate, learner_name)
    return certificate


def clean_name(text) -> str:
    """The name as typed, checked by core's text rule; raises CertificateError with a translated message."""
    from plugins.training import _

    name = _single_line(text)
    if not name:
        raise CertificateError(_("Enter your name as it should appear on the certificate."))
    if len(name) > NAME_MAX:
        raise CertificateError(_("Use at most %(num)d characters.", num=NAME_MAX))
    return name


def _single_line(text) -> str:
    """Text kept by core's rule (core.text), on one line with single spaces; CertificateError otherwise."""
    try:
        kept = clean(str(text or ""), multiline=False)
    except TextRefused as refused:
        raise CertificateError(message(refused.problem)) from None
    return re.sub(r"[ \t]+", " ", kept)


def set_name(certificate, text, actor_id: int):
    """The learner enters their name: the certificate is then signed, once and for good."""
    from plugins.training import _
    from plugins.training.models import Certificate

    name = clean_name(text)
    with db.atomic():
        lock_row(Certificate, certificate.id)
        fresh = Certificate.get_by_id(certificate.id)
        if fresh.signature:
            raise CertificateError(_("The name on this certificate is already set."))
        _sign_with_name(fresh, name)
        record("training.certificate_named", target=f"certificate:{fresh.id}", actor_id=actor_id)
    return fresh


def _sign_with_name(certificate, name: str) -> None:
    certificate.learner_name = name
    body = payload_of(certificate)
    certificate.payload = canonical(body).decode("utf-8")
    certificate.signature = sign(body)
    certificate.save()
    webhooks.emit("certificate.issued", {"certificate": {"code": certificate.code, "verify_url": body["verify_url"],
                                                         "course_title": certificate.course_title}})


def verify_url(code: str) -> str:
    """The address of the certificate's public page (absolute when the instance knows its address)."""
    from core.mail import MailError, external_url

    try:
        return external_url("training_certificates.verify_code", code=code)
    except MailError:
        return url_for("training_certificates.verify_code", code=code) if has_request_context() \
            else f"/training/verify/{code}"


def payload_of(certificate) -> dict:
    """Every field the certificate shows, as signed."""
    return {
        "format": FORMAT,
        "code": certificate.code,
        "learner_name": certificate.learner_name,
        "course": certificate.course_title,
        "course_id": certificate.course_id,
        "issued_on": certificate.issued_on.isoformat(),
        "hours": certificate.hours,
        "trainers": json.loads(certificate.trainers or "[]"),
        "expires_on": certificate.expires_on.isoformat() if certificate.expires_on else None,
        "issuer": current_app.config["SITE_NAME"],
        "verify_url": verify_url(certificate.code),
        "key_id": key_id(public_key_raw()),
    }


# -- status, lookup, revocation ------------------------------------------------------------------------


def status_of(certificate, today: datetime.date | None = None) -> str:
    today = today or utcnow().date()
    if certificate.revoked_at is not None:
        return REVOKED
    if certificate.expires_on is not None and certificate.expires_on < today:
        return EXPIRED
    return VALID


def is_current(certificate, today: datetime.date | None = None) -> bool:
    return status_of(certificate, today) == VALID


def find(code_text) -> object | None:
    """A signed certificate by its code as typed; None for an unknown, malformed or unnamed one alike."""
    from plugins.training.models import Certificate

    code = normalise_code(code_text)
    if code is None:
        return None
    certificate = Certificate.get_or_none(Certificate.code == code)
    if certificate is None or not certificate.signature:
        return None
    return certificate


def public_view(certificate, today: datetime.date | None = None) -> dict:
    """What the public page and API show: every signed field, the status, and the signature."""
    body = json.loads(certificate.payload)
    status = status_of(certificate, today)
    return {
        "status": status,
        "revoked_on": certificate.revoked_at.date().isoformat() if certificate.revoked_at else None,
        "certificate": body,
        "signature": certificate.signature,
    }


def revoke(certificate, reason, actor_id: int):
    """A trainer revokes a certificate with a reason (stored encrypted; the audit log has the id only)."""
    from plugins.training import _
    from plugins.training.models import Certificate

    reason = _single_line(reason)
    if not reason:
        raise CertificateError(_("Say why the certificate is revoked."))
    if len(reason) > REASON_MAX:
        raise CertificateError(_("Use at most %(num)d characters.", num=REASON_MAX))
    with db.atomic():
        lock_row(Certificate, certificate.id)
        fresh = Certificate.get_by_id(certificate.id)
        if fresh.revoked_at is not None:
            raise CertificateError(_("This certificate is already revoked."))
        fresh.revoked_at, fresh.revoke_reason = utcnow(), reason
        fresh.save()
        record("training.certificate_revoked", target=f"certificate:{fresh.id}", actor_id=actor_id)
    return fresh


# -- throttling --------------------------------------------------------------------------------------

LOOKUPS = throttle.Limit("training-verify", per=datetime.timedelta(minutes=1))  # per address, clock minute


def address_key(address: str | None) -> str:
    return "addr:" + keyring().blind_index("training-verify-address", address or "unknown")[:35]


def count_lookup(address: str | None, limit: int) -> None:
    """Count one lookup for the address this minute (one statement); raise Throttled over the limit.

    Counted in a relaxed commit: a lookup count lost to a power cut of the database machine
    throttles nothing that matters, and waiting for a disk sync on every public lookup would cap
    lookups at the disk's sync rate (as the alerts plugin's check does)."""
    key = address_key(address)
    with relaxed_commit():
        count = throttle.hit(LOOKUPS, [key])[key]
    if count > limit:
        raise Throttled()


# -- renewal reminders -------------------------------------------------------------------------------


def due_for_reminder(days: int, today: datetime.date | None = None) -> list[int]:
    """Ids of signed, unrevoked certificates ending within `days` days that were not reminded yet."""
    from plugins.training.models import Certificate

    if days <= 0:
        return []
    today = today or utcnow().date()
    query = (Certificate.select(Certificate.id)
             .where(Certificate.revoked_at.is_null() & Certificate.renewal_reminded_at.is_null()
                    & (Certificate.signature != "") & Certificate.user.is_null(False)
                    & (Certificate.expires_on >= today)
                    & (Certificate.expires_on <= today + datetime.timedelta(days=days)))
             .order_by(Certificate.id))
    return [row.id for row in query]


def claim_reminder(certificate_id: int) -> bool:
    """Mark one certificate as reminded; False when another worker already did (one statement)."""
    from plugins.training.models import Certificate

    with db.atomic():
        return bool(Certificate.update(renewal_reminded_at=utcnow())
                    .where((Certificate.id == certificate_id) & Certificate.renewal_reminded_at.is_null())
                    .execute())


# -- queue tasks: ids only ---------------------------------------------------------------------------


@task(retries=3, retry_delay=300)
def mail_renewal_reminder(certificate_id: int) -> bool:
    """E-mail the learner, in their language, that their certificate ends soon (the id only in the queue)."""
    from core import mail
    from core.accounts.models import User
    from plugins.training import domain
    from plugins.training.models import Certificate

    certificate = Certificate.get_or_none(Certificate.id == certificate_id)
    if certificate is None or certificate.revoked_at is not None or certificate.user_id is None:
        return False
    user = User.get_or_none((User.id == certificate.user_id) & (User.active == True))  # noqa: E712
    if user is None or not user.email:
        return False
    from flask_babel import format_date

    from core.i18n import force_language

    config = current_app.config
    locale = user.locale if user.locale in config["LOCALES"] else config["DEFAULT_LOCALE"]
    with force_language(locale):
        date = format_date(certificate.expires_on, "long")
    try:
        link = mail.external_url("training.index")
    except mail.MailError:
        link = ""
    domain.as_default()
    mail.send_message(mail.render_message(user.email, "training/certificates/renewal_mail.txt", user.locale,
                                          course=certificate.course_title, date=date, link=link))
    return True


@periodic_task(crontab(minute="20", hour="7"))
def remind_renewals() -> int:
    """Daily: one reminder per certificate, `renewal_reminder_days` before it ends."""
    from core.settings import plugin_settings

    days = int(plugin_settings("training").get("renewal_reminder_days") or 0)
    queued = 0
    for certificate_id in due_for_reminder(days):
        if claim_reminder(certificate_id):
            mail_renewal_reminder(certificate_id)
            queued += 1
    return queued


@periodic_task(crontab(minute="*/10"))
def forget_old_lookups() -> int:
    """Every ten minutes: drop the lookup counts (and every other throttle count) whose minute ended."""
    return throttle.prune()


TASKS = [mail_renewal_reminder, remind_renewals, forget_old_lookups]
