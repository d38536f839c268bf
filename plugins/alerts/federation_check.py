"""The identifier check across instances, and the shared warning list (issue #15).

Asking (our member checks a number, with the `check_peers` setting on): every reading of what was
typed (core.identifiers' normalisation, as a local check) is turned into an OPRF input and blinded
afresh for each peer (core.federation.oprf), in a random order; the question holds one point per
reading, so a peer learns neither the identifier nor which point was which, only how many readings
there were (a hint at the kind of identifier, from which no identifier can be guessed). The
peer answers each point multiplied by its secret; we unblind, hash, and look the tokens up among
the ones that peer published (PeerToken). A match names the alert's origin and uid, and counts
only when we received that alert from that peer and published it here: the member is shown our
copy, as for a local match. The answer to the member looks exactly like a local one: peers that
did not answer change nothing.

Answering (a peer asks us): `POST /federation/v1/alerts/check` through core's @peer_endpoint (a
signed request from an active peer). Each point of a question is one identifier tried, and counts
as one check against the peer's own daily quota
(the `peer_check_limit` setting, in the same table as members' quotas), is written in the audit
log, and past `peer_check_warning` questions in a day staff are told, on the same page as the
warning list. `GET /federation/v1/alerts/check-tokens` gives a peer the tokens of the identifiers
of the visible alerts this instance shares with it (the alert's distribution, as in the feed),
never those of alerts kept local, nor of numbers on the warning list.

The warning list: numbers that never match (helplines, the police, emergency numbers, the group's
own). A check ignores readings on it (ours, and peers' entries an admin adopted), and the tokens
we publish leave them out. `GET /federation/v1/alerts/warning-list` offers peers our shared
entries; theirs arrive as proposals until an admin adopts them (a hostile peer could otherwise
silence a warning by listing its number).

What crosses between instances: blinded points (random group elements), their evaluations,
tokens (keyed pseudo-random strings), alerts' origins and uids, and the warning list's public
numbers. Never an identifier of an alert or of a check, nor an unkeyed hash of one.
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import datetime
import functools
import logging
import re
import time

from flask import Blueprint, current_app, jsonify, request
from peewee import IntegrityError

from core import throttle
from core.audit import record
from core.crypto import keyring
from core.db import db, relaxed_commit, run_sql, utcnow
from core.federation import API_PREFIX, feed, identity, oprf
from core.federation.api import offer
from core.federation.models import FeedItem, Peer, Received
from core.federation.peers import PeerError, active_peers, current_peer, peer_endpoint, signed_request
from core.identifiers import KINDS, InvalidIdentifier, normalise
from core.numbers import whole_number
from core.queue import crontab, periodic_task
from plugins.alerts.federation_check_models import (
    ACTIVE,
    DISMISSED,
    PROPOSED,
    PeerCheckWarning,
    PeerToken,
    PeerTokenState,
    WarningEntry,
)
from plugins.alerts.models import VISIBLE_STATUSES, Alert, AlertIdentifier

log = logging.getLogger("redumbrella.alerts.federation")

BATCH = 8  # the most points a question may hold: more than any identifier has readings
MAX_TOKENS = 200_000  # a peer offering more is refused (it would only be filling our database)
MAX_WARNING_ENTRIES = 2_000
STALE_AFTER = datetime.timedelta(hours=1)  # tokens older than this are fetched again before a check
ASK_TIMEOUT = 5  # seconds: a member waits for the slowest peer at most this long
RETRY_AFTER = 60  # seconds: a peer that did not answer in time is left alone this long by members' checks
_TOKEN = re.compile(r"[0-9a-f]{64}")
_UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_ORIGIN = re.compile(r"[A-Z2-7-]{1,24}")

# When a peer last did not answer in time, by fingerprint (per process): members' checks do not wait
# for it again until RETRY_AFTER has passed; the periodic refresh keeps trying. A peer that answers
# at once, even with a refusal, is asked again at the next check.
_failed_at: dict[str, float] = {}

bp = Blueprint("alerts_federation", __name__, url_prefix=f"{API_PREFIX}/alerts")
# Listed at GET /.well-known/redumbrella with core's own endpoints.
offer("alerts.check", f"{API_PREFIX}/alerts/check")
offer("alerts.check_tokens", f"{API_PREFIX}/alerts/check-tokens")
offer("alerts.warning_list", f"{API_PREFIX}/alerts/warning-list")


def settings() -> dict:
    from plugins.alerts.config import settings as alert_settings

    return alert_settings()


# -- the warning list --------------------------------------------------------------------------------


def _blind(kind: str, value: str) -> str:
    return keyring().blind_index(kind, value)


@functools.cache
def listed_sql(indexes: int) -> str:
    """The warning list's look-up for this many blind indexes (then the status): a plain statement,
    as it runs on every identifier check (bench/bench_check.py's floor runs it too)."""
    # Only placeholders are joined into it.
    return ("SELECT kind, blind_index FROM alerts_warning_entry "  # noqa: S608  # nosec B608  # placeholders only
            f"WHERE blind_index IN ({', '.join(['%s'] * indexes)}) AND status = %s")


def listed(pairs: list[tuple[str, str]], blind=_blind) -> set[tuple[str, str]]:
    """The readings that are on the warning list (ours, or a peer's that an admin adopted). A listed
    phone number also covers it read as an online name (a WhatsApp link in a report's online names
    is stored as the handle "+447700900123"). One query. blind: the check's own, which keeps them."""
    if not pairs:
        return set()
    wanted: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for kind, value in pairs:
        wanted.setdefault((kind, blind(kind, value)), []).append((kind, value))
        if kind == "handle":
            wanted.setdefault(("phone", blind("phone", value)), []).append((kind, value))
    blinds = [blind for _kind, blind in wanted]
    found = set()
    for key in run_sql(listed_sql(len(blinds)), (*blinds, ACTIVE)).fetchall():
        found.update(wanted.get(tuple(key), ()))
    return found


def add_entry(kind: str, text: str, label: str = "", shared: bool = True, actor_id: int | None = None) -> WarningEntry:
    """Put an identifier on our warning list. Raises InvalidIdentifier when it cannot be read as
    that kind (short codes such as 999 are no identifier a check could match anyway)."""
    if kind not in KINDS:
        raise InvalidIdentifier(text)
    value = normalise(kind, text, current_app.config["DEFAULT_COUNTRY"])
    blind = _blind(kind, value)
    label = (label or "").strip()[:120]
    with db.atomic():
        existing = (WarningEntry.select().where((WarningEntry.kind == kind) & (WarningEntry.blind_index == blind)
                                               & WarningEntry.source_peer_id.is_null()).first())
        if existing is not None:
            existing.label, existing.shared, existing.status = label or existing.label, shared, ACTIVE
            existing.save()
            entry = existing
        else:
            entry = WarningEntry.create(kind=kind, blind_index=blind, display=value, label=label, shared=shared,
                                        status=ACTIVE, added_by=actor_id)
        record("alerts.warning_list_added", target=f"warning_entry:{entry.id}", actor_id=actor_id)
    return entry


def remove_entry(entry: WarningEntry, actor_id: int | None = None) -> None:
    with db.atomic():
        entry.delete_instance()
        record("alerts.warning_list_removed", target=f"warning_entry:{entry.id}", actor_id=actor_id)


def decide(entry: WarningEntry, adopt: bool, actor_id: int | None = None) -> None:
    """Adopt a peer's proposed entry (it applies to our checks from now on) or set it aside."""
    with db.atomic():
        entry.status = ACTIVE if adopt else DISMISSED
        entry.decided_by, entry.decided_at = actor_id, utcnow()
        entry.save()
        record("alerts.warning_list_adopted" if adopt else "alerts.warning_list_dismissed",
               target=f"warning_entry:{entry.id}", actor_id=actor_id)


def own_entries() -> list[WarningEntry]:
    return list(WarningEntry.select().where(WarningEntry.source_peer_id.is_null())
                .order_by(WarningEntry.kind, WarningEntry.id))


def peer_entries(status: str | None = None) -> list[WarningEntry]:
    query = WarningEntry.select().where(WarningEntry.source_peer_id.is_null(False))
    if status:
        query = query.where(WarningEntry.status == status)
    return list(query.order_by(WarningEntry.source_peer_id, WarningEntry.kind, WarningEntry.id))


def store_peer_entries(peer: Peer, entries: list) -> int:
    """A peer's shared list as it offers it now: new entries are proposed, ones it no longer offers
    and nobody adopted go; adopted and set-aside ones stay as an admin decided. Returns how many
    entries it offers that we could read."""
    country = current_app.config["DEFAULT_COUNTRY"]
    offered = {}
    for item in entries[:MAX_WARNING_ENTRIES]:
        if not isinstance(item, dict):
            continue
        kind, text, label = item.get("kind"), item.get("value"), item.get("label", "")
        if kind not in KINDS or not isinstance(text, str) or not isinstance(label, str) or len(text) > 254:
            continue
        try:
            value = normalise(kind, text, country)
        except (InvalidIdentifier, ValueError):
            continue
        offered[(kind, _blind(kind, value))] = (value, label.strip()[:120])
    with db.atomic():
        existing = {(row.kind, row.blind_index): row for row in
                    WarningEntry.select().where(WarningEntry.source_peer_id == peer.id)}
        for key, row in existing.items():
            if key not in offered and row.status == PROPOSED:
                row.delete_instance()
        for (kind, blind), (value, label) in offered.items():
            row = existing.get((kind, blind))
            if row is None:
                WarningEntry.create(kind=kind, blind_index=blind, display=value, label=label, shared=False,
                                    source_peer_id=peer.id, status=PROPOSED)
            elif row.label != label:
                row.label = label
                row.save()
    return len(offered)


# -- answering a peer -------------------------------------------------------------------------------


def tokens_for(peer: Peer) -> list[list[str]]:
    """[token, origin, uid] for every identifier of every visible alert of ours shared with this peer,
    leaving out those on our warning list; sorted by token, so the order says nothing."""
    ours = identity.fingerprint()
    members = feed._group_index()
    items = (FeedItem.select(FeedItem.local_ref, FeedItem.uid, FeedItem.distribution)
             .where((FeedItem.kind == "alert") & (FeedItem.origin_fingerprint == ours) & (FeedItem.tombstone == False)  # noqa: E712
                    & FeedItem.local_ref.is_null(False)))
    uid_of = {}
    for local_ref, uid, distribution in items.tuples():
        alert_id = whole_number(local_ref)
        if alert_id is not None and feed.may_see(peer, distribution, members):
            uid_of[alert_id] = uid
    if not uid_of:
        return []
    today = utcnow().date()
    rows = (AlertIdentifier.select(AlertIdentifier.alert, AlertIdentifier.kind, AlertIdentifier.blind_index,
                                   AlertIdentifier.display)
            .join(Alert)
            .where(Alert.id.in_(list(uid_of)) & Alert.status.in_(VISIBLE_STATUSES)
                   & (Alert.expires_on.is_null() | (Alert.expires_on >= today))))
    rows = [(row.alert_id, row.kind, row.blind_index, row.display) for row in rows]
    silenced = set(WarningEntry.select(WarningEntry.kind, WarningEntry.blind_index)
                   .where(WarningEntry.status == ACTIVE).tuples())
    silenced_phones = {blind for kind, blind in silenced if kind == "phone"}
    key = oprf.oprf_key()
    found = set()
    for alert_id, kind, blind, value in rows:
        if (kind, blind) in silenced:
            continue
        if kind == "handle" and _blind("phone", value) in silenced_phones:
            continue
        found.add((_token(key, kind, blind, value), ours, uid_of[alert_id]))
    return [list(row) for row in sorted(found)]


_TOKENS: dict[tuple[bytes, str, str], str] = {}  # (key, kind, blind index) -> token, per process
_TOKENS_KEPT = 200_000


def _token(key: bytes, kind: str, blind: str, value: str) -> str:
    """An identifier's token, computed once per process and key (a peer may fetch the list often:
    each token costs a scalar multiplication)."""
    cache_key = (key, kind, blind)
    token = _TOKENS.get(cache_key)
    if token is None:
        if len(_TOKENS) >= _TOKENS_KEPT:
            _TOKENS.clear()
        token = _TOKENS[cache_key] = oprf.token(kind, value, key)
    return token


# A peer's questions, counted per UTC calendar day like a member's checks (core.throttle).
PEER_QUESTIONS = throttle.Limit("alerts-peer-check", per=datetime.timedelta(days=1))


def _count_peer_question(peer: Peer, points: int) -> tuple[int, bool]:
    """Count a question's points against the peer's quota, each one identifier tried, as a member's
    check is one (so a peer with the default quota tries no more identifiers a day than a member);
    (count today, refused)."""
    conf = settings()
    day = utcnow().date()
    key = f"peer:{peer.id}"
    with relaxed_commit():
        count = throttle.hit(PEER_QUESTIONS, [key], amount=points)[key]
        refused = count > conf["peer_check_limit"]
        record("alerts.peer_check_refused" if refused else "alerts.peer_check", target=peer.target())
    if not refused and count >= conf["peer_check_warning"]:
        _warn_about(peer, count, day)
    return count, refused


def _warn_about(peer: Peer, count: int, day: datetime.date) -> None:
    same = (PeerCheckWarning.peer_id == peer.id) & (PeerCheckWarning.day == day)
    if PeerCheckWarning.update(count=count).where(same).execute():
        return  # staff were told today already; the count shown stays current
    try:
        with db.atomic():
            PeerCheckWarning.create(peer_id=peer.id, day=day, count=count)
    except IntegrityError:
        return
    record("alerts.peer_check_warning", target=peer.target())
    log.warning("a peer asks many checks", extra={"event": "alerts_peer_check_warning", "peer": peer.id,
                                                  "count": count})


def _error(status: int, message: str):
    return jsonify({"error": {"status": status, "message": message}}), status


@bp.route("/check", methods=["POST"])
@peer_endpoint
def answer_check():
    from plugins.alerts import _

    peer = current_peer()
    if not oprf.available():
        return _error(503, _("This instance cannot answer checks at the moment."))
    data = request.get_json(silent=True)
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list) or not 1 <= len(points) <= BATCH or not all(isinstance(p, str) for p in points):
        return _error(400, _("The question must hold between 1 and %(num)d points.", num=BATCH))
    decoded = []
    for text in points:
        try:
            point = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            point = b""
        if not oprf.is_valid_point(point):
            return _error(400, _("The question holds something that is not a point."))
        decoded.append(point)
    _count, refused = _count_peer_question(peer, len(decoded))
    if refused:
        return _error(429, _("This instance answers no more checks from yours today."))
    key = oprf.oprf_key()
    answers = [base64.b64encode(oprf.evaluate(key, point)).decode("ascii") for point in decoded]
    return jsonify({"points": answers})


@bp.route("/check-tokens", methods=["GET"])
@peer_endpoint
def offer_tokens():
    if not oprf.available():
        from plugins.alerts import _

        return _error(503, _("This instance cannot answer checks at the moment."))
    return jsonify({"tokens": tokens_for(current_peer()), "batch": BATCH, "suite": oprf.CONTEXT.decode("ascii")})


@bp.route("/warning-list", methods=["GET"])
@peer_endpoint
def offer_warning_list():
    entries = [{"kind": row.kind, "value": row.display, "label": row.label}
               for row in own_entries() if row.shared and row.status == ACTIVE]
    return jsonify({"entries": entries})


# -- asking peers ----------------------------------------------------------------------------------


def enabled() -> bool:
    return bool(settings().get("check_peers"))


def _valid_tokens(data) -> list[tuple[str, str, str]] | None:
    rows = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(rows, list) or len(rows) > MAX_TOKENS:
        return None
    found = []
    for row in rows:
        if (not isinstance(row, list) or len(row) != 3 or not all(isinstance(part, str) for part in row)
                or not _TOKEN.fullmatch(row[0]) or not _ORIGIN.fullmatch(row[1]) or not _UID.fullmatch(row[2])):
            return None
        found.append((row[0], row[1], row[2]))
    return found


def _fetch(peer: Peer) -> dict | None:
    """A peer's tokens, question size and warning list over the network (no database here, so it
    can run in a worker thread): {"tokens", "batch", "entries"}, or None when it could not be asked
    or answered nonsense."""
    try:
        answer = signed_request(peer, "GET", f"{API_PREFIX}/alerts/check-tokens")
        data = answer.json() if answer.ok else None
        tokens = _valid_tokens(data)
        listing = signed_request(peer, "GET", f"{API_PREFIX}/alerts/warning-list")
        entries = listing.json().get("entries") if listing.ok else None
    except (PeerError, ValueError, AttributeError) as exc:
        log.info("peer tokens not fetched", extra={"event": "alerts_peer_tokens_failed", "peer": peer.id,
                                                   "error": type(exc).__name__})
        return None
    if tokens is None:
        log.info("peer tokens not fetched", extra={"event": "alerts_peer_tokens_failed", "peer": peer.id,
                                                   "error": f"HTTP {answer.status}" if not answer.ok else "invalid"})
        return None
    batch = data.get("batch", BATCH)
    return {"tokens": tokens, "batch": batch if isinstance(batch, int) and 1 <= batch <= 64 else BATCH,
            "entries": entries if isinstance(entries, list) else None}


def _store(peer: Peer, fetched: dict) -> None:
    """Replace what we kept of a peer's tokens (and its warning-list proposals) with what it sent.
    A peer speaks only for its own alerts: tokens it offers in another instance's name (to make our
    members see a warning that instance never gave) are dropped."""
    tokens = [row for row in fetched["tokens"] if row[1] == peer.fingerprint]
    with db.atomic():
        PeerToken.delete().where(PeerToken.peer_id == peer.id).execute()
        for start in range(0, len(tokens), 500):
            PeerToken.insert_many([{"peer_id": peer.id, "token": token, "origin": origin, "uid": uid}
                                   for token, origin, uid in tokens[start:start + 500]]).execute()
        values = {"fetched_at": utcnow(), "count": len(tokens), "batch": fetched["batch"]}
        if not PeerTokenState.update(**values).where(PeerTokenState.peer_id == peer.id).execute():
            PeerTokenState.create(peer_id=peer.id, **values)
        if fetched["entries"] is not None:
            store_peer_entries(peer, fetched["entries"])


def refresh(peer: Peer) -> bool:
    """Fetch a peer's tokens and warning list, replacing what we kept. False when it could not be
    asked or answered nonsense (what we kept stays until the next try)."""
    fetched = _fetch(peer)
    if fetched is None:
        return False
    _store(peer, fetched)
    return True


def _in_app(app, function, *args):
    """Run a network step in a worker thread, inside the app (signing needs the instance's key)."""
    with app.app_context():
        return function(*args)


SLOW = object()  # what _run_all gives for a peer that did not answer within ASK_TIMEOUT


def _run_all(app, function, jobs: dict) -> dict:
    """function(*args) for each key's args in worker threads, waiting at most ASK_TIMEOUT: each
    key's result, None for a failure, SLOW for no answer in time. A member waits no longer."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(jobs)))
    try:
        futures = {pool.submit(_in_app, app, function, *args): key for key, args in jobs.items()}
        done, _pending = concurrent.futures.wait(futures, timeout=ASK_TIMEOUT)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a slow peer's thread ends at its own timeout
    results = {}
    for future, key in futures.items():
        try:
            results[key] = future.result() if future in done else SLOW
        except Exception:  # noqa: BLE001 - one peer's fault must not fail a member's check
            log.exception("asking a peer failed", extra={"event": "alerts_peer_ask_failed", "peer": key})
            results[key] = None
    return results


def forget_removed_peers() -> int:
    """Tokens and proposals of peers that were removed go (adopted warning entries stay)."""
    active = [peer.id for peer in active_peers()]
    gone = PeerToken.delete().where(PeerToken.peer_id.not_in(active) if active else True).execute()
    PeerTokenState.delete().where(PeerTokenState.peer_id.not_in(active) if active else True).execute()
    WarningEntry.delete().where(WarningEntry.source_peer_id.is_null(False) & (WarningEntry.status == PROPOSED)
                                & (WarningEntry.source_peer_id.not_in(active) if active else True)).execute()
    return gone


def refresh_all(only_stale: bool = False) -> dict[str, bool]:
    """Refresh every active peer's tokens (only those that are stale when asked); by peer name."""
    forget_removed_peers()
    states = {row.peer_id: row for row in PeerTokenState.select()}
    done = {}
    for peer in active_peers():
        if only_stale and not _stale(peer, states.get(peer.id)):
            continue
        done[peer.name] = refresh(peer)
    return done


@periodic_task(crontab(minute="*/5"))
def refresh_peer_tokens():
    """Fetch the tokens and warning lists of peers whose copy is stale (older than an hour, or than
    the peer's last pull: a pull brings new alerts), so a member's check rarely waits for a fetch;
    forget what removed peers gave."""
    return refresh_all(only_stale=True)


def _stale(peer: Peer, state: PeerTokenState | None) -> bool:
    """Never fetched, older than STALE_AFTER, or older than the peer's last pull (a pull brings new
    alerts, whose tokens come with it)."""
    if state is None:
        return True
    if state.fetched_at < utcnow() - STALE_AFTER:
        return True
    return peer.last_pull_at is not None and state.fetched_at < peer.last_pull_at


def _question(inputs: list[bytes]) -> tuple[list[bytes], list[bytes], list[int]]:
    """Blind each input afresh for this peer, in a random order. No random points are added: the
    peer counts every point as an identifier tried, so padding would spend its quota on nothing.
    Returns the blinding scalars in input order, the points to send, and where each came from (the
    point sent j-th is input order[j]'s)."""
    import secrets

    blinded = [oprf.blind(data) for data in inputs]
    points = [point for _r, point in blinded]
    order = list(range(len(points)))
    secrets.SystemRandom().shuffle(order)
    return [r for r, _point in blinded], [points[index] for index in order], order


def _ask_one(peer: Peer, inputs: list[bytes]) -> list[str] | None:
    """Ask one peer (in a worker thread; no database here): the tokens of the inputs under the
    peer's key, or None when it did not answer properly."""
    scalars, points, order = _question(inputs)
    body = {"points": [base64.b64encode(point).decode("ascii") for point in points]}
    try:
        answer = signed_request(peer, "POST", f"{API_PREFIX}/alerts/check", body)
        data = answer.json() if answer.ok else None
    except (PeerError, ValueError):
        return None
    evaluated = data.get("points") if isinstance(data, dict) else None
    if not isinstance(evaluated, list) or len(evaluated) != len(points):
        return None
    tokens = []
    for position, data_in in enumerate(inputs):
        try:
            point = base64.b64decode(evaluated[order.index(position)], validate=True)
            tokens.append(oprf.token_from_output(oprf.finalize(data_in, scalars[position], point)))
        except (binascii.Error, ValueError, TypeError):
            return None
    return tokens


def ask_peers(pairs: list[tuple[str, str]]) -> tuple[bool, list[int]]:
    """Ask the peers about these readings (already free of warning-listed ones): (whether any peer
    holds a visible alert with one of them, our visible received copies of those alerts). Peers
    that published no tokens are not asked: there is nothing to find there. A member waits at most
    ASK_TIMEOUT for a fetch of stale tokens and as long again for the answers."""
    if not pairs:
        return False, []
    if not oprf.available():
        log.warning("peers not asked: libsodium is missing", extra={"event": "alerts_peer_check_unavailable"})
        return False, []
    app = current_app._get_current_object()
    now = time.monotonic()
    peers = {peer.id: peer for peer in active_peers()
             if now - _failed_at.get(peer.fingerprint, -RETRY_AFTER) >= RETRY_AFTER}
    states = {row.peer_id: row for row in PeerTokenState.select()}
    # A member waits for a fetch only when a peer's tokens were never fetched or are older than
    # STALE_AFTER; newer ones that are stale after a pull are fetched by refresh_peer_tokens.
    old = utcnow() - STALE_AFTER
    stale = {peer_id: (peer,) for peer_id, peer in peers.items()
             if states.get(peer_id) is None or states[peer_id].fetched_at < old}
    for peer_id, fetched in (_run_all(app, _fetch, stale) if stale else {}).items():
        if fetched is SLOW:  # members' checks leave it alone for a while; one that refused is asked again
            _failed_at[peers[peer_id].fingerprint] = time.monotonic()
        if fetched is None or fetched is SLOW:
            peers.pop(peer_id)
        else:
            _store(peers[peer_id], fetched)
    states = {row.peer_id: row for row in PeerTokenState.select().where(PeerTokenState.count > 0)}
    inputs = [oprf.identifier_input(kind, value) for kind, value in pairs]
    jobs = {peer_id: (peer, inputs) for peer_id, peer in peers.items()
            if peer_id in states and len(inputs) <= states[peer_id].batch}
    found = {}
    for peer_id, tokens in (_run_all(app, _ask_one, jobs) if jobs else {}).items():
        if tokens is SLOW:
            _failed_at[peers[peer_id].fingerprint] = time.monotonic()
        elif tokens is not None:
            found[peer_id] = tokens
    matches = set()
    for peer_id, tokens in found.items():
        query = (PeerToken.select(PeerToken.origin, PeerToken.uid)
                 .where((PeerToken.peer_id == peer_id) & PeerToken.token.in_(tokens)))
        matches.update(query.tuples())
    return _live_copies(matches) if matches else (False, [])


def _live_copies(matches: set[tuple[str, str]]) -> tuple[bool, list[int]]:
    """(whether any match stands, our visible alerts received as those (origin, uid)).

    A match stands only for a peer's alert that we received (signed, within its distribution) and
    that is published here, at once (auto-publish) or after a moderator's review: a peer's tokens
    cannot warn our members of anything our own moderation has not let through, and a match is
    gone as soon as its withdrawal reached us (a signed tombstone, pushed at once) or a moderator
    here withdrew our copy."""
    refs = []
    for origin, uid in matches:
        row = (Received.select(Received.tombstone, Received.local_ref)
               .where((Received.origin_fingerprint == origin) & (Received.uid == uid)).first())
        alert_id = whole_number(row.local_ref) if row is not None and not row.tombstone else None
        if alert_id is not None:
            refs.append(alert_id)
    if not refs:
        return False, []
    today = utcnow().date()
    shown = [alert_id for (alert_id,) in Alert.select(Alert.id).where(
        Alert.id.in_(refs) & Alert.status.in_(VISIBLE_STATUSES)
        & (Alert.expires_on.is_null() | (Alert.expires_on >= today))).tuples()]
    return bool(shown), shown


def add_peers_answer(outcome, pairs: list[tuple[str, str]]) -> None:
    """Add the peers' answer to a check's outcome (plugins.alerts.check.Outcome), so the member sees
    one answer: "caution" when a peer holds an alert with one of the readings that is published
    here as received, listed beside local ones, newest first."""
    from plugins.alerts.check import CAUTION, WARNING_KINDS

    matched, alert_ids = ask_peers(pairs)
    if not matched:
        return
    outcome.result = CAUTION
    known = list(dict.fromkeys([*outcome.alert_ids, *alert_ids]))
    if len(known) != len(outcome.alert_ids):
        rows = list(Alert.select(Alert.id, Alert.published_at, Alert.kind).where(Alert.id.in_(known)).tuples())
        rows.sort(key=lambda row: row[1] or datetime.datetime.min, reverse=True)
        outcome.alert_ids = [row[0] for row in rows]
        outcome.kinds = [kind for kind in WARNING_KINDS if any(row[2] == kind for row in rows)]
