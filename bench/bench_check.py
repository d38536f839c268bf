#!/usr/bin/env python3
"""Identifier checks per second and their latency through HTTP, with 1,000,000 stored identifiers,
beside a plain Flask endpoint measured in the same run.

    .venv/bin/python bench/bench_check.py                         # SQLite, 1,000,000 identifiers
    .venv/bin/python bench/bench_check.py --database postgres     # PostgreSQL (REDUMBRELLA_BENCH_POSTGRES_URL)
    .venv/bin/python bench/bench_check.py --identifiers 100000 --seconds 10

It makes a fresh instance in a temporary folder, stores N perpetrator identifiers as the reporting
plugin does (blind indexes of verified reports with consent to a warning, 5 identifiers a report)
plus 1,000 published alerts, makes 20 member accounts with personal access tokens, and raises the
daily check quotas out of the way. Then, on 127.0.0.1 only:

1. a plain Flask app (make_plain_app below: one POST endpoint reading JSON, answering JSON),
2. the least a check can do (make_floor_app below: the statements a check needs, through the
   database driver alone, in a bare Flask endpoint),
3. the check's work alone (make_work_app below: a bare Flask endpoint calling run_check), and
4. the platform (core.wsgi:app),

each served by gunicorn with 2 sync workers (the same for all four, so that they compare;
`redumbrella serve` itself runs one worker of 4 threads), are loaded by wrk (8 connections,
2 threads) for the same time. Every platform request is a real check:
`POST /api/v1/check` with a bearer token, one in ten identifiers a hit; each one is normalised,
looked up by blind index, counted against the quotas, recorded and audited. Without wrk, a small
Python load generator is used instead (it costs more CPU, so both figures are lower).

A last row, GET /api/v1/me/subscriptions with the same tokens, shows what any authenticated API
call costs on the platform (token look-up, two-factor rule, plugin and permission guards, one
small query). With row 2, the check's cost splits into the work the check must do and what the
platform adds around every request.

Printed: requests per second, p50 and p99 latency, errors, and the check's share of the plain
endpoint's throughput. That share once had a target of 50 %, withdrawn when row 2 showed that the
check's statements alone keep less (issue #14); `bench/speed.py` measures the check against row 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from common import (  # bench/common.py: scripts run from bench/, which is on sys.path
    free_port,
    install_stack,
    instance_env,
    prepare_postgres,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("REDUMBRELLA_BENCH_POSTGRES_URL",
                              "postgresql://root@127.0.0.1:5432/redumbrella_h6_bench")
IDENTIFIERS_PER_REPORT = 5
ALERTS = 1000
ACCOUNTS = 20
# The floors' blind-index and audit key: the same length as the platform's (core.crypto), whose
# HMACs cost the same whatever the key.
BENCH_KEY = bytes(range(32))
QUOTA = 1_000_000_000  # checks a day per account and per address, out of the way (fill)




def env_for(instance: Path, url: str) -> dict:
    # INFO as in production: one JSON line per request. Only the 20 accounts' passwords are hashed
    # (the load uses tokens), so cheap Argon2 keeps setting up quick.
    return instance_env(instance, url, LOG_LEVEL="INFO", ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="1024",
                        ARGON2_PARALLELISM="1")


def phone(number: int) -> str:
    """A distinct valid-looking UK mobile for each number (07700 900000 and up, then 07xxx)."""
    return f"+447{number:09d}"[:13]


def fill(env: dict, identifiers: int) -> dict:
    """Migrate, enable, seed N identifiers and the accounts; return tokens and sample identifiers."""
    os.environ.update(env)
    from core.app import create_app
    from core.db import connection, db, utcnow

    app = create_app({"QUEUE_IMMEDIATE": True})
    from core.accounts import tokens
    from core.accounts.service import create_account
    from core.crypto import keyring
    from core.plugins import get_registry
    from core.schema import upgrade
    from core.settings import save_settings
    from plugins.alerts.models import Alert, AlertIdentifier, AlertRegion

    reports = identifiers // IDENTIFIERS_PER_REPORT
    started = time.perf_counter()
    with app.test_request_context(), connection():
        upgrade(app)
        for name in ("reporting", "alerts"):
            get_registry(app).set_enabled(name, True)
        save_settings("alerts", {"check_limit_account": QUOTA, "check_limit_address": QUOTA,
                                 "similar_warning": 1_000_000})
        ring = keyring()
        display = ring.encrypt("+447700900000")  # the shown value is never read by a check
        now = utcnow()
        insert = _bulk_inserter(db, sqlite="sqlite" in env["REDUMBRELLA_DATABASE_URL"])
        chunk = 20_000
        for first in range(0, reports, chunk):
            last = min(reports, first + chunk)
            numbers = range(first, last)
            with db.atomic():
                insert("reporting_report", ["id", "reference", "status", "urgency", "incident_types", "region",
                                            "source", "on_behalf", "many_from_address", "created_at", "updated_at",
                                            "status_changed_at", "verified_at"],
                       [(n + 1, f"B-{n:08d}", "verified", 0, "robbery", "london", "web", False, False, now, now, now,
                         now)
                        for n in numbers])
                insert("reporting_consent", ["report_id", "purpose", "given_at"],
                       [(n + 1, "share_alert", now) for n in numbers])
                insert("reporting_perpetrator", ["id", "report_id", "position"], [(n + 1, n + 1, 0) for n in numbers])
                insert("reporting_perpetrator_identifier", ["perpetrator_id", "report_id", "kind", "blind_index",
                                                            "display"],
                       [(n + 1, n + 1, "phone", ring.blind_index("phone", phone(n * IDENTIFIERS_PER_REPORT + k)),
                         display) for n in numbers for k in range(IDENTIFIERS_PER_REPORT)])
            print(f"  {last * IDENTIFIERS_PER_REPORT:>9,} identifiers stored", end="\r", flush=True)
        if "sqlite" not in env["REDUMBRELLA_DATABASE_URL"]:
            for table in ("reporting_report", "reporting_perpetrator"):
                db.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        with db.atomic():
            for number in range(ALERTS):
                alert = Alert.create(status="published", severity="medium", title=f"Alert {number}",
                                     summary="Take care.", published_at=now)
                AlertRegion.create(alert=alert, region="london")
                AlertIdentifier.create(alert=alert, kind="phone", blind_index=ring.blind_index(
                    "phone", phone(number * IDENTIFIERS_PER_REPORT)), display=display)
        account_tokens = []
        for number in range(ACCOUNTS):
            user = create_account(f"bench{number}@example.org", "bench passphrase that is long enough", ["member"])
            account_tokens.append(tokens.create_token(user, "bench")[1])
        if "sqlite" in env["REDUMBRELLA_DATABASE_URL"]:
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute_sql("ANALYZE")
    print(f"  {reports * IDENTIFIERS_PER_REPORT:,} identifiers in {reports:,} reports, {ALERTS} alerts, "
          f"{ACCOUNTS} accounts: {time.perf_counter() - started:.0f} s")
    rng = random.Random(7)
    sample = []
    for _n in range(5000):
        if rng.random() < 0.1:
            number = rng.randrange(reports * IDENTIFIERS_PER_REPORT)  # stored: "caution"
            sample.append("0" + phone(number)[3:])  # written the national way, 07...
        else:
            sample.append(f"07{rng.randrange(100_000_000, 999_999_999)}")  # not stored: "no record"
    return {"tokens": account_tokens, "identifiers": sample,
            "hit": "0" + phone(IDENTIFIERS_PER_REPORT * 3)[3:], "miss": "07999 111111"}


def make_plain_app():
    """The yardstick: Flask with one endpoint that reads the same JSON and answers like a miss."""
    from flask import Flask, jsonify, request

    plain = Flask("plain")

    @plain.post("/api/v1/check")
    def check():
        body = request.get_json()
        return jsonify({"result": "no_record", "length": len(body["identifier"])})

    return plain


def _floor_parts():
    """The floor's connection and its statements, shared by make_floor_app and make_stack_floor_app:
    cursor(), run(cur, sql, params) and work(cur, account, identifier, relax) -> result."""
    import datetime
    import hashlib
    import hmac

    from core.audit import entry_hash
    from core.db import SQLITE_PRAGMAS, prepared_statement
    from core.identifiers import normalise_phone, normalise_plate
    from core.write_queue import WriteQueue
    from plugins.alerts.check import lookup_sql
    from plugins.alerts.federation_check import listed_sql

    url = os.environ["REDUMBRELLA_DATABASE_URL"]
    sqlite = url.startswith("sqlite")
    # On SQLite, writers take turns as the platform's do (core.write_queue): the least a check
    # costs is with the best way to wait, not with SQLite's busy handler sleeping milliseconds.
    turns = WriteQueue(url.removeprefix("sqlite:///"), SQLITE_PRAGMAS["busy_timeout"] / 1000) if sqlite else None
    state = {}

    def cursor():
        if "connection" not in state:
            if sqlite:
                import sqlite3

                connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("PRAGMA busy_timeout = 10000")
            else:
                import psycopg2

                connection = psycopg2.connect(url)
                connection.autocommit = True
            state["connection"] = connection
        return state["connection"].cursor()

    def run(cur, sql, params=()):
        """SQLite's driver keeps statements prepared; on PostgreSQL, prepare each once, as core does."""
        if sqlite:
            cur.execute(sql.replace("%s", "?"), params)
        elif params:
            name, prepare = prepared_statement(sql)
            if name not in state.setdefault("prepared", set()):
                cur.execute(prepare)
                state["prepared"].add(name)
            cur.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
        else:
            cur.execute(sql)
        return cur

    def account_of(cur, token: str) -> int:
        holder = run(cur, 'SELECT u.id FROM access_token t JOIN "user" u ON u.id = t.user_id '
                          "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.active = %s",
                     (hashlib.sha256(token.encode()).hexdigest(), True)).fetchone()
        return holder[0] if holder else 0

    def blind(kind: str, value: str) -> str:
        return hmac.digest(BENCH_KEY, f"{kind}:{value}".encode(), "sha256").hex()

    def work(cur, account: int, identifier: str, relax: bool = False) -> str:
        """What a check must do for a UK mobile number, as plugins.alerts.check.run_check does it:
        read it (core.identifiers.normalise_phone: one E.164 form for every way of writing it, a
        number of the wrong length refused) as a phone, a number plate and an online name, leave
        out readings on the warning list, look the rest up (one statement), then count, record and
        audit in one transaction, the counts held against the quota. The quota's address, the
        pattern watch's shape and tag and the audit entry are keyed hashes, as the platform's are.
        relax: the connection stays synchronous=FULL and this transaction alone commits with
        NORMAL, as the platform's do."""
        number = normalise_phone(identifier, "GB")  # E.164, a number with a digit missing refused
        # A UK mobile typed as digits also reads as a number plate (candidates() in plugins/alerts/check.py).
        readings = [("phone", blind("phone", number)), ("plate", blind("plate", normalise_plate(identifier))),
                    ("handle", blind("handle", number))]
        listed = {tuple(row) for row in run(cur, listed_sql(3), (*[index for _kind, index in readings],
                                                                   "active")).fetchall()}
        pairs = [part for reading in readings if reading not in listed for part in reading]
        today = datetime.datetime.now(datetime.UTC).date()
        found = pairs and run(cur, lookup_sql(len(pairs) // 2), [*pairs, today, *pairs]).fetchall()
        result = "caution" if found else "no_record"
        address = "addr:" + blind("check-address", "127.0.0.1")[:40]
        shape, tag = blind("check-shape", f"phone:{number[:-3]}")[:16], blind("check-tag", f"phone:{number}")[:12]
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        if relax and sqlite:
            run(cur, "PRAGMA synchronous = NORMAL")
        if turns:
            turns.take()
        run(cur, "BEGIN")
        if not sqlite:
            run(cur, "SET LOCAL synchronous_commit TO OFF")
        day = datetime.datetime.combine(now.date(), datetime.time())
        run(cur, "INSERT INTO throttle_count (scope, key, window_start, count, expires_at) VALUES "
                 "('alerts-check', %s, %s, 1, %s), ('alerts-check', %s, %s, 1, %s) "
                 "ON CONFLICT (scope, key, window_start) DO UPDATE SET count = throttle_count.count + 1 "
                 "RETURNING key, count", (f"user:{account}", day, day + datetime.timedelta(days=1),
                                          address, day, day + datetime.timedelta(days=1)))
        if any(count > QUOTA for _key, count in cur.fetchall()):
            raise RuntimeError("the bench's quotas are out of the way (fill)")
        run(cur, "INSERT INTO alerts_check_event (account_id, created_at, kind, shape, tag, result) "
                 "VALUES (%s, %s, %s, %s, %s, %s)", (account, now, "phone", shape, tag, result))
        if not sqlite:
            run(cur, "LOCK TABLE audit_entry IN SHARE ROW EXCLUSIVE MODE")
        last = run(cur, "SELECT entry_hash FROM audit_entry ORDER BY id DESC LIMIT 1").fetchone()
        previous = last[0] if last else "0" * 64
        target = f"check:phone:{result}"
        entry = entry_hash(now, account, "alerts.check", target, previous, "bench", BENCH_KEY)
        run(cur, "INSERT INTO audit_entry (created_at, actor_id, action, target, previous_hash, entry_hash, key_id) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id", (now, account, "alerts.check", target, previous,
                                                                      entry, "bench"))
        cur.fetchone()
        run(cur, "COMMIT")
        if turns:
            turns.give_back()
        if relax and sqlite:
            run(cur, "PRAGMA synchronous = FULL")
        return result

    return cursor, run, account_of, work


def make_floor_app():
    """The least any check can cost here: a bare Flask endpoint doing, through the database driver
    alone, what a check must (the token's active holder, or 401; the number read as a phone, a plate
    and an online name, and their blind indexes; the warning list's and the look-up's statements,
    the platform's own; then one transaction counting the quotas by account and by the address's
    keyed hash and holding the counts against them, writing the event with the shape and tag
    hashes and extending the keyed audit chain, its writers taking turns in core.write_queue as
    the platform's do). No framework, no translation, no log, no guard: what the platform's check
    is measured against (bench/speed.py, the check row)."""
    from flask import Flask, jsonify, request

    cursor, _run, account_of, work = _floor_parts()
    floor = Flask("floor")

    @floor.post("/api/v1/check")
    def check():
        body = request.get_json()
        cur = cursor()
        account = account_of(cur, request.headers.get("Authorization", "").removeprefix("Bearer "))
        if not account:
            return jsonify({"error": "unauthorised"}), 401
        return jsonify({"result": work(cur, account, body["identifier"])})

    return floor


def make_stack_floor_app():
    """The floor plus what the fixed stack and the platform's standing rules cost on every check,
    and nothing of the platform's own code: how close to the floor any check built on this stack
    can get. To make_floor_app it adds common.install_stack (Flask-Login's request loader, the
    language, the log line, the security headers) and:
    - marshmallow: the body is validated by a schema (identifier, an optional kind);
    - the answer carries a translated message (flask-babel's gettext);
    - the stored state every request reads so that no setting or module toggle is missed
      (core.stored_state.STATE_SQL);
    - durability: the connection stays synchronous=FULL and the check's transaction alone is
      relaxed (core.db.relaxed_commit's PRAGMA pair)."""
    from flask import Flask, jsonify, request
    from flask_babel import gettext
    from flask_login import current_user
    from marshmallow import Schema, fields, validate

    from core.stored_state import STATE_SQL

    cursor, run, account_of, work = _floor_parts()
    app = Flask("stack_floor")
    install_stack(app, lambda token: account_of(cursor(), token) or None)

    class CheckIn(Schema):
        identifier = fields.String(required=True, validate=validate.Length(max=254))
        kind = fields.String(load_default=None, validate=validate.OneOf(["phone", "email", "plate", "handle"]))

    schema = CheckIn()

    @app.post("/api/v1/check")
    def check():
        data = schema.load(request.get_json())
        if not current_user.is_authenticated:
            return jsonify({"error": "unauthorised"}), 401
        cur = cursor()
        run(cur, STATE_SQL, (True,)).fetchall()
        result = work(cur, current_user.id, data["identifier"], relax=True)
        return jsonify({"result": result, "message": gettext("We have no record of this.")})

    return app


def make_work_app():
    """The check's own work and nothing else: Flask calling plugins.alerts.check.run_check (normalise,
    blind-index look-ups, quota count, event and audit entry, one commit) with no token, guards,
    translation or request log around it. What this row loses against the plain endpoint is the
    cost of the work the issue asks every check to do; what the platform row loses beyond it is
    the platform's per-request cost."""
    from flask import Flask, jsonify, request

    from core.app import create_app
    from core.db import connection
    from plugins.alerts import check

    platform = create_app()
    work = Flask("work")

    @work.post("/api/v1/check")
    def run():
        body = request.get_json()
        with platform.app_context(), connection():
            outcome = check.run_check(body["identifier"], 1, request.remote_addr, limits=(10**9, 10**9),
                                      similar_threshold=10**9)
        return jsonify({"result": outcome.result, "alerts": outcome.alert_ids})

    return work


def _bulk_inserter(db, sqlite: bool):
    """Plain executemany / execute_values: a million rows in seconds, not minutes."""

    def insert(table: str, columns: list[str], rows: list[tuple]) -> None:
        names = ", ".join(columns)
        cursor = db.cursor()
        if sqlite:
            marks = ", ".join("?" for _column in columns)
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
        else:
            from psycopg2.extras import execute_values

            execute_values(cursor, f"INSERT INTO {table} ({names}) VALUES %s", rows, page_size=5000)  # noqa: S608

    return insert


def start_gunicorn(target: str, env: dict, port: int, log: Path, chdir: Path | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", target, "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--worker-class", "sync", "--backlog", "2048"]
    if chdir:
        command += ["--chdir", str(chdir)]
    handle = open(log, "wb")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,  # noqa: S603
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start; see {log}")


def stop(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def post(port: int, body: dict, token: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/check", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - 127.0.0.1
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


LUA = """
local identifiers = {%(identifiers)s}
local tokens = {%(tokens)s}
local counter = 0
local light = %(light)s
function setup(thread)
  thread:set("offset", math.random(1, #identifiers))
end
function init(args)
  counter = offset or 0
end
request = function()
  counter = counter + 1
  if light then
    return wrk.format("GET", "/api/v1/me/subscriptions",
                      {["Authorization"] = "Bearer " .. tokens[(counter %% #tokens) + 1]})
  end
  local body = '{"identifier":"' .. identifiers[(counter %% #identifiers) + 1] .. '"}'
  local headers = {["Content-Type"] = "application/json"}
  local token = tokens[(counter %% #tokens) + 1]
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/api/v1/check", headers, body)
end
"""


def run_wrk(port: int, seconds: int, connections: int, identifiers: list[str], tokens: list[str],
            workdir: Path, light: bool = False) -> dict:
    script = workdir / f"check-{port}.lua"
    script.write_text(LUA % {
        "light": "true" if light else "false",
        "identifiers": ",".join(json.dumps(i) for i in identifiers),
        "tokens": ",".join(json.dumps(t) for t in tokens),
    })
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script),
               f"http://127.0.0.1:{port}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rate": rate, "p50": _ms(latency["50"]), "p99": _ms(latency["99"]),
            "errors": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else "", "raw": out}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_python(port: int, seconds: int, connections: int, identifiers: list[str], tokens: list[str],
               workdir: Path, light: bool = False) -> dict:
    """Fallback load generator: threads with http.client, one request at a time each."""
    import http.client

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset: int):
        counter = offset
        mine = []
        while time.monotonic() < deadline:
            counter += 1
            body = json.dumps({"identifier": identifiers[counter % len(identifiers)]})
            headers = {"Content-Type": "application/json"}
            token = tokens[counter % len(tokens)]
            if token:
                headers["Authorization"] = f"Bearer {token}"
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            if light:
                connection.request("GET", "/api/v1/me/subscriptions", headers=headers)
            else:
                connection.request("POST", "/api/v1/check", body, headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n * 997,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {"rate": len(latencies) / seconds, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "errors": errors[0], "socket_errors": "",
            "raw": ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-check-"))
    instance = workdir / "instance"
    if args.database == "postgres":
        prepare_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{instance / 'redumbrella.sqlite3'}"
    env = env_for(instance, url)
    print(f"Filling a fresh instance ({args.database}) ...")
    seeded = fill(env, args.identifiers)
    generator = run_wrk if shutil.which("wrk") else run_python
    print(f"Load: {'wrk' if generator is run_wrk else 'python threads'}, {args.connections} connections, "
          f"{args.seconds} s per target, gunicorn 2 sync workers, 127.0.0.1")

    results = {}

    def yardstick(name: str, factory: str, tokens: list[str]) -> None:
        """Serve one of the bare Flask apps above and load it like the platform."""
        port = free_port()
        server = start_gunicorn(f"bench_check:{factory}()", env, port, workdir / f"{factory}.log", chdir=ROOT / "bench")
        try:
            generator(port, 3, args.connections, seeded["identifiers"], tokens, workdir)  # warm-up
            results[name] = generator(port, args.seconds, args.connections, seeded["identifiers"], tokens, workdir)
        finally:
            stop(server)

    yardstick("plain Flask endpoint", "make_plain_app", [""])
    yardstick("least a check can do", "make_floor_app", seeded["tokens"])
    yardstick("check work alone", "make_work_app", [""])
    app_port = free_port()
    platform = start_gunicorn("core.wsgi:app", env, app_port, workdir / "app.log")
    try:
        status, answer = post(app_port, {"identifier": seeded["hit"]}, seeded["tokens"][0])
        assert status == 200 and answer["result"] == "caution", (status, answer)
        status, answer = post(app_port, {"identifier": seeded["miss"]}, seeded["tokens"][0])
        assert status == 200 and answer["result"] == "no_record", (status, answer)
        assert post(app_port, {"identifier": seeded["miss"]}, None)[0] == 401
        generator(app_port, 3, args.connections, seeded["identifiers"], seeded["tokens"], workdir)  # warm-up
        results["POST /api/v1/check"] = generator(app_port, args.seconds, args.connections,
                                                  seeded["identifiers"], seeded["tokens"], workdir)
        # For scale: the platform's own cost per request (token sign-in, guards, one small query).
        results["GET /api/v1/me/subscr."] = generator(app_port, args.seconds, args.connections,
                                                      seeded["identifiers"], seeded["tokens"], workdir, light=True)
    finally:
        stop(platform)

    print()
    print(f"{'':24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, result in results.items():
        print(f"{name:24} {result['rate']:9.0f} {result['p50']:8.2f} {result['p99']:8.2f} {result['errors']:7d}"
              + (f"  socket errors: {result['socket_errors']}" if result["socket_errors"] else ""))
    share = results["POST /api/v1/check"]["rate"] / results["plain Flask endpoint"]["rate"]
    work_share = results["check work alone"]["rate"] / results["plain Flask endpoint"]["rate"]
    floor_share = results["least a check can do"]["rate"] / results["plain Flask endpoint"]["rate"]
    light = results["POST /api/v1/check"]["rate"] / results["GET /api/v1/me/subscr."]["rate"]
    print(f"\nChecks run at {share:.0%} of the plain endpoint's throughput, "
          f"with {args.identifiers:,} stored identifiers on {args.database};")
    print(f"and at {light:.0%} of the platform's lightest authenticated API call (GET /api/v1/me/subscriptions).")
    print(f"The check's own work in a bare Flask endpoint (no token, guards or log) runs at {work_share:.0%} "
          "of the plain endpoint;")
    print(f"its bare statements through the database driver alone (make_floor_app) at {floor_share:.0%}.")
    if args.keep:
        print(f"Instance kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
