#!/usr/bin/env python3
"""How long the caseload dashboard and a case page take with 10,000 cases stored.

    .venv/bin/python bench/bench_casework.py                        # SQLite
    .venv/bin/python bench/bench_casework.py --database postgres    # PostgreSQL
    .venv/bin/python bench/bench_casework.py --database both --cases 10000 --requests 200

For each database it makes a fresh instance (production settings), fills it with N cases the fast
way (insert_many of already-encrypted values: each case with a working name and contact, three
contacts with notes, three tasks (some overdue), four timeline events, a risk level and review
date; 20 caseworkers; some break-glass entries and open referrals), serves it with gunicorn (2 sync
workers, as `redumbrella serve` does) and measures over real HTTP on 127.0.0.1, signed in as a
casework supervisor (password and two-factor code, a session cookie):

- GET /casework/dashboard                 the caseload dashboard (every worker: a supervisor's view)
- GET /casework/cases/<reference>          a case page (every section; the view is audited)
- GET /casework/dashboard as a caseworker (their own caseload only)

It prints p50 / p99 / mean in milliseconds, one request at a time, then requests per second with
4 clients at once. Nothing is mocked. PostgreSQL: REDUMBRELLA_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/redumbrella_casework_bench; the database is created, and its
public schema emptied first).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_reporting import PASSWORD, Browser, _insert_raw, csrf, serve, summary, timed
from common import prepare_postgres

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("REDUMBRELLA_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/redumbrella_casework_bench")
WORKERS = 20


def setup_instance(instance: Path, url: str, cases: int) -> dict:
    """Migrate, enable casework, make a supervisor and caseworkers with two-factor, insert the cases."""
    from bench_reporting import env_for

    for key, value in env_for(instance, url).items():
        os.environ[key] = value
    from core.accounts import totp
    from core.accounts.service import create_account
    from core.app import create_app
    from core.db import connection
    from core.plugins import get_registry
    from core.schema import upgrade

    app = create_app()
    with app.app_context(), connection():
        upgrade(app)
        get_registry(app).set_enabled("casework", True)
        people = {}
        for email, role in [("supervisor@bench.example", "casework_supervisor")] + [
                (f"worker{i}@bench.example", "caseworker") for i in range(WORKERS)]:
            user = create_account(email, PASSWORD, [role])
            secret = None
            if email.startswith(("supervisor", "worker0@")):  # the two who sign in: two-factor set up
                secret = totp.begin_enrolment(user)
                totp.confirm_enrolment(user, totp.code_for_step(secret, totp.current_step()))
            people[email] = (user.id, secret)
        started = time.perf_counter()
        reference = fill(cases, [people[f"worker{i}@bench.example"][0] for i in range(WORKERS)])
        filled = time.perf_counter() - started
    return {"people": people, "fill_seconds": filled, "reference": reference}


def fill(count: int, workers: list[int]) -> str:
    """Insert `count` cases with contacts, tasks and events; returns a reference of an open case."""
    from core.crypto import keyring
    from core.db import db, utcnow
    from plugins.casework.models import BreakGlass, Case, CaseEvent, Contact, Referral, Task

    ring = keyring()
    rng = random.Random(10)
    now = utcnow()
    today = now.date()
    stages = ["new", "assessment", "plan", "active", "active", "active", "closing", "closed", "closed", "closed"]
    batch = 1000
    for start in range(0, count, batch):
        size = min(batch, count - start)
        rows = []
        for i in range(start, start + size):
            stage = rng.choice(stages)
            opened = now - datetime.timedelta(days=rng.randint(1, 900))
            rows.append({
                "reference": f"C-B{i:06d}", "created_at": opened, "updated_at": now, "stage_changed_at": opened,
                "stage": stage, "worker": workers[i % len(workers)], "working_name": ring.encrypt(f"Bench {i}"),
                "contact_method": "text", "contact": ring.encrypt(f"07700 9{i:05d}"),
                "risk_level": rng.choice(["standard", "medium", "high"]),
                "risk_review_on": today + datetime.timedelta(days=rng.randint(-30, 60)),
                "justice_path": rng.choice(["undecided", "chose_not_to_report", "reported"]),
                "closed_at": opened + datetime.timedelta(days=30) if stage == "closed" else None,
                "closure_reason": "goals_met" if stage == "closed" else None,
                "closure_checklist": "[]", "reopened_count": 0,
            })
        with db.atomic():
            _insert_raw(Case, rows)
            ids = [r[0] for r in Case.select(Case.id).where(
                Case.reference.in_([row["reference"] for row in rows])).tuples()]
            contacts, tasks, events = [], [], []
            for n, case_id in enumerate(ids):
                worker = workers[(start + n) % len(workers)]
                for k in range(3):
                    when = now - datetime.timedelta(days=rng.randint(0, 300))
                    contacts.append({"case": case_id, "by": worker, "happened_at": when, "created_at": when,
                                     "channel": "phone", "outbound": True, "minutes": 10, "outcome": "spoke",
                                     "note": ring.encrypt(f"bench contact note {k} " + "words " * 20)})
                    tasks.append({"case": case_id, "title": ring.encrypt(f"bench task {k}"), "created_at": when,
                                  "due_on": today + datetime.timedelta(days=rng.randint(-20, 40)),
                                  "assigned_to": worker, "created_by": worker,
                                  "done_at": now if k == 0 else None})
                for kind in ("opened", "contact", "task", "stage"):
                    events.append({"case": case_id, "actor": worker, "kind": kind, "detail": "", "row_id": None,
                                   "created_at": now - datetime.timedelta(days=rng.randint(0, 300))})
            _insert_raw(Contact, contacts)
            _insert_raw(Task, tasks)
            _insert_raw(CaseEvent, events)
    with db.atomic():
        _insert_raw(Referral, [{"source": "self", "status": "open", "created_at": now - datetime.timedelta(days=d),
                                "working_name": ring.encrypt("bench"), "contact": ring.encrypt("bench")}
                               for d in range(40)])
        first = Case.select(Case.id).order_by(Case.id).limit(30)
        _insert_raw(BreakGlass, [{"case": case_id, "user": workers[1], "reason": ring.encrypt("bench cover"),
                                  "expires_at": now, "created_at": now} for (case_id,) in first.tuples()])
    return Case.select(Case.reference).where(Case.stage == "active").order_by(Case.id.desc()).first().reference


def signed_in(base: str, email: str, secret: str) -> Browser:
    from core.accounts import totp

    browser = Browser(base)
    login = browser.get("/account/login")
    browser.post("/account/login", {"csrf_token": csrf(login), "email": email, "password": PASSWORD})
    code_page = browser.get("/account/login/code")
    code = totp.code_for_step(secret, totp.current_step() + 1)
    status, _page = browser.post("/account/login/code", {"csrf_token": csrf(code_page), "code": code})
    return browser


def per_second(browsers: list[Browser], path: str, total: int) -> float:
    """Requests per second with len(browsers) clients at once, each with its own connection."""
    each = total // len(browsers)

    def run(browser):
        for _ in range(each):
            browser.get(path)

    threads = [threading.Thread(target=run, args=(b,)) for b in browsers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return each * len(browsers) / (time.perf_counter() - started)


def bench_database(label: str, url: str, cases: int, requests: int) -> None:
    instance = Path(tempfile.mkdtemp(prefix=f"bench-casework-{label}-"))
    if url.startswith("postgres"):
        prepare_postgres(url)
    print(f"\n{label}: filling {cases:,} cases ...", flush=True)
    setup = setup_instance(instance, url, cases)
    print(f"  filled in {setup['fill_seconds']:.1f} s", flush=True)
    process, base = serve(instance, url)
    try:
        sup_id, sup_secret = setup["people"]["supervisor@bench.example"]
        supervisor = signed_in(base, "supervisor@bench.example", sup_secret)
        first = supervisor.get("/casework/dashboard")
        assert "Cases per worker" in first and "Caseload warning" in first, "supervisor sign-in failed"
        case_path = f"/casework/cases/{setup['reference']}"
        assert setup["reference"] in supervisor.get(case_path)
        _wid, worker_secret = setup["people"]["worker0@bench.example"]
        worker = signed_in(base, "worker0@bench.example", worker_secret)
        assert "Your cases" in worker.get("/casework/dashboard"), "caseworker sign-in failed"
        for _ in range(3):  # warm both gunicorn workers
            supervisor.get("/casework/dashboard")
            supervisor.get(case_path)
        results = [
            summary("dashboard, supervisor", timed(lambda: supervisor.get("/casework/dashboard"), requests)),
            summary("case page (audited)", timed(lambda: supervisor.get(case_path), requests)),
            summary("dashboard, caseworker", timed(lambda: worker.get("/casework/dashboard"), requests)),
        ]
        clients = [signed_in(base, "supervisor@bench.example", sup_secret) for _ in range(4)]
        rates = [
            f"  dashboard, supervisor, 4 clients     {per_second(clients, '/casework/dashboard', requests):8.1f} req/s",
            f"  case page, 4 clients                 {per_second(clients, case_path, requests):8.1f} req/s",
        ]
        print(f"  {cases:,} cases, {cases * 3:,} contacts, {cases * 3:,} tasks, {cases * 4:,} events, "
              f"{WORKERS} caseworkers", flush=True)
        for line in results + rates:
            print(line, flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(f"Red Umbrella casework bench: {args.cases:,} cases; gunicorn, 2 sync workers; "
          f"{os.cpu_count()} CPU(s); Python {sys.version.split()[0]}")
    if args.database in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="bench-casework-db-"))
        try:
            bench_database("SQLite", f"sqlite:///{folder / 'bench.sqlite3'}", args.cases, args.requests)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.database in ("postgres", "both"):
        bench_database("PostgreSQL", POSTGRES_URL, args.cases, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
