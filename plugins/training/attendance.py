"""Attendance at a session's dates: marking, closing, and self check-in with a QR code.

- A trainer marks each person with a place: present, late, excused or absent (a mark can be
  changed, also after closing).
- Closing a date's attendance sets everyone with a place and no mark to absent. Trainers close it
  on the attendance page; otherwise a periodic task closes it CLOSE_AFTER the date's end.
- Self check-in: the trainer shows a QR code (made with segno) that leads to a check-in page. Its
  random token is stored only as a keyed hash (CheckInCode); a new code replaces the date's older
  ones. It works from CHECK_IN_BEFORE the start until the end, and only for people with a place;
  checking in more than LATE_AFTER after the start marks "late". It never overwrites a trainer's
  mark.
- After a mark, the course's completion is checked again (plugins.training.learning's
  check_completion, when that module exists).
"""

from __future__ import annotations

import datetime
import io

from core.audit import record
from core.db import db, lock_row, utcnow
from core.tokens import hash_token, new_token
from plugins.training import _l
from plugins.training.models import ATTENDANCE, Attendance, Booking, CheckInCode, Enrolment, Session, SessionDate

CHECK_IN_BEFORE = datetime.timedelta(minutes=30)
LATE_AFTER = datetime.timedelta(minutes=15)
CLOSE_AFTER = datetime.timedelta(hours=6)
TOKEN_KIND = "training-check-in"  # noqa: S105  # nosec B105  # the blind-index kind, not a secret


def status_labels() -> dict:
    return {
        "present": _l("Present"),
        "late": _l("Late"),
        "excused": _l("Excused"),
        "absent": _l("Absent"),
    }


class AttendanceError(Exception):
    """A mark that cannot be made: `code` names why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def booked_user_ids(session_id: int) -> list[int]:
    return [b.user_id for b in Booking.select(Booking.user).where(
        (Booking.session == session_id) & (Booking.status == "booked")).order_by(Booking.updated_at, Booking.id)]


def marks(date: SessionDate) -> dict[int, Attendance]:
    return {row.user_id: row for row in Attendance.select().where(Attendance.session_date == date.id)}


def roster(date: SessionDate) -> list[tuple]:
    """(user, Attendance or None) for everyone with a place, and anyone marked without one now."""
    from core.accounts.models import User

    found = marks(date)
    ids = booked_user_ids(date.session_id)
    ids += [uid for uid in found if uid not in ids]
    users = {u.id: u for u in User.select().where(User.id.in_(ids))} if ids else {}
    return [(users[uid], found.get(uid)) for uid in ids if uid in users]


def _check_completion(session: Session, user_ids) -> None:
    """Ask the learning module to look at each person's course completion again, if it exists."""
    if not session.counts_for_completion:
        return
    try:
        from plugins.training.learning import check_completion
    except ImportError:
        return
    for enrolment in Enrolment.select().where((Enrolment.course == session.course_id)
                                              & Enrolment.user.in_(list(user_ids))):
        check_completion(enrolment)


def _upsert(date_id: int, user_id: int, status: str, actor_id, self_check_in: bool = False) -> None:
    updated = Attendance.update(status=status, marked_by=actor_id, self_check_in=self_check_in).where(
        (Attendance.session_date == date_id) & (Attendance.user == user_id)).execute()
    if not updated:
        Attendance.create(session_date=date_id, user=user_id, status=status, marked_by=actor_id,
                          self_check_in=self_check_in)


def mark(date: SessionDate, actor, statuses: dict[int, str]) -> int:
    """Record the trainer's marks ({user id: status}) for people with a place; returns how many."""
    for status in statuses.values():
        if status not in ATTENDANCE:
            raise AttendanceError("status")
    actor_id = getattr(actor, "id", actor)
    with db.atomic():
        lock_row(SessionDate, date.id)
        current = SessionDate.get_by_id(date.id)
        if current.cancelled_at is not None:
            raise AttendanceError("cancelled")
        allowed = set(booked_user_ids(current.session_id)) | set(marks(current))
        unknown = [uid for uid in statuses if uid not in allowed]
        if unknown:
            raise AttendanceError("not_booked")
        for user_id, status in statuses.items():
            _upsert(current.id, user_id, status, actor_id)
        if statuses:
            record("training.attendance_marked", target=f"training_session_date:{current.id}", actor_id=actor_id)
    _check_completion(current.session, statuses)
    return len(statuses)


def close(date: SessionDate, actor=None) -> int:
    """Close the date's attendance: everyone with a place and no mark becomes absent. Returns how
    many were set absent; closing again sets the ones marked nowhere since (none, usually)."""
    actor_id = getattr(actor, "id", actor)
    with db.atomic():
        lock_row(SessionDate, date.id)
        current = SessionDate.get_by_id(date.id)
        if current.cancelled_at is not None:
            raise AttendanceError("cancelled")
        marked = marks(current)
        unmarked = [uid for uid in booked_user_ids(current.session_id) if uid not in marked]
        for user_id in unmarked:
            Attendance.create(session_date=current.id, user=user_id, status="absent", marked_by=actor_id)
        if current.attendance_closed_at is None:
            SessionDate.update(attendance_closed_at=utcnow()).where(SessionDate.id == current.id).execute()
        record("training.attendance_closed", target=f"training_session_date:{current.id}", actor_id=actor_id)
    _check_completion(current.session, unmarked)
    return len(unmarked)


def close_due(now: datetime.datetime | None = None) -> int:
    """Close every date that ended CLOSE_AFTER ago and is still open; returns how many dates."""
    now = now or utcnow()
    due = list(SessionDate.select().join(Session).where(
        SessionDate.attendance_closed_at.is_null() & SessionDate.cancelled_at.is_null()
        & Session.cancelled_at.is_null() & (SessionDate.ends_at <= now - CLOSE_AFTER)))
    for date in due:
        close(date)
    return len(due)


# -- self check-in ----------------------------------------------------------------------------------


def token_hash(raw: str) -> str:
    return hash_token(raw, TOKEN_KIND)


def window(date: SessionDate) -> tuple[datetime.datetime, datetime.datetime]:
    return date.starts_at - CHECK_IN_BEFORE, date.ends_at


def issue_code(date: SessionDate, actor) -> str:
    """A new check-in code for the date (older ones stop working); returns the raw token."""
    raw = new_token(nbytes=24)
    valid_from, valid_until = window(date)
    with db.atomic():
        lock_row(SessionDate, date.id)
        CheckInCode.delete().where(CheckInCode.session_date == date.id).execute()
        CheckInCode.create(session_date=date.id, token_hash=token_hash(raw), valid_from=valid_from,
                           valid_until=valid_until)
        record("training.check_in_code_made", target=f"training_session_date:{date.id}",
               actor_id=getattr(actor, "id", actor))
    return raw


def qr_svg(url: str) -> str:
    """The check-in address as an SVG QR code (segno), to show inline."""
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False, svgns=True,
                                    title=None, desc=None)
    return buffer.getvalue().decode()


def code_for(raw: str) -> CheckInCode | None:
    if not raw or len(raw) > 100:
        return None
    return CheckInCode.get_or_none(CheckInCode.token_hash == token_hash(raw))


def check_in_state(code: CheckInCode, user, now: datetime.datetime | None = None) -> str:
    """What checking in would do now: "open", "too_early", "too_late", "not_booked", "cancelled"
    or "done" (already marked)."""
    now = now or utcnow()
    date = SessionDate.get_by_id(code.session_date_id)
    if date.cancelled_at is not None or date.session.cancelled_at is not None:
        return "cancelled"
    valid_from, valid_until = window(date)  # the date's times now, should they have changed since
    if now < valid_from:
        return "too_early"
    if now > valid_until:
        return "too_late"
    if getattr(user, "id", user) not in booked_user_ids(date.session_id):
        return "not_booked"
    if Attendance.get_or_none((Attendance.session_date == date.id) & (Attendance.user == getattr(user, "id", user))):
        return "done"
    return "open"


def check_in(code: CheckInCode, user, now: datetime.datetime | None = None) -> str:
    """Check the person in: "present" or "late", or the reason it cannot be done (check_in_state)."""
    now = now or utcnow()
    user_id = getattr(user, "id", user)
    with db.atomic():
        lock_row(SessionDate, code.session_date_id)
        state = check_in_state(code, user, now)
        if state != "open":
            return state
        date = SessionDate.get_by_id(code.session_date_id)
        status = "late" if now > date.starts_at + LATE_AFTER else "present"
        _upsert(date.id, user_id, status, user_id, self_check_in=True)
        record("training.checked_in", target=f"training_session_date:{date.id}", actor_id=user_id)
    _check_completion(date.session, [user_id])
    return status
