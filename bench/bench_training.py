#!/usr/bin/env python3
"""The training catalogue and certificate verification over HTTP, with 10,000 certificates stored,
beside a plain Flask endpoint measured in the same run.

    .venv/bin/python bench/bench_training.py                         # SQLite
    .venv/bin/python bench/bench_training.py --database postgres     # PostgreSQL (REDUMBRELLA_BENCH_POSTGRES_URL)
    .venv/bin/python bench/bench_training.py --certificates 10000 --seconds 10 --connections 8

It makes a fresh instance in a temporary folder (production settings, INFO request logs), enables
training, stores 30 published courses (two trainers each) and N signed certificates (each with its
own code, encrypted name and payload, and an Ed25519 signature under the instance's training key;
one in ten revoked, one in ten expired), then serves, on 127.0.0.1 only, with gunicorn and 2 sync
workers (as `redumbrella serve` does):

1. a plain Flask app (make_plain_app below: GET /training/verify/<code> answering a small page),
2. the platform (core.wsgi:app): GET /training/ (the public course catalogue), GET /api/v1/courses,
   GET /training/verify/<code> (the public page) and GET /api/v1/certificates/<code> (the API).

Every verification is a real lookup: counted against the per-address throttle (one upsert), the
certificate found by its code, its payload decrypted and its status worked out. One lookup in ten
is for an unknown code (a 404, as the page answers it). The load comes from 64 client addresses
(X-Forwarded-For, with REDUMBRELLA_TRUSTED_PROXIES=1) and the throttle is raised to 10,000 a
minute, so what is measured is the lookup, not the 429. wrk (8 connections, 2 threads) when it is
installed, else a small Python load generator (which costs more CPU, so every figure is lower).

Printed: requests per second, p50 and p99 latency, unexpected statuses, and each row's share of
the plain endpoint's throughput. No targets are asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import free_port, instance_env, prepare_postgres

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("REDUMBRELLA_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/redumbrella_training_bench")
COURSES = 30
ADDRESSES = 64
SAMPLE = 500


def env_for(instance: Path, url: str) -> dict:
    return instance_env(instance, url, LOG_LEVEL="INFO", TRUSTED_PROXIES="1", ARGON2_TIME_COST="1",
                        ARGON2_MEMORY_COST="1024", ARGON2_PARALLELISM="1")


def fill(env: dict, count: int) -> dict:
    """Migrate, enable training, store the courses and `count` signed certificates; return sample codes."""
    for key, value in env.items():
        os.environ[key] = value
    from core.app import create_app
    from core.db import connection, db
    from core.plugins import get_registry
    from core.schema import upgrade
    from core.settings import save_settings
    from plugins.training import certificates
    from plugins.training.models import Certificate, Course, CourseTrainer

    app = create_app()
    rng = random.Random(11)
    started = time.perf_counter()
    with app.test_request_context(base_url="http://127.0.0.1"), connection():
        upgrade(app)
        get_registry(app).set_enabled("training", True)
        save_settings("training", {"verify_per_minute": 10_000})
        courses = []
        with db.atomic():
            for number in range(COURSES):
                course = Course.create(title=f"Bench course {number}: working without judgement", status="published",
                                       summary="A made-up course for the benchmark.", hours=1 + number % 6,
                                       certificate_valid_days=365 if number % 2 else None)
                for trainer in ("Trainer Rose", "Co-trainer Sam"):
                    CourseTrainer.create(course=course, credited_name=trainer)
                courses.append(course)
        today = datetime.date.today()
        codes, batch = [], []
        for number in range(count):
            course = courses[number % COURSES]
            issued_on = today - datetime.timedelta(days=rng.randrange(0, 300) + (400 if number % 10 == 1 else 0))
            row = Certificate(code=certificates.new_code(), course=course.id, user=None,
                              learner_name=f"Bench Learner {number}", course_title=course.title, issued_on=issued_on,
                              hours=course.hours, trainers=json.dumps(["Trainer Rose", "Co-trainer Sam"]),
                              expires_on=issued_on + datetime.timedelta(days=365) if course.certificate_valid_days
                              else None)
            body = certificates.payload_of(row)
            row.payload = certificates.canonical(body).decode("utf-8")
            row.signature = certificates.sign(body)
            if number % 10 == 2:
                row.revoked_at, row.revoke_reason = datetime.datetime.now(), "Bench: issued in error"
            batch.append({field: getattr(row, field) for field in (
                "code", "course", "learner_name", "course_title", "issued_on", "hours", "trainers", "expires_on",
                "payload", "signature", "revoked_at", "revoke_reason")})
            if len(codes) < SAMPLE:
                codes.append(row.code)
            if len(batch) == 1000:
                with db.atomic():
                    Certificate.insert_many(batch).execute()
                batch = []
        if batch:
            with db.atomic():
                Certificate.insert_many(batch).execute()
        stored = Certificate.select().count()
    return {"codes": codes, "stored": stored, "seconds": time.perf_counter() - started}


def make_plain_app():
    """The yardstick: Flask with one GET endpoint answering a small page, like a found certificate."""
    from flask import Flask

    plain = Flask("plain")

    @plain.get("/training/verify/<path:code>")
    def verify(code):
        return f"<!doctype html><title>Check</title><p>Certificate {code[:32]} is valid.</p>"

    return plain


def start_gunicorn(target: str, env: dict, port: int, log: Path, chdir: Path | None = None) -> subprocess.Popen:
    from bench_check import start_gunicorn as start

    return start(target, env, port, log, chdir)


def stop(proc: subprocess.Popen) -> None:
    from bench_check import stop as stop_server

    stop_server(proc)


LUA = """
local paths = {%(paths)s}
local counter = 0
function setup(thread)
  thread:set("offset", math.random(1, #paths))
end
function init(args)
  counter = offset or 0
end
request = function()
  counter = counter + 1
  local address = "198.51.100." .. ((counter %% %(addresses)d) + 1)
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["X-Forwarded-For"] = address})
end
"""


def run_wrk(port: int, seconds: int, connections: int, paths: list[str], workdir: Path) -> dict:
    script = workdir / f"paths-{port}-{abs(hash(tuple(paths))) % 10_000}.lua"
    script.write_text(LUA % {"paths": ",".join(json.dumps(p) for p in paths), "addresses": ADDRESSES})
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script),
               f"http://127.0.0.1:{port}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "p50": _ms(latency["50"]), "p99": _ms(latency["99"]),
            "non_2xx": int(errors.group(1)) if errors else 0, "statuses": {}}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_python(port: int, seconds: int, connections: int, paths: list[str], workdir: Path) -> dict:
    """Fallback load generator: threads with http.client, one request at a time each."""
    import http.client

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset: int):
        counter, mine, seen = offset, [], {}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            counter += 1
            headers = {"X-Forwarded-For": f"198.51.100.{counter % ADDRESSES + 1}"}
            started = time.perf_counter()
            try:
                connection.request("GET", paths[counter % len(paths)], headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                seen[0] = seen.get(0, 0) + 1
                continue
            mine.append(time.perf_counter() - started)
            seen[response.status] = seen.get(response.status, 0) + 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()
        with lock:
            latencies.extend(mine)
            for status, number in seen.items():
                statuses[status] = statuses.get(status, 0) + number

    threads = [threading.Thread(target=worker, args=(n * 997,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {"rate": len(latencies) / seconds, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000,
            "non_2xx": sum(n for s, n in statuses.items() if not 200 <= s < 400), "statuses": statuses}


def fetch(port: int, path: str) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"X-Forwarded-For": "203.0.113.9"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-training-"))
    instance = workdir / "instance"
    if args.database == "postgres":
        prepare_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{instance / 'redumbrella.sqlite3'}"
    env = env_for(instance, url)
    print(f"Filling a fresh instance ({args.database}) ...")
    seeded = fill(env, args.certificates)
    print(f"{seeded['stored']:,} certificates stored in {seeded['seconds']:.1f} s (signed, names encrypted)")
    generator = run_wrk if shutil.which("wrk") else run_python
    print(f"Load: {'wrk' if generator is run_wrk else 'python threads'}, {args.connections} connections, "
          f"{args.seconds} s per target, gunicorn 2 sync workers, 127.0.0.1, {ADDRESSES} client addresses")

    codes = seeded["codes"]
    unknown = ["ABCD-EFGH-JKLM-NPQR-STUV", "not-a-code"]
    page_paths = [f"/training/verify/{codes[i % len(codes)]}" if i % 10 else f"/training/verify/{unknown[i % 2]}"
                  for i in range(200)]
    api_paths = [p.replace("/training/verify/", "/api/v1/certificates/") for p in page_paths]
    results = {}

    port = free_port()
    server = start_gunicorn("bench_training:make_plain_app()", env, port, workdir / "plain.log", chdir=ROOT / "bench")
    try:
        generator(port, 2, args.connections, page_paths, workdir)  # warm-up
        results["plain Flask endpoint"] = generator(port, args.seconds, args.connections, page_paths, workdir)
    finally:
        stop(server)

    port = free_port()
    platform = start_gunicorn("core.wsgi:app", env, port, workdir / "app.log")
    try:
        status, body = fetch(port, f"/api/v1/certificates/{codes[3]}")
        assert status == 200 and json.loads(body)["status"] == "valid", (status, body[:200])
        assert fetch(port, "/api/v1/certificates/not-a-code")[0] == 404
        assert fetch(port, "/training/")[0] == 200
        targets = [("GET /training/ (catalogue)", ["/training/"]),
                   ("GET /api/v1/courses", ["/api/v1/courses"]),
                   ("GET /training/verify/<code>", page_paths),
                   ("GET /api/v1/certificates/<c>", api_paths)]
        for name, paths in targets:
            if fetch(port, paths[0])[0] == 404 and "courses" in paths[0]:
                continue  # the courses API is not in this build
            generator(port, 2, args.connections, paths, workdir)  # warm-up
            results[name] = generator(port, args.seconds, args.connections, paths, workdir)
    finally:
        stop(platform)

    plain = results["plain Flask endpoint"]["rate"]
    print()
    print(f"{'':30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'of plain':>9}")
    for name, result in results.items():
        print(f"{name:30} {result['rate']:8.0f} {result['p50']:8.2f} {result['p99']:8.2f} {result['non_2xx']:8d} "
              f"{result['rate'] / plain:9.0%}")
    print("\nnon-2xx on the verification rows are the unknown codes (one in ten, answered 404 on purpose).")
    print(f"{args.certificates:,} certificates on {args.database}.")
    if args.keep:
        print(f"Instance kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
