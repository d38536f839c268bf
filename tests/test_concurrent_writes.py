"""Many people writing at once, through a real multi-process web server with the queue worker running.

Eight writers of each kind (API reports, web-form reports, subscription changes, identifier checks,
moderators' notes and status changes) send a few hundred writes each at the same time. Every answer
must be below 500, and every write that was acknowledged must be stored exactly once: on SQLite,
where a transaction that read before writing used to fail at once with "database is locked", and
on PostgreSQL, where two writers of one record must not lose either's change.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from fixtures.processes import PYTHON, Process, free_port, instance_env, start_worker, wait_web
from helpers import enable, enrol_two_factor
from test_reporting_common import WHAT, WHEN, WHO, WISHES, in_db

pytestmark = pytest.mark.slow

WRITERS = 8  # of each kind, all at the same time
WRITES = 40  # per writer: 320 writes of each kind
FORM_REPORTS = 8  # per web-form writer: each is seven requests, six of which save the draft
MEMBERS = 4  # subscription and check writers share accounts, two per account, as two tabs would
REGIONS = ["london", "north_west", "scotland", "wales", "south_east"]
API_REPORT = {
    "incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london",
    "narrative": "Took the money back.", "perpetrators": [{"names": ["Dave"], "phones": ["07912 345678"]}],
    "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": False},
}


class Browser:
    """One person's HTTP client: its own cookies, JSON or form bodies, and every answer kept."""

    def __init__(self, port: int, token: str | None = None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def send(self, method: str, path: str, body=None, form: dict | None = None) -> tuple[int, str]:
        headers = {"Accept": "application/json"} if form is None else {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


class Tally:
    """Every answer's status, and what each acknowledged write should have stored."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.acknowledged: dict[str, list] = {}

    def answer(self, kind: str, status: int, body: str) -> bool:
        with self.lock:
            self.statuses[(kind, status)] += 1
            if status >= 500:
                self.failures.append(f"{kind}: {status} {body[:300]}")
        return 200 <= status < 300

    def ack(self, kind: str, value) -> None:
        with self.lock:
            self.acknowledged.setdefault(kind, []).append(value)


def api_reports(port: int, tally: Tally) -> None:
    person = Browser(port)
    for _ in range(WRITES):
        status, body = person.send("POST", "/api/v1/reports", API_REPORT)
        if tally.answer("api report", status, body):
            tally.ack("api report", json.loads(body)["reference"])


def form_reports(port: int, tally: Tally) -> None:
    for _ in range(FORM_REPORTS):
        person = Browser(port)
        status, page = person.send("GET", "/reporting/report")
        tally.answer("form page", status, page)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        for code, values in (("what", WHAT), ("when", WHEN), ("who", WHO), ("wishes", WISHES), ("files", {}),
                             ("check", None)):
            action = "send" if values is None else "next"
            status, page = person.send("POST", "/reporting/report",
                                       form={"csrf_token": token, "step": code, "action": action, **(values or {})})
            if not tally.answer(f"form step {code}", status, page):
                break
        else:
            tally.ack("form report", re.search(r'class="reference">(R-[0-9A-Z]{6})<', page).group(1))


def subscription_changes(port: int, token: str, writer: int, tally: Tally) -> None:
    person = Browser(port, token)
    for number in range(WRITES):
        regions = saved_regions(writer + number)
        status, body = person.send("PUT", "/api/v1/me/subscriptions",
                                   {"regions": regions, "channels": ["web"], "frequency": "immediate"})
        tally.answer("subscription", status, body)


def saved_regions(number: int) -> list[str]:
    return [REGIONS[number % len(REGIONS)], REGIONS[(number + 1) % len(REGIONS)]]


def identifier_checks(port: int, token: str, member: int, tally: Tally) -> None:
    person = Browser(port, token)
    for number in range(WRITES):
        status, body = person.send("POST", "/api/v1/check", {"identifier": f"07912 {number:06d}"})
        if tally.answer("check", status, body):
            tally.ack(f"check by {member}", number)


def moderation(port: int, token: str, references: list[str], writer: int, tally: Tally) -> None:
    person = Browser(port, token)
    for number in range(WRITES):
        reference = references[(writer + number) % len(references)]
        if number % 4 == 3:  # every moderator verifies each report at some point, often at the same moment
            status, body = person.send("POST", f"/api/v1/reports/{reference}/status", {"status": "verified"})
            tally.answer("status", status, body)
            continue
        note = f"note {writer}-{number}"
        status, body = person.send("POST", f"/api/v1/reports/{reference}/notes", {"body": note})
        if tally.answer("note", status, body):
            tally.ack("note", (reference, note))


def start_web(env: dict, log) -> tuple[Process, int]:
    """Three worker processes with three threads each: nine requests at a time, each with its own
    connection, as production's gunicorn would have."""
    port = free_port()
    command = [PYTHON, "-m", "gunicorn", "core.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "3",
               "--worker-class", "gthread", "--threads", "3", "--graceful-timeout", "2"]
    return Process(command, env, log), port


def prepare(app, make_user) -> tuple[str, list[str], list[str]]:
    """A moderator's token, members' tokens and four reports to moderate, made the ordinary way."""
    from core.accounts.tokens import create_token
    from core.settings import save_settings
    from plugins.reporting import service
    from plugins.reporting.schemas import ReportSchema

    enable(app, "reporting", "alerts")
    moderator = make_user("moderator", email="moderator@example.org")
    members = [make_user("member", email=f"member{n}@example.org") for n in range(MEMBERS)]
    enrol_two_factor(app, moderator)
    with in_db(app), app.test_request_context():
        save_settings("alerts", {"check_limit_account": 1_000_000, "check_limit_address": 1_000_000,
                                 "similar_warning": 1_000_000})
        moderator_token = create_token(moderator, "load test")[1]
        member_tokens = [create_token(member, "load test")[1] for member in members]
        report = ReportSchema().load(API_REPORT)
        references = [service.create_report(report, source="api").report.reference for _ in range(4)]
    return moderator_token, member_tokens, references


def test_concurrent_writers_of_every_kind_get_no_5xx_and_lose_nothing(app, make_user, database_url, tmp_path):
    moderator_token, member_tokens, references = prepare(app, make_user)
    env = instance_env(tmp_path / "instance", database_url)
    web, port = start_web(env, tmp_path / "web.log")
    worker = start_worker(env, tmp_path / "worker.log", workers=2)
    tally = Tally()
    try:
        wait_web(web, port)
        jobs = []
        with ThreadPoolExecutor(max_workers=WRITERS * 5) as pool:
            for writer in range(WRITERS):
                member = writer % MEMBERS
                jobs += [
                    pool.submit(api_reports, port, tally),
                    pool.submit(form_reports, port, tally),
                    pool.submit(subscription_changes, port, member_tokens[member], writer, tally),
                    pool.submit(identifier_checks, port, member_tokens[member], member, tally),
                    pool.submit(moderation, port, moderator_token, references, writer, tally),
                ]
            for job in jobs:
                job.result()
        assert worker.alive(), worker.output()[-3000:]
    finally:
        web.stop()
        worker.stop()

    assert not tally.failures, f"{len(tally.failures)} answers of 5xx, e.g.:\n" + "\n".join(tally.failures[:5])
    assert {status for (_kind, status) in tally.statuses} <= {200, 201}, tally.statuses
    stored_exactly_once(app, tally, references)


def stored_exactly_once(app, tally: Tally, references: list[str]) -> None:
    from core.audit import AuditEntry, verify
    from core.throttle import ThrottleCount
    from plugins.alerts.check import CHECKS
    from plugins.alerts.models import Subscription, SubscriptionRegion
    from plugins.reporting.models import Report, ReportMessage

    api, web = tally.acknowledged["api report"], tally.acknowledged["form report"]
    assert len(api) == WRITERS * WRITES and len(web) == WRITERS * FORM_REPORTS
    with in_db(app):
        stored = Counter(reference for (reference,) in Report.select(Report.reference).tuples())
        assert all(stored[reference] == 1 for reference in api + web)
        assert sum(stored.values()) == len(api) + len(web) + len(references)  # nothing unacknowledged either

        notes = Counter((m.report.reference, m.body)
                        for m in ReportMessage.select().where(ReportMessage.kind == "note"))
        assert sorted(notes) == sorted(tally.acknowledged["note"]) and set(notes.values()) == {1}

        # Every verification was acknowledged and audited, and left its report verified.
        verified = AuditEntry.select().where(AuditEntry.action == "report.verified").count()
        assert verified == tally.statuses[("status", 200)]
        assert all(Report.get(Report.reference == r).status == "verified" for r in references)

        # One subscription per person, holding exactly the regions of one of their saves, not a mix.
        assert Subscription.select().count() == MEMBERS
        saves = {tuple(saved_regions(number)) for number in range(len(REGIONS))}
        for subscription in Subscription.select():
            regions = SubscriptionRegion.select().where(SubscriptionRegion.subscription == subscription)
            assert tuple(r.region for r in regions.order_by(SubscriptionRegion.id)) in saves

        # Each acknowledged check was counted once against its account, and audited once.
        for member in range(MEMBERS):
            assert len(tally.acknowledged[f"check by {member}"]) == 2 * WRITES
        counts = [row.count for row in ThrottleCount.select().where(ThrottleCount.scope == CHECKS.scope)
                  if row.key.startswith("user:")]
        assert sorted(counts) == [2 * WRITES] * MEMBERS
        assert AuditEntry.select().where(AuditEntry.action == "alerts.check").count() == MEMBERS * 2 * WRITES
        assert verify() is None  # the audit chain stayed whole under all of it
