#!/usr/bin/env python3
"""Every row of the speed table (issue #14) against its yardstick, in one run.

    .venv/bin/python bench/speed.py                        # SQLite, 1,000,000 identifiers, all rows
    .venv/bin/python bench/speed.py --database postgres    # the PostgreSQL rows (REDUMBRELLA_BENCH_POSTGRES_URL)
    .venv/bin/python bench/speed.py --rows home,healthz --seconds 5
    .venv/bin/python bench/speed.py --short                # seconds, tiny data: proves it still works

It makes a fresh instance in a temporary folder (bench_check.fill: N identifiers in verified,
consenting reports, 1,000 published alerts, 20 members with tokens, every module on), then serves,
each with gunicorn and 2 sync workers on 127.0.0.1:

- the platform (core.wsgi:app, production settings: Argon2id t=3, 64 MiB for receipts, INFO logs),
- the bare Flask yardsticks (bench/yardsticks.py), giving the platform's own answers back,
- the check's floor (bench_check.make_floor_app: the check's statements through the driver alone),
- the stack's floor (bench_check.make_stack_floor_app: the floor plus what Flask-Login, marshmallow,
  flask-babel, the stored state, the warning list, the durable default, the log line and the
  security headers cost, and none of the platform's own code), measured in the check row's rounds.

Each HTTP row loads the yardstick and then the platform for the same time with the same load
(wrk, 8 connections; a Python load generator without wrk), alternating for --rounds rounds, and
prints the ratio of their throughputs. Beside it: the CPU each side's workers spent per request
(a busy machine moves throughput, much less this), and the load average before the row. Then:

- report: anonymous POST /api/v1/reports one after another, p95 (the receipt's Argon2id included);
- memory: `redumbrella serve` with its defaults (launcher, gunicorn with 1 worker of 4 threads,
  queue worker), installed as the README's first command installs it (~/.cache/redumbrella-bench,
  made on first use), after a mixed load: RSS of the whole process tree (and PSS, which counts
  shared pages once);
- delivery: bench_delivery.py in a subprocess, SQLite queue, default worker settings: publish to
  the last of N e-mails at a local SMTP server.

The machine is shared: ratios from one run are comparable, absolute numbers are not. Rerun a row
(--rows) when the load average was high. --short runs every row for about a second on tiny data
and asserts nothing about timings (CI runs it to keep the script working).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import bench_check
from common import default_install_python, free_port, instance_env, prepare_postgres

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("REDUMBRELLA_BENCH_POSTGRES_URL",
                              "postgresql://root@127.0.0.1:5432/redumbrella_speed_bench")
HTTP_ROWS = ("check", "subscriptions", "healthz", "home", "regions")
ALL_ROWS = HTTP_ROWS + ("report", "memory", "delivery")


@dataclass
class Row:
    key: str
    what: str
    target: str
    meets: object  # a function of the measured value -> bool
    value: float | None = None
    shown: str = ""
    notes: list[str] = field(default_factory=list)
    load: str = ""


ROWS = {
    "check": Row("check", "POST /api/v1/check ÷ the check's floor", "≥ 0.75", lambda v: v >= 0.75),
    "subscriptions": Row("subscriptions", "GET /api/v1/me/subscriptions ÷ bare Flask", "≥ 0.5", lambda v: v >= 0.5),
    "healthz": Row("healthz", "GET /healthz ÷ bare Flask", "≥ 0.5", lambda v: v >= 0.5),
    "home": Row("home", "GET / (anonymous) ÷ bare Flask template", "≥ 0.5", lambda v: v >= 0.5),
    "regions": Row("regions", "GET /api/v1/regions ÷ bare Flask", "≥ 0.5", lambda v: v >= 0.5),
    "delivery": Row("delivery", "1 alert to N e-mail subscribers, s", "≤ 6 s", lambda v: v <= 6.0),
    "memory": Row("memory", "`redumbrella serve` RSS after load, MiB", "≤ 200", lambda v: v <= 200),
    "report": Row("report", "anonymous report submission p95, ms", "≤ 300", lambda v: v <= 300),
}


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# -- processes ---------------------------------------------------------------------------------------


def start_gunicorn(target: str, env: dict, port: int, log: Path, chdir: Path | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", target, "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--worker-class", "sync", "--backlog", "2048"]
    if chdir:
        command += ["--chdir", str(chdir)]
    handle = open(log, "wb")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,  # noqa: S603
                            start_new_session=True)


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"a server stopped at start-up; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered on port {port}; see {log}")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def memory_kib(pid: int) -> tuple[int, int, str]:
    """(RSS, PSS) in KiB and a short name for one process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        pss = int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, AttributeError):
        return 0, 0, "?"
    return rss, pss, " ".join(command.split()[1:4])[:60]


# -- load ----------------------------------------------------------------------------------------------


LUA = """
local bodies = {%(bodies)s}
local tokens = {%(tokens)s}
local counter = 0
function setup(thread)
  thread:set("offset", math.random(1, 100000))
end
function init(args)
  counter = offset or 0
end
request = function()
  counter = counter + 1
  local headers = {}
  local body = nil
  if #bodies > 0 then
    body = bodies[(counter %% #bodies) + 1]
    headers["Content-Type"] = "application/json"
  end
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(counter %% #tokens) + 1]
  end
  return wrk.format("%(method)s", "%(path)s", headers, body)
end
"""


@dataclass
class Load:
    method: str
    path: str
    bodies: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


def run_wrk(port: int, load: Load, seconds: float, connections: int, workdir: Path) -> dict:
    script = workdir / f"load-{port}-{abs(hash(load.path)) % 10_000}.lua"
    script.write_text(LUA % {"bodies": ",".join(json.dumps(b) for b in load.bodies),
                             "tokens": ",".join(json.dumps(t) for t in load.tokens),
                             "method": load.method, "path": load.path})
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency",
               "-s", str(script), f"http://127.0.0.1:{port}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "requests": requests, "p50": _ms(latency["50"]), "p99": _ms(latency["99"]),
            "errors": int(errors.group(1)) if errors else 0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_python(port: int, load: Load, seconds: float, connections: int, workdir: Path) -> dict:
    """Without wrk: threads with http.client, one request at a time each (costs more CPU)."""
    import http.client

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    started_at = time.monotonic()
    deadline = started_at + seconds

    def worker(offset: int) -> None:
        counter, mine = offset, []
        while time.monotonic() < deadline:
            counter += 1
            headers = {}
            body = None
            if load.bodies:
                body = load.bodies[counter % len(load.bodies)]
                headers["Content-Type"] = "application/json"
            if load.tokens:
                headers["Authorization"] = f"Bearer {load.tokens[counter % len(load.tokens)]}"
            began = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request(load.method, load.path, body, headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                connection.close()
            mine.append(time.perf_counter() - began)
            if status >= 400 or status == 0:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n * 997,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started_at
    latencies.sort()
    if not latencies:
        return {"rate": 0.0, "requests": 0, "p50": 0.0, "p99": 0.0, "errors": errors[0]}
    return {"rate": len(latencies) / elapsed, "requests": len(latencies), "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "errors": errors[0]}


class Server:
    """A gunicorn tree and how much CPU its workers have used."""

    def __init__(self, name: str, proc: subprocess.Popen, port: int):
        self.name, self.proc, self.port = name, proc, port

    def cpu(self) -> float:
        return cpu_seconds([pid for pid in tree(self.proc.pid) if pid != self.proc.pid])


def measure(server: Server, load: Load, seconds: float, args, workdir: Path) -> dict:
    generator = run_wrk if args.wrk else run_python
    before = server.cpu()
    result = generator(server.port, load, seconds, args.connections, workdir)
    result["cpu_ms"] = (server.cpu() - before) * 1000 / max(1, result["requests"])
    return result


def compare(row: Row, yardstick: Server, yard_load: Load, platform: Server, load: Load, args, workdir: Path,
            floors: tuple[Server, ...] = ()) -> None:
    """Yardstick and platform, same load, same time, alternating; ratio of the summed rates.
    Floors (bare Flask plus the platform's statements for the address; the stack's floor) are
    measured in the same rounds, to show what each alone leaves of the yardstick."""
    row.load = loadavg()
    warm = 0.3 if args.short else 2
    sides = [(yardstick, yard_load, []), *((floor, load, []) for floor in floors), (platform, load, [])]
    for server, what, _results in sides:
        measure(server, what, warm, args, workdir)
    for number in range(args.rounds):
        for server, what, results in (sides if number % 2 == 0 else sides[::-1]):
            results.append(measure(server, what, args.seconds, args, workdir))
    yard, plat = sides[0][2], sides[-1][2]
    rate_y, rate_p = _mean(yard, "rate"), _mean(plat, "rate")
    cpu_y, cpu_p = _mean(yard, "cpu_ms"), _mean(plat, "cpu_ms")
    errors = sum(r["errors"] for _server, _load, results in sides for r in results)
    row.value = rate_p / rate_y if rate_y else 0.0
    row.shown = f"{row.value:.2f}"
    row.notes.append(
        f"{yardstick.name} {rate_y:,.0f} req/s (p50 {_mean(yard, 'p50'):.1f} ms, {cpu_y:.2f} CPU ms/req); "
        f"platform {rate_p:,.0f} req/s (p50 {_mean(plat, 'p50'):.1f} ms, {cpu_p:.2f} CPU ms/req); "
        f"CPU ratio {cpu_y / cpu_p if cpu_p else 0:.2f}"
        + (f"; {errors} ERRORS" if errors else ""))
    if len(plat) > 1:
        row.notes.append("rounds: " + ", ".join(f"{p['rate'] / y['rate']:.2f}" for y, p in zip(yard, plat, strict=True)
                                                if y["rate"]))
    shown = row.notes[0]
    for floor, _load, below in sides[1:-1]:
        rate_f = _mean(below, "rate")
        row.notes.append(
            f"{floor.name}: {rate_f:,.0f} req/s ({_mean(below, 'cpu_ms'):.2f} CPU ms/req), "
            f"{rate_f / rate_y if rate_y else 0:.2f} of {yardstick.name}; platform ÷ it "
            f"{rate_p / rate_f if rate_f else 0:.2f}")
        shown += "; " + row.notes[-1]
    print(f"  {row.key:14} {row.shown:>6}   load {row.load}   {shown}", flush=True)


def _mean(results: list[dict], key: str) -> float:
    return statistics.fmean(r[key] for r in results) if results else 0.0


# -- the instance ------------------------------------------------------------------------------------


def fill(env: dict, args) -> dict:
    """bench_check's instance, with every module on and an open subscription form for nobody."""
    if args.short:
        bench_check.ALERTS = 20
    seeded = bench_check.fill(env, args.identifiers)
    from core.app import create_app
    from core.db import connection, db
    from core.plugins import get_registry

    app = create_app({"QUEUE_IMMEDIATE": True})
    with app.test_request_context(), connection():
        registry = get_registry(app)
        for name in sorted(registry.names, key=lambda name: len(registry.infos[name].requires)):
            if not registry.is_enabled(name):
                registry.set_enabled(name, True)
    if not db.is_closed():
        db.close()
    db.obj.close_all()
    return seeded


def fetch(port: int, path: str, token: str | None = None, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers,
                                     method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def capture(port: int, seeded: dict, workdir: Path) -> Path:
    """The platform's answers, for the yardsticks to give back."""
    from yardsticks import write_home_template

    answers = {}
    for key, path, token in (("healthz", "/healthz", None), ("regions", "/api/v1/regions", None),
                             ("subscriptions", "/api/v1/me/subscriptions", seeded["tokens"][0])):
        status, body = fetch(port, path, token)
        if status != 200:
            raise SystemExit(f"{path} answered {status}: {body[:300]!r}")
        answers[key] = json.loads(body)
    status, home = fetch(port, "/")
    if status != 200:
        raise SystemExit(f"/ answered {status}")
    answers["home_lang"], answers["home_title"] = write_home_template(workdir / "templates", home.decode())
    answers["home_bytes"] = len(home)
    target = workdir / "capture.json"
    target.write_text(json.dumps(answers))
    return target


REPORT = {
    "incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london",
    "narrative": "Bench report: took the money back.",
    "perpetrators": [{"names": ["Bench"], "phones": ["07700 900123"]}],
    "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": False},
}


def report_row(row: Row, port: int, count: int) -> None:
    row.load = loadavg()
    body = json.dumps(REPORT).encode()
    for _warm in range(2):
        status, answer = fetch(port, "/api/v1/reports", body=body)
        if status != 201:
            raise SystemExit(f"POST /api/v1/reports answered {status}: {answer[:300]!r}")
    times = []
    for _n in range(count):
        began = time.perf_counter()
        status, _answer = fetch(port, "/api/v1/reports", body=body)
        times.append((time.perf_counter() - began) * 1000)
        assert status == 201, status
    times.sort()
    row.value = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    row.shown = f"{row.value:.0f}"
    row.notes.append(f"n={count}, p50 {statistics.median(times):.0f} ms, p95 {row.value:.0f} ms")
    print(f"  {row.key:14} {row.shown:>6}   load {row.load}   {row.notes[0]}", flush=True)


def memory_row(row: Row, env: dict, seeded: dict, args, workdir: Path) -> None:
    """`redumbrella serve` as an operator starts it, loaded with a mix, then the RSS of its tree."""
    row.load = loadavg()
    port = free_port()
    log = workdir / "serve.log"
    handle = open(log, "wb")  # noqa: SIM115 - the child keeps it
    serve_env = {**env, "REDUMBRELLA_LOG_LEVEL": "WARNING"}
    # The default install (no driver that the database does not need), except in --short runs,
    # which keep CI quick and only prove the row works.
    python = sys.executable if args.short else default_install_python(args.database)
    proc = subprocess.Popen([python, "-m", "core.cli", "serve", "--port", str(port)],  # noqa: S603
                            env=serve_env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for_port(port, proc, log)
        server = Server("serve", proc, port)
        seconds = 0.5 if args.short else 3
        check = Load("POST", "/api/v1/check", [json.dumps({"identifier": i}) for i in seeded["identifiers"]],
                     seeded["tokens"])
        for load in (Load("GET", "/"), check, Load("GET", "/api/v1/me/subscriptions", tokens=seeded["tokens"]),
                     Load("GET", "/api/v1/regions"), Load("GET", "/healthz")):
            measure(server, load, seconds, args, workdir)
        for _n in range(2 if args.short else 6):
            fetch(port, "/api/v1/reports", body=json.dumps(REPORT).encode())
        time.sleep(1)
        parts = [(pid, *memory_kib(pid)) for pid in tree(proc.pid)]
    finally:
        stop(proc)
    rss = sum(p[1] for p in parts) / 1024
    pss = sum(p[2] for p in parts) / 1024
    row.value = rss
    row.shown = f"{rss:.0f}"
    row.notes.append(f"RSS {rss:.0f} MiB, PSS {pss:.0f} MiB over {len(parts)} processes: "
                     + "; ".join(f"{name or '?'} {r / 1024:.0f}/{s / 1024:.0f}" for _pid, r, s, name in parts))
    print(f"  {row.key:14} {row.shown:>6}   load {row.load}   {row.notes[0]}", flush=True)


def delivery_row(row: Row, args) -> None:
    row.load = loadavg()
    command = [sys.executable, str(BENCH / "bench_delivery.py"), "--queues", "sqlite",
               "--subscribers", str(args.subscribers), "--database", args.database]
    if args.short:
        command += ["--settle", "1.5", "--timeout", "60"]
    env = {**os.environ, "REDUMBRELLA_BENCH_POSTGRES_URL": POSTGRES_URL}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)  # noqa: S603
    line = next((line for line in out.stdout.splitlines() if line.startswith("sqlite ")), None)
    if out.returncode != 0 or line is None:
        row.shown = "failed"
        row.notes.append((out.stdout + out.stderr)[-1500:])
    else:
        cells = line.split()
        row.value = float(cells[3])
        row.shown = f"{row.value:.1f}"
        header = next(line for line in out.stdout.splitlines() if line.startswith("One alert"))
        floor = next((line for line in out.stdout.splitlines() if line.startswith("floor: ")), "floor: not measured")
        row.notes.append(f"{header.strip()}: publish {cells[1]} s, first {cells[2]} s, all {cells[3]} s, "
                         f"{cells[4]} e-mails/s, repeats {cells[5]}, worker CPU {cells[7]} s; {floor}")
    print(f"  {row.key:14} {row.shown:>6}   load {row.load}   {row.notes[0]}", flush=True)


# -- main ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", default=",".join(ALL_ROWS), help=f"comma-separated, from: {', '.join(ALL_ROWS)}")
    parser.add_argument("--short", action="store_true", help="about a second a row on tiny data (CI)")
    parser.add_argument("--identifiers", type=int, default=None, help="default 1,000,000 (--short: 1,000)")
    parser.add_argument("--subscribers", type=int, default=None, help="default 10,000 (--short: 30)")
    parser.add_argument("--seconds", type=float, default=None, help="per measurement (default 10; --short 1)")
    parser.add_argument("--rounds", type=int, default=None, help="yardstick/platform pairs per row (default 2)")
    parser.add_argument("--reports", type=int, default=None, help="report submissions timed (default 40)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even with wrk")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    args = parser.parse_args()
    short = args.short
    args.identifiers = args.identifiers or (1000 if short else 1_000_000)
    args.subscribers = args.subscribers or (30 if short else 10_000)
    args.seconds = args.seconds or (1.0 if short else 10.0)
    args.rounds = args.rounds or (1 if short else 2)
    args.reports = args.reports or (3 if short else 40)
    args.wrk = bool(shutil.which("wrk")) and not args.python_load
    chosen = [name.strip() for name in args.rows.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in ALL_ROWS]
    if unknown:
        parser.error(f"unknown rows: {', '.join(unknown)}")

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?") if Path("/proc/cpuinfo").exists() else "?"
    print(f"Red Umbrella speed, {time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPU(s), {cpu}; "
          f"Python {sys.version.split()[0]}; data on {args.database}; load average {loadavg()}", flush=True)
    print(f"Load: {'wrk' if args.wrk else 'Python threads'}, {args.connections} connections, {args.seconds:g} s "
          f"x {args.rounds} round(s) per side; gunicorn 2 sync workers; 127.0.0.1", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    instance = workdir / "instance"
    if args.database == "postgres":
        prepare_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{instance / 'redumbrella.sqlite3'}"
    servers: list[subprocess.Popen] = []
    try:
        needs_instance = any(name in chosen for name in HTTP_ROWS + ("report", "memory"))
        if needs_instance:
            print(f"Filling a fresh instance ({args.identifiers:,} identifiers) ...", flush=True)
            seeded = fill(bench_check.env_for(instance, url), args)
            # The platform as deployed: production Argon2id for receipts, INFO logs (one line a request).
            env = instance_env(instance, url, LOG_LEVEL="INFO")
            platform_port = free_port()
            platform_log = workdir / "platform.log"
            servers.append(start_gunicorn("core.wsgi:app", env, platform_port, platform_log))
            wait_for_port(platform_port, servers[-1], platform_log)
            platform = Server("platform", servers[-1], platform_port)
        if any(name in chosen for name in HTTP_ROWS):
            capture_file = capture(platform_port, seeded, workdir)
            yard_env = {**env, "BENCH_CAPTURE": str(capture_file)}
            yard_port, floor_port = free_port(), free_port()
            servers.append(start_gunicorn("yardsticks:make_app()", yard_env, yard_port, workdir / "yard.log",
                                          chdir=BENCH))
            yardstick = Server("bare Flask", servers[-1], yard_port)
            wait_for_port(yard_port, servers[-1], workdir / "yard.log")
            floors: tuple[Server, ...] = ()
            if any(name in chosen for name in HTTP_ROWS if name != "check"):
                statements_port = free_port()
                servers.append(start_gunicorn("yardsticks:make_app(statements=True)", yard_env, statements_port,
                                              workdir / "statements.log", chdir=BENCH))
                wait_for_port(statements_port, servers[-1], workdir / "statements.log")
                statements = Server("bare Flask + the platform's statements", servers[-1], statements_port)
                stack_get_port = free_port()
                servers.append(start_gunicorn("yardsticks:make_app(stack=True)", yard_env, stack_get_port,
                                              workdir / "stack_get.log", chdir=BENCH))
                wait_for_port(stack_get_port, servers[-1], workdir / "stack_get.log")
                floors = (statements, Server("the stack's floor", servers[-1], stack_get_port))
            if "check" in chosen:
                servers.append(start_gunicorn("bench_check:make_floor_app()", env, floor_port,
                                              workdir / "floor.log", chdir=BENCH))
                wait_for_port(floor_port, servers[-1], workdir / "floor.log")
                floor = Server("floor", servers[-1], floor_port)
                stack_port = free_port()
                servers.append(start_gunicorn("bench_check:make_stack_floor_app()", env, stack_port,
                                              workdir / "stack.log", chdir=BENCH))
                wait_for_port(stack_port, servers[-1], workdir / "stack.log")
                stack = Server("the stack's floor", servers[-1], stack_port)
            status, answer = fetch(platform_port, "/api/v1/check", seeded["tokens"][0],
                                   json.dumps({"identifier": seeded["hit"]}).encode())
            assert status == 200 and json.loads(answer)["result"] == "caution", (status, answer)

        print("\nrow            ratio   (yardstick and platform, same run)", flush=True)
        tokens = seeded["tokens"] if needs_instance else []
        check_bodies = [json.dumps({"identifier": i}) for i in seeded["identifiers"]] if needs_instance else []
        loads = {
            "subscriptions": (Load("GET", "/api/v1/me/subscriptions"),
                              Load("GET", "/api/v1/me/subscriptions", tokens=tokens)),
            "healthz": (Load("GET", "/healthz"), Load("GET", "/healthz")),
            "home": (Load("GET", "/"), Load("GET", "/")),
            "regions": (Load("GET", "/api/v1/regions"), Load("GET", "/api/v1/regions")),
        }
        for key in chosen:
            row = ROWS[key]
            if key == "check":
                load = Load("POST", "/api/v1/check", check_bodies, tokens)
                compare(row, floor, load, platform, load, args, workdir, floors=(stack,))
            elif key in loads:
                compare(row, yardstick, loads[key][0], platform, loads[key][1], args, workdir, floors=floors)
            elif key == "report":
                report_row(row, platform_port, args.reports)
            elif key == "memory":
                memory_row(row, env, seeded, args, workdir)
            elif key == "delivery":
                for proc in servers:  # the delivery bench empties the PostgreSQL database
                    stop(proc)
                servers.clear()
                delivery_row(row, args)
    finally:
        for proc in servers:
            stop(proc)
        if args.keep:
            print(f"Instance kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nSummary ({args.database}; load average now {loadavg()}):")
    print(f"{'row':14} {'what':46} {'value':>8} {'target':>8}  {'met':4} load before")
    for key in chosen:
        row = ROWS[key]
        met = "-" if row.value is None else ("yes" if row.meets(row.value) else "NO")
        print(f"{key:14} {row.what:46} {row.shown:>8} {row.target:>8}  {met:4} {row.load}")
    print("\nDetails:")
    for key in chosen:
        for note in ROWS[key].notes:
            print(f"  {key}: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
