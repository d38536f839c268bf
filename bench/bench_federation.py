#!/usr/bin/env python3
"""Federation timings (issue #15): a member's check that also asks a peer, beside a local one, and
how long an urgent alert takes to reach a peer's subscribers.

    .venv/bin/python bench/bench_federation.py                      # both instances on SQLite
    .venv/bin/python bench/bench_federation.py --database postgres  # the peer on PostgreSQL
    .venv/bin/python bench/bench_federation.py --alerts 5 --checks 5 --urgent 1   # a short run

Two real instances, North and South, each a gunicorn process with a queue worker beside it (as
`redumbrella serve` runs them) and its own folder, keys and database, made with the federation
tests' harness (tests/federation_instances.py), on 127.0.0.1. South publishes N safety notices
shared with its peers, each with a phone number; North adds South (auto-publish) and South adds
North; North pulls once. A member of North then checks numbers over North's HTTP API, one request
at a time:

1. local: the `check_peers` setting off; a number of one of North's own alerts, and one no one has;
2. with the peer: the setting on (South's tokens already fetched); a number of one of South's
   alerts (blinded, asked of South, unblinded, matched) and one no one has (South is asked too:
   North cannot know beforehand).

Then, `--urgent` times: South publishes a high-severity notice for its peers through its API; the
clock runs from that request until North's subscriber's e-mail arrives at a real SMTP server
(South's worker pushes the signed alert, North publishes it at once and its worker sends the mail).

Printed: p50, p95 and mean latency of each kind of check, and each urgent alert's time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

POSTGRES_URL = os.environ.get("REDUMBRELLA_BENCH_POSTGRES_URL",
                              "postgresql://root@127.0.0.1:5432/redumbrella_bench_federation")


def phone(number: int) -> str:
    return f"07700 9{number:05d}"


def timed_checks(instance, numbers: list[str]) -> list[float]:
    times = []
    for number in numbers:
        started = time.perf_counter()
        status, answer = instance.api("POST", "/api/v1/check", {"identifier": number}, who="member")
        times.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"check answered {status}: {answer}")
    return times


def expect(instance, number: str, result: str) -> None:
    status, answer = instance.api("POST", "/api/v1/check", {"identifier": number}, who="member")
    if status != 200 or answer["result"] != result:
        raise SystemExit(f"{number}: expected {result}, got {status} {answer}")


def settings(instance, **values) -> None:
    from fixtures.processes import PYTHON, run

    seed = str(ROOT / "tests" / "fixtures" / "federation_check_seed.py")
    done = run([PYTHON, seed, json.dumps([{"action": "settings", "values": values}])], instance.env, 120)
    if done.returncode:
        raise SystemExit(done.stdout + done.stderr)


def row(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"{label:<44} p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
            f"mean {statistics.fmean(ordered) * 1000:7.1f} ms   ({len(ordered)} checks)")


def urgent_alert(north, south, smtp, index: int, timeout: float = 120) -> float:
    before = len([message for message in smtp.messages if message["From"].startswith("North")])
    status, alert = south.api("POST", "/api/v1/notices", {
        "category": "scam", "summary": "Urgent: take care.", "title": f"Urgent warning {index}", "severity": "high",
        "regions": ["north_east"], "identifiers": [], "distribution": "peers", "may_pass_on": False})
    if status != 201:
        raise SystemExit(f"notice: {status} {alert}")
    status, _shown = south.api("POST", f"/api/v1/alerts/{alert['id']}/review")
    started = time.perf_counter()
    status, published = south.api("POST", f"/api/v1/alerts/{alert['id']}/publish")
    if status != 200:
        raise SystemExit(f"publish: {status} {published}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = [message for message in smtp.messages if message["From"].startswith("North")]
        if len(mails) > before:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise SystemExit(f"no e-mail from North within {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite",
                        help="South's database (North is on SQLite)")
    parser.add_argument("--alerts", type=int, default=200, help="notices South shares, one phone number each")
    parser.add_argument("--checks", type=int, default=50, help="checks of each kind")
    parser.add_argument("--urgent", type=int, default=3, help="urgent alerts timed")
    args = parser.parse_args()

    from federation_instances import Instance
    from fixtures.processes import start_worker
    from smtp_server import SmtpServer

    root = Path(tempfile.mkdtemp(prefix="bench-federation-"))
    smtp = SmtpServer().start()
    south_url = f"sqlite:///{root / 'south.sqlite3'}"
    if args.database == "postgres":
        from common import prepare_postgres

        prepare_postgres(POSTGRES_URL)
        south_url = POSTGRES_URL
    north = Instance(root, "North", f"sqlite:///{root / 'north.sqlite3'}", smtp)
    south = Instance(root, "South", south_url, smtp)
    workers = []
    try:
        started = time.perf_counter()
        for instance in (north, south):
            instance.env["REDUMBRELLA_QUEUE_IMMEDIATE"] = "false"  # a worker sends, as in production
            instance.setup()
            instance.start()
            workers.append(start_worker(instance.env, root / f"worker-{instance.name}.log"))
        settings(south, peer_check_limit=1_000_000, peer_check_warning=1_000_000)
        north.notice("local", "North's own warning", identifiers=[("phone", "07700 800001")])
        for number in range(args.alerts):
            south.notice("peers", f"South warning {number}", identifiers=[("phone", phone(number))])
        north.cli("peers", "add", f"http://127.0.0.1:{south.port}", "--key", south.public_key, "--name", "South",
                  "--auto-publish")
        south.cli("peers", "add", f"http://127.0.0.1:{north.port}", "--key", north.public_key, "--name", "North")
        north.cli("peers", "pull", "South")
        print(f"Two instances, {args.alerts} shared alerts, peered and pulled in {time.perf_counter() - started:.0f} s"
              f" (South on {args.database})")

        expect(north, "07700 800001", "caution")
        expect(north, phone(0), "no_record")  # South's: not asked while the setting is off
        local_hit = timed_checks(north, ["07700 800001"] * args.checks)
        local_miss = timed_checks(north, ["07700 811111"] * args.checks)
        settings(north, check_peers=True)
        expect(north, phone(0), "caution")  # fetches South's tokens once
        peer_hit = timed_checks(north, [phone(number % max(args.alerts, 1)) for number in range(args.checks)])
        peer_miss = timed_checks(north, ["07700 811111"] * args.checks)
        print()
        print("A member's check over HTTP, one at a time:")
        print(row("local check, a number we hold", local_hit))
        print(row("local check, a number no one holds", local_miss))
        print(row("asking the peer too, a number the peer holds", peer_hit))
        print(row("asking the peer too, a number no one holds", peer_miss))
        print(f"Cross-instance check, extra p50: "
              f"{(statistics.median(peer_miss) - statistics.median(local_miss)) * 1000:.1f} ms")
        print()
        times = [urgent_alert(north, south, smtp, index) for index in range(args.urgent)]
        for index, seconds in enumerate(times):
            print(f"urgent alert {index + 1}: published at South, in the mailbox of North's subscriber "
                  f"{seconds:.2f} s later")
        if times:
            print(f"Urgent alert to a peer's subscribers: median {statistics.median(times):.2f} s")
    finally:
        for process in workers:
            process.stop()
        for instance in (north, south):
            instance.stop()
        smtp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
