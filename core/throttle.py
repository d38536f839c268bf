"""Counting attempts: hits per (scope, key) in time windows, so a caller can say "too many lately".

Every place that limits how often something may be tried (wrong passwords, reset requests,
applications, wrong receipts, identifier checks, a peer's questions, certificate lookups) declares
a `Limit` and counts here, in the one table `throttle_count`: one row per scope, key and window,
whose count goes up by one per hit. A flood of attempts therefore adds no rows, only counts.

    LOOKUPS = Limit("training-verify", per=datetime.timedelta(minutes=1))
    if hit(LOOKUPS, [key])[key] > most_per_minute: refuse...

Keys are opaque: blind indexes (keyed hashes) of an e-mail or an address, or an id such as
"user:7". Never store an address or an e-mail here: the table is kept only as long as its
windows count, but it is still a table.

Windows are fixed and aligned to the clock (a UTC calendar day, a minute...), counted from the
Unix epoch. A limit with `buckets` > 1 slides instead: its window is the sum of that many smaller
fixed buckets, the current one included, so "15 minutes in 15 buckets" counts the attempts of the
last 14 to 15 minutes. That is as good as a true sliding window for a limit on guessing (a
minute's difference at most, never a burst of twice the limit at a window's edge, which a single
fixed window would allow), and it still writes one row per key and bucket.

`hit` is ONE statement for any number of keys when the limit has one bucket (the identifier
check's hot path): an INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on SQLite (3.35 or newer) and
PostgreSQL alike. A single writing statement outside a transaction takes SQLite's write lock as it
starts (it is not a read turned into a write), and inside `db.atomic()` the lock is already held;
a sliding limit adds one read of its earlier buckets, in the same immediate transaction.
Rows whose window has ended are deleted by `prune` (a queue task) and by core's retention sweep.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from peewee import CharField, DateTimeField, IntegerField

from core.db import BaseModel, db, run_sql, utcnow

EPOCH = datetime.datetime(1970, 1, 1)


class ThrottleCount(BaseModel):
    """How many hits one key had in one window of one scope; the key is opaque (a keyed hash or an id)."""

    scope = CharField(max_length=32)
    key = CharField(max_length=80)
    window_start = DateTimeField()
    count = IntegerField(default=0)
    expires_at = DateTimeField(index=True)  # the window counts for nothing after this

    class Meta:
        table_name = "throttle_count"
        indexes = ((("scope", "key", "window_start"), True),)


@dataclass(frozen=True)
class Limit:
    """A kind of attempt counted per key: its scope's name and the window it is counted in.

    per: the window, a timedelta or a callable returning one (read at each use, so a setting such
        as LOGIN_THROTTLE_MINUTES takes effect without a restart).
    buckets: 1 for a fixed window aligned to the clock (a UTC day, a minute); more for a sliding
        window summed from that many fixed buckets of per / buckets each.
    How many hits are too many is the caller's to say (it is often a setting, or differs per key).
    """

    scope: str
    per: datetime.timedelta | Callable[[], datetime.timedelta]
    buckets: int = 1

    def window(self) -> datetime.timedelta:
        return self.per() if callable(self.per) else self.per

    def bucket(self) -> datetime.timedelta:
        return self.window() / self.buckets

    def current(self, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
        """The start of the bucket `now` falls in, and the start of the first bucket that still counts."""
        size = self.bucket()
        start = EPOCH + ((now - EPOCH) // size) * size
        return start, start - size * (self.buckets - 1)


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def hit(limit: Limit, keys: Iterable[str], now: datetime.datetime | None = None, amount: int = 1) -> dict[str, int]:
    """Count `amount` hits (one by default) for each key; return each key's count in the window,
    these hits included."""
    keys = _unique(keys)
    if not keys:
        return {}
    now = now or utcnow()
    start, first = limit.current(now)
    expires = start + limit.window()
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(keys))
    sql = (
        f"INSERT INTO throttle_count (scope, key, window_start, count, expires_at) VALUES {values} "  # noqa: S608  # nosec B608  # placeholders only
        "ON CONFLICT (scope, key, window_start) DO UPDATE SET count = throttle_count.count + excluded.count "
        "RETURNING key, count"
    )
    params = [part for key in keys for part in (limit.scope, key, start, amount, expires)]
    if limit.buckets == 1:
        return dict(run_sql(sql, params).fetchall())
    with db.atomic():  # BEGIN IMMEDIATE on SQLite: the write lock before the read of earlier buckets
        counts = dict(run_sql(sql, params).fetchall())
        for key, earlier in _sums(limit.scope, keys, first, start).items():
            counts[key] += earlier
    return counts


def counts(limit: Limit, keys: Iterable[str], now: datetime.datetime | None = None) -> dict[str, int]:
    """Each key's count in the current window (0 for a key with none), without counting a hit."""
    keys = _unique(keys)
    _start, first = limit.current(now or utcnow())
    found = _sums(limit.scope, keys, first, None)
    return {key: found.get(key, 0) for key in keys}


def count(limit: Limit, key: str, now: datetime.datetime | None = None) -> int:
    return counts(limit, [key], now)[key]


def _sums(scope: str, keys: list[str], first: datetime.datetime, before: datetime.datetime | None) -> dict[str, int]:
    """Counts per key of the buckets from `first` on (and before `before`, when given): one SELECT."""
    if not keys:
        return {}
    marks = ", ".join(["%s"] * len(keys))
    sql = (f"SELECT key, SUM(count) FROM throttle_count WHERE scope = %s AND key IN ({marks}) "  # noqa: S608  # nosec B608  # placeholders only
           "AND window_start >= %s")
    params = [scope, *keys, first]
    if before is not None:
        sql += " AND window_start < %s"
        params.append(before)
    return {key: int(total) for key, total in run_sql(sql + " GROUP BY key", params).fetchall()}


def forget(limit: Limit, keys: str | Iterable[str]) -> int:
    """Forget every count of these keys in the limit's scope (a right password clears the account's)."""
    keys = [keys] if isinstance(keys, str) else _unique(keys)
    if not keys:
        return 0
    where = (ThrottleCount.scope == limit.scope) & ThrottleCount.key.in_(keys)
    return ThrottleCount.delete().where(where).execute()


def prune(now: datetime.datetime | None = None) -> int:
    """Delete every window that has ended: it counts for nothing any more."""
    return ThrottleCount.delete().where(ThrottleCount.expires_at <= (now or utcnow())).execute()
