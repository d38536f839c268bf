#!/usr/bin/env python3
"""Time from publishing one alert until 10,000 e-mails have reached a local SMTP server, with the
SQLite queue and with Redis.

    .venv/bin/python bench/bench_delivery.py                          # both queues, 10,000 subscribers
    .venv/bin/python bench/bench_delivery.py --queues sqlite --subscribers 2000 --workers 4
    .venv/bin/python bench/bench_delivery.py --database postgres      # PostgreSQL for the data

For each queue it makes a fresh instance in a temporary folder with N subscribed members (e-mail,
immediate), starts a real SMTP server (aiosmtpd, in its own process, counting what it accepts),
starts a real queue worker (`redumbrella worker`, W threads) and waits until it is idle, then
publishes an alert from a verified, consenting report and measures:

- publish: the publishing call itself (status change and N outbox rows, in one transaction);
- first: until the first e-mail is accepted by the SMTP server;
- all: until the N-th distinct e-mail is accepted (and every outbox row is marked sent);
- the rate, and how many e-mails arrived twice (expected: 0);
- the worker's CPU in all, and the part of it spent before publishing (starting, importing the
  app, the start-up sweep), so what delivery itself costs is the difference.

Then the floor, against the same kind of SMTP server: the same number of e-mails, built before the
clock starts, sent by plain smtplib over as many connections as the worker has threads, with no
database, no outbox and no queue. No delivery can beat it on this machine; the platform's time is
shown beside it.

Redis: REDUMBRELLA_BENCH_REDIS_URL (default redis://127.0.0.1:6379/7; its huey keys are flushed).
PostgreSQL: REDUMBRELLA_BENCH_POSTGRES_URL (default .../redumbrella_h6_bench; its schema is emptied).
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (  # bench/common.py: scripts run from bench/, which is on sys.path
    free_port,
    instance_env,
    prepare_postgres,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REDIS_URL = os.environ.get("REDUMBRELLA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
POSTGRES_URL = os.environ.get("REDUMBRELLA_BENCH_POSTGRES_URL",
                              "postgresql://root@127.0.0.1:5432/redumbrella_h6_bench")




def smtp_server(port: int, count, distinct, first_at, last_at, ready, cpu) -> None:
    """A real SMTP server in its own process, counting accepted messages and distinct Message-IDs."""
    import asyncio

    from aiosmtpd.controller import Controller

    seen: set[bytes] = set()

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            now = time.time()
            marker = b"\nMessage-ID: "
            content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
            start = content.find(marker)
            message_id = content[start:content.find(b"\n", start + 1)] if start >= 0 else os.urandom(8)
            with count.get_lock():
                count.value += 1
                if message_id not in seen:
                    seen.add(message_id)
                    distinct.value += 1
                if first_at.value == 0:
                    first_at.value = now
                last_at.value = now
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.sigwait({signal.SIGTERM})
    cpu.value = time.process_time()
    controller.stop()
    asyncio.set_event_loop(None)


def env_for(instance: Path, database_url: str, smtp_port: int, redis_url: str | None, workers: int) -> dict:
    env = instance_env(
        instance, database_url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port),
        MAIL_DEFAULT_SENDER="Notes <notes@example.org>", BASE_URL="https://notes.example.org",
        LOG_LEVEL="WARNING",
    )
    if workers:
        env["REDUMBRELLA_QUEUE_WORKERS"] = str(workers)
    env["PYTHONUNBUFFERED"] = "1"
    if redis_url:
        env["REDUMBRELLA_REDIS_URL"] = redis_url
    return env


def run_one(queue: str, args, workdir: Path) -> dict:
    instance = workdir / queue / "instance"
    instance.mkdir(parents=True)
    if args.database == "postgres":
        prepare_postgres(POSTGRES_URL)
        database_url = POSTGRES_URL
    else:
        database_url = f"sqlite:///{instance / 'redumbrella.sqlite3'}"
    smtp_port = free_port()
    count, distinct = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    first_at, last_at = multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0)
    ready = multiprocessing.Event()
    smtp_cpu = multiprocessing.Value("d", 0.0)
    server = multiprocessing.Process(target=smtp_server, daemon=True,
                                     args=(smtp_port, count, distinct, first_at, last_at, ready, smtp_cpu))
    server.start()
    ready.wait(30)
    env = env_for(instance, database_url, smtp_port, REDIS_URL if queue == "redis" else None, args.workers)
    os.environ.update(env)

    from core.app import create_app
    from core.db import connection

    app = create_app({"QUEUE_IMMEDIATE": False})
    huey = app.extensions["redumbrella.queue"].huey
    huey.flush()
    from core.accounts.service import create_account
    from core.plugins import get_registry
    from core.schema import upgrade
    from plugins.alerts import service
    from plugins.alerts.models import Delivery

    sys.path.insert(0, str(ROOT / "tests"))
    from test_alerts_helpers import make_report, make_subscribers

    started = time.perf_counter()
    with app.test_request_context(), connection():
        upgrade(app)
        for name in ("reporting", "alerts"):
            get_registry(app).set_enabled(name, True)
        make_subscribers(args.subscribers)
        moderator = create_account("moderator@example.org", "bench passphrase that is long enough", ["moderator"])
        alert = service.create_from_reports([make_report()], {"summary": "Take care."}, moderator)
        service.review(alert, moderator)  # publishing needs a review of the preview; not part of the timing
    print(f"  [{queue}] {args.subscribers:,} subscribers ready in {time.perf_counter() - started:.0f} s")

    log = open(workdir / f"worker-{queue}.log", "wb")  # noqa: SIM115 - closed below
    command = [sys.executable, "-m", "core.cli", "worker"] + (["--workers", str(args.workers)] if args.workers else [])
    worker = subprocess.Popen(command,  # noqa: S603
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(args.settle)  # the worker starts, runs its start-up sweep, and goes idle
        idle_cpu = _cpu_seconds(worker.pid)  # importing the app and the start-up sweep, not delivery
        with app.test_request_context(), connection():
            began = time.time()
            service.publish(alert, moderator)
            published = time.time()
        deadline = time.time() + args.timeout
        while distinct.value < args.subscribers and time.time() < deadline:
            time.sleep(0.02)
        done = last_at.value if distinct.value >= args.subscribers else None
        with app.app_context(), connection():
            while time.time() < deadline and Delivery.select().where(Delivery.status == "sent").count() \
                    < args.subscribers:
                time.sleep(0.1)
            sent_rows = Delivery.select().where(Delivery.status == "sent").count()
        time.sleep(0.5)
        worker_cpu = _cpu_seconds(worker.pid)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()
        os.kill(server.pid, signal.SIGTERM)
        server.join(10)
        huey.flush()
        from core.db import db

        if not db.is_closed():
            db.close()
        db.obj.close_all()
    return {
        "queue": queue,
        "publish": published - began,
        "first": (first_at.value - began) if first_at.value else None,
        "all": (done - began) if done else None,
        "received": count.value,
        "distinct": distinct.value,
        "sent_rows": sent_rows,
        "worker_cpu": worker_cpu,
        "idle_cpu": idle_cpu,
        "smtp_cpu": smtp_cpu.value,
    }


def floor_run(subscribers: int, connections: int) -> float:
    """Seconds for plain smtplib to hand `subscribers` pre-built e-mails to a fresh local aiosmtpd
    server over `connections` connections at once: what the SMTP exchange alone costs here."""
    import smtplib
    import threading
    from email.message import EmailMessage

    from common import free_port

    port = free_port()
    count, distinct = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    first_at, last_at = multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0)
    ready, cpu = multiprocessing.Event(), multiprocessing.Value("d", 0.0)
    server = multiprocessing.Process(target=smtp_server, daemon=True,
                                     args=(port, count, distinct, first_at, last_at, ready, cpu))
    server.start()
    ready.wait(30)

    def build(number: int) -> tuple[str, bytes]:
        message = EmailMessage()
        message["From"], message["To"] = "Notes <notes@example.org>", f"member{number}@example.org"
        message["Subject"], message["Message-ID"] = "A new note", f"<floor-{number}@example.org>"
        message.set_content("A new safety alert has been published.\nhttps://notes.example.org/n/abcdefgh\n")
        return f"member{number}@example.org", message.as_bytes()

    messages = [build(number) for number in range(subscribers)]

    def send(part) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
            for recipient, data in part:
                connection.sendmail("notes@example.org", [recipient], data)

    began = time.perf_counter()
    threads = [threading.Thread(target=send, args=(messages[k::connections],)) for k in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while distinct.value < subscribers and time.perf_counter() - began < 300:
        time.sleep(0.01)
    took = time.perf_counter() - began
    os.kill(server.pid, signal.SIGTERM)
    server.join(10)
    return took


def _default_workers() -> int:
    from core.config import DEFAULTS

    return DEFAULTS["QUEUE_WORKERS"]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queues", default="sqlite,redis", help="sqlite, redis or both (comma-separated)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="worker threads (default: the instance's QUEUE_WORKERS default)")
    parser.add_argument("--settle", type=float, default=4.0, help="seconds to let the worker start and go idle")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    multiprocessing.set_start_method("fork")
    sys.path.insert(0, str(ROOT / "bench"))
    results = []
    for queue in [q.strip() for q in args.queues.split(",") if q.strip()]:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-delivery-{queue}-"))
        try:
            results.append(run_one(queue, args, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    threads = args.workers or f"default ({_default_workers()})"
    print(f"\nOne alert to {args.subscribers:,} e-mail subscribers; worker: {threads} threads; "
          f"data on {args.database}; SMTP: aiosmtpd on 127.0.0.1")
    print(f"{'queue':8} {'publish s':>10} {'first s':>8} {'all s':>8} {'e-mails/s':>10} {'repeats':>8} "
          f"{'rows sent':>10} {'worker CPU s':>13} {'of it start':>12} {'SMTP CPU s':>11}")
    for r in results:
        rate = f"{args.subscribers / r['all']:10.0f}" if r["all"] else f"{'-':>10}"
        all_text = f"{r['all']:8.1f}" if r["all"] else f"{'timeout':>8}"
        first = f"{r['first']:8.2f}" if r["first"] else f"{'-':>8}"
        print(f"{r['queue']:8} {r['publish']:10.2f} {first} {all_text} {rate} {r['received'] - r['distinct']:8d} "
              f"{r['sent_rows']:10,} {r['worker_cpu']:13.1f} {r['idle_cpu']:12.1f} {r['smtp_cpu']:11.1f}")
    connections = args.workers or _default_workers()
    floor = floor_run(args.subscribers, connections)
    print(f"floor: {args.subscribers:,} pre-built e-mails by plain smtplib over {connections} connections, "
          f"no database: {floor:.1f} s")
    return 0 if all(r["all"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
