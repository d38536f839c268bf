"""When an account is erased (core.accounts.erasure): what training deletes and keeps.

Deleted, for a LEARNER: enrolments and the lessons marked done, quiz attempts and their answers,
session bookings (a place it held goes to the first person on the waiting list, who is told by
e-mail a minute later) and attendance marks, the record that it answered a questionnaire, and the
e-mails about its bookings. The questionnaire answers themselves were never linked to anyone and
stay.

Certificates: a certificate is a statement to other people (an employer, a partner organisation)
that can be checked on the public page by its code, so it is not simply deleted, which would make
an honest certificate look forged. It is WITHDRAWN instead: revoked as of the erasure, with no
reason, no account link and no name (the name is removed from its signed details, which are
signed again so the page still agrees with itself). Anyone who checks its code is told it was
revoked on that day and is no longer valid, without a name. A signed copy the person downloaded
earlier still checks out against the instance's public key offline (`redumbrella training verify
FILE`): it proves what was issued then, and the public page says it no longer stands. A
certificate still waiting for its name was never shown to anyone and is deleted.

For a TRAINER: their credit on courses (the name shown with the course) is deleted. Certificates
already issued to other people keep the trainers' names as they were signed: they are those
people's documents. Where the account only acted (wrote a course, ran a session, approved a
booking, marked attendance), the record stays and no longer names it.

Idempotent: a second call finds nothing linked to the account.
"""

from __future__ import annotations

import json

from core.hookspecs import hookimpl

PROMOTION_MAIL_DELAY = 60  # seconds: the erasure's transaction has committed by then


@hookimpl
def account_erased(app, user_id):
    from core.accounts.erasure import unlink_account
    from core.mail import OutgoingMail
    from plugins.training.models import MODELS, Booking, CourseTrainer, Enrolment

    _withdraw_certificates(app, user_id)
    bookings = list(Booking.select(Booking.id, Booking.session, Booking.status).where(Booking.user == user_id))
    if bookings:
        OutgoingMail.delete().where(OutgoingMail.target.in_([f"training_booking:{b.id}" for b in bookings])).execute()
        Booking.delete().where(Booking.user == user_id).execute()
        for session_id in sorted({b.session_id for b in bookings if b.status == "booked"}):
            _give_place_away(session_id)
    Enrolment.delete().where(Enrolment.user == user_id).execute()  # the lessons done go with them
    CourseTrainer.delete().where(CourseTrainer.user == user_id).execute()
    unlink_account(MODELS, user_id)  # attempts, attendance, questionnaire marks; staff links cleared


def _withdraw_certificates(app, user_id: int) -> None:
    from core.db import utcnow
    from plugins.training.certificates import canonical, sign
    from plugins.training.models import Certificate

    now = utcnow()
    for certificate in Certificate.select().where(Certificate.user == user_id):
        if not certificate.signature:
            certificate.delete_instance()
            continue
        body = json.loads(certificate.payload)
        body["learner_name"] = ""
        Certificate.update(
            user=None, learner_name="", payload=canonical(body).decode("utf-8"), signature=sign(body, app),
            revoked_at=certificate.revoked_at or now, revoke_reason=None,
        ).where(Certificate.id == certificate.id).execute()


def _give_place_away(session_id: int) -> None:
    """A place the account held goes to the waiting list, as a cancellation would."""
    from core.db import lock_row
    from core.mail import queue_mail
    from plugins.training.models import Session
    from plugins.training.sessions import BOOKING_MAIL, _promote
    from plugins.training.tasks import mail_booking

    lock_row(Session, session_id)
    session = Session.get_or_none(Session.id == session_id)
    if session is None or session.cancelled_at is not None:
        return
    for booking in _promote(session):
        queue_mail(mail_booking, BOOKING_MAIL, f"training_booking:{booking.id}", booking.id, "promoted",
                   delay=PROMOTION_MAIL_DELAY)
