"""Delivery through an outbox: every message is a row before it is anything else.

Publishing an alert writes one Delivery row per recipient and channel (unique idempotency key)
in the same transaction as the publication, then, once committed, asks the queue to drain the
outbox. Queue tasks carry a channel name or nothing: never an address or a text.

A drain claims a few rows (status "sending", claimed_by = host:pid:start:thread), sends them one
by one over one open connection, and commits each row as "sent" the moment the server accepted
it, before handing over the next. If the worker is killed, its claimed rows stay "sending"; the
sweep (a periodic task that also runs as soon as a worker starts) sees that the claiming process
is gone and puts them back to "pending". Only the one message that was being handed over at the
instant of death can be sent twice: at most one repeat per worker.

Failures are retried with exponential back-off (retry_seconds × 2^attempts, at most six hours)
up to max_attempts; then the row is "failed" and staff see it on the deliveries page.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import zoneinfo
from collections import Counter

from flask import current_app
from peewee import JOIN, fn

from core.accounts.models import User, UserRole
from core.claims import claimer, claimer_alive
from core.db import db, is_sqlite, run_sql, utcnow
from core.display import directed_text
from core.i18n import force_language
from core.permissions import roles_for
from plugins.alerts import _, ngettext
from plugins.alerts.mailer import MailSession, MessageTemplate, PermanentFailure, TemporaryFailure
from plugins.alerts.models import (
    BUNDLED,
    CANCELLED,
    FAILED,
    HELD,
    PENDING,
    SENDING,
    SENT,
    SENT_CHANNELS,
    WITHDRAWN,
    Alert,
    AlertRegion,
    Delivery,
    Subscription,
    SubscriptionRegion,
)

log = logging.getLogger("redumbrella.alerts.delivery")

CLAIM_BATCH = 50
MAX_BACKOFF = datetime.timedelta(hours=6)
INSERT_CHUNK = 500


# -- fan-out -----------------------------------------------------------------------------------


def recipients(alert: Alert):
    """(user id, channels, frequency) of active, vetted subscribers to one of the alert's regions."""
    regions = [row.region for row in AlertRegion.select(AlertRegion.region).where(AlertRegion.alert == alert)]
    roles = sorted(roles_for(current_app, "alerts.subscribe"))
    in_region = SubscriptionRegion.select(SubscriptionRegion.subscription).where(SubscriptionRegion.region.in_(regions))
    vetted = UserRole.select(UserRole.user).where(UserRole.role.in_(roles))
    query = (
        Subscription.select(Subscription.user, Subscription.channels, Subscription.frequency)
        .join(User, on=(User.id == Subscription.user))
        .where(
            (User.active == True)  # noqa: E712
            & ((Subscription.all_regions == True) | Subscription.id.in_(in_region))  # noqa: E712
            & Subscription.user.in_(vetted)
        )
        .order_by(Subscription.user)
    )
    return query.tuples().iterator()


class _Outbox:
    """Outbox rows written in chunks (ignoring keys already there); counts what is due now per channel."""

    def __init__(self):
        from plugins.alerts import sms

        self.sms_on = sms.configured(current_app)
        self.now = utcnow()
        self.due: Counter = Counter()
        self.batch: list[dict] = []

    def channels(self, channels: str | None) -> list[str]:
        """The channels of a subscription that go through the outbox on this instance."""
        return [channel for channel in (channels or "").split(",")
                if channel in SENT_CHANNELS and (channel != "sms" or self.sms_on)]

    def add(self, key: str, kind: str, alert_id: int, user_id: int, channel: str, frequency: str) -> None:
        status = HELD if frequency == "daily" else PENDING
        self.batch.append({
            "key": key,
            "kind": kind,
            "alert": alert_id,
            "user": user_id,
            "channel": channel,
            "status": status,
            "next_attempt_at": self.now,
            "created_at": self.now,
        })
        if status == PENDING:
            self.due[channel] += 1
        if len(self.batch) >= INSERT_CHUNK:
            self.flush()

    def flush(self) -> Counter:
        if self.batch:
            Delivery.insert_many(self.batch).on_conflict_ignore().execute()
            self.batch = []
        return self.due


def audience(alert: Alert) -> dict:
    """Who publishing this alert now would tell, counted from the same selection fan_out writes
    rows for (recipients and _Outbox.channels), for the preview a moderator sees first:

    - people: how many people get a message (e-mail and/or text), straight away or in their daily one;
    - channels: how many messages per channel ({"email": n, "sms": n}; sms only where offered);
    - daily: how many of those people get it in their daily message;
    - on_site_only: subscribers to its regions who chose "On this site only" (no message; the
      alert list marks it new for them).
    """
    outbox = _Outbox()
    counts: Counter = Counter()
    people = daily = on_site_only = 0
    for _user_id, channels, frequency in recipients(alert):
        mine = outbox.channels(channels)
        if not mine:
            on_site_only += "web" in (channels or "").split(",")
            continue
        people += 1
        daily += frequency == "daily"
        counts.update(mine)
    offered = [channel for channel in SENT_CHANNELS if channel != "sms" or outbox.sms_on]
    return {"people": people, "channels": {channel: counts[channel] for channel in offered}, "daily": daily,
            "on_site_only": on_site_only}


def fan_out(alert: Alert) -> Counter:
    """Write the outbox rows for a newly published alert; returns how many are due per channel."""
    outbox = _Outbox()
    for user_id, channels, frequency in recipients(alert):
        for channel in outbox.channels(channels):
            outbox.add(f"alert:{alert.id}:{user_id}:{channel}", "alert", alert.id, user_id, channel, frequency)
    return outbox.flush()


def fan_out_correction(alert: Alert) -> Counter:
    """Tell the people who would get this alert now that it was corrected, in the correction's
    transaction. Each recipient and channel gets one of:

    - nothing, when the alert (or an earlier correction) is still held for their daily digest:
      the digest lists each alert once, as it reads when the digest goes;
    - the alert itself, as on publication, when it was never queued for them (they subscribed
      to its regions since, or the correction added a region);
    - an "update" message keyed by the alert's version (alert:<id>:v<version>:<user>:<channel>),
      so each correction is sent once and the same correction written again is not.
    """
    held = set(Delivery.select(Delivery.user, Delivery.channel).where(
        (Delivery.alert == alert) & (Delivery.status == HELD) & Delivery.kind.in_(["alert", "update"])).tuples())
    queued = set(Delivery.select(Delivery.user, Delivery.channel).where(
        (Delivery.alert == alert) & (Delivery.kind == "alert")).tuples())
    outbox = _Outbox()
    for user_id, channels, frequency in recipients(alert):
        for channel in outbox.channels(channels):
            if (user_id, channel) in held:
                continue
            if (user_id, channel) in queued:
                outbox.add(f"alert:{alert.id}:v{alert.version}:{user_id}:{channel}", "update", alert.id, user_id,
                           channel, frequency)
            else:
                outbox.add(f"alert:{alert.id}:{user_id}:{channel}", "alert", alert.id, user_id, channel, frequency)
    return outbox.flush()


def fan_out_withdrawal(alert: Alert) -> Counter:
    """Tell the people this alert (or a correction of it) actually reached that it was withdrawn, on
    the channels it reached them by, so they stop passing it on. Called after cancel_for_alert, in
    the withdrawal's transaction; never carries the reason. People it never reached hear nothing."""
    roles = sorted(roles_for(current_app, "alerts.subscribe"))
    vetted = UserRole.select(UserRole.user).where(UserRole.role.in_(roles))
    reached = set(_reached(alert).tuples())
    outbox = _Outbox()
    if not reached:
        return outbox.flush()
    subscribers = (
        Subscription.select(Subscription.user, Subscription.channels, Subscription.frequency)
        .join(User, on=(User.id == Subscription.user))
        .where((User.active == True) & Subscription.user.in_(vetted)  # noqa: E712
               & Subscription.user.in_(_reached(alert).select(Delivery.user)))
        .order_by(Subscription.user)
        .tuples()
    )
    for user_id, channels, frequency in subscribers.iterator():
        for channel in outbox.channels(channels):
            if (user_id, channel) in reached:
                outbox.add(f"alert:{alert.id}:v{alert.version}:{user_id}:{channel}", "withdraw", alert.id, user_id,
                           channel, frequency)
    return outbox.flush()


def _reached(alert: Alert | int, user_id: int | None = None, channel: str | None = None):
    """(user, channel) pairs this alert's messages were sent to (alone, or bundled in a digest that
    went), or are being handed over to right now."""
    digest = Delivery.alias()
    gone = [SENT, SENDING]
    query = (
        Delivery.select(Delivery.user, Delivery.channel)
        .join(digest, JOIN.LEFT_OUTER, on=(Delivery.digest == digest.id))
        .where((Delivery.alert == alert) & Delivery.kind.in_(["alert", "update"])
               & (Delivery.status.in_(gone) | ((Delivery.status == BUNDLED) & digest.status.in_(gone))))
    )
    if user_id is not None:
        query = query.where((Delivery.user == user_id) & (Delivery.channel == channel))
    return query.distinct()


def kick(due: Counter | dict) -> None:
    """After commit: ask the queue to drain each channel that has messages due (ids only)."""
    from plugins.alerts.tasks import drain_outbox

    config = current_app.config
    for channel, count in due.items():
        if not count:
            continue
        drains = 1 if config["QUEUE_IMMEDIATE"] else max(1, min(config["QUEUE_WORKERS"], -(-count // CLAIM_BATCH)))
        for _n in range(drains):
            drain_outbox(channel)


def cancel_for_alert(alert: Alert) -> int:
    return (
        Delivery.update(status=CANCELLED, claimed_by=None)
        .where((Delivery.alert == alert) & Delivery.status.in_([PENDING, HELD]))
        .execute()
    )


# -- claiming ----------------------------------------------------------------------------------


# claimer() and claimer_alive() come from core.claims, shared with the other outboxes.


# SQLite allows one writer at a time. Threads of one worker take turns here, in Python, rather than
# in SQLite's busy handler, which sleeps between tries (1 ms, then 2, 5, 10 ... ms): two threads
# marking messages sent would otherwise spend more time asleep than sending. Other processes (web
# workers) still wait in the busy handler, as everywhere else.
_SQLITE_WRITES = threading.Lock()


@contextlib.contextmanager
def _write_turn():
    if is_sqlite():
        with _SQLITE_WRITES:
            yield
    else:
        yield


def claim(channel: str, who: str, limit: int = CLAIM_BATCH) -> list[int]:
    """Atomically take up to `limit` due rows of one channel for this worker."""
    now = utcnow()
    lock = "" if is_sqlite() else " FOR UPDATE SKIP LOCKED"
    sql = (  # only the fixed lock clause is joined in
        "UPDATE alerts_delivery SET status = %s, claimed_by = %s, claimed_at = %s "  # noqa: S608  # nosec B608
        "WHERE id IN (SELECT id FROM alerts_delivery WHERE status = %s AND channel = %s "
        f"AND next_attempt_at <= %s ORDER BY id LIMIT %s{lock}) RETURNING id"
    )
    with _write_turn(), db.atomic():
        cursor = run_sql(sql, (SENDING, who, now, PENDING, channel, now, limit))
        return sorted(row[0] for row in cursor.fetchall())


def release_dead_claims() -> int:
    """Put rows claimed by workers that no longer exist (or whose lease ran out) back to pending."""
    from plugins.alerts.service import settings

    released = 0
    claims = [row[0] for row in Delivery.select(Delivery.claimed_by).where(Delivery.status == SENDING)
              .distinct().tuples()]
    for claim_id in claims:
        if claim_id is None or claimer_alive(claim_id) is False:
            released += (
                Delivery.update(status=PENDING, claimed_by=None)
                .where((Delivery.status == SENDING) & (Delivery.claimed_by == claim_id))
                .execute()
            )
    lease = datetime.timedelta(seconds=settings()["claim_lease_seconds"])
    released += (
        Delivery.update(status=PENDING, claimed_by=None)
        .where((Delivery.status == SENDING) & (Delivery.claimed_at < utcnow() - lease))
        .execute()
    )
    if released:
        log.warning("outbox claims released", extra={"event": "alerts_claims_released", "count": released})
    return released


# -- sending -----------------------------------------------------------------------------------


class Sender:
    """Sends one channel's messages, keeping its connection open for the whole drain."""

    def __init__(self, channel: str):
        self.channel = channel
        self.mail = MailSession() if channel == "email" else None
        self.cache: dict = {}
        self.versions: dict[int, int] = {}  # alert id -> version, so a corrected alert's text is built anew

    def send(self, delivery: Delivery, user: User, subscription: Subscription | None) -> None:
        locale = user.locale if user.locale in current_app.config["LOCALES"] else current_app.config["DEFAULT_LOCALE"]
        if self.channel == "email":
            if not user.email:
                raise PermanentFailure("NoEmailAddress")
            template = self._template(delivery, locale)
            self.mail.send(template, user.email, delivery.key)
        elif self.channel == "sms":
            number = subscription.sms_number if subscription else None
            if not number:
                raise PermanentFailure("NoSmsNumber")
            _subject, body = self._texts(delivery, locale)
            _send_sms(number, body, delivery.key)
        else:
            raise PermanentFailure("UnknownChannel")

    def _texts(self, delivery: Delivery, locale: str) -> tuple[str, str]:
        """(subject, body) in the recipient's language; the same for every recipient of one alert."""
        cache_key = (delivery.kind, delivery.alert_id, self._version(delivery), locale)
        if cache_key not in self.cache:
            with force_language(locale):
                subject, body = compose(delivery, self.channel)
            self.cache[cache_key] = (directed_text(subject, locale), directed_text(body, locale))
        return self.cache[cache_key]

    def _template(self, delivery: Delivery, locale: str) -> MessageTemplate:
        cache_key = ("template", delivery.kind, delivery.alert_id, self._version(delivery), locale)
        if cache_key not in self.cache:
            subject, body = self._texts(delivery, locale)
            self.cache[cache_key] = MessageTemplate(subject, body, language=locale)
        return self.cache[cache_key]

    def _version(self, delivery: Delivery):
        return ("digest", delivery.id) if delivery.kind == "digest" else self.versions.get(delivery.alert_id)

    def close(self) -> None:
        if self.mail is not None:
            self.mail.close()


def _send_sms(to: str, body: str, key: str) -> None:
    from core.plugins import get_registry
    from plugins.alerts import sms

    app = current_app._get_current_object()
    name = sms.backend(app)
    if not name:
        raise PermanentFailure("NoSmsBackend")
    result = get_registry(app).call("send_sms", app=app, backend=name, to=to, body=body, key=key)
    if not result:
        raise PermanentFailure("NoSmsBackend")


def compose(delivery: Delivery, channel: str) -> tuple[str, str]:
    """Neutral wording: nothing on a lock screen says what this is about. Instances can replace it.

    A correction or a withdrawal keeps its one neutral sentence ("Something ... has been updated")
    before an instance's own wording, which was written for new alerts. Nothing here ever reads a
    withdrawal's reason.

    After the link (below what a lock screen shows: the subject and an SMS's first words stay
    neutral), one line says what kind of warning it is, in words and with a shape in e-mails, so
    members tell a safety notice from an alert about a person at a glance (kind_line); a digest
    says how many of its things are safety notices.
    """
    from core.mail import MailError, external_url
    from plugins.alerts.service import public_dict, settings

    conf = settings()
    kind = delivery.kind
    about_one = kind in ("alert", "update")  # the link opens the alert; otherwise the list
    try:
        link = external_url("alerts_links.open", alert_id=delivery.alert_id) if about_one else \
            external_url("alerts_links.latest")
    except MailError:
        # No BASE_URL (only possible with the file backend: start-up refuses SMTP without one) and no
        # request to take the address from. A relative link would reach nobody: fail, visibly.
        raise PermanentFailure("NoBaseUrl") from None
    notices: list[str] = []
    marker = None
    if kind == "digest":
        subject = conf["email_subject"] or _("Your daily update")
        counts = digest_counts(delivery)
        notices, prompt = digest_lines(counts)
        if counts.get("notices"):
            marker = ngettext("Of them, %(num)d is a safety notice (not about one person).",
                              "Of them, %(num)d are safety notices (not about one person).", counts["notices"])
    elif kind == "update":
        subject = conf["email_subject"] or _("Something was updated")
        notices = [_("Something for you to read has been updated.")]
        prompt = _("Sign in to see the latest version:")
    elif kind == "withdraw":
        subject = conf["email_subject"] or _("Something was withdrawn")
        notices = [_("Something we sent you has been withdrawn. Please do not pass it on.")]
        prompt = _("Sign in to see what is current:")
    else:
        subject = conf["email_subject"] or _("A new update")
        prompt = _("There is something new for you to read. Sign in to see it:")
    if about_one or kind == "withdraw":
        alert_kind = Alert.select(Alert.kind).where(Alert.id == delivery.alert_id).scalar()
        marker = kind_line(alert_kind, channel)
    custom = conf["sms_text"] if channel == "sms" else conf["email_text"]
    if custom:
        text = custom.replace("{link}", link)
        body = "\n".join([*notices, text if "{link}" in custom else f"{text}\n{link}"])
    else:
        body = " ".join([*notices, prompt]) + f"\n{link}"
    if marker:  # in an e-mail a few blank lines down, like the details, out of a lock screen's preview
        body += ("\n" if channel == "sms" else "\n\n\n\n") + marker
    if channel == "sms":
        return subject, body
    if conf["email_details"] and kind in ("alert", "update", "withdraw"):
        data = public_dict(Alert.get_by_id(delivery.alert_id))
        regions = ", ".join(region["label"] for region in data["regions"])
        # A withdrawn alert is named (title and regions, so people know which one to stop passing
        # on) but not repeated: it may have been withdrawn because it was wrong.
        parts = (data["title"], regions) if kind == "withdraw" else (data["title"], regions, data["summary"])
        body += "\n\n\n\n" + "\n".join(part for part in parts if part)
    body += "\n\n" + _("You chose to get these messages. To change or stop them, sign in and open your settings.")
    return subject, body


def kind_line(alert_kind: str | None, channel: str) -> str:
    """The line that tells a safety notice from an alert about a person in a message: words, and in
    an e-mail a shape too (a triangle or a circle), never colour. Text messages keep to words (a
    symbol would make every text a costlier Unicode message)."""
    from plugins.alerts.service import alert_kind_label

    label = alert_kind_label(alert_kind or "person")
    if channel == "sms":
        return f"({label})"
    return ("▲ " if alert_kind == "notice" else "● ") + label


def digest_counts(digest: Delivery) -> dict[str, int]:
    """What one digest tells about, each alert counted once: new (still published), updated (still
    published, and not also new in this digest) and withdrawn; and notices: how many of the new and
    updated are safety notices."""
    from plugins.alerts.service import is_visible

    rows = list(Delivery.select(Delivery.kind, Delivery.alert).where(Delivery.digest == digest).tuples())
    alerts = {alert.id: alert for alert in Alert.select(Alert.id, Alert.status, Alert.expires_on, Alert.kind)
              .where(Alert.id.in_({alert_id for _kind, alert_id in rows if alert_id}))}
    found: dict[str, set] = {"alert": set(), "update": set(), "withdraw": set()}
    for kind, alert_id in rows:
        alert = alerts.get(alert_id)
        if alert is None or kind not in found:
            continue
        if (alert.status == WITHDRAWN) if kind == "withdraw" else is_visible(alert):
            found[kind].add(alert_id)
    shown = found["alert"] | found["update"]
    return {"new": len(found["alert"]), "updated": len(found["update"] - found["alert"]),
            "withdrawn": len(found["withdraw"]),
            "notices": sum(1 for alert_id in shown if alerts[alert_id].kind == "notice")}


def digest_lines(counts: dict[str, int]) -> tuple[list[str], str]:
    """(sentences, sign-in prompt) of a digest, in the current language."""
    if not counts["updated"] and not counts["withdrawn"]:
        return [], ngettext("There is %(num)d new thing for you to read. Sign in to see it:",
                            "There are %(num)d new things for you to read. Sign in to see them:", counts["new"])
    lines = []
    if counts["new"]:
        lines.append(ngettext("%(num)d new thing for you to read.", "%(num)d new things for you to read.",
                              counts["new"]))
    if counts["updated"]:
        lines.append(ngettext("%(num)d thing for you to read has been updated.",
                              "%(num)d things for you to read have been updated.", counts["updated"]))
    if counts["withdrawn"]:
        lines.append(ngettext("%(num)d thing we sent you has been withdrawn. Please do not pass it on.",
                              "%(num)d things we sent you have been withdrawn. Please do not pass them on.",
                              counts["withdrawn"]))
    if counts["new"] or counts["updated"]:
        return lines, _("Sign in to see them:")
    return lines, _("Sign in to see what is current:")


@contextlib.contextmanager
def relaxed_durability():
    """Commit "sent" marks without waiting for the disk to confirm each one.

    A committed mark survives the worker being killed either way (SQLite in WAL mode with
    synchronous=NORMAL; PostgreSQL with synchronous_commit off, the server keeps running). Only a
    power cut of the database machine could lose the last marks, and then those messages are
    sent again: repeated, never lost. Waiting for the disk on every message would cap delivery
    at the disk's sync rate.
    """
    sqlite = is_sqlite()
    db.execute_sql("PRAGMA synchronous = NORMAL" if sqlite else "SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        db.execute_sql("PRAGMA synchronous = FULL" if sqlite else "RESET synchronous_commit")


def drain(channel: str, max_messages: int | None = None) -> int:
    """Send due messages of one channel until none are left; returns how many were sent."""
    who = claimer()
    sender = Sender(channel)
    sent = 0
    try:
        with relaxed_durability():
            while max_messages is None or sent < max_messages:
                batch = CLAIM_BATCH if max_messages is None else min(CLAIM_BATCH, max_messages - sent)
                ids = claim(channel, who, batch)
                if not ids:
                    break
                try:
                    sent += _send_claimed(ids, sender, who)
                except TemporaryFailure as failure:
                    # The server is unreachable: put the rest back with a delay, stop this drain.
                    _release_own(who, reason=str(failure))
                    break
    finally:
        sender.close()
        _release_own(who)
    if sent:
        log.info("outbox drained", extra={"event": "alerts_sent", "channel": channel, "count": sent})
    return sent


def _send_claimed(ids: list[int], sender: Sender, who: str) -> int:
    from plugins.alerts.service import is_visible

    rows = list(Delivery.select().where(Delivery.id.in_(ids) & (Delivery.claimed_by == who)).order_by(Delivery.id))
    user_ids = [row.user_id for row in rows]
    users = {user.id: user for user in User.select(User.id, User.email, User.locale, User.active)
             .where(User.id.in_(user_ids))}
    columns = [Subscription.id, Subscription.user, Subscription.channels]
    if sender.channel == "sms":
        columns.append(Subscription.sms_number)  # decrypted only when it is needed
    subscriptions = {sub.user_id: sub for sub in Subscription.select(*columns).where(Subscription.user.in_(user_ids))}
    alerts = {alert.id: alert for alert in Alert.select().where(Alert.id.in_([r.alert_id for r in rows if r.alert_id]))}
    sender.versions = {alert_id: alert.version for alert_id, alert in alerts.items()}
    sent = 0
    for row in rows:
        user = users.get(row.user_id)
        subscription = subscriptions.get(row.user_id)
        if (
            user is None
            or not user.active
            or subscription is None
            or row.channel not in subscription.channel_list
            or (row.kind in ("alert", "update") and not is_visible(alerts[row.alert_id]))
            or (row.kind == "withdraw" and not _reached(row.alert_id, row.user_id, row.channel).exists())
            or (row.kind == "digest" and not any(digest_counts(row).values()))
        ):
            _finish(row, CANCELLED)
            continue
        try:
            sender.send(row, user, subscription)
        except PermanentFailure as failure:
            _finish(row, FAILED, error=str(failure))
            continue
        except TemporaryFailure as failure:
            _retry(row, str(failure))
            if str(failure).startswith("connect:") or row.channel == "email" and sender.mail.connection is None:
                raise
            continue
        _finish(row, SENT)  # committed before the next message is handed over
        sent += 1
    return sent


def _finish(row: Delivery, status: str, error: str | None = None) -> None:
    now = utcnow()
    if status == SENT:  # the hot path: once per message, as plain SQL
        sql = ("UPDATE alerts_delivery SET status = %s, claimed_by = NULL, last_error = NULL, "
               "attempts = attempts + 1, sent_at = %s WHERE id = %s")
        with _write_turn():
            run_sql(sql, (SENT, now, row.id))
        return
    values = {
        Delivery.status: status,
        Delivery.claimed_by: None,
        Delivery.last_error: (error or None) and error[:64],
    }
    if status in (SENT, FAILED):
        values[Delivery.attempts] = Delivery.attempts + 1
    if status == SENT:
        values[Delivery.sent_at] = now
    Delivery.update(values).where(Delivery.id == row.id).execute()
    if status == FAILED:
        log.warning("delivery failed", extra={"event": "alerts_delivery_failed", "reason": error})


def _retry(row: Delivery, error: str) -> None:
    from plugins.alerts.service import settings

    conf = settings()
    attempts = row.attempts + 1
    if attempts >= conf["max_attempts"]:
        _finish(row, FAILED, error=error)
        return
    delay = min(datetime.timedelta(seconds=conf["retry_seconds"] * 2 ** (attempts - 1)), MAX_BACKOFF)
    Delivery.update(
        status=PENDING, claimed_by=None, attempts=attempts, last_error=error[:64], next_attempt_at=utcnow() + delay
    ).where(Delivery.id == row.id).execute()
    log.info("delivery will be retried", extra={"event": "alerts_delivery_retry", "reason": error})


def _release_own(who: str, reason: str | None = None) -> None:
    """Rows this worker claimed but did not get to: back to pending (later, when the server is down)."""
    values = {Delivery.status: PENDING, Delivery.claimed_by: None}
    if reason:
        from plugins.alerts.service import settings

        values[Delivery.next_attempt_at] = utcnow() + datetime.timedelta(seconds=settings()["retry_seconds"])
        values[Delivery.last_error] = reason[:64]
    Delivery.update(values).where((Delivery.status == SENDING) & (Delivery.claimed_by == who)).execute()


# -- digests and the sweep -----------------------------------------------------------------------


def local_now() -> datetime.datetime:
    try:
        zone = zoneinfo.ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = datetime.UTC
    return datetime.datetime.now(zone)


def build_digests(now: datetime.datetime | None = None) -> int:
    """Once the digest hour has come, fold each person's held messages into one per channel."""
    from plugins.alerts.service import settings

    now = now or local_now()
    if now.hour < settings()["digest_hour"]:
        return 0
    day = now.date().isoformat()
    pairs = list(Delivery.select(Delivery.user, Delivery.channel).where(Delivery.status == HELD).distinct().tuples())
    made = 0
    for user_id, channel in pairs:
        key = f"digest:{day}:{user_id}:{channel}"
        with db.atomic():
            Delivery.insert(key=key, kind="digest", user=user_id, channel=channel, status=PENDING).on_conflict_ignore(
            ).execute()
            digest = Delivery.get(Delivery.key == key)
            if digest.status != PENDING:
                continue  # today's digest already went: these wait for tomorrow's
            Delivery.update(status=BUNDLED, digest=digest.id).where(
                (Delivery.user == user_id) & (Delivery.channel == channel) & (Delivery.status == HELD)
            ).execute()
            made += 1
    return made


def due_channels() -> list[str]:
    rows = (
        Delivery.select(Delivery.channel)
        .where((Delivery.status == PENDING) & (Delivery.next_attempt_at <= utcnow()))
        .distinct()
        .tuples()
    )
    return [row[0] for row in rows]


def sweep() -> dict:
    """Every minute, and as soon as a worker starts: recover, bundle digests, drain what is due."""
    released = release_dead_claims()
    digests = build_digests()
    channels = due_channels()
    if channels:
        counts = Counter({channel: _due_count(channel) for channel in channels})
        kick(counts)
    return {"released": released, "digests": digests, "channels": channels}


def _due_count(channel: str) -> int:
    return (
        Delivery.select()
        .where((Delivery.status == PENDING) & (Delivery.channel == channel) & (Delivery.next_attempt_at <= utcnow()))
        .count()
    )


# -- what staff see ------------------------------------------------------------------------------


def stats(alert: Alert | None = None) -> dict[str, dict[str, int]]:
    """Counts per channel and status (all alerts, or one)."""
    query = Delivery.select(Delivery.channel, Delivery.status, fn.COUNT(Delivery.id))
    if alert is not None:
        query = query.where(Delivery.alert == alert)
    result: dict[str, dict[str, int]] = {}
    for channel, status, count in query.group_by(Delivery.channel, Delivery.status).tuples():
        result.setdefault(channel, {})[status] = count
    return result


def problems(limit: int = 200) -> list[Delivery]:
    """Failed deliveries and those waiting to be retried, newest first."""
    return list(
        Delivery.select()
        .where((Delivery.status == FAILED) | ((Delivery.status == PENDING) & (Delivery.attempts > 0)))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )


def retry_failed(alert_id: int | None = None) -> int:
    query = Delivery.update(status=PENDING, attempts=0, next_attempt_at=utcnow(), claimed_by=None).where(
        Delivery.status == FAILED
    )
    if alert_id is not None:
        query = query.where(Delivery.alert == alert_id)
    count = query.execute()
    return count
