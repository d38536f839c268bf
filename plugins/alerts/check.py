"""The identifier check: "have we heard about this number?" answered without giving anyone away.

A phone number, e-mail, plate, handle or website is normalised like reports are (every way of writing one
UK mobile gives one E.164 number), turned into blind indexes for each kind it could be, and
looked up against published alerts (not withdrawn, not expired) and verified reports whose
reporter agreed to a community warning. The answer is only "no_record" or "caution" with the
visible alerts that carry it; never who reported, never how many.

Abuse resistance: a daily quota per account and per address (the address only as a keyed hash,
counted by core.throttle in the check's one transaction, its commit relaxed: core.db.relaxed_commit),
every check in the audit log without the identifier, and a warning to staff when one account
checks many similar identifiers (07700 900001, 07700 900002, ...). For that, a check keeps only
keyed hashes of the identifier's shape (its value minus the last characters) and a short tag.

Readings on the warning list (helplines, the police, the group's own numbers) never match. With
the `check_peers` setting on, the check also asks peer instances through a blinded protocol that
never lets the identifier leave (plugins/alerts/federation_check.py, docs/federation.md); their
answer is folded into the one the member gets, which looks the same as a local one.

The hot path is a handful of plain SQL statements: it runs on every check and is benchmarked
(bench/bench_check.py).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import re
from dataclasses import dataclass, field

from flask import current_app

from core import throttle
from core.audit import record
from core.crypto import keyring
from core.db import db, relaxed_commit, run_sql, utcnow
from core.identifiers import (
    KINDS,
    InvalidIdentifier,
    handle_as_before,
    handle_readings,
    looks_like_phone,
    looks_like_website,
    normalise_email,
    normalise_phone,
    normalise_plate,
    phone_in_link,
    website_readings,
)
from plugins.alerts import federation_check
from plugins.alerts.models import ALERT_KINDS

log = logging.getLogger("redumbrella.alerts.check")

NO_RECORD = "no_record"
WARNING_KINDS = ALERT_KINDS  # an alert about a person, a safety notice
CAUTION = "caution"
MAX_INPUT = 254
_PLATE_TEXT = re.compile(r"[A-Za-z0-9 -]{2,12}")
_DIGIT = re.compile(r"\d")


# Checks per account and per address, counted per UTC calendar day (core.throttle).
CHECKS = throttle.Limit("alerts-check", per=datetime.timedelta(days=1))


class QuotaExceeded(Exception):
    """Too many checks today, by this account or from this address."""


@dataclass
class Outcome:
    result: str
    alert_ids: list[int] = field(default_factory=list)
    readings: list[tuple[str, str]] = field(default_factory=list)  # what was looked up, main reading first
    # The kinds of published warning that matched ("person", "notice"), in WARNING_KINDS order;
    # empty for no record, or for a caution from a consenting report alone.
    kinds: list[str] = field(default_factory=list)


def candidates(text: str, kind: str | None = None) -> list[tuple[str, str]]:
    """Every (kind, normalised value) the text can be read as; a handle can look like a plate.

    A link is read for what it points to: a tel:, sms: or WhatsApp link as its phone number, a
    profile address as the name in it (instagram.com/someone → someone), plus the whole address as
    handles were stored before links were understood. A phone number is also looked up as a handle,
    because a WhatsApp link written in a report's "online names" is stored as its number.

    Text that can only be a phone number (digits, or a phone link) but is not a number of the right
    length gives nothing, so the check says it could not read it instead of answering "no record"
    for a number with a digit missing. Choosing the kind lifts that ("123456" as a plate).
    """
    country = current_app._get_current_object().config["DEFAULT_COUNTRY"]
    text = (text or "").strip()[:MAX_INPUT]
    kinds = (kind,) if kind else KINDS
    phone_link = phone_in_link(text) is not None
    phone_like = phone_link or looks_like_phone(text)
    found = []
    phone = None
    if "phone" in kinds and phone_like:
        try:
            phone = normalise_phone(text, country)
        except InvalidIdentifier:
            if kind is None:
                return []
        else:
            found.append(("phone", phone))
    if "email" in kinds and "@" in text and not text.startswith("@") and "/" not in text:
        with contextlib.suppress(InvalidIdentifier):
            found.append(("email", normalise_email(text)))
    if "plate" in kinds and _PLATE_TEXT.fullmatch(text) and _DIGIT.search(text):
        with contextlib.suppress(InvalidIdentifier):
            found.append(("plate", normalise_plate(text)))
    if "handle" in kinds:
        if phone is not None:
            found.append(("handle", phone))  # as a phone link written as an online name is stored
            old = handle_as_before(text) if phone_link else None
            if old is not None:
                found.append(("handle", old))
        else:
            with contextlib.suppress(InvalidIdentifier):
                found.extend(("handle", value) for value in handle_readings(text, country))
    # A website (a fake agency's, a scam advert's) as safety notices carry it: the host and the
    # sites it belongs to, so a link to any page of a site a notice names matches it.
    if "website" in kinds and not phone_link and (kind == "website" or looks_like_website(text)):
        with contextlib.suppress(InvalidIdentifier):
            found.extend(("website", value) for value in website_readings(text))
    return found


@functools.cache
def lookup_sql(readings: int) -> str:
    """The look-up statement for this many readings: each matching visible alert's id, then one NULL
    row if a consenting verified report matches. Parameters: (kind, blind index) per reading, today,
    then the pairs again. bench/bench_check.py's floor runs this same statement."""
    match = " OR ".join(["(i.kind = %s AND i.blind_index = %s)"] * readings)
    # Only placeholders are joined into this statement; every value is a parameter.
    return (
        "SELECT * FROM (SELECT DISTINCT a.id, a.published_at, a.kind FROM alerts_identifier i "  # noqa: S608  # nosec B608  # placeholders only
        "JOIN alerts_alert a ON a.id = i.alert_id "
        f"WHERE ({match}) AND a.status IN ('published', 'updated') "
        "AND (a.expires_on IS NULL OR a.expires_on >= %s)) AS alerts "
        "UNION ALL SELECT NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM reporting_perpetrator_identifier i "
        "JOIN reporting_report r ON r.id = i.report_id "
        f"WHERE ({match}) AND r.status = 'verified' AND EXISTS (SELECT 1 FROM reporting_consent c "
        "WHERE c.report_id = r.id AND c.purpose = 'share_alert' AND c.withdrawn_at IS NULL) "
        # A report behind a withdrawn alert no longer warns on its own: withdrawing is the team's
        # judgement that this warning should not stand, and it takes effect at once. A withdrawn
        # safety notice that cited the report is not: it judged a pattern, not the person.
        "AND NOT EXISTS (SELECT 1 FROM alerts_source s JOIN alerts_alert w ON w.id = s.alert_id "
        "WHERE s.report_id = r.id AND w.status = 'withdrawn' AND w.kind = 'person'))"
    )


def lookup(pairs: list[tuple[str, str]], today: datetime.date | None = None, blind=None) -> Outcome:
    """Match blind indexes against visible alerts and consenting verified reports, in one statement
    (one round trip to PostgreSQL): each matching alert's id, then one NULL row if a report matches.
    blind: the check's own blind_index, when it has worked some out already."""
    if not pairs:
        return Outcome(NO_RECORD)
    blind = blind or keyring().blind_index
    params = [part for kind, value in pairs for part in (kind, blind(kind, value))]
    rows = run_sql(lookup_sql(len(pairs)), [*params, today or utcnow().date(), *params]).fetchall()
    if not rows:
        return Outcome(NO_RECORD)
    alerts = sorted((row for row in rows if row[0] is not None), key=lambda row: row[1], reverse=True)
    kinds = [kind for kind in WARNING_KINDS if any(row[2] == kind for row in alerts)]
    return Outcome(CAUTION, [row[0] for row in alerts], kinds=kinds)


# -- quota, audit, enumeration -----------------------------------------------------------------


def address_key(address: str | None) -> str:
    return "addr:" + keyring().blind_index("check-address", address or "unknown")[:40]


def shape_and_tag(kind: str, value: str) -> tuple[str, str]:
    """Keyed hashes of the identifier without its last characters (its 'shape') and of the whole."""
    if kind == "phone":
        shape = value[:-3]
    elif kind == "plate":
        shape = value[:-2]
    elif kind == "email":
        local, _sep, domain = value.partition("@")
        shape = re.sub(r"\d+", "", local) + "@" + domain
    else:
        shape = re.sub(r"\d+$", "", value)
    ring = keyring()
    shape_hash = ring.blind_index("check-shape", f"{kind}:{shape}")[:16]
    return shape_hash, ring.blind_index("check-tag", f"{kind}:{value}")[:12]


def run_check(text: str, account_id: int, address: str | None, kind: str | None = None,
              limits: tuple[int, int] = (30, 30), similar_threshold: int = 8) -> Outcome:
    """Count the check against the quotas, look it up, record it, and warn staff on a pattern.

    Raises QuotaExceeded (nothing looked up) when today's quota of the account or address is used.
    Raises InvalidIdentifier when the text cannot be any kind of identifier.
    """
    pairs = candidates(text, kind)
    if not pairs:
        raise InvalidIdentifier(text)
    now = utcnow()
    day = now.date()
    account_key, addr_key = f"user:{account_id}", address_key(address)
    # Each reading's blind index worked out once for this check (the warning list and the look-up
    # both need them; a phone and its reading as a handle share one), kept no longer than the check.
    blind = functools.cache(keyring().blind_index)
    # Readings on the warning list (helplines, the police...) never match, here or at a peer.
    silenced = federation_check.listed(pairs, blind)
    looked_up = [pair for pair in pairs if pair not in silenced]
    # Look up first (reads only), then count, record and decide in one short transaction: a
    # refused check gets nothing back, and every check costs one commit. With peers to ask, they
    # are asked only once the check is counted (a refused check asks nobody), then it is recorded.
    outcome = lookup(looked_up, day, blind)
    outcome.readings = pairs
    ask_peers = bool(looked_up) and federation_check.enabled()
    main_kind, main_value = pairs[0]
    shape, tag = shape_and_tag(main_kind, main_value)
    with relaxed_commit():
        counts = throttle.hit(CHECKS, [account_key, addr_key], now)  # one statement: the hot path
        refused = counts[account_key] > limits[0] or counts[addr_key] > limits[1]
        if refused:
            record("alerts.check_refused", target=f"user:{account_id}", actor_id=account_id)
        elif not ask_peers:
            _record_check(account_id, main_kind, shape, tag, outcome.result, now)
    if refused:
        raise QuotaExceeded()
    if ask_peers:
        federation_check.add_peers_answer(outcome, looked_up)
        with relaxed_commit():
            _record_check(account_id, main_kind, shape, tag, outcome.result, utcnow())
    if counts[account_key] >= similar_threshold:
        _watch_for_patterns(account_id, shape, similar_threshold, day)
    return outcome


def _record_check(account_id: int, kind: str, shape: str, tag: str, result: str, at: datetime.datetime) -> None:
    sql = ("INSERT INTO alerts_check_event (account_id, created_at, kind, shape, tag, result) "
           "VALUES (%s, %s, %s, %s, %s, %s)")
    run_sql(sql, (account_id, at, kind, shape, tag, result))
    record("alerts.check", target=f"check:{kind}:{result}", actor_id=account_id)


def _watch_for_patterns(account_id: int, shape: str, threshold: int, day: datetime.date) -> None:
    since = utcnow() - datetime.timedelta(days=1)
    sql = ("SELECT COUNT(DISTINCT tag) FROM alerts_check_event WHERE account_id = %s AND shape = %s "
           "AND created_at >= %s")
    similar = run_sql(sql, (account_id, shape, since)).fetchone()[0]
    if similar < threshold:
        return
    from peewee import IntegrityError

    from plugins.alerts.models import CheckWarning

    same = (CheckWarning.account_id == account_id) & (CheckWarning.day == day) & (CheckWarning.reason == "similar")
    if CheckWarning.update(count=similar).where(same).execute():
        return  # staff were already told today; the count shown stays current
    try:
        with db.atomic():
            CheckWarning.create(account_id=account_id, day=day, reason="similar", count=similar)
    except IntegrityError:
        return  # another worker raised it a moment ago
    else:
        record("alerts.check_warning", target=f"user:{account_id}", actor_id=None)
        log.warning("many similar identifiers checked",
                    extra={"event": "alerts_check_warning", "account": account_id, "count": similar})
