"""The reporter's follow-up page gives its dates in the reader's language (Flask-Babel's
`dateformat` filter, as other pages do), not as ISO text: "Sent on 7 Dec 2026", "7 dic 2026"."""

from __future__ import annotations

import datetime

from flask_babel import format_date
from helpers import enable, post_form
from test_reporting_common import in_db, send_report


def _set_sent_and_withdrawn(app, reference: str, when: datetime.datetime) -> None:
    from plugins.reporting.models import Consent, Report

    with in_db(app):
        report = Report.get(Report.reference == reference)
        Report.update(created_at=when).where(Report.id == report.id).execute()
        Consent.update(withdrawn_at=when, withdrawn_by="reporter").where(
            (Consent.report == report.id) & (Consent.purpose == "share_alert")).execute()


def test_the_status_page_gives_dates_in_the_readers_language(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    when = datetime.datetime(2026, 12, 7, 10, 30)
    _set_sent_and_withdrawn(app, reference, when)

    shown = set()
    for language in ("en", "es"):
        page = post_form(client, "/reporting/follow-up", {"receipt": receipt},
                         headers={"Accept-Language": language}).get_data(as_text=True)
        with app.test_request_context(headers={"Accept-Language": language}):
            expected = format_date(when.date(), "medium")  # in the page's own locale (en is en_GB here)
        assert "2026-12-07" not in page, language
        assert expected != "2026-12-07"
        assert f"<dd>{expected}</dd>" in page, (language, expected)  # sent on
        assert page.count(expected) == 2, (language, expected)  # and the consent withdrawn on that day
        shown.add(expected)
    assert len(shown) == 2, shown  # such as "7 Dec 2026" and "7 dic 2026"


def test_a_message_from_the_team_and_my_reports_give_times_in_the_readers_language(app, make_user):
    from flask_babel import format_datetime
    from helpers import sign_in

    from plugins.reporting import service
    from plugins.reporting.models import Report, ReportMessage

    enable(app, "reporting")
    member = app.test_client()
    sign_in(member, make_user("member"))
    reference, _receipt = send_report(member)
    when = datetime.datetime(2026, 12, 7, 10, 30)
    with app.test_request_context(), in_db(app):
        report = Report.get(Report.reference == reference)
        Report.update(created_at=when).where(Report.id == report.id).execute()
        message = service.add_message(report, "to_reporter", "Are you safe now?")
        ReportMessage.update(created_at=when).where(ReportMessage.id == message.id).execute()
    for language in ("en", "es"):
        headers = {"Accept-Language": language}
        with app.test_request_context(headers=headers):
            day, moment = format_date(when.date(), "medium"), format_datetime(when, "short")
        mine = member.get("/reporting/mine", headers=headers).get_data(as_text=True)
        assert day in mine and "2026-12-07" not in mine, (language, day)
        page = member.get(f"/reporting/mine/{reference}", headers=headers).get_data(as_text=True)
        assert moment in page and "2026-12-07 10:30" not in page, (language, moment)
