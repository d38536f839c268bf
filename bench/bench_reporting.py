#!/usr/bin/env python3
"""How long it takes to submit a report, and to list the moderation queue with 100,000 reports.

    .venv/bin/python bench/bench_reporting.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/bench_reporting.py --databases sqlite --reports 100000 --submits 200

For each database it makes a fresh instance (default production settings, including Argon2id at
t=3, m=64 MiB, p=4 for the anonymous receipt), fills it with N reports (each with a perpetrator, a
phone identifier shared with a few other reports, encrypted text and consents), serves it with
gunicorn (2 sync workers, as `redumbrella serve` does) and measures over real HTTP on 127.0.0.1:

- submit (API): POST /api/v1/reports, anonymous, so the receipt's slow hash is included;
- submit (web form): the six POSTs of the step-by-step form, and the final "send" alone;
- queue (page): GET /reporting/moderate/ as a signed-in moderator (two-factor sign-in done once);
- queue (API):  GET /api/v1/reports with a moderator's bearer token.

It prints p50 / p99 / mean in milliseconds. PostgreSQL: REDUMBRELLA_BENCH_POSTGRES_URL (default
postgresql://root@127.0.0.1:5432/redumbrella_h4_bench; the database is created, and its public
schema emptied first). Nothing is mocked; the numbers include everything a request does.
"""

from __future__ import annotations

import argparse
import datetime
import http.cookiejar
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from common import (  # bench/common.py: scripts run from bench/, which is on sys.path
    free_port,
    instance_env,
    prepare_postgres,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("REDUMBRELLA_BENCH_POSTGRES_URL",
                              "postgresql://root@127.0.0.1:5432/redumbrella_h4_bench")
PASSWORD = "bench passphrase that is long enough"  # noqa: S105




def env_for(instance: Path, url: str) -> dict:
    return instance_env(instance, url, LOG_LEVEL="WARNING")


def setup_instance(instance: Path, url: str, reports: int) -> dict:
    """Migrate, enable reporting, create a moderator with two-factor and a token, insert the reports."""
    for key, value in env_for(instance, url).items():
        os.environ[key] = value
    from core.accounts import totp
    from core.accounts.service import create_account
    from core.accounts.tokens import create_token
    from core.app import create_app
    from core.db import connection
    from core.plugins import get_registry
    from core.schema import upgrade

    app = create_app()
    with app.app_context(), connection():
        upgrade(app)
        get_registry(app).set_enabled("reporting", True)
        user = create_account("moderator@bench.example", PASSWORD, ["moderator"])
        secret = totp.begin_enrolment(user)
        totp.confirm_enrolment(user, totp.code_for_step(secret, totp.current_step()))
        _record, token = create_token(user, "bench")
        started = time.perf_counter()
        fill(reports)
        filled = time.perf_counter() - started
    return {"secret": secret, "token": token, "fill_seconds": filled}


def fill(count: int) -> None:
    """Insert `count` reports the fast way (insert_many), with the same encryption as real ones."""
    from core.crypto import keyring
    from core.db import db, utcnow
    from plugins.reporting.models import Consent, Perpetrator, PerpetratorIdentifier, Report

    ring = keyring()
    rng = random.Random(7)
    now = utcnow()
    types = ["physical_assault", "robbery", "threats", "non_payment", "fake_client", "rape", "harassment"]
    regions = ["london", "north_west", "wales", "scotland", "yorkshire"]
    statuses = ["new"] * 6 + ["triage", "needs_info", "verified", "rejected", "duplicate"]
    batch = 2000
    for start in range(0, count, batch):
        size = min(batch, count - start)
        rows = []
        for i in range(start, start + size):
            rows.append({
                "reference": f"R-B{i:07d}",
                "status": rng.choice(statuses),
                "urgency": rng.choice([0, 0, 0, 1, 1, 2]),
                "incident_types": ",".join(rng.sample(types, 2)),
                "occurred_on": (now - datetime.timedelta(days=rng.randint(0, 700))).date(),
                "region": rng.choice(regions),
                "location": ring.encrypt(f"bench location {i}"),
                "narrative": ring.encrypt(f"bench narrative {i} " + "words " * 60),
                "created_at": now - datetime.timedelta(minutes=count - i),
                "updated_at": now,
                "status_changed_at": now - datetime.timedelta(minutes=count - i),
                "source": "web",
                "on_behalf": False,
                "many_from_address": False,
            })
        with db.atomic():
            # Raw values: the Fernet tokens above are already encrypted, so bypass the fields.
            _insert_raw(Report, rows)
            ids = [r[0] for r in Report.select(Report.id).where(
                Report.reference.in_([row["reference"] for row in rows])).tuples()]
            perps = [{"report": rid, "position": 0, "names": ring.encrypt(json.dumps(["bench name"]))} for rid in ids]
            _insert_raw(Perpetrator, perps)
            perp_ids = dict(Perpetrator.select(Perpetrator.report, Perpetrator.id).where(
                Perpetrator.report.in_(ids)).tuples())
            idents = []
            for rid in ids:
                phone = f"+44770090{rng.randint(0, max(1, count // 4)) % 10000:04d}"
                idents.append({"perpetrator": perp_ids[rid], "report": rid, "kind": "phone",
                               "blind_index": ring.blind_index("phone", phone), "display": ring.encrypt(phone)})
            _insert_raw(PerpetratorIdentifier, idents)
            _insert_raw(Consent, [{"report": rid, "purpose": "share_alert", "given_at": now} for rid in ids])


def _insert_raw(model, rows: list[dict]) -> None:
    """insert_many without the fields' db_value (values are already what the column stores)."""
    from core.db import db

    if not rows:
        return
    columns = list(rows[0])
    table = model._meta.table_name
    names = ", ".join(f'"{model._meta.fields[c].column_name}"' for c in columns)
    marks = ", ".join([db.param] * len(columns))
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608 - fixed names
    cursor = db.cursor()
    cursor.executemany(sql, [tuple(row[c] for c in columns) for row in rows])


def serve(instance: Path, url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "core.wsgi:app", "--bind", f"127.0.0.1:{port}",
               "--workers", "2", "--worker-class", "sync", "--log-level", "warning"]
    process = subprocess.Popen(command, env=env_for(instance, url), cwd=ROOT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=30)  # noqa: S310
            return process, base
        except urllib.error.HTTPError:  # 503 while no queue worker runs: the web side answers
            return process, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


class Browser:
    """A cookie-keeping HTTP client, like a browser without JavaScript."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict | None = None) -> str:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        with self.opener.open(request, timeout=60) as response:
            return response.read().decode()

    def post(self, path: str, data: dict, headers: dict | None = None) -> tuple[int, str]:
        body = urlencode(data, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {}, method="POST")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return (f"  {label:<34} n={len(times):<4} p50 {statistics.median(ordered):8.1f} ms   "
            f"p99 {p99:8.1f} ms   mean {statistics.fmean(ordered):8.1f} ms")


REPORT = {
    "incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london",
    "narrative": "Bench report: took the money back.",
    "perpetrators": [{"names": ["Bench"], "phones": ["07700 900123"], "vehicle": {"plate": "AB12 CDE"}}],
    "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": False},
}
STEPS = [
    ("what", {"incident_types": ["robbery"], "narrative": "Bench web report."}),
    ("when", {"occurred_on": "2024-05-01", "region": "london"}),
    ("who", {"p0-phones": "07700 900123"}),
    ("wishes", {"consent_share_alert": "yes", "consent_police_intelligence": "no", "consent_police_report": "no",
                "consent_wants_support": "no", "consent_research": "no"}),
    ("files", {}),
]


def bench_database(label: str, url: str, reports: int, submits: int, lists: int) -> None:
    instance = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    if url.startswith("postgres"):
        prepare_postgres(url)
    print(f"\n{label}: filling {reports:,} reports ...", flush=True)
    setup = setup_instance(instance, url, reports)
    print(f"  filled in {setup['fill_seconds']:.1f} s", flush=True)
    process, base = serve(instance, url)
    try:
        api = Browser(base)

        def submit_api():
            request = urllib.request.Request(base + "/api/v1/reports", data=json.dumps(REPORT).encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                assert response.status == 201

        submit_api()  # warm both workers' caches
        submit_api()
        results = [summary("submit, API (POST /api/v1/reports)", timed(submit_api, submits))]

        finals = []

        def submit_form():
            browser = Browser(base)
            token = csrf(browser.get("/reporting/report"))
            for code, values in STEPS:
                status, _page = browser.post("/reporting/report", {"csrf_token": token, "step": code,
                                                                   "action": "next", **values})
                assert status == 200, (code, status)
            started = time.perf_counter()
            status, page = browser.post("/reporting/report", {"csrf_token": token, "step": "check", "action": "send"})
            finals.append((time.perf_counter() - started) * 1000)
            assert status == 200 and 'id="receipt"' in page

        form_times = timed(submit_form, max(10, submits // 4))
        results.append(summary("submit, web form (all 7 requests)", form_times))
        results.append(summary("submit, web form (final send only)", finals))

        staff = Browser(base)
        login = staff.get("/account/login")
        staff.post("/account/login", {"csrf_token": csrf(login), "email": "moderator@bench.example",
                                      "password": PASSWORD})
        code_page = staff.get("/account/login/code")
        from core.accounts import totp

        code = totp.code_for_step(setup["secret"], totp.current_step() + 1)
        staff.post("/account/login/code", {"csrf_token": csrf(code_page), "code": code})
        first = staff.get("/reporting/moderate/")
        assert "Reports" in first and "R-B" in first, "moderator sign-in failed"
        total = re.search(r"([\d,]+) reports\.", first)
        results.append(summary("queue page 1 (GET /reporting/moderate/)",
                               timed(lambda: staff.get("/reporting/moderate/"), lists)))
        results.append(summary("queue page 200", timed(lambda: staff.get("/reporting/moderate/?page=200"), lists)))
        bearer = {"Authorization": f"Bearer {setup['token']}"}
        results.append(summary("queue API (GET /api/v1/reports)",
                               timed(lambda: api.get("/api/v1/reports", headers=bearer), lists)))
        one = re.search(r"/reporting/moderate/(R-[0-9A-Z]+)\"", first).group(1)
        results.append(summary("one report, audited (GET /moderate/R-..)",
                               timed(lambda: staff.get(f"/reporting/moderate/{one}"), lists)))
        print(f"  {reports + submits + 2 + len(form_times):,} reports stored, "
              f"{total.group(1) if total else '?'} in the open queue", flush=True)
        for line in results:
            print(line, flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--submits", type=int, default=100)
    parser.add_argument("--lists", type=int, default=50)
    args = parser.parse_args()
    print(f"Red Umbrella reporting bench: {args.reports:,} reports; gunicorn, 2 sync workers; "
          f"{os.cpu_count()} CPU(s); Python {sys.version.split()[0]}")
    for name in args.databases.split(","):
        if name == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="bench-sqlite-db-"))
            try:
                bench_database("SQLite", f"sqlite:///{folder / 'bench.sqlite3'}", args.reports, args.submits,
                               args.lists)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        elif name.startswith("postgres"):
            bench_database("PostgreSQL", POSTGRES_URL, args.reports, args.submits, args.lists)
        else:
            raise SystemExit(f"unknown database {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
