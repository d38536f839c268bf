"""On "Follow up a report" a reload or a double tap never adds a message twice (core.once), and a
yes to sharing with the police needs its tick on the server too, not only in the browser."""

from __future__ import annotations

import re
import threading

from helpers import enable, post_form
from test_reporting_common import in_db, send_report

FOLLOW_UP = "/reporting/follow-up"


def _status_page(client, receipt: str) -> str:
    return post_form(client, FOLLOW_UP, {"receipt": receipt}).get_data(as_text=True)


def _form_key(page: str) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', page).group(1)


def _messages(app, reference: str) -> list[str]:
    from plugins.reporting.models import Report, ReportMessage

    with in_db(app):
        report = Report.get(Report.reference == reference)
        return [m.body for m in ReportMessage.select().where(ReportMessage.report == report)]


def test_a_message_sent_again_is_added_once_and_the_page_says_so(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    key = _form_key(_status_page(client, receipt))
    message = {"receipt": receipt, "action": "message", "body": "He came back today.", "form_key": key}
    first = post_form(client, FOLLOW_UP, message).get_data(as_text=True)
    assert "Your message is sent" in first
    again = post_form(client, FOLLOW_UP, message)  # the browser's "send again" on reload
    assert again.status_code == 200
    assert "already sent" in again.get_data(as_text=True)
    assert _messages(app, reference) == ["He came back today."]
    fresh = _form_key(first)  # the page after a send carries a new key: the next message is new
    assert fresh != key
    post_form(client, FOLLOW_UP, {**message, "body": "And again.", "form_key": fresh})
    assert _messages(app, reference) == ["He came back today.", "And again."]


def test_a_double_tap_at_the_same_moment_adds_one_message(app):
    enable(app, "reporting")
    clients = [app.test_client() for _ in range(2)]
    reference, receipt = send_report(clients[0])
    key = _form_key(_status_page(clients[0], receipt))
    message = {"receipt": receipt, "action": "message", "body": "Same tap twice.", "form_key": key}
    # Each client posts with its own session's CSRF token, as two tabs would; the form key is the one.
    tokens = [re.search(r'name="csrf_token" value="([^"]+)"', _status_page(c, receipt)).group(1) for c in clients]
    answers = []
    threads = [threading.Thread(target=lambda c=c, t=t: answers.append(
        c.post(FOLLOW_UP, data={**message, "csrf_token": t}).status_code)) for c, t in zip(clients, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    assert _messages(app, reference) == ["Same tap twice."]


def test_a_yes_to_the_police_without_its_tick_is_refused_by_the_server(app):
    from plugins.reporting.models import Consent, Report

    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    give = {"receipt": receipt, "action": "give:police_intelligence"}
    refused = post_form(client, FOLLOW_UP, give)
    assert refused.status_code == 422
    assert "Please tick the box to say you agree" in refused.get_data(as_text=True)

    def given():
        with in_db(app):
            report = Report.get(Report.reference == reference)
            return Consent.select().where((Consent.report == report) & (Consent.purpose == "police_intelligence")
                                          & Consent.withdrawn_at.is_null()).exists()

    assert not given()
    assert post_form(client, FOLLOW_UP, {**give, "agree": "police_intelligence"}).status_code == 200
    assert given()
