"""A flood of false reports cannot bury the real ones or flood moderators' inboxes: anonymous reports
past the day's number from one address are still taken, but marked, listed after the others of
their urgency and sent without an e-mail; moderators get one notice of each kind a quarter of an
hour; and the address is counted in memory only, never stored (plugins/reporting/flood.py)."""

from __future__ import annotations

import datetime
import time

import pytest
from helpers import enable, sign_in
from smtp_server import SmtpServer
from test_reporting_common import api_report, in_db

from core.db import db
from core.settings import save_settings

ROUTINE = {"incident_types": ["robbery"], "narrative": "Took the money back.",
           "consent": {"share_alert": False, "police_intelligence": False, "police_report": False,
                       "wants_support": False}}
URGENT = {**ROUTINE, "consent": {**ROUTINE["consent"], "wants_support": True}}


def _send(app, address: str, body: dict = ROUTINE, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = api_report(app.test_client(), body, environ_base={"REMOTE_ADDR": address}, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert ("receipt" in response.get_json()) is (token is None)  # taken like any other
    return response.get_json()["reference"]


def _marked(app) -> dict[str, bool]:
    from plugins.reporting.models import Report

    with in_db(app):
        return {report.reference: report.many_from_address for report in Report.select()}


def _limit(app, most: int) -> None:
    with in_db(app):
        save_settings("reporting", {"reports_per_address": most})


def _clear_of_a_quarter_hour_boundary() -> None:
    """Notices are counted in quarter hours of the clock: start well inside one."""
    now = datetime.datetime.now(datetime.UTC)
    into = (now.minute % 15) * 60 + now.second
    if into > 15 * 60 - 30:
        time.sleep(15 * 60 - into + 1)


@pytest.fixture
def app(app):
    enable(app, "reporting")
    return app


def test_reports_past_the_days_number_from_one_address_are_taken_and_marked(app, make_user):
    _limit(app, 2)
    first = [_send(app, "198.51.100.7") for _ in range(2)]
    third = _send(app, "198.51.100.7")
    elsewhere = _send(app, "203.0.113.9")
    # One IPv6 home or phone is given a whole /64: its addresses count together.
    six = [_send(app, f"2001:db8:5:6::{n}") for n in (1, 2, 3)]
    from core.accounts.tokens import create_token

    with in_db(app):
        token = create_token(make_user("member"), "tests")[1]
    signed_in = _send(app, "198.51.100.7", token=token)  # members are vetted: never counted
    marked = _marked(app)
    assert [marked[ref] for ref in first] == [False, False] and marked[third] is True
    assert marked[elsewhere] is False and marked[signed_in] is False
    assert [marked[ref] for ref in six] == [False, False, True]

    _limit(app, 10)  # the setting is read at each report
    fourth = _send(app, "198.51.100.7")
    assert _marked(app)[fourth] is False


def test_marked_reports_come_after_the_others_of_their_urgency_with_a_badge(app, make_user):
    _limit(app, 1)
    _send(app, "198.51.100.7", URGENT)
    marked_urgent = _send(app, "198.51.100.7", URGENT)
    other_urgent = _send(app, "203.0.113.9", URGENT)
    routine = _send(app, "192.0.2.44")
    staff = app.test_client()
    sign_in(staff, make_user("moderator"))
    listed = staff.get("/api/v1/reports").get_json()["reports"]
    order = [row["reference"] for row in listed]
    assert order.index(other_urgent) < order.index(marked_urgent) < order.index(routine)
    assert [row["reference"] for row in listed if row["many_from_address"]] == [marked_urgent]

    page = staff.get("/reporting/moderate/").get_data(as_text=True)
    rows = {ref: page.split(ref, 2)[2].split("</tr>", 1)[0] for ref in (marked_urgent, other_urgent)}
    assert "Many from one address" in rows[marked_urgent] and "Many from one address" not in rows[other_urgent]
    detail = staff.get(f"/reporting/moderate/{marked_urgent}").get_data(as_text=True)
    assert "moderators were not e-mailed about it" in detail


def test_moderators_get_one_notice_of_each_kind_a_quarter_hour_and_none_for_marked_reports(make_app, make_user):
    server = SmtpServer().start()
    try:
        app = make_app(server.overrides)
        enable(app, "reporting")
        make_user("moderator", email="mod@example.org")
        _limit(app, 1)
        _clear_of_a_quarter_hour_boundary()
        _send(app, "198.51.100.7")  # told: "a new report"
        _send(app, "198.51.100.7", URGENT)  # marked: not told, although urgent
        _send(app, "203.0.113.9", URGENT)  # told: "an urgent report"
        for n in range(5):  # others in the same quarter hour: already told
            _send(app, f"192.0.2.{n}")
            _send(app, f"192.0.3.{n}", URGENT)
        notices = server.wait_for(2)
        time.sleep(0.5)
        assert len(server.messages) == 2  # the queue runs in the request in tests: nothing is still to come
        assert "A new report is waiting" in notices[0].get_content()
        assert "An urgent report is waiting" in notices[1].get_content()
    finally:
        server.stop()


def test_a_notice_the_mail_server_refuses_is_kept_to_be_tried_again(make_app, make_user):
    """What was decided is sent: a failed attempt leaves the notice queued for its retry, not dropped."""
    from smtp_server import free_port

    from core.mail import OutgoingMail

    app = make_app({"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port(),
                    "MAIL_DEFAULT_SENDER": "notes@example.org", "MAIL_TIMEOUT": 2, "BASE_URL": "http://localhost"})
    enable(app, "reporting")
    make_user("moderator", email="mod@example.org")
    _send(app, "198.51.100.7")  # nothing listens: the notice fails (the report is kept)
    with in_db(app):
        rows = [(row.kind, row.status, row.attempts, row.last_error) for row in OutgoingMail.select()]
    assert rows == [("reporting_moderator_notice", "queued", 1, "MailError")]


def test_the_address_is_never_stored(app):
    _limit(app, 1)
    for _ in range(3):
        _send(app, "198.51.100.77")
    with in_db(app):
        tables = db.get_tables()
        for table in tables:
            columns = [column.name for column in db.get_columns(table)]
            for row in db.execute_sql(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608 - table names from the database
                assert not any("198.51.100.77" in str(value) for value in row), (table, columns)
