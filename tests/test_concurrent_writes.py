"""Many people writing at once, through a real multi-process web server with the queue worker running.

Eight writers of each kind (API reports, web-form reports, subscription changes, identifier checks,
moderators' notes and status changes, reporters' follow-up messages sent with a receipt, "Get
support" requests) send their writes at the same time. The web forms are sent as a browser sends
them: the report form's steps each answered with a redirect to the form's own address, and the
last press of each form (Send, a message, Ask for support) tapped twice at once, as on a slow
phone. Every answer must be as a browser expects it (never 500, never "database is locked"), and
every write that was acknowledged must be stored exactly once, a double tap included: on SQLite,
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
from functools import partial

import pytest
from fixtures.processes import PYTHON, Process, free_port, instance_env, start_worker, wait_web
from helpers import enable, enrol_two_factor
from test_reporting_common import FORM, WHAT, WHEN, WHO, WISHES, in_db

pytestmark = pytest.mark.slow

WRITERS = 8  # of each kind, all at the same time
WRITES = 40  # per writer: 320 writes of each kind
FORM_REPORTS = 8  # per web-form writer: each is six steps (a POST and a GET each), Send tapped twice
FOLLOW_UPS = 4  # messages per follow-up writer, each tapped twice, to one of four reports by receipt
SUPPORT_REQUESTS = 4  # "Get support" forms per writer, each tapped twice
MEMBERS = 4  # subscription and check writers share accounts, two per account, as two tabs would
REGIONS = ["london", "north_west", "scotland", "wales", "south_east"]
API_REPORT = {
    "incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london",
    "narrative": "Took the money back.", "perpetrators": [{"names": ["Dave"], "phones": ["07912 345678"]}],
    "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": False},
}
SUPPORT = {"contact_method": "text", "contact": "07700 900999", "safe_times": "after 6pm", "may_leave_message": "no"}
REFERENCE = re.compile(r'class="reference">(R-[0-9A-Z]{6})<')
SUPPORT_RECEIPT = re.compile(r'id="receipt">(?:<bdi[^>]*>)?<strong>([^<]+)</strong>')


class _Stay(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to look at, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's HTTP client: its own cookies, JSON or form bodies, and every answer kept."""

    def __init__(self, port: int, token: str | None = None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies)
        self.staying = urllib.request.build_opener(cookies, _Stay)

    def send(self, method: str, path: str, body=None, form: dict | None = None, follow: bool = True) -> tuple[int, str]:
        """(status, page); with follow=False, a redirect is not followed: (its status, where it points)."""
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
            with (self.opener if follow else self.staying).open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400 and not follow:
                return exc.code, exc.headers.get("Location", "")
            return exc.code, exc.read().decode(errors="replace")


def at_once(*calls) -> list:
    """Make the calls in threads let go at the same moment (a double tap: one form sent twice);
    what each returned, in order."""
    start = threading.Barrier(len(calls))

    def make(call):
        start.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as taps:
        return [tap.result() for tap in [taps.submit(make, call) for call in calls]]


def hidden(page: str, name: str) -> str:
    """The value of the page's first hidden field of that name."""
    return re.search(rf'name="{name}"[^>]*value="([^"]+)"', page).group(1)


def message_key(page: str) -> str:
    """The one-time key of the message form of a reporter's page (other forms have their own)."""
    form = next(form for form in re.findall(r"<form.*?</form>", page, re.S) if 'value="message"' in form)
    return hidden(form, "form_key")


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
            if status >= 500 or "database is locked" in body:
                self.failures.append(f"{kind}: {status} {body[:300]}")
        return 200 <= status < 300

    def wrong(self, kind: str, what: str) -> None:
        with self.lock:
            self.failures.append(f"{kind}: {what}")

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
    """Each report through every step; Send tapped twice at once makes one report, and the page
    after each tap shows its reference."""
    for _ in range(FORM_REPORTS):
        person = Browser(port)
        status, page = person.send("GET", FORM)
        tally.answer("form page", status, page)
        token = hidden(page, "csrf_token")
        for code, values in (("what", WHAT), ("when", WHEN), ("who", WHO), ("wishes", WISHES), ("files", {})):
            if form_step(person, tally, code, {"csrf_token": token, "step": code, "action": "next", **values}) is None:
                break
        else:
            send = partial(form_step, person, tally, "check", {"csrf_token": token, "step": "check", "action": "send"})
            pages = at_once(send, send)
            shown = {match.group(1) for match in map(REFERENCE.search, filter(None, pages)) if match}
            if len(shown) == 1 and all(pages):
                tally.ack("form report", shown.pop())
            else:
                tally.wrong("form send", f"two taps of Send showed the references {shown or 'none'}")


def form_step(person: Browser, tally: Tally, code: str, form: dict) -> str | None:
    """POST one step of the report form; it must answer with a redirect to the form's own address
    (post/redirect/get), which is then fetched. The page, or None when either went wrong."""
    status, where = person.send("POST", FORM, form=form, follow=False)
    tally.answer(f"form step {code}", status, where)
    if status != 303:
        return None
    if urllib.parse.urlsplit(where).path != FORM:
        tally.wrong(f"form step {code}", f"redirected to {where}")
        return None
    status, page = person.send("GET", FORM)
    return page if tally.answer("form page", status, page) else None


def follow_ups(port: int, reference: str, receipt: str, writer: int, tally: Tally) -> None:
    """A reporter opens their report with its receipt and writes to the team, each message tapped
    twice at once: it is sent once, and the other tap is told it was already sent."""
    person = Browser(port)
    status, page = person.send("GET", "/reporting/follow-up")
    tally.answer("follow-up page", status, page)
    token = hidden(page, "csrf_token")
    status, page = person.send("POST", "/reporting/follow-up", form={"csrf_token": token, "receipt": receipt})
    if not tally.answer("follow-up open", status, page):
        return
    for number in range(FOLLOW_UPS):
        body = f"message {writer}-{number}"
        form = {"csrf_token": token, "receipt": receipt, "action": "message", "body": body,
                "form_key": message_key(page)}
        send = partial(person.send, "POST", "/reporting/follow-up", form=form)
        answers = [answer for status, answer in at_once(send, send)
                   if tally.answer("follow-up message", status, answer)]
        if len(answers) < 2:
            return
        sent = [answer for answer in answers if "already sent" not in answer]
        if len(sent) != 1:
            tally.wrong("follow-up message", f"{len(sent)} of two taps were told {body!r} was sent")
            return
        tally.ack("follow-up message", (reference, body))
        page = sent[0]


def support_requests(port: int, writer: int, tally: Tally) -> None:
    """Someone without an account asks for support, the form tapped twice at once: one request, and
    one receipt (shown to the first tap; to the second, again or not at all)."""
    for number in range(SUPPORT_REQUESTS):
        person = Browser(port)
        status, page = person.send("GET", "/casework/support")
        if not tally.answer("support page", status, page):
            continue
        needs = f"needs {writer}-{number}"
        form = {"csrf_token": hidden(page, "csrf_token"), "form_key": hidden(page, "form_key"), "action": "send",
                "needs": needs, **SUPPORT}
        send = partial(person.send, "POST", "/casework/support", form=form)
        answers = [answer for status, answer in at_once(send, send) if tally.answer("support request", status, answer)]
        receipts = {match.group(1) for match in map(SUPPORT_RECEIPT.search, answers) if match}
        if len(answers) == 2 and len(receipts) == 1:
            tally.ack("support request", needs)
        elif len(answers) == 2:
            tally.wrong("support request", f"two taps of {needs!r} showed {len(receipts)} receipts")


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


def prepare(app, make_user) -> tuple[str, list[str], list[tuple[str, str]]]:
    """A moderator's token, members' tokens and four anonymous reports, made the ordinary way, to
    moderate and to follow up: (reference, receipt) of each."""
    from core.accounts.tokens import create_token
    from core.settings import save_settings
    from plugins.reporting import service
    from plugins.reporting.schemas import ReportSchema

    enable(app, "reporting", "alerts", "casework")
    moderator = make_user("moderator", email="moderator@example.org")
    members = [make_user("member", email=f"member{n}@example.org") for n in range(MEMBERS)]
    enrol_two_factor(app, moderator)
    with in_db(app), app.test_request_context():
        save_settings("alerts", {"check_limit_account": 1_000_000, "check_limit_address": 1_000_000,
                                 "similar_warning": 1_000_000})
        moderator_token = create_token(moderator, "load test")[1]
        member_tokens = [create_token(member, "load test")[1] for member in members]
        report = ReportSchema().load(API_REPORT)
        made = [service.create_report(report, source="api") for _ in range(4)]
    return moderator_token, member_tokens, [(submitted.report.reference, submitted.receipt) for submitted in made]


def test_concurrent_writers_of_every_kind_get_no_5xx_and_lose_nothing(app, make_user, database_url, tmp_path):
    moderator_token, member_tokens, reports = prepare(app, make_user)
    references = [reference for reference, _receipt in reports]
    env = instance_env(tmp_path / "instance", database_url)
    web, port = start_web(env, tmp_path / "web.log")
    worker = start_worker(env, tmp_path / "worker.log", workers=2)
    tally = Tally()
    try:
        wait_web(web, port)
        jobs = []
        with ThreadPoolExecutor(max_workers=WRITERS * 7) as pool:
            for writer in range(WRITERS):
                member = writer % MEMBERS
                jobs += [
                    pool.submit(api_reports, port, tally),
                    pool.submit(form_reports, port, tally),
                    pool.submit(subscription_changes, port, member_tokens[member], writer, tally),
                    pool.submit(identifier_checks, port, member_tokens[member], member, tally),
                    pool.submit(moderation, port, moderator_token, references, writer, tally),
                    pool.submit(follow_ups, port, *reports[writer % len(reports)], writer, tally),
                    pool.submit(support_requests, port, writer, tally),
                ]
            for job in jobs:
                job.result()
        assert worker.alive(), worker.output()[-3000:]
    finally:
        web.stop()
        worker.stop()

    assert not tally.failures, f"{len(tally.failures)} wrong answers, e.g.:\n" + "\n".join(tally.failures[:5])
    # The report form's steps answer with a redirect (post/redirect/get); everything else with its page or JSON.
    assert {(kind.startswith("form step"), status) for (kind, status) in tally.statuses} <= {
        (True, 303), (False, 200), (False, 201)}, tally.statuses
    for log in (web, worker):  # nothing failed out of sight either (a hook's error is logged, not answered)
        assert "database is locked" not in log.output(), log.output()[-3000:]
    stored_exactly_once(app, tally, references)


def stored_exactly_once(app, tally: Tally, references: list[str]) -> None:
    from core.audit import AuditEntry, verify
    from core.throttle import ThrottleCount
    from plugins.alerts.check import CHECKS
    from plugins.alerts.models import Subscription, SubscriptionRegion
    from plugins.casework.models import Referral
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

        # Each follow-up message once, though every one was sent twice; each audited once.
        messages = Counter((m.report.reference, m.body)
                           for m in ReportMessage.select().where(ReportMessage.kind == "from_reporter"))
        assert len(tally.acknowledged["follow-up message"]) == WRITERS * FOLLOW_UPS
        assert sorted(messages) == sorted(tally.acknowledged["follow-up message"]) and set(messages.values()) == {1}
        assert AuditEntry.select().where(AuditEntry.action == "report.reporter_wrote").count() == len(messages)

        # Each "Get support" form made one request, though every one was sent twice; and each web-form
        # report, whose reporter asked for support, one referral too (made by a hook, which only logs
        # a failure: a lost one shows here).
        asked = Counter(r.needs for r in Referral.select().where(Referral.source == "self"))
        assert len(tally.acknowledged["support request"]) == WRITERS * SUPPORT_REQUESTS
        assert sorted(asked) == sorted(tally.acknowledged["support request"]) and set(asked.values()) == {1}
        referred = Counter(r.report_reference for r in Referral.select().where(Referral.source == "report"))
        assert sorted(referred) == sorted(web) and set(referred.values()) == {1}
        assert AuditEntry.select().where(AuditEntry.action == "referral.created").count() == len(asked) + len(web)

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
