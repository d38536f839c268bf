"""Moderation: who may see reports, the queue's order, audited views, notes and messages, status
changes that emit report_verified to enabled plugins only, linked reports, consent withdrawal, and
retention that really deletes."""

from __future__ import annotations

import datetime
import types

import pytest
from helpers import enable, post_form, sign_in
from test_reporting_common import WHAT, WHEN, WHO, WISHES, _page, api_report, in_db, send_report, with_reporting

from core.db import db, utcnow
from core.hookspecs import hookimpl
from core.plugins import PluginInfo

app = with_reporting  # every test here: the app with the reporting module on


@pytest.fixture
def moderator(make_user):
    return make_user("moderator", email="mod@example.org")


@pytest.fixture
def staff(app, moderator):
    """A client signed in as a moderator (through the real two-factor sign-in)."""
    client = app.test_client()
    sign_in(client, moderator)
    return client


def _report(body_overrides: dict | None = None, client=None, app=None) -> str:
    body = {
        "incident_types": ["non_payment"],
        "narrative": "Did not pay.",
        "consent": {"share_alert": False, "police_intelligence": False, "police_report": False,
                    "wants_support": False},
        **(body_overrides or {}),
    }
    response = api_report(client or app.test_client(), body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reference"]


def test_only_moderators_reach_the_queue(app, client, make_user):
    reference = _report(app=app)
    anonymous = client.get("/reporting/moderate/")
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    member = app.test_client()
    sign_in(member, make_user("member"))
    assert member.get("/reporting/moderate/").status_code == 403
    assert member.get(f"/reporting/moderate/{reference}").status_code == 403
    caseworker = app.test_client()
    sign_in(caseworker, make_user("caseworker"))
    assert caseworker.get(f"/reporting/moderate/{reference}").status_code == 403


def test_queue_puts_support_and_recent_serious_assault_first(app, staff):
    today = datetime.date.today()
    routine = _report(app=app)
    old_assault = _report({"incident_types": ["physical_assault"], "occurred_on": "2020-01-01"}, app=app)
    recent_rape = _report({"incident_types": ["rape"], "occurred_on": str(today - datetime.timedelta(days=2))},
                          app=app)
    support = _report({"consent": {"share_alert": False, "police_intelligence": False, "police_report": False,
                                   "wants_support": True}}, app=app)
    closed = _report(app=app)
    from plugins.reporting.models import Report

    with in_db(app):
        Report.update(status="rejected").where(Report.reference == closed).execute()
    page = _page(staff.get("/reporting/moderate/"))
    order = [ref for ref in (recent_rape, support, old_assault, routine, closed) if ref in page]
    positions = sorted(order, key=page.index)
    assert positions[:2] == [recent_rape, support]  # both urgent; the longest waiting first
    assert positions[2:] == [old_assault, routine]
    assert closed not in page
    assert closed in _page(staff.get("/reporting/moderate/?status=rejected"))


def test_every_staff_view_is_audited(app, staff, moderator):
    reference = _report(app=app)
    from core.audit import AuditEntry, verify

    with in_db(app):
        before = AuditEntry.select().where(AuditEntry.action == "report.viewed").count()
    page = _page(staff.get(f"/reporting/moderate/{reference}"))
    assert "Did not pay." in page
    staff.get(f"/reporting/moderate/{reference}")
    with in_db(app):
        views = list(AuditEntry.select().where(AuditEntry.action == "report.viewed"))
        assert len(views) == before + 2
        assert {(v.target, v.actor_id) for v in views} == {(f"report:{reference}", moderator.id)}
        assert verify() is None
        # The audit log holds codes and references only.
        texts = " ".join(f"{e.action} {e.target}" for e in AuditEntry.select())
        assert "Did not pay" not in texts


def test_notes_stay_internal_and_messages_reach_the_reporter(app, staff, moderator):
    from core.accounts.models import User

    with in_db(app):
        User.update(working_name="Sam at the desk").where(User.id == moderator.id).execute()
    reporter = app.test_client()
    reference, receipt = send_report(reporter)
    post_form(staff, f"/reporting/moderate/{reference}/note", {"body": "Looks like the Leeds case."},
              token_from=f"/reporting/moderate/{reference}")
    post_form(staff, f"/reporting/moderate/{reference}/message",
              {"body": "Thank you for telling us. Could you tell us roughly what time?"},
              token_from=f"/reporting/moderate/{reference}")
    staff_page = _page(staff.get(f"/reporting/moderate/{reference}"))
    assert "Looks like the Leeds case." in staff_page and "roughly what time" in staff_page
    assert f"Sam at the desk (#{moderator.id})" in staff_page  # who wrote each note, by working name
    status = _page(post_form(reporter, "/reporting/follow-up", {"receipt": receipt}))
    assert "roughly what time" in status
    assert "Leeds" not in status


def test_verifying_emits_report_verified_to_enabled_plugins_only(make_app, make_user):
    calls = []

    spy = types.ModuleType("spy_plugin")
    spy.plugin_info = PluginInfo(name="spy", label="Spy")

    @hookimpl
    def report_verified(app, report):
        calls.append(("verified", report.reference, report.status))

    @hookimpl
    def report_submitted(app, report):
        calls.append(("submitted", report.reference, report.status))

    spy.report_verified = report_verified
    spy.report_submitted = report_submitted
    app = make_app(extra_plugins=[spy])
    enable(app, "reporting", "spy")
    staff = app.test_client()
    sign_in(staff, make_user("moderator"))
    reference = _report(app=app)
    assert calls == [("submitted", reference, "new")]
    response = post_form(staff, f"/reporting/moderate/{reference}/status", {"status": "verified"},
                         token_from="/reporting/moderate/")
    assert response.status_code == 303
    assert calls[-1] == ("verified", reference, "verified")
    # Verifying again does not announce it twice.
    post_form(staff, f"/reporting/moderate/{reference}/status", {"status": "verified"},
              token_from="/reporting/moderate/")
    assert len(calls) == 2

    with app.app_context(), in_db(app):
        from core.plugins import get_registry

        get_registry(app).set_enabled("spy", False)
    other = _report(app=app)
    post_form(staff, f"/reporting/moderate/{other}/status", {"status": "verified"}, token_from="/reporting/moderate/")
    assert len(calls) == 2  # a disabled plugin hears nothing
    from plugins.reporting.models import Report

    with in_db(app):
        assert Report.get(Report.reference == other).status == "verified"


def test_status_changes_are_checked_and_audited(app, staff, moderator):
    first = _report(app=app)
    second = _report(app=app)
    bad = post_form(staff, f"/reporting/moderate/{second}/status", {"status": "duplicate", "duplicate_of": "R-NOPE"},
                    token_from="/reporting/moderate/")
    assert bad.status_code == 303
    assert "Please give the reference of the report this one repeats." in _page(staff.get(bad.headers["Location"]))
    post_form(staff, f"/reporting/moderate/{second}/status", {"status": "duplicate", "duplicate_of": first},
              token_from="/reporting/moderate/")
    post_form(staff, f"/reporting/moderate/{first}/status", {"status": "needs_info"}, token_from="/reporting/moderate/")
    post_form(staff, f"/reporting/moderate/{first}/status", {"status": "new"}, token_from="/reporting/moderate/")
    from core.audit import AuditEntry
    from plugins.reporting.models import Report

    with in_db(app):
        assert Report.get(Report.reference == second).duplicate_of.reference == first
        assert Report.get(Report.reference == first).status == "needs_info"  # "new" cannot be set by hand
        actions = [(e.action, e.target) for e in AuditEntry.select().where(AuditEntry.actor_id == moderator.id)]
        assert ("report.duplicate", f"report:{second}") in actions
        assert ("report.needs_info", f"report:{first}") in actions


def test_reports_sharing_a_phone_written_three_ways_are_linked(app, staff):
    references = []
    for phone in ("07700 900123", "+44 7700 900123", "447700900123"):
        references.append(_report({"perpetrators": [{"phones": [phone]}]}, app=app))
    unrelated = _report({"perpetrators": [{"phones": ["07700 900555"]}]}, app=app)
    for reference in references:
        page = _page(staff.get(f"/reporting/moderate/{reference}"))
        links = page[page.index('id="h-links"'):page.index('id="h-consent"')]
        others = [r for r in references if r != reference]
        for other in others:
            assert f">{other}</a>" in links
        assert unrelated not in links
        assert links.count("Phone +447700900123") == 2  # the shared identifier is shown for each link
    queue = _page(staff.get("/reporting/moderate/"))
    assert queue.count("<td><strong>2</strong></td>") == 3


def test_links_cover_emails_plates_and_handles_through_the_form(app, staff):
    reporter = app.test_client()
    first, _ = send_report(reporter)
    second, _ = send_report(app.test_client(), who={"p0-emails": " DAVE@example.COM ", "p0-vehicle_plate": "AB12-CDE",
                                                     "p0-handles": "https://www.dave_x"})
    page = _page(staff.get(f"/reporting/moderate/{second}"))
    links = page[page.index('id="h-links"'):page.index('id="h-consent"')]
    assert f">{first}</a>" in links
    for shared in ("Email dave@example.com", "Number plate AB12CDE", "Online name dave_x"):
        assert shared in links


def test_staff_withdraw_a_consent_on_request_and_the_history_is_kept(app, staff, moderator):
    reference, receipt = send_report(app.test_client())
    response = post_form(staff, f"/reporting/moderate/{reference}/consent/share_alert/withdraw", {},
                         token_from="/reporting/moderate/")
    assert response.status_code == 303
    from plugins.reporting.models import Consent, Report

    with in_db(app):
        report = Report.get(Report.reference == reference)
        assert not report.has_consent("share_alert") and report.has_consent("wants_support")
        row = Consent.get((Consent.report == report) & (Consent.purpose == "share_alert"))
        assert row.withdrawn_at is not None and row.withdrawn_by == "staff"
        assert row.withdrawn_by_user_id == moderator.id and row.given_at < row.withdrawn_at
    page = _page(staff.get(f"/reporting/moderate/{reference}"))
    assert "by staff, on request" in page
    status = _page(post_form(app.test_client(), "/reporting/follow-up", {"receipt": receipt}))
    assert "withdrawn on" in status


def test_moderators_see_pictures_and_each_view_is_audited(app, staff):
    import io

    from PIL import Image

    client = app.test_client()
    reference, receipt = send_report(client)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 255)).save(out, format="PNG")
    post_form(client, "/reporting/follow-up", {"receipt": receipt, "action": "upload",
                                               "files": [(io.BytesIO(out.getvalue()), "shot.png")]},
              content_type="multipart/form-data")
    from core.audit import AuditEntry
    from plugins.reporting.models import Attachment

    with in_db(app):
        file_id = Attachment.get().id
    page = _page(staff.get(f"/reporting/moderate/{reference}"))
    assert f"/reporting/moderate/{reference}/files/{file_id}" in page
    assert "(1 KB)" in page and "(0 KB)" not in page  # a small picture's size rounds up, never to nothing
    picture = staff.get(f"/reporting/moderate/{reference}/files/{file_id}")
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    assert Image.open(io.BytesIO(picture.data)).getpixel((1, 1))[:3] == (0, 0, 255)
    with in_db(app):
        assert AuditEntry.select().where(AuditEntry.target == f"report:{reference}:file:{file_id}").count() == 1


def test_retention_deletes_old_rejected_reports_with_everything_attached(app):
    from core.retention import sweep
    from plugins.reporting.models import Consent, Draft, Perpetrator, PerpetratorIdentifier, Report, ReportMessage

    client = app.test_client()
    old_rejected, _ = send_report(client)
    recent_rejected, _ = send_report(client)
    old_verified, _ = send_report(client)
    long_ago = utcnow() - datetime.timedelta(days=91)
    with in_db(app):
        Report.update(status="rejected", status_changed_at=long_ago).where(Report.reference == old_rejected).execute()
        Report.update(status="rejected").where(Report.reference == recent_rejected).execute()
        Report.update(status="verified", status_changed_at=long_ago).where(Report.reference == old_verified).execute()
        gone = Report.get(Report.reference == old_rejected)
        ReportMessage.create(report=gone, kind="note", body="note")
        Draft.create(key_hash="x" * 64, data="{}", expires_at=utcnow() - datetime.timedelta(hours=1))
        with app.test_request_context():
            results = sweep(app)
        assert not Report.select().where(Report.reference == old_rejected).exists()
        assert Report.select().where(Report.reference.in_([recent_rejected, old_verified])).count() == 2
        for model in (Perpetrator, PerpetratorIdentifier, Consent, ReportMessage):
            assert not model.select().where(model.report == gone.id).exists()
        assert not Draft.select().where(Draft.key_hash == "x" * 64).exists()  # the expired draft
        assert any(r.rule == "rejected reports" and r.deleted == 1 for r in results)
        if db.obj.__class__.__name__.startswith("Sqlite"):
            assert db.execute_sql("PRAGMA secure_delete").fetchone()[0] == 1


def test_api_moderators_are_denied_without_the_permission(app, make_user):
    client = app.test_client()
    assert client.get("/api/v1/reports").status_code == 401
    member = app.test_client()
    sign_in(member, make_user("member"))
    assert member.get("/api/v1/reports").status_code == 403


def test_the_web_form_report_reaches_the_queue_with_its_details(app, staff):
    reference, _ = send_report(app.test_client(), what=WHAT, when=WHEN, who=WHO, wishes=WISHES)
    page = _page(staff.get(f"/reporting/moderate/{reference}"))
    for text in ("He took the money back and hit me.", "near the station", "Dave, Big D", "07700 900123",
                 "snake tattoo", "07700 900999", "text only", "Anonymous (receipt)"):
        assert text in page


def test_moderators_and_account_reporters_are_told_by_email_without_any_content(make_app, make_user):
    from smtp_server import SmtpServer

    server = SmtpServer().start()
    try:
        app = make_app(server.overrides)
        enable(app, "reporting")
        moderator = make_user("moderator", email="mod@example.org")
        member = make_user("member", email="reporter@example.org")
        reporter = app.test_client()
        sign_in(reporter, member)
        reference, _receipt = send_report(reporter, what={**WHAT, "narrative": "Quietcanary happened."})
        notice = server.wait_for(1)[0]
        assert notice["To"] == "mod@example.org" and notice["Subject"] == "Something is waiting for you"
        assert "Quietcanary" not in notice.as_string() and reference not in notice.as_string()
        assert "An urgent report is waiting" in notice.get_content()  # support was asked for

        staff = app.test_client()
        sign_in(staff, moderator)
        post_form(staff, f"/reporting/moderate/{reference}/message", {"body": "Quietcanary: are you safe now?"},
                  token_from=f"/reporting/moderate/{reference}")
        told = server.wait_for(2)[1]
        assert told["To"] == "reporter@example.org" and told["Subject"] == "You have a new message"
        assert "Quietcanary" not in told.as_string()
        assert f"/reporting/mine/{reference}" in told.get_content()
    finally:
        server.stop()


# -- who sent a report ------------------------------------------------------------------------------


def test_moderators_see_that_a_member_reported_but_not_which_account(app, staff, make_user):
    """Reviewing a report never needs the reporter's account: a moderator sees only that it came
    from a signed-in member, so the page cannot be used to link a report to a person."""
    member = make_user("member", email="reporter@example.org")
    member_client = app.test_client()
    sign_in(member_client, member)
    signed, _receipt = send_report(member_client)
    anonymous = _report(app=app)

    page = _page(staff.get(f"/reporting/moderate/{signed}"))
    assert "Sent by a signed-in member" in page
    assert f"#{member.id}" not in page and "account #" not in page.lower()
    assert "reporter@example.org" not in page
    assert "Anonymous (receipt)" in _page(staff.get(f"/reporting/moderate/{anonymous}"))
    detail = staff.get(f"/api/v1/reports/{signed}")  # the session works for the API too
    assert detail.status_code == 200 and "reporter" not in detail.get_json()


def test_only_the_reporter_account_permission_shows_the_account_and_showing_it_is_audited(app, make_user):
    from core.audit import AuditEntry
    from core.permissions import roles_for

    assert roles_for(app, "reporting.reporter_account") == frozenset({"admin"})
    member = make_user("member")
    member_client = app.test_client()
    sign_in(member_client, member)
    signed, _receipt = send_report(member_client)
    both = make_user("moderator", "admin", email="lead@example.org")
    lead = app.test_client()
    sign_in(lead, both)
    page = _page(lead.get(f"/reporting/moderate/{signed}"))
    assert f"Sent by a signed-in member: account #{member.id}" in page
    with in_db(app):
        shown = [(e.action, e.target, e.actor_id) for e in AuditEntry.select()
                 if e.action == "report.reporter_account_shown"]
    assert shown == [("report.reporter_account_shown", f"report:{signed}", both.id)]


def test_a_status_change_from_a_stale_copy_keeps_another_moderator_s_urgency(app, moderator):
    from plugins.reporting import service
    from plugins.reporting.models import Report

    reference = _report(app=app)
    with app.test_request_context(), in_db(app):
        seen_by_one = Report.get(Report.reference == reference)  # opened by one moderator...
        service.set_urgency(Report.get(Report.reference == reference), 2, moderator)  # ...another raises urgency
        service.set_status(seen_by_one, "triage", moderator)  # the first then changes the status
        stored = Report.get(Report.reference == reference)
        assert stored.status == "triage" and stored.urgency == 2
