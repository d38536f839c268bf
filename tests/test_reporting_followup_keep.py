"""Nothing a reporter has typed or chosen is lost or doubled on the way:

- on "Follow up a report" (and My reports), changing the language keeps the message being typed,
  sends nothing, and leaves the message box's one-time key (core.once) unclaimed;
- adding pictures there, sent twice (a reload, a double tap, two at the same moment), stores them once;
- on the report form's pictures step, changing the language adds the pictures chosen but not yet
  added, as "Add these pictures" would, with any error in the new language;
- the "not sent yet" and "Delete your answers?" pages post what their buttons need.
"""

from __future__ import annotations

import io
import re
import threading

from helpers import enable, post_form, sign_in
from test_reporting_common import FORM, WHAT, _page, in_db, png, send_report, step

FOLLOW_UP = "/reporting/follow-up"
TYPED = "He came back on Friday, in the same silver car.\nI wrote the plate down: AB12 CDE."


def _form_key(page: str) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', page).group(1)


def _files_key(page: str) -> str:
    """"Add these pictures"'s own one-time key (the message has form_key)."""
    return re.search(r'name="files_key" value="([^"]+)"', page).group(1)


def _page_form(page: str) -> str:
    return re.search(r'<form[^>]*id="follow-up-form".*?</form>', page, re.S).group(0)


def _textarea(page: str) -> str:
    return re.search(r'<textarea id="f-body"[^>]*>(.*?)</textarea>', page, re.S).group(1)


def _report(app, reference: str) -> dict:
    from core.audit import AuditEntry
    from plugins.reporting.models import Attachment, Report, ReportMessage

    with in_db(app):
        report = Report.get(Report.reference == reference)
        return {
            "messages": [m.body for m in ReportMessage.select().where(ReportMessage.report == report)
                         .order_by(ReportMessage.id)],
            "pictures": Attachment.select().where(Attachment.report == report).count(),
            "status": report.status,
            "updated_at": report.updated_at,
            "audit": [e.action for e in AuditEntry.select().where(AuditEntry.target == f"report:{reference}")],
        }


def _set_status(app, reference: str, status: str) -> None:
    from plugins.reporting.models import Report

    with in_db(app):
        Report.update(status=status).where(Report.reference == reference).execute()


def _files_step(client) -> str:
    step(client, WHAT, step_code="what")
    return _page(step(client, {}, action="goto:files", step_code="when"))


def _draft_pictures(app) -> int:
    from plugins.reporting.models import Attachment

    with in_db(app):
        return Attachment.select().where(Attachment.draft.is_null(False)).count()


# -- the message box keeps what was typed through a change of language ------------------------------


def test_changing_language_on_the_follow_up_page_keeps_the_message_and_sends_nothing(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    _set_status(app, reference, "needs_info")  # an answer would put it back in triage: a switch must not
    before = _report(app, reference)
    page = _page(post_form(client, FOLLOW_UP, {"receipt": receipt}))
    switcher = re.search(r'<form[^>]*id="language".*?</form>', page, re.S).group(0)
    assert 'name="locale" form="follow-up-form"' in switcher
    assert 'form="follow-up-form" name="action" value="language"' in switcher
    key = _form_key(page)

    switched = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "language", "locale": "pl",
                                             "body": TYPED, "form_key": key})
    assert switched.status_code == 200
    text = _page(switched)
    assert '<html lang="pl"' in text
    assert "Napisz do naszego zespołu lub dodaj informacje" in text  # the box's label, in Polish
    assert _textarea(text) == TYPED  # as typed
    assert "has-error" not in text and 'class="error' not in text
    assert f'name="receipt" value="{receipt}"' in _page_form(text)  # still opens the same report
    assert _form_key(text) == key  # the same key back, unclaimed
    assert _report(app, reference) == before  # no message, no status change, no audit entry

    # The message, sent now with that key, is sent once; the page from before the switch, sending
    # it again with the same key, adds nothing.
    sent = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "message", "body": TYPED, "form_key": key})
    assert sent.status_code == 200 and '<html lang="pl"' in _page(sent)
    again = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "message", "body": TYPED,
                                          "form_key": key})
    assert "Ta wiadomość została już wysłana" in _page(again)  # "already sent", in the chosen language
    after = _report(app, reference)
    assert after["messages"] == [TYPED]
    assert after["status"] == "triage"


def test_an_empty_message_box_changes_language_without_an_error(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    switched = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "language", "locale": "es", "body": ""})
    assert switched.status_code == 200
    text = _page(switched)
    assert '<html lang="es"' in text and "has-error" not in text
    assert _textarea(text) == ""
    assert _report(app, reference)["messages"] == []


def test_a_language_the_site_does_not_offer_keeps_the_page_and_the_message(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    switched = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "language", "locale": "xx",
                                             "body": "Still here."})
    assert switched.status_code == 200
    text = _page(switched)
    assert '<html lang="en' in text and _textarea(text) == "Still here."
    assert _report(app, reference)["messages"] == []


def test_a_message_refused_as_too_long_is_kept_in_the_box(app):
    from plugins.reporting.schemas import MAX_MESSAGE

    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    long = "a" * (MAX_MESSAGE + 1)
    refused = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "message", "body": long})
    assert refused.status_code == 422
    assert _textarea(_page(refused)) == long  # shortened by the person, not thrown away by us
    assert _report(app, reference)["messages"] == []


def test_a_signed_in_reporter_keeps_the_message_on_my_reports_too(app, make_user):
    member = make_user("member")
    enable(app, "reporting")
    client = app.test_client()
    sign_in(client, member)
    reference, _receipt = send_report(client)
    path = f"/reporting/mine/{reference}"
    page = _page(client.get(path))
    assert 'form="follow-up-form" name="action" value="language"' in page
    switched = post_form(client, path, {"action": "language", "locale": "pl", "body": TYPED,
                                        "form_key": _form_key(page)}, token_from=path)
    assert switched.status_code == 200  # drawn at once: a redirect would lose the message
    text = _page(switched)
    assert '<html lang="pl"' in text and _textarea(text) == TYPED
    assert _report(app, reference)["messages"] == []
    assert '<html lang="pl"' in _page(client.get(path))  # kept on the account for the next pages


# -- pictures added on the follow-up page are added once -------------------------------------------


def _add_pictures(client, receipt: str, key: str, *pictures: bytes):
    return post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "upload", "files_key": key,
                                         "files": [(io.BytesIO(p), f"shot{i}.png") for i, p in enumerate(pictures)]},
                     content_type="multipart/form-data")


def test_pictures_sent_again_are_added_once_and_the_page_says_so(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    page = _page(post_form(client, FOLLOW_UP, {"receipt": receipt}))
    key = _files_key(page)  # the pictures' own key, not the message box's
    assert key != _form_key(page)

    first = _add_pictures(client, receipt, key, png(), png((255, 0, 0)))
    assert first.status_code == 200 and "Your photos are added" in _page(first)
    again = _add_pictures(client, receipt, key, png(), png((255, 0, 0)))  # the browser's resend on reload
    assert again.status_code == 200
    assert "These pictures were already added: we did not add them twice." in _page(again)
    stored = _report(app, reference)
    assert stored["pictures"] == 2
    assert stored["audit"].count("report.files_added") == 1

    # The page after adding carries a new key: more pictures are new pictures.
    more = _add_pictures(client, receipt, _files_key(_page(first)), png((0, 255, 0)))
    assert "Your photos are added" in _page(more)
    assert _report(app, reference)["pictures"] == 3


def test_refused_pictures_leave_the_key_unclaimed(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    key = _files_key(_page(post_form(client, FOLLOW_UP, {"receipt": receipt})))
    refused = _add_pictures(client, receipt, key, b"not a picture")
    assert refused.status_code == 422
    assert _report(app, reference)["pictures"] == 0
    # Choosing a real picture and sending the same form again adds it.
    assert "Your photos are added" in _page(_add_pictures(client, receipt, key, png()))
    assert _report(app, reference)["pictures"] == 1


def test_pictures_sent_twice_at_the_same_moment_are_added_once(app):
    enable(app, "reporting")
    clients = [app.test_client() for _ in range(2)]
    reference, receipt = send_report(clients[0])
    pages = [_page(post_form(c, FOLLOW_UP, {"receipt": receipt})) for c in clients]
    key = _files_key(pages[0])
    tokens = [re.search(r'name="csrf_token" value="([^"]+)"', p).group(1) for p in pages]
    picture = png()
    answers, ready = [], threading.Barrier(2)

    def tap(client, token):
        ready.wait()
        response = client.post(FOLLOW_UP, data={"csrf_token": token, "receipt": receipt, "action": "upload",
                                                "files_key": key, "files": [(io.BytesIO(picture), "shot.png")]},
                               content_type="multipart/form-data")
        answers.append((response.status_code, _page(response)))

    threads = [threading.Thread(target=tap, args=(c, t)) for c, t in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200, 200]
    said = sorted("already added" in page for _, page in answers)
    assert said == [False, True]  # one added them, the other said so
    assert _report(app, reference)["pictures"] == 1


def test_a_double_tap_on_add_in_the_report_form_adds_the_pictures_once(app):
    enable(app, "reporting")
    client = app.test_client()
    key = _form_key(_files_step(client))
    answers = [_page(step(client, {"form_key": key, "files": [(io.BytesIO(png()), "shot.png")]}, action="upload",
                          step_code="files", content_type="multipart/form-data")) for _tap in range(2)]
    assert "already added" not in answers[0] and "These pictures were already added" in answers[1]
    assert _draft_pictures(app) == 1


# -- the report form's pictures step keeps pictures chosen through a change of language --------------


def test_changing_language_on_the_pictures_step_adds_the_pictures_chosen(app):
    enable(app, "reporting")
    client = app.test_client()
    page = _files_step(client)
    assert 'id="f-files"' in page
    switched = step(client, {"locale": "pl", "form_key": _form_key(page),
                             "files": [(io.BytesIO(png()), "a.png"), (io.BytesIO(png((9, 9, 9))), "b.png")]},
                    action="language", step_code="files", content_type="multipart/form-data")
    assert switched.status_code == 200
    text = _page(switched)
    assert '<html lang="pl"' in text
    assert text.count('value="remove_file:') == 2  # both listed as added, on the same step
    assert _draft_pictures(app) == 2


def test_a_refused_picture_on_a_change_of_language_is_explained_in_the_new_language(app):
    enable(app, "reporting")
    client = app.test_client()
    page = _files_step(client)
    switched = step(client, {"locale": "pl", "form_key": _form_key(page),
                             "files": [(io.BytesIO(b""), "empty.png"), (io.BytesIO(png()), "good.png")]},
                    action="language", step_code="files", content_type="multipart/form-data")
    assert switched.status_code == 422
    text = _page(switched)
    assert '<html lang="pl"' in text
    assert "„empty.png”: Ten plik jest pusty." in text  # "That file is empty.", in Polish
    assert "That file is empty." not in text
    assert text.count('value="remove_file:') == 1 and _draft_pictures(app) == 1


def test_changing_language_on_the_pictures_step_without_pictures_asks_for_none(app):
    enable(app, "reporting")
    client = app.test_client()
    _files_step(client)
    switched = step(client, {"locale": "pl"}, action="language", step_code="files")
    assert switched.status_code == 200
    text = _page(switched)
    assert '<html lang="pl"' in text and "has-error" not in text
    assert _draft_pictures(app) == 0


# -- the pages without the step's fields -----------------------------------------------------------


def test_the_resume_and_confirm_pages_post_their_page_and_step(app):
    enable(app, "reporting")
    client = app.test_client()
    step(client, WHAT, step_code="what")
    resume = _page(client.get(FORM))  # a later visit: asks first
    assert "You have a report that is not sent yet" in resume
    for hidden in ('name="step" value="when"', 'name="page" value="resume"', 'name="csrf_token"'):
        assert hidden in resume
    confirm = _page(step(client, {"page": "resume"}, action="discard", step_code="when"))
    assert "Delete your answers?" in confirm
    for hidden in ('name="step" value="when"', 'name="page" value="confirm"', 'name="csrf_token"'):
        assert hidden in confirm
    kept = _page(step(client, {"page": "confirm"}, action="discard_no", step_code="when"))
    assert "When and where" in kept
