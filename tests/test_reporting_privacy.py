"""What a report must never leave behind: its words in the raw database file, the logs or the
queue; its receipt anywhere but the reporter's hands. And the receipt's own safety: wrong and
expired look the same, guessing is throttled, and the receipt never travels in an address."""

from __future__ import annotations

import io
import logging
import os
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import TEST_REDIS_URL, using_postgres
from helpers import enable, post_form, sign_in
from PIL import Image
from test_reporting_common import FORM, WHAT, WHEN, WHO, WISHES, in_db, send_report, step

from core.db import db

CANARY = "Zebracanary"  # a word that appears nowhere in the code or the fixtures


def canary_report(client) -> tuple[str, str]:
    """A report with the canary in every kind of field the form has, plus a picture with it in EXIF."""
    client.get(FORM)
    step(client, {**WHAT, "narrative": f"{CANARY} narrative"}, step_code="what")
    step(client, {**WHEN, "location": f"{CANARY} location"}, step_code="when")
    who = {**WHO, "p0-names": f"{CANARY}names", "p0-handles": f"{CANARY.lower()}handle",
           "p0-emails": f"{CANARY.lower()}@example.org", "p0-vehicle_make": f"{CANARY}make",
           "p0-features": f"{CANARY} tattoo", "p0-vehicle_plate": "ZB12 CAN"}
    step(client, who, step_code="who")
    step(client, {**WISHES, "support_contact": f"{CANARY} contact", "support_safe_times": f"{CANARY} times"},
         step_code="wishes")
    picture = Image.new("RGB", (16, 16), (1, 2, 3))
    exif = Image.Exif()
    exif[0x010E] = f"{CANARY} exif"
    data = io.BytesIO()
    picture.save(data, format="JPEG", exif=exif)
    post_form(client, FORM, {"step": "files", "action": "upload", "files": [(io.BytesIO(data.getvalue()), "p.jpg")]},
              token_from=FORM, content_type="multipart/form-data")
    step(client, {}, step_code="files")
    page = step(client, action="send", step_code="check").get_data(as_text=True)
    reference = re.search(r'class="reference">(R-[0-9A-Z]{6})<', page).group(1)
    receipt = re.search(r'id="receipt"><strong>([\d ]+)</strong>', page).group(1)
    post_form(client, "/reporting/follow-up", {"receipt": receipt, "action": "message",
                                               "body": f"{CANARY} later message"})
    return reference, receipt


def _all_database_text() -> str:
    """Every stored value of every table, as text (how PostgreSQL holds it)."""
    chunks = []
    for table in db.get_tables():
        for row in db.execute_sql(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608
            chunks.append(" ".join(str(value) for value in row))
    return "\n".join(chunks)


@pytest.fixture
def app(app, make_app):
    """An app logging at DEBUG, on the database conftest's app has just emptied."""
    debug = make_app({"LOG_LEVEL": "DEBUG"})
    enable(debug, "reporting")
    return debug


@pytest.fixture
def captured_logs(app):
    """Everything the app logs, as the configured formatter writes it, at DEBUG for every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.getLogger("redumbrella").handlers[0].formatter)
    names = ("redumbrella", "werkzeug", "huey", "peewee", "core")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_canary_is_absent_from_the_database_files_and_the_logs(app, captured_logs, make_user):
    client = app.test_client()
    reference, receipt = canary_report(client)
    staff = app.test_client()
    sign_in(staff, make_user("moderator"))
    page = staff.get(f"/reporting/moderate/{reference}").get_data(as_text=True)
    assert f"{CANARY} narrative" in page and f"{CANARY} later message" in page  # it is all there, decrypted
    post_form(staff, f"/reporting/moderate/{reference}/note", {"body": f"{CANARY} staff note"},
              token_from="/reporting/moderate/")

    logs = captured_logs.getvalue()
    assert "reporting.report" in logs  # the requests were logged...
    assert CANARY.lower() not in logs.lower()  # ...without a word of what was reported
    assert receipt not in logs and receipt.replace(" ", "") not in logs

    with in_db(app):
        stored = _all_database_text()
        assert reference in stored  # the report is there
        assert CANARY.lower() not in stored.lower()
        assert receipt.replace(" ", "") not in stored and receipt not in stored
        if not using_postgres():
            path = Path(db.database)
            raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
            assert reference.encode() in raw
            assert CANARY.lower().encode() not in raw.lower()
            assert receipt.replace(" ", "").encode() not in raw


def _queue_bytes(app) -> bytes:
    folder = Path(app.instance_path)
    return b"".join(p.read_bytes() for p in folder.glob("queue.sqlite3*"))


def test_canary_is_absent_from_the_queue(make_app):
    app = make_app({"QUEUE_IMMEDIATE": False})
    enable(app, "reporting")
    reference, receipt = canary_report(app.test_client())
    queue = app.extensions["redumbrella.queue"].huey
    assert queue.pending_count() >= 1  # the moderators' notice is waiting for a worker
    with sqlite3.connect(Path(app.instance_path) / "queue.sqlite3") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = _queue_bytes(app)
    assert b"notify_moderators" in raw
    assert CANARY.lower().encode() not in raw.lower()
    assert reference.encode() not in raw and receipt.replace(" ", "").encode() not in raw


@pytest.mark.redis
def test_canary_is_absent_from_the_redis_queue(make_app):
    import redis

    url = TEST_REDIS_URL or os.environ.get("REDUMBRELLA_TEST_REDIS_URL")
    assert url, "set REDUMBRELLA_TEST_REDIS_URL to run the Redis tests"
    app = make_app({"QUEUE_IMMEDIATE": False, "REDIS_URL": url})
    enable(app, "reporting")
    queue = app.extensions["redumbrella.queue"].huey
    queue.flush()
    try:
        reference, receipt = canary_report(app.test_client())
        assert queue.pending_count() >= 1
        connection = redis.Redis.from_url(url)
        dumped = b""
        for key in connection.scan_iter("*"):
            kind = connection.type(key)
            if kind == b"list":
                dumped += b"".join(connection.lrange(key, 0, -1))
            elif kind == b"hash":
                dumped += b"".join(k + v for k, v in connection.hgetall(key).items())
            elif kind == b"zset":
                dumped += b"".join(connection.zrange(key, 0, -1))
            elif kind == b"string":
                dumped += connection.get(key) or b""
        assert b"notify_moderators" in dumped
        assert CANARY.lower().encode() not in dumped.lower() and reference.encode() not in dumped
        assert receipt.replace(" ", "").encode() not in dumped
    finally:
        queue.flush()


# -- receipts ---------------------------------------------------------------------------------------


def _main(response) -> str:
    page = response.get_data(as_text=True)
    main = page[page.index("<main"):page.index("</main>")]
    return re.sub(r'name="csrf_token" value="[^"]+"', "", main)  # a token is signed with the time


def test_the_receipt_opens_status_messages_and_never_travels_in_an_address(app, make_user):
    client = app.test_client()
    reference, receipt = send_report(client)
    assert client.get("/reporting/follow-up").status_code == 200
    opened = post_form(client, "/reporting/follow-up", {"receipt": receipt.replace(" ", "")})
    assert opened.status_code == 200
    page = opened.get_data(as_text=True)
    assert reference in page and "Received: nobody has read it yet" in page
    digits = receipt.replace(" ", "")
    for address in re.findall(r'(?:href|action|src)="([^"]*)"', page):
        assert digits not in address.replace(" ", "") and receipt not in address
    assert page.count(f'name="receipt" value="{digits}"') == 1  # only in the POST body of the page's one form
    replied = post_form(client, "/reporting/follow-up", {"receipt": digits, "action": "message",
                                                         "body": "I remembered the car."})
    assert "Your message is sent" in replied.get_data(as_text=True)
    assert "I remembered the car." in replied.get_data(as_text=True)
    from core.audit import AuditEntry

    with in_db(app):
        assert all(digits not in (e.target or "") for e in AuditEntry.select())


def test_a_reply_to_a_question_puts_the_report_back_in_triage(app, make_user):
    client = app.test_client()
    reference, receipt = send_report(client)
    from plugins.reporting.models import Report

    with in_db(app):
        Report.update(status="needs_info").where(Report.reference == reference).execute()
    post_form(client, "/reporting/follow-up", {"receipt": receipt, "action": "message", "body": "About 9pm."})
    with in_db(app):
        assert Report.get(Report.reference == reference).status == "triage"


def test_wrong_and_expired_receipts_get_the_same_answer(app):
    client = app.test_client()
    _reference, receipt = send_report(client)
    wrong = post_form(client, "/reporting/follow-up", {"receipt": "1111 2222 3333 4444"})
    from plugins.reporting.models import Report

    with in_db(app):
        import datetime

        from core.db import utcnow

        Report.update(receipt_expires_at=utcnow() - datetime.timedelta(minutes=1)).execute()
    expired = post_form(client, "/reporting/follow-up", {"receipt": receipt})
    assert wrong.status_code == expired.status_code == 404
    assert _main(wrong) == _main(expired)
    assert "could not open a report with that receipt" in _main(wrong)


def test_wrong_receipts_are_throttled_per_visitor(app):
    client = app.test_client()
    _reference, receipt = send_report(client)
    guesser = app.test_client()
    for attempt in range(5):
        answer = post_form(guesser, "/reporting/follow-up", {"receipt": f"9999 9999 9999 999{attempt}"})
        assert answer.status_code == 404
    blocked = post_form(guesser, "/reporting/follow-up", {"receipt": "9999 9999 9999 9998"})
    assert blocked.status_code == 429  # a sixth wrong one from this visitor
    assert "many wrong receipts have been tried" in blocked.get_data(as_text=True)
    assert "Your report" not in blocked.get_data(as_text=True)
    # The right receipt still opens the report, for this visitor too (it may be a person who mistyped)...
    mine = post_form(guesser, "/reporting/follow-up", {"receipt": receipt})
    assert mine.status_code == 200 and "Your report" in mine.get_data(as_text=True)
    # ...and for the reporter on a page of its own, who can withdraw a consent.
    other = app.test_client()
    withdrawn = post_form(other, "/reporting/follow-up", {"receipt": receipt, "action": "withdraw:share_alert"},
                          token_from="/reporting/follow-up")
    assert withdrawn.status_code == 200
    from core.throttle import ThrottleCount
    from plugins.reporting.models import Consent
    from plugins.reporting.service import WRONG_RECEIPTS

    with in_db(app):
        assert Consent.get(Consent.purpose == "share_alert").withdrawn_at is not None
        stored = " ".join(a.key for a in ThrottleCount.select().where(ThrottleCount.scope == WRONG_RECEIPTS.scope))
        assert stored  # the guesses were counted, under keys that say nothing
        assert "127.0.0.1" not in stored and "9999" not in stored  # no address, no guessed receipt


def test_a_signed_in_reporter_follows_up_under_my_reports(app, make_user):
    member = make_user("member")
    client = app.test_client()
    sign_in(client, member)
    reference, receipt = send_report(client)
    assert receipt is None
    page = client.get(f"/reporting/mine/{reference}")
    assert page.status_code == 200 and reference in page.get_data(as_text=True)
    sent = post_form(client, f"/reporting/mine/{reference}", {"action": "message", "body": "One more thing."},
                     token_from=f"/reporting/mine/{reference}")
    assert sent.status_code == 200 and "Your message is sent" in sent.get_data(as_text=True)
    assert "One more thing." in client.get(f"/reporting/mine/{reference}").get_data(as_text=True)
    withdrawn = post_form(client, f"/reporting/mine/{reference}", {"action": "withdraw:wants_support"},
                          token_from=f"/reporting/mine/{reference}")
    assert withdrawn.status_code == 200
    assert "Done. We will no longer use your report" in withdrawn.get_data(as_text=True)
    from plugins.reporting.models import Report

    with in_db(app):
        assert not Report.get(Report.reference == reference).has_consent("wants_support")
    stranger = app.test_client()
    sign_in(stranger, make_user("member"))
    assert stranger.get(f"/reporting/mine/{reference}").status_code == 404
