"""Erasures and local wording edits while other people keep writing, through a real multi-process web
server with the queue worker running, on SQLite and on PostgreSQL.

- Erasure: members erase their own accounts (half from /account/delete, half with DELETE
  /api/v1/me) while other members send reports and check numbers. Every erased account is gone
  with everything it typed (test_erasure's search of every column of every table), and nothing of
  the others is lost: every report they were answered for is stored once, as theirs.
- Local wording: administrators change different messages at the same moment while visitors load
  pages. Every change lands (the language's version went up once per change: none overwrote
  another), every page answered 200 during the edits, and the pages show every change after.

No answer may be a 5xx, and no process may meet "database is locked".
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from fixtures.processes import instance_env, start_worker, wait_web
from helpers import TEST_PASSWORD, enable, enrol_two_factor, next_two_factor_code
from test_concurrent_writes import API_REPORT, Browser, Tally, start_web
from test_erasure import Person, canary, traces
from test_reporting_common import in_db

pytestmark = pytest.mark.slow

ERASED = 6  # members who erase their accounts, half on the page and half through the API
STAYING = 4  # members who keep writing meanwhile
WRITES = 30  # reports and checks by each staying member
OWN_REPORTS = 3  # reports each erased member sends before erasing
ADMINS = 4  # administrators changing wording at the same time
EDITS = 5  # messages each administrator changes
READERS = 4  # visitors loading pages meanwhile
PAGE_LOADS = 25  # by each visitor


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def web_sign_in(person: Browser, app, email: str) -> None:
    """The sign-in form, and the two-factor step when the account has one."""
    status, page = person.send("GET", "/account/login")
    assert status == 200, page[:500]
    status, page = person.send("POST", "/account/login",
                               form={"csrf_token": csrf(page), "email": email, "password": TEST_PASSWORD})
    assert status == 200, page[:500]
    if 'name="code"' in page:
        status, page = person.send("POST", "/account/login/code",
                                   form={"csrf_token": csrf(page), "code": next_two_factor_code(app, email)})
        assert status == 200 and 'name="code"' not in page, page[:500]


def running(app, database_url: str, tmp_path):
    """gunicorn (three processes of three threads) and the queue worker on the test's database."""
    env = instance_env(app.config["INSTANCE_PATH"], database_url)
    web, port = start_web(env, tmp_path / "web.log")
    worker = start_worker(env, tmp_path / "worker.log", workers=2)
    wait_web(web, port)
    return web, worker, port


def no_lock_errors(*processes) -> None:
    for process in processes:
        assert process.alive(), process.output()[-3000:]
        assert "database is locked" not in process.output()


def all_at_once(jobs: list) -> None:
    """Run every job in its own thread, all released by one barrier; re-raise the first failure."""
    start = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job):
        start.wait(timeout=60)
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - raised again below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a writer is still running"
    if failures:
        raise failures[0]


# -- erasure --------------------------------------------------------------------------------------


def test_erasing_accounts_while_others_write_removes_only_the_erased(app, make_user, database_url, tmp_path):
    from core.accounts.models import User
    from core.accounts.tokens import create_token
    from core.audit import AuditEntry, verify
    from core.settings import save_settings
    from plugins.reporting.models import Report

    enable(app, "reporting", "alerts")
    erased = [Person(id=0, email=f"leaving{n}@example.org", name=canary("name"), phone_digits=canary("phone"))
              for n in range(ERASED)]
    staying = [make_user("member", email=f"staying{n}@example.org") for n in range(STAYING)]
    tokens = {}
    with in_db(app), app.test_request_context():
        save_settings("alerts", {"check_limit_account": 1_000_000, "check_limit_address": 1_000_000,
                                 "similar_warning": 1_000_000})
    for person in erased:
        person.id = make_user("member", email=person.email).id
    with in_db(app), app.test_request_context():
        for user in [*staying, *(User.get_by_id(person.id) for person in erased)]:
            tokens[user.id] = create_token(User.get_by_id(user.id), "phone app")[1]

    web, worker, port = running(app, database_url, tmp_path)
    tally = Tally()

    def report(person: Browser, kind: str, narrative: str) -> None:
        status, body = person.send("POST", "/api/v1/reports", {**API_REPORT, "narrative": narrative})
        if tally.answer(kind, status, body):
            tally.ack(kind, json.loads(body)["reference"])

    def leaving(index: int, person: Person) -> Callable[[], None]:
        def job():
            api = Browser(port, tokens[person.id])
            for _number in range(OWN_REPORTS):
                report(api, f"report by {person.id}", person.add("narrative", canary("story")))
                status, body = api.send("POST", "/api/v1/check", {"identifier": "07912 000111"})
                tally.answer("check", status, body)
            if index % 2:
                status, body = api.send("DELETE", "/api/v1/me", {"password": TEST_PASSWORD})
                assert tally.answer("erase", status, body) and status == 204, (status, body[:500])
                return
            page = Browser(port)
            web_sign_in(page, app, person.email)
            status, form = page.send("GET", "/account/delete")
            assert status == 200, form[:500]
            status, body = page.send("POST", "/account/delete", form={"csrf_token": csrf(form),
                                                                     "password": TEST_PASSWORD})
            assert tally.answer("erase", status, body) and status == 200, (status, body[:500])
        return job

    def writing(user) -> Callable[[], None]:
        def job():
            api = Browser(port, tokens[user.id])
            for number in range(WRITES):
                report(api, f"report by {user.id}", f"Staying {user.id}, report {number}.")
                status, body = api.send("POST", "/api/v1/check", {"identifier": f"07912 {number:06d}"})
                if tally.answer("check", status, body):
                    tally.ack("check", user.id)
        return job

    try:
        all_at_once([leaving(index, person) for index, person in enumerate(erased)]
                    + [writing(user) for user in staying])
        no_lock_errors(web, worker)
    finally:
        web.stop()
        worker.stop()

    assert not tally.failures, tally.failures[:5]
    assert {status for (_kind, status) in tally.statuses} <= {200, 201, 204}, tally.statuses
    with in_db(app):
        for user in staying:  # every report they were answered for, once, still theirs
            mine = tally.acknowledged[f"report by {user.id}"]
            assert len(mine) == WRITES
            stored = [row.reporter_id for row in Report.select().where(Report.reference.in_(mine))]
            assert stored == [user.id] * WRITES
        assert Report.select().count() == STAYING * WRITES  # the erased members' reports went with them
        for person in erased:  # gone, or (to keep the newest number) an empty shell
            shell = User.get_or_none(User.id == person.id)
            assert shell is None or (not shell.active and shell.email is None and shell.password_hash is None)
        erasures = {entry.target for entry in AuditEntry.select().where(AuditEntry.action == "account.erased")}
        assert erasures == {f"user:{person.id}" for person in erased}
        assert verify() is None  # the audit chain stayed whole
    assert all(len(tally.acknowledged[f"report by {person.id}"]) == OWN_REPORTS for person in erased)
    for person in erased:
        assert traces(app, person) == [], person.email


# -- local wording --------------------------------------------------------------------------------


SKIP = "Skip to main content"  # on every page


def spanish(person: Browser, path: str) -> tuple[int, str]:
    """A page as a visitor whose browser asks for Spanish sees it."""
    request = urllib.request.Request(person.base + path, headers={"Accept-Language": "es"})
    try:
        with person.opener.open(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def editable_messages(app, count: int) -> list:
    """The skip link's message, then other core messages with a Spanish translation and no
    placeholder, tag or plural form to keep."""
    from core.wording import checks
    from core.wording.catalogs import messages, source_for

    with app.app_context():
        found = [message for message in messages(source_for(app, "messages"), "es").values()
                 if message.translated and not message.plural and not message.context and len(message.msgid) > 12
                 and not checks.placeholders(message.msgid) and not checks.tags([message.msgid])]
    found.sort(key=lambda message: (message.msgid != SKIP, message.key))
    assert len(found) >= count and found[0].msgid == SKIP
    return found[:count]


def test_administrators_change_different_messages_at_once_and_pages_keep_rendering(app, make_user, database_url,
                                                                                   tmp_path):
    from core.audit import AuditEntry, verify
    from core.wording.models import WordingOverride, WordingVersion

    admins = [make_user("admin", email=f"wording{n}@example.org") for n in range(ADMINS)]
    for admin in admins:
        enrol_two_factor(app, admin)
    chosen = editable_messages(app, ADMINS * EDITS)
    with in_db(app):
        before = WordingVersion.select(WordingVersion.version).where(WordingVersion.locale == "es").scalar() or 0

    web, worker, port = running(app, database_url, tmp_path)
    tally = Tally()
    try:
        sessions = []
        for admin in admins:
            sessions.append(Browser(port))
            web_sign_in(sessions[-1], app, admin.email)

        def editing(number: int) -> Callable[[], None]:
            def job():
                for message in chosen[number * EDITS:(number + 1) * EDITS]:
                    path = f"/admin/wording/es/messages/{message.key}"
                    status, page = sessions[number].send("GET", path)
                    assert status == 200, page[:500]
                    text = f"Texto local {message.key[:8]} de {number}"
                    status, page = sessions[number].send("POST", path, form={"csrf_token": csrf(page), "form-0": text})
                    if tally.answer("edit", status, page):
                        tally.ack("edit", (message.msgid, text))
            return job

        def reading() -> None:
            visitor = Browser(port)
            for _load in range(PAGE_LOADS):
                for path in ("/account/login", "/"):
                    status, page = spanish(visitor, path)
                    if tally.answer("page", status, page):
                        tally.ack("page", path)

        all_at_once([editing(number) for number in range(ADMINS)] + [reading] * READERS)
        no_lock_errors(web, worker)
        status, login = spanish(Browser(port), "/account/login")
    finally:
        web.stop()
        worker.stop()

    assert not tally.failures, tally.failures[:5]
    assert {status for (_kind, status) in tally.statuses} == {200}, tally.statuses
    assert len(tally.acknowledged["page"]) == READERS * PAGE_LOADS * 2
    edits = sorted(tally.acknowledged["edit"])
    assert len(edits) == ADMINS * EDITS
    with in_db(app):
        stored = sorted((row.msgid, row.texts[0]) for row in
                        WordingOverride.select().where(WordingOverride.locale == "es"))
        version = WordingVersion.select(WordingVersion.version).where(WordingVersion.locale == "es").scalar()
        changes = AuditEntry.select().where(AuditEntry.action == "wording.changed").count()
        assert verify() is None
    assert stored == edits  # every change landed, none overwrote another
    assert version == before + ADMINS * EDITS and changes == ADMINS * EDITS  # one version per change
    assert status == 200 and dict(edits)[SKIP] in login  # pages show the changes afterwards
