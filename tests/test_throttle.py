"""core.throttle: counts per (scope, key) in clock-aligned windows, several keys in one hit,
forgetting, pruning, and many writers at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import threading

import pytest

from core import throttle
from core.db import db, relaxed_commit
from core.throttle import Limit, ThrottleCount

DAILY = Limit("test-daily", per=datetime.timedelta(days=1))
MINUTE = Limit("test-minute", per=datetime.timedelta(minutes=1))
SLIDING = Limit("test-sliding", per=datetime.timedelta(minutes=15), buckets=15)
NOON = datetime.datetime(2024, 5, 1, 12, 0, 30)


def test_a_hit_counts_one_for_each_key_and_returns_every_count(ctx):
    assert throttle.hit(DAILY, ["user:1", "addr:x"], now=NOON) == {"user:1": 1, "addr:x": 1}
    assert throttle.hit(DAILY, ["user:1", "addr:y"], now=NOON) == {"user:1": 2, "addr:y": 1}
    assert throttle.hit(DAILY, ["user:1", "user:1"], now=NOON) == {"user:1": 3}  # one key counts once
    assert throttle.counts(DAILY, ["user:1", "addr:x", "addr:z"], now=NOON) == {"user:1": 3, "addr:x": 1, "addr:z": 0}
    assert throttle.hit(DAILY, [], now=NOON) == {}
    # One row per key and window, however many hits: a flood adds counts, not rows.
    assert ThrottleCount.select().count() == 3


def test_a_hit_may_count_several_at_once(ctx):
    """A peer's question of eight identifiers is eight checks (plugins/alerts/federation_check.py)."""
    assert throttle.hit(DAILY, ["peer:1"], now=NOON, amount=8) == {"peer:1": 8}
    assert throttle.hit(DAILY, ["peer:1"], now=NOON) == {"peer:1": 9}
    assert throttle.hit(DAILY, ["peer:1", "peer:2"], now=NOON, amount=3) == {"peer:1": 12, "peer:2": 3}


def test_scopes_are_apart(ctx):
    throttle.hit(DAILY, ["user:1"], now=NOON)
    assert throttle.count(MINUTE, "user:1", now=NOON) == 0
    assert throttle.hit(MINUTE, ["user:1"], now=NOON) == {"user:1": 1}


def test_a_fixed_window_is_the_utc_calendar_day_or_the_clock_minute(ctx):
    throttle.hit(DAILY, ["k"], now=datetime.datetime(2024, 5, 1, 0, 0, 0))
    throttle.hit(DAILY, ["k"], now=datetime.datetime(2024, 5, 1, 23, 59, 59))
    assert throttle.count(DAILY, "k", now=datetime.datetime(2024, 5, 1, 12)) == 2
    assert throttle.count(DAILY, "k", now=datetime.datetime(2024, 5, 2, 0, 0, 0)) == 0  # a new day starts afresh
    assert throttle.hit(DAILY, ["k"], now=datetime.datetime(2024, 5, 2, 0, 0, 1)) == {"k": 1}

    throttle.hit(MINUTE, ["k"], now=datetime.datetime(2024, 5, 1, 12, 0, 59))
    assert throttle.hit(MINUTE, ["k"], now=datetime.datetime(2024, 5, 1, 12, 1, 0)) == {"k": 1}
    stored = ThrottleCount.get((ThrottleCount.scope == MINUTE.scope) & (ThrottleCount.count == 1)
                               & (ThrottleCount.window_start == datetime.datetime(2024, 5, 1, 12, 1)))
    assert stored.expires_at == datetime.datetime(2024, 5, 1, 12, 2)


def test_a_sliding_window_sums_its_buckets_and_lets_old_ones_go(ctx):
    start = datetime.datetime(2024, 5, 1, 12, 0, 10)
    for minute in range(5):
        counted = throttle.hit(SLIDING, ["a", "b"], now=start + datetime.timedelta(minutes=minute))
    assert counted == {"a": 5, "b": 5}  # five buckets, summed by the hit itself
    assert throttle.count(SLIDING, "a", now=start + datetime.timedelta(minutes=14)) == 5
    # 15 minutes on, the first bucket has left the window; 19 minutes on, all of them have.
    assert throttle.count(SLIDING, "a", now=start + datetime.timedelta(minutes=15)) == 4
    assert throttle.hit(SLIDING, ["a"], now=start + datetime.timedelta(minutes=15)) == {"a": 5}
    assert throttle.count(SLIDING, "a", now=start + datetime.timedelta(minutes=19)) == 1


def test_the_window_may_be_a_setting_read_at_each_use(ctx):
    minutes = [10]
    limit = Limit("test-setting", per=lambda: datetime.timedelta(minutes=minutes[0]), buckets=10)
    throttle.hit(limit, ["k"], now=NOON)
    assert throttle.count(limit, "k", now=NOON + datetime.timedelta(minutes=12)) == 0
    minutes[0] = 30
    assert throttle.count(limit, "k", now=NOON + datetime.timedelta(minutes=12)) == 1


def test_forget_clears_only_the_keys_named_in_the_scope_named(ctx):
    throttle.hit(SLIDING, ["account", "address"], now=NOON)
    throttle.hit(SLIDING, ["account"], now=NOON + datetime.timedelta(minutes=3))
    throttle.hit(DAILY, ["account"], now=NOON)
    assert throttle.forget(SLIDING, "account") == 2
    assert throttle.counts(SLIDING, ["account", "address"], now=NOON) == {"account": 0, "address": 1}
    assert throttle.count(DAILY, "account", now=NOON) == 1
    assert throttle.forget(SLIDING, []) == 0


def test_prune_deletes_windows_that_ended_and_keeps_the_rest(ctx):
    throttle.hit(MINUTE, ["old"], now=NOON)
    throttle.hit(SLIDING, ["recent"], now=NOON)
    throttle.hit(DAILY, ["today"], now=NOON)
    assert throttle.prune(now=NOON + datetime.timedelta(minutes=5)) == 1
    assert {row.key for row in ThrottleCount.select()} == {"recent", "today"}
    assert throttle.prune(now=NOON + datetime.timedelta(minutes=15)) == 1
    assert throttle.prune(now=datetime.datetime(2024, 5, 2)) == 1
    assert ThrottleCount.select().count() == 0


def test_a_hit_inside_a_relaxed_commit_is_kept(ctx):
    with relaxed_commit():
        assert throttle.hit(DAILY, ["k"])["k"] == 1
    assert throttle.count(DAILY, "k") == 1


@pytest.mark.parametrize("limit", [DAILY, SLIDING], ids=["fixed", "sliding"])
def test_many_writers_hitting_one_key_at_once_count_exactly_once_each(app, limit):
    """N threads, each with its own connection, some inside a transaction that reads first:
    exactly N hits, and never "database is locked". One fixed moment, so no window ends meanwhile."""
    writers, hits_each = 8, 10
    errors: list[str] = []
    seen: list[int] = []
    started = threading.Barrier(writers)

    def write(number: int) -> None:
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                started.wait(timeout=10)
                for _ in range(hits_each):
                    if number % 2:
                        with db.atomic():  # a request that reads, then counts
                            throttle.count(limit, "shared", now=NOON)
                            seen.append(throttle.hit(limit, ["shared", f"own:{number}"], now=NOON)["shared"])
                    else:
                        seen.append(throttle.hit(limit, ["shared", f"own:{number}"], now=NOON)["shared"])
            except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
                errors.append(repr(exc))
            finally:
                db.close()

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]
    total = writers * hits_each
    assert sorted(seen) == list(range(1, total + 1))  # every hit saw its own count, none twice
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            assert throttle.count(limit, "shared", now=NOON) == total
            assert all(throttle.count(limit, f"own:{number}", now=NOON) == hits_each for number in range(writers))
        finally:
            db.close()
