"""The report form when someone is in a hurry or in danger: Quick exit forgets the draft, a later
visit does not show the answers without asking, a double tap or a resend makes one report and says
it was sent, the receipt is shown once, deleting asks first, and the messages stay short and agree
with the hints."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode

import pytest
from helpers import post_form
from test_reporting_common import (
    FORM,
    RECEIPT_PATTERN,
    WHAT,
    WHEN,
    WHO,
    _page,
    fill_in,
    in_db,
    send_report,
    step,
    with_reporting,
)
from werkzeug.serving import make_server

app = with_reporting  # every test here: the app with the reporting module on


def _drafts(app) -> int:
    from plugins.reporting.models import Draft

    with in_db(app):
        return Draft.select().count()


def _reports(app) -> int:
    from plugins.reporting.models import Report

    with in_db(app):
        return Report.select().count()


# -- Quick exit and later visits -----------------------------------------------------------------------


def test_quick_exit_beacon_forgets_the_draft_with_the_pages_csrf_token(app, client):
    client.get(FORM)
    shown = step(client, WHAT, step_code="what")
    page = _page(shown)
    forget = re.search(r'<form method="post" action="([^"]+)" data-quick-exit-forget hidden>\s*'
                       r'<input type="hidden" name="csrf_token" value="([^"]+)">', page)
    assert forget and forget.group(1) == "/reporting/report/forget"
    assert _drafts(app) == 1

    assert client.get("/reporting/report/forget").status_code == 405  # no GET that changes anything
    assert client.post("/reporting/report/forget").status_code == 400  # no token: refused, kept
    assert _drafts(app) == 1

    gone = client.post(forget.group(1), data={"csrf_token": forget.group(2)})
    assert gone.status_code == 204 and not gone.get_data()
    assert _drafts(app) == 0
    fresh = _page(client.get(FORM))
    assert "Step 1 of" in fresh and "hit me" not in fresh and "You have a report" not in fresh


def test_a_later_visit_asks_before_showing_any_answer(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    step(client, WHEN, step_code="when")
    later = client.get(FORM)  # Quick exit without JavaScript, then someone opens the address again
    page = _page(later)
    assert later.status_code == 200
    assert "You have a report that is not sent yet" in page and "Continue my report" in page
    assert "hit me" not in page and "near the station" not in page and "Step 3 of" not in page
    assert "Delete my answers and start again" in page
    again = _page(client.get(FORM))  # and again: never shown without the deliberate step
    assert "near the station" not in again

    resumed = step(client, {"page": "resume"}, action="resume", step_code="who")
    assert "<h1>The person who did this</h1>" in _page(resumed)
    back = step(client, {}, action="back", step_code="who")
    assert 'value="near the station"' in _page(back)


def test_the_form_says_what_quick_exit_and_delete_do(app, client):
    page = _page(client.get(FORM))
    assert "Quick exit does not delete your answers while JavaScript is off." in page
    assert "Quick exit also deletes your answers." in page


# -- deleting asks first --------------------------------------------------------------------------------


def test_delete_asks_first_and_no_keeps_what_was_typed_on_the_page(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    asked = step(client, {**WHEN, "location": "typed just now"}, action="discard", step_code="when")
    page = _page(asked)
    assert "Delete your answers?" in page and "Yes, delete everything" in page and "No, keep my answers" in page
    assert "hit me" not in page
    assert page.index('value="discard_no"') < page.index('value="discard_yes"')  # Enter keeps them
    assert _drafts(app) == 1

    kept = step(client, {"page": "confirm"}, action="discard_no", step_code="when")
    assert "<h1>When and where</h1>" in _page(kept) and 'value="typed just now"' in _page(kept)

    step(client, {}, action="discard", step_code="when")
    deleted = step(client, {"page": "confirm"}, action="discard_yes", step_code="when")
    assert "Your answers are deleted." in _page(deleted) and "Step 1 of" in _page(deleted)
    assert _drafts(app) == 0


def test_delete_is_away_from_the_buttons_that_go_on(app, client):
    client.get(FORM)
    page = _page(step(client, WHAT, step_code="what"))
    form_end = page.index("</form>", page.index('id="report-form"'))
    discard = page.index('value="discard"')
    assert discard > form_end  # below the form and its hint, not right under "Save and continue"
    assert 'form="report-form"' in page[page.rindex("<button", 0, discard):discard]


# -- sending once ----------------------------------------------------------------------------------------


def _age_the_send(app, minutes: int) -> None:
    """As if the report was sent this many minutes ago (its send's row, and its receipt kept by core)."""
    import datetime
    import json

    from core.models import KeptReceipt
    from plugins.reporting.models import Draft

    with in_db(app):
        for row in Draft.select():
            state = json.loads(row.data)
            if "sent" in state:
                state["sent"]["at"] -= minutes * 60
                Draft.update(data=json.dumps(state)).where(Draft.key_hash == row.key_hash).execute()
        for kept in KeptReceipt.select():
            KeptReceipt.update(expires_at=kept.expires_at - datetime.timedelta(minutes=minutes)).where(
                KeptReceipt.key_hash == kept.key_hash).execute()


def test_the_receipt_is_shown_again_for_a_while_then_the_report_is_said_to_be_sent(app, client):
    """A reload, Back from the follow-up link, or a second tap the browser drew over shows the same
    receipt again for a few minutes: the person never loses it by accident."""
    reference, receipt = send_report(client)
    assert receipt
    reload = client.get(FORM)
    assert reload.status_code == 200 and receipt in _page(reload)
    resent = step(client, action="send", step_code="check")
    assert receipt in _page(resent) and "Please start again" not in _page(resent)
    assert _reports(app) == 1
    from core.db import db
    from core.models import KeptReceipt

    with in_db(app):  # kept by core for this browser, encrypted
        assert KeptReceipt.get().receipt == receipt
        (stored,), = db.execute_sql('SELECT "receipt" FROM "core_kept_receipt"').fetchall()
        assert receipt not in stored and receipt.replace(" ", "") not in stored

    _age_the_send(app, 11)
    later = _page(client.get(FORM))
    assert receipt not in later
    assert "Your report was already sent" in later and reference in later
    from core.builtin import forget_ended_receipts
    from plugins.reporting.models import Draft

    with in_db(app):
        assert receipt.replace(" ", "") not in "".join(row.data for row in Draft.select())  # never in the send's row
    with app.test_request_context(), in_db(app):
        assert forget_ended_receipts.run_now() == 1  # core kept it until its time was up, and no longer

    new = step(client, action="new")
    assert "Step 1 of" in _page(new) and "already sent" not in _page(new)
    assert _drafts(app) == 0


def test_saying_the_receipt_is_kept_leaves_nothing_of_the_report_in_this_browser(app, client):
    _reference, receipt = send_report(client)
    from core.models import KeptReceipt

    with in_db(app):
        assert KeptReceipt.select().count() == 1
    done = step(client, action="kept_receipt")
    assert "no longer shows anything of your report" in _page(done)
    assert _drafts(app) == 0
    with in_db(app):
        assert KeptReceipt.select().count() == 0  # core's copy goes with it
    page = _page(client.get(FORM))
    assert receipt not in page and "already sent" not in page and "Step 1 of" in page


def test_send_redirects_and_keeps_no_answer(app, client):
    fill_in(client)
    posted = step(client, action="send", step_code="check", follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["Location"] == FORM
    from plugins.reporting.models import Draft

    with in_db(app):
        kept = Draft.get().data
        assert WHAT["narrative"] not in kept
    shown = client.get(FORM)
    assert RECEIPT_PATTERN.search(_page(shown))


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def test_two_sends_at_once_make_one_report(app):
    server = _serve(app)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

        def call(path, form=None):
            data = urlencode(form, doseq=True).encode() if form is not None else None
            try:
                with opener.open(base + path, data=data, timeout=60) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()

        status, page = call(FORM)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        wishes = {"consent_share_alert": "no", "consent_police_intelligence": "no", "consent_police_report": "no",
                  "consent_wants_support": "no", "consent_research": "no"}
        for code, values in (("what", WHAT), ("when", WHEN), ("who", WHO), ("wishes", wishes), ("files", {})):
            status, page = call(FORM, {"csrf_token": token, "step": code, "action": "next", **values})
            assert status == 200, page[:500]
        assert "Check and send" in page

        gate = threading.Barrier(3)
        answers = []

        def send():
            gate.wait()
            answers.append(call(FORM, {"csrf_token": token, "step": "check", "action": "send"}))

        senders = [threading.Thread(target=send) for _ in range(3)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
    finally:
        server.shutdown()
        server.server_close()
    assert _reports(app) == 1
    assert [status for status, _page in answers] == [200, 200, 200]
    receipts = {found.group(1) for found in (RECEIPT_PATTERN.search(page) for _status, page in answers) if found}
    assert len(receipts) == 1  # one report, one receipt: whichever answer the browser keeps shows it
    assert all("Please start again" not in page for _status, page in answers)
    for _status, page in answers:
        assert RECEIPT_PATTERN.search(page), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[:1500]


def test_a_send_that_fails_can_be_sent_again(app, client, monkeypatch):
    from plugins.reporting import service

    fill_in(client)
    real = service.create_report

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(service, "create_report", broken)
    with pytest.raises(RuntimeError):
        step(client, action="send", step_code="check")
    monkeypatch.setattr(service, "create_report", real)
    client.application.testing = True
    shown = step(client, action="send", step_code="check")
    assert RECEIPT_PATTERN.search(_page(shown)), _page(shown)[:1500]
    assert _reports(app) == 1


# -- the "Report sent" page ---------------------------------------------------------------------------------


def test_report_sent_links_follow_up_and_keeps_identifiers_left_to_right(app, client):
    fill_in(client)
    page = _page(step(client, action="send", step_code="check"))
    assert '<a href="/reporting/follow-up">Follow up a report</a>' in page
    assert re.search(r'<bdi dir="ltr" id="receipt"><strong>[\d ]+</strong></bdi>', page)
    assert re.search(r'<bdi dir="ltr"><strong class="reference">R-[0-9A-Z]{6}</strong></bdi>', page)
    again = _page(client.get(FORM))
    assert re.search(r'<bdi dir="ltr"><strong class="reference">R-[0-9A-Z]{6}</strong></bdi>', again)
    assert '<a href="/reporting/follow-up">Follow up a report</a>' in again


# -- messages --------------------------------------------------------------------------------------------


def test_an_unreadable_date_is_asked_for_as_the_hint_shows_it(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    refused = step(client, {**WHEN, "occurred_on": "last tuesday"}, step_code="when")
    page = _page(refused)
    assert refused.status_code == 422
    assert "For example 31/03/2024." in page and "Please give a date like 31/03/2024." in page
    assert "2024-03-31" not in page
    typed = step(client, {**WHEN, "occurred_on": "01/05/2024"}, step_code="when")
    assert "<h1>The person who did this</h1>" in _page(typed)


def test_a_very_long_line_is_quoted_short_in_its_error(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    step(client, WHEN, step_code="when")
    refused = step(client, {"p0-names": "x" * 5000}, step_code="who")
    page = _page(refused)
    assert refused.status_code == 422
    assert "“" + "x" * 40 + "…”" in page
    assert len(re.findall("x{41,}", page)) == 1  # only the box itself holds it all


def test_post_form_to_forget_needs_nothing_else(app, client):
    """The beacon's POST carries only the CSRF token: nothing about the draft, nothing to guess."""
    client.get(FORM)
    step(client, WHAT, step_code="what")
    assert post_form(client, "/reporting/report/forget", token_from="/").status_code == 204
    assert _drafts(app) == 0


def test_quick_exit_after_sending_forgets_the_receipt_kept_for_this_browser(app, client):
    from core.models import KeptReceipt

    _reference, receipt = send_report(client)
    assert post_form(client, "/reporting/report/forget", token_from="/").status_code == 204
    with in_db(app):
        assert KeptReceipt.select().count() == 0 and _drafts(app) == 0
    assert receipt not in _page(client.get(FORM))


def test_a_send_whose_process_died_lets_go_after_a_while(app, client):
    """A "sending" row left by a killed worker: not a report (its draft is still there), so once
    it is older than any request can run, the form can be sent again; until then it waits."""
    import datetime
    import json

    from core.db import utcnow
    from core.tokens import hash_token
    from plugins.reporting import wizard
    from plugins.reporting.models import Draft

    fill_in(client)
    with client.session_transaction() as session:
        key = session[wizard.SESSION_KEY]
    long_ago = (utcnow() - wizard.SEND_CLAIM_TIMEOUT - datetime.timedelta(seconds=5)).timestamp()
    with in_db(app):
        Draft.create(key_hash=hash_token(key + ":sent"), data=json.dumps({"sending": long_ago}),
                     expires_at=utcnow() + wizard.SENT_LIFETIME)
    shown = step(client, action="send", step_code="check")
    assert RECEIPT_PATTERN.search(_page(shown))
    assert _reports(app) == 1
