"""What the reporting plugin does with reports, shared by the web pages, the API and the tests.

Nothing here logs or audits report contents: the audit log gets codes and references only.
"""

from __future__ import annotations

import datetime
import json
import logging
import secrets
from dataclasses import dataclass, field

from flask import current_app, has_request_context, request, session
from peewee import SQL, fn

from core import throttle, webhooks
from core.audit import record
from core.crypto import keyring
from core.db import db, is_sqlite, lock_row, utcnow
from core.plugins import get_registry
from core.receipts import lookup, new_receipt, receipt_cost, receipt_digits, receipt_hash
from core.settings import plugin_settings
from core.tokens import hash_token, new_token
from plugins.reporting import flood
from plugins.reporting.models import (
    OPEN_STATUSES,
    PURPOSES,
    STATUSES,
    URGENCY_ROUTINE,
    URGENCY_SERIOUS,
    URGENCY_URGENT,
    Attachment,
    Consent,
    Draft,
    Perpetrator,
    PerpetratorIdentifier,
    Report,
    ReportMessage,
)
from plugins.reporting.options import SERIOUS_TYPES

log = logging.getLogger("redumbrella.reporting")

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L or U: easy to read out
REFERENCE_LENGTH = 6
THROTTLE_WINDOW = datetime.timedelta(minutes=15)
# Wrong receipts, per visitor and for everyone: the last 15 minutes, in buckets of a minute.
WRONG_RECEIPTS = throttle.Limit("reporting-receipt", per=THROTTLE_WINDOW, buckets=15)
GLOBAL_BUCKET = "global"
PAGE_SIZE = 50


def settings() -> dict:
    return plugin_settings("reporting")


# -- references and receipts ---------------------------------------------------------------------


def new_reference() -> str:
    while True:
        reference = "R-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        if not Report.select().where(Report.reference == reference).exists():
            return reference


class Throttled(Exception):
    """A wrong receipt after too many wrong ones lately (from this visitor, or from everyone).

    Only wrong receipts are ever refused: a right one opens its report whatever others tried.
    """


def throttled_message() -> str:
    from plugins.reporting import _

    return _("That receipt did not open a report, and many wrong receipts have been tried lately. Please "
             "check each number carefully and try again: the right receipt always works.")


def session_bucket() -> str | None:
    """A random, per-visitor throttle key kept in the session (no IP address is ever used)."""
    if not has_request_context():
        return None
    token = session.get("reporting_visitor")
    if token is None:
        token = session["reporting_visitor"] = new_token(nbytes=16)
    return hash_token(token)[:32]


def _count_wrong_receipt(bucket: str | None) -> bool:
    """Count one wrong receipt for everyone and for this visitor (one row per key and minute, so a
    flood of guesses cannot fill the table); True when either was already at its limit."""
    config = settings()
    limits = {GLOBAL_BUCKET: config["receipt_attempts_global"]}
    if bucket is not None:
        limits[bucket] = config["receipt_attempts_per_session"]
    counts = throttle.hit(WRONG_RECEIPTS, limits)
    if counts[GLOBAL_BUCKET] == limits[GLOBAL_BUCKET]:
        # Someone may be guessing: operators see it in the log (a count, nothing else).
        log.warning("wrong receipts reached the limit", extra={"event": "receipt_guessing",
                                                               "count": limits[GLOBAL_BUCKET]})
    return any(counts[key] > most for key, most in limits.items())


def report_for_receipt(text: str | None, bucket: str | None = None) -> Report | None:
    """The report a receipt opens, or None for a wrong or expired one (the caller cannot tell which).

    Every receipt is checked, so a right one always opens its report, however many wrong ones
    others have sent. Wrong ones are counted per visitor and for everyone; past either limit a
    wrong one raises Throttled instead of returning None. What keeps guessing out of reach is the
    receipt's 10^16 values against the Argon2id cost of each check (docs/security.md).
    """
    report = lookup(Report, text, "reporting")  # hashes even a malformed receipt: a wrong one takes as long
    if report is not None and report.receipt_expires_at is not None and report.receipt_expires_at < utcnow():
        report = None
    if report is None and _count_wrong_receipt(bucket):
        raise Throttled()
    return report


# -- creating a report ---------------------------------------------------------------------------


def urgency_for(data: dict) -> int:
    serious = bool(SERIOUS_TYPES & set(data.get("incident_types") or []))
    occurred = data.get("occurred_on")
    recent = occurred is not None and (datetime.date.today() - occurred).days <= settings()["recent_days"]
    if data["consent"]["wants_support"] or (serious and recent):
        return URGENCY_URGENT
    return URGENCY_SERIOUS if serious else URGENCY_ROUTINE


@dataclass
class Submitted:
    report: Report
    receipt: str | None = None  # only for anonymous reports; shown once, never stored


def create_report(data: dict, reporter=None, source: str = "web", draft: Draft | None = None) -> Submitted:
    """Store a validated report (ReportSchema output) and tell the other plugins about it."""
    now = utcnow()
    receipt = None
    with db.atomic():
        report = Report(
            reference=new_reference(),
            status="new",
            urgency=urgency_for(data),
            incident_types=",".join(data.get("incident_types") or []),
            occurred_on=data.get("occurred_on"),
            occurred_time=data.get("occurred_time"),
            region=data.get("region"),
            location=data.get("location"),
            work_setting=data.get("work_setting"),
            contact_method=data.get("contact_method"),
            narrative=data.get("narrative"),
            reporter=reporter,
            on_behalf=bool(data.get("on_behalf")),
            on_behalf_consent_at=now if data.get("on_behalf") else None,
            support_contact=data.get("support_contact"),
            support_safe_times=data.get("support_safe_times"),
            support_contact_method=data.get("support_contact_method"),
            support_may_leave_message=data.get("support_may_leave_message"),
            language=_locale(),
            source=source,
            created_at=now,
            updated_at=now,
            status_changed_at=now,
        )
        if reporter is None:
            report.many_from_address = _many_from_address(now.date())
            receipt = new_receipt()
            report.receipt_cost = receipt_cost()
            report.receipt_hash = receipt_hash(receipt_digits(receipt), report.receipt_cost, "reporting")
            report.receipt_expires_at = now + datetime.timedelta(days=settings()["receipt_valid_days"])
        report.save(force_insert=True)
        add_perpetrators(report, data.get("perpetrators") or [])
        for purpose in PURPOSES:
            if data["consent"].get(purpose):
                Consent.create(report=report, purpose=purpose, given_at=now)
        if draft is not None:
            Attachment.update(report=report, draft=None).where(Attachment.draft == draft).execute()
            draft.delete_instance()
        record("report.submitted", target=report.target())
        # Only the hour: not even the reference (docs/webhooks.md#reportreceived).
        webhooks.emit("report.received", {"report": {"received_at": now.strftime("%Y-%m-%dT%H:00:00Z")}})
    get_registry().notify("report_submitted", app=current_app._get_current_object(), report=report)
    return Submitted(report, receipt)


def _many_from_address(today: datetime.date) -> bool:
    """Whether this request's address has already sent the day's number of anonymous reports
    (plugins/reporting/flood.py: counted in memory, never stored)."""
    if not has_request_context():
        return False  # made by a command (demo data), not sent by anyone
    sent = flood.counts().hit(request.remote_addr, today)
    return sent > settings()["reports_per_address"]


def add_perpetrators(report: Report, people: list[dict], start: int = 0) -> None:
    ring = keyring()
    for position, person in enumerate(people, start=start):
        perpetrator = Perpetrator.create(
            report=report,
            position=position,
            names=json.dumps(person.get("names") or []) if person.get("names") else None,
            description=json.dumps(person["description"]) if person.get("description") else None,
            vehicle=json.dumps(_without(person.get("vehicle"), "plate")) if _without(person.get("vehicle"), "plate")
            else None,
        )
        identifiers = [("phone", v) for v in person.get("phones") or []]
        identifiers += [("email", v) for v in person.get("emails") or []]
        identifiers += [("handle", v) for v in person.get("handles") or []]
        plate = (person.get("vehicle") or {}).get("plate")
        if plate:
            identifiers.append(("plate", plate))
        for kind, value in identifiers:  # values arrive normalised by the schema
            PerpetratorIdentifier.create(
                perpetrator=perpetrator,
                report=report,
                kind=kind,
                blind_index=ring.blind_index(kind, value),
                display=value,
            )


def _without(mapping: dict | None, key: str) -> dict:
    return {k: v for k, v in (mapping or {}).items() if k != key}


def _locale() -> str | None:
    if not has_request_context():
        return None
    from core.i18n import current_language

    return current_language()


# -- following up ---------------------------------------------------------------------------------


def add_message(report: Report, kind: str, body: str, author=None) -> ReportMessage:
    if kind not in ReportMessage.KINDS:
        raise ValueError(kind)
    with db.atomic():
        message = ReportMessage.create(report=report, kind=kind, body=body, author=author)
        Report.update(updated_at=utcnow()).where(Report.id == report.id).execute()
        action = {"note": "report.note_added", "to_reporter": "report.message_sent",
                  "from_reporter": "report.reporter_wrote"}[kind]
        record(action, target=report.target(), actor_id=getattr(author, "id", None) if author else None)
    if kind == "to_reporter" and report.reporter_id is not None:
        from core.mail import queue_mail
        from plugins.reporting.notices import REPORTER_NOTICE
        from plugins.reporting.tasks import notify_reporter

        # An account holder hears there is a message (never what it says); the row makes it durable.
        queue_mail(notify_reporter, REPORTER_NOTICE, report.target(), report.id)
    return message


def reporter_messages(report: Report) -> list[ReportMessage]:
    """What the reporter sees: staff messages to them and their own, never internal notes."""
    return list(
        ReportMessage.select()
        .where((ReportMessage.report == report) & (ReportMessage.kind != "note"))
        .order_by(ReportMessage.created_at, ReportMessage.id)
    )


def all_messages(report: Report) -> list[ReportMessage]:
    """Messages and internal notes, for staff."""
    return list(
        ReportMessage.select()
        .where(ReportMessage.report == report)
        .order_by(ReportMessage.created_at, ReportMessage.id)
    )


def consent_history(report: Report) -> list[Consent]:
    return list(Consent.select().where(Consent.report == report).order_by(Consent.given_at, Consent.id))


def consent_states(report: Report) -> list[dict]:
    current = report.current_consents()
    latest: dict[str, Consent] = {}
    for row in consent_history(report):
        latest[row.purpose] = row
    states = []
    for purpose in PURPOSES:
        given = current.get(purpose)
        last = latest.get(purpose)
        states.append({
            "purpose": purpose,
            "given": given is not None,
            "given_at": given.given_at if given else (last.given_at if last else None),
            "withdrawn_at": None if given else (last.withdrawn_at if last else None),
        })
    return states


SUPPORT_FIELDS = ("support_contact_method", "support_contact", "support_safe_times", "support_may_leave_message")


def give_consent(report: Report, purpose: str, user=None, contact: dict | None = None) -> bool:
    """Give a consent later (the reporter, by account or receipt); a new row keeps the history.

    For wants_support, `contact` holds the safe contact details (SUPPORT_FIELDS) asked for with it.
    Other plugins hear of it through the consent_given hook, after the commit. False if the consent
    was already given.
    """
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    with db.atomic():
        lock_row(Report, report.id)
        if report.has_consent(purpose):
            return False
        Consent.create(report=report, purpose=purpose, given_at=utcnow())
        if purpose == "wants_support" and contact is not None:
            for name in SUPPORT_FIELDS:
                setattr(report, name, contact.get(name))
            report.updated_at = utcnow()
            report.save(only=[getattr(Report, name) for name in SUPPORT_FIELDS] + [Report.updated_at])
        record("report.consent_given", target=f"{report.target()}:{purpose}", actor_id=getattr(user, "id", None))
    get_registry().notify("consent_given", app=current_app._get_current_object(), report=report, purpose=purpose)
    return True


def withdraw_consent(report: Report, purpose: str, by: str, user=None) -> bool:
    """Withdraw a consent; the row stays with the time it was withdrawn. False if none was given."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    with db.atomic():
        updated = (
            Consent.update(withdrawn_at=utcnow(), withdrawn_by=by, withdrawn_by_user_id=getattr(user, "id", None))
            .where((Consent.report == report) & (Consent.purpose == purpose) & Consent.withdrawn_at.is_null())
            .execute()
        )
        if updated:
            record("report.consent_withdrawn", target=f"{report.target()}:{purpose}",
                   actor_id=getattr(user, "id", None))
    if updated:
        get_registry().notify("consent_withdrawn", app=current_app._get_current_object(), report=report,
                            purpose=purpose)
    return bool(updated)


# -- moderation ------------------------------------------------------------------------------------


class ModerationError(ValueError):
    """The change cannot be made; the message says why, translated."""


def set_status(report: Report, status: str, user, duplicate_of: str | None = None) -> Report:
    from plugins.reporting import _

    if status not in STATUSES or status == "new":
        raise ModerationError(_("Please choose one of the listed statuses."))
    original = None
    if status == "duplicate":
        original = Report.get_or_none(Report.reference == (duplicate_of or "").strip().upper())
        if original is None or original.id == report.id:
            raise ModerationError(_("Please give the reference of the report this one repeats."))
    now = utcnow()
    with db.atomic():
        # Decide from the row as it is now, not as this request first read it: two moderators
        # verifying at once must tell the other plugins once, and neither may undo the other's
        # urgency or notes by saving a stale copy of the whole report.
        lock_row(Report, report.id)
        was_verified = Report.select(Report.status).where(Report.id == report.id).scalar() == "verified"
        report.status = status
        report.status_changed_at = report.updated_at = now
        report.duplicate_of = original
        changed = [Report.status, Report.status_changed_at, Report.updated_at, Report.duplicate_of]
        if status == "verified" and not was_verified:
            report.verified_at = now
            changed.append(Report.verified_at)
        report.save(only=changed)
        record(f"report.{status}", target=report.target(), actor_id=user.id if user else None)
    if status == "verified" and not was_verified:
        get_registry().notify("report_verified", app=current_app._get_current_object(), report=report)
    return report


def set_urgency(report: Report, urgency: int, user) -> None:
    with db.atomic():
        Report.update(urgency=urgency, updated_at=utcnow()).where(Report.id == report.id).execute()
        report.urgency = urgency
        record("report.urgency_changed", target=report.target(), actor_id=user.id if user else None)


# The open queue's condition as literal SQL: the partial index reporting_report_open_queue is
# defined with exactly this WHERE, and a database can only use it when it sees the same constants.
OPEN_CONDITION = "status IN (" + ", ".join(f"'{code}'" for code in OPEN_STATUSES) + ")"
QUEUE_COLUMNS = (Report.id, Report.reference, Report.status, Report.urgency, Report.incident_types, Report.region,
                 Report.created_at, Report.status_changed_at, Report.reporter, Report.many_from_address)


def queue(status: str = "open", page: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[Report], int]:
    """Reports for the moderation queue: urgent first, then the longest waiting; within one urgency,
    reports marked many_from_address after the others.

    The open queue is read from its partial index in queue order, so the first page costs the
    same with 100 reports or 100,000 (see bench/bench_reporting.py).
    """
    offset = (page - 1) * per_page
    if status != "open":
        query = Report.select(*QUEUE_COLUMNS).where(Report.status == status)
        total = query.count()
        return list(query.order_by(Report.status_changed_at.desc()).paginate(page, per_page)), total
    condition = SQL(OPEN_CONDITION)
    if is_sqlite():
        # Without statistics SQLite may prefer the status index and sort every open report.
        cursor = db.execute_sql(
            "SELECT id FROM reporting_report INDEXED BY reporting_report_open_queue "  # noqa: S608  # nosec B608  # constants
            f"WHERE {OPEN_CONDITION} ORDER BY urgency DESC, many_from_address, created_at LIMIT ? OFFSET ?",
            (per_page, offset),
        )
        ids = [row[0] for row in cursor.fetchall()]
    else:
        ids = [row[0] for row in Report.select(Report.id).where(condition)
               .order_by(Report.urgency.desc(), Report.many_from_address, Report.created_at).limit(per_page)
               .offset(offset).tuples()]
    rows = {report.id: report for report in Report.select(*QUEUE_COLUMNS).where(Report.id.in_(ids))} if ids else {}
    total = Report.select().where(condition).count()
    return [rows[i] for i in ids if i in rows], total


def linked_counts(report_ids: list[int]) -> dict[int, int]:
    """How many other reports share at least one identifier with each of these reports."""
    if not report_ids:
        return {}
    mine = PerpetratorIdentifier.alias("mine")
    other = PerpetratorIdentifier.alias("other")
    rows = (
        mine.select(mine.report, fn.COUNT(other.report.distinct()))
        .join(other, on=(other.kind == mine.kind) & (other.blind_index == mine.blind_index)
              & (other.report != mine.report))
        .where(mine.report.in_(report_ids))
        .group_by(mine.report)
        .tuples()
    )
    return {report_id: count for report_id, count in rows}


@dataclass
class Link:
    report: Report
    shared: list[tuple[str, str]] = field(default_factory=list)  # (kind, value) pairs


def links(report: Report) -> list[Link]:
    """Other reports that share an identifier (phone, email, plate, handle) with this one."""
    mine = PerpetratorIdentifier.alias("mine")
    other = PerpetratorIdentifier.alias("other")
    rows = (
        mine.select(mine.kind, mine.display, other.report)
        .join(other, on=(other.kind == mine.kind) & (other.blind_index == mine.blind_index)
              & (other.report != mine.report))
        .where(mine.report == report.id)
        .tuples()
    )
    found: dict[int, set[tuple[str, str]]] = {}
    for kind, display, other_id in rows:
        found.setdefault(other_id, set()).add((kind, display))
    if not found:
        return []
    reports = {r.id: r for r in Report.select().where(Report.id.in_(list(found)))}
    result = [Link(reports[rid], sorted(shared)) for rid, shared in found.items() if rid in reports]
    return sorted(result, key=lambda link: link.report.created_at, reverse=True)


def identifiers_by_perpetrator(report: Report) -> dict[int, list[PerpetratorIdentifier]]:
    grouped: dict[int, list[PerpetratorIdentifier]] = {}
    for row in PerpetratorIdentifier.select().where(PerpetratorIdentifier.report == report):
        grouped.setdefault(row.perpetrator_id, []).append(row)
    return grouped


def perpetrators(report: Report) -> list[Perpetrator]:
    return list(Perpetrator.select().where(Perpetrator.report == report).order_by(Perpetrator.position))


def attachments(report: Report) -> list[Attachment]:
    """Attachment rows without their (large) data."""
    return list(
        Attachment.select(Attachment.id, Attachment.content_type, Attachment.size, Attachment.created_at,
                          Attachment.from_reporter)
        .where(Attachment.report == report)
        .order_by(Attachment.id)
    )


def reports_of(user) -> list[Report]:
    return list(Report.select().where(Report.reporter == user).order_by(Report.created_at.desc()))


def staff_view(report: Report) -> None:
    """Every staff view of a report is audited."""
    record("report.viewed", target=report.target())


def purge_expired_drafts() -> int:
    now = utcnow()
    deleted = Draft.delete().where(Draft.expires_at < now).execute()
    throttle.prune(now)  # wrong-receipt counts (and every other throttle's) whose window ended
    return deleted



def reporter_answered(report: Report) -> None:
    """A reporter wrote back while we waited for them: the report returns to the team's queue."""
    with db.atomic():
        Report.update(status="triage", status_changed_at=utcnow(), updated_at=utcnow()).where(
            (Report.id == report.id) & (Report.status == "needs_info")
        ).execute()
        report.status = "triage"
        record("report.triage", target=report.target())


def reporter_added_files(report: Report) -> None:
    with db.atomic():
        Report.update(updated_at=utcnow()).where(Report.id == report.id).execute()
        record("report.files_added", target=report.target())
