"""Nothing a reporter has chosen is doubled on the way: adding pictures on "Follow up a report"
(and My reports), sent twice (a reload, a double tap, two at the same moment), stores them once,
and so does a double tap on "Add these pictures" in the report form. Also: the "not sent yet" and
"Delete your answers?" pages post what their buttons need.
"""

from __future__ import annotations

import io
import re
import threading

from helpers import enable, post_form
from PIL import Image
from test_reporting_common import FORM, WHAT, in_db, send_report, step

FOLLOW_UP = "/reporting/follow-up"


def _page(response) -> str:
    return response.get_data(as_text=True)


def _png(colour=(0, 0, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="PNG")
    return out.getvalue()


def _form_key(page: str, index: int = 0) -> str:
    return re.findall(r'name="form_key" value="([^"]+)"', page)[index]


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


def _files_step(client) -> str:
    step(client, WHAT, step_code="what")
    return _page(step(client, {}, action="goto:files", step_code="when"))


def _draft_pictures(app) -> int:
    from plugins.reporting.models import Attachment

    with in_db(app):
        return Attachment.select().where(Attachment.draft.is_null(False)).count()


# -- pictures added on the follow-up page are added once -------------------------------------------


def _add_pictures(client, receipt: str, key: str, *pictures: bytes):
    return post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "upload", "form_key": key,
                                         "files": [(io.BytesIO(p), f"shot{i}.png") for i, p in enumerate(pictures)]},
                     content_type="multipart/form-data")


def test_pictures_sent_again_are_added_once_and_the_page_says_so(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    page = _page(post_form(client, FOLLOW_UP, {"receipt": receipt}))
    key = _form_key(page, 1)  # the pictures form's own key, not the message box's
    assert key != _form_key(page, 0)

    first = _add_pictures(client, receipt, key, _png(), _png((255, 0, 0)))
    assert first.status_code == 200 and "Your photos are added" in _page(first)
    again = _add_pictures(client, receipt, key, _png(), _png((255, 0, 0)))  # the browser's resend on reload
    assert again.status_code == 200
    assert "These pictures were already added: we did not add them twice." in _page(again)
    stored = _report(app, reference)
    assert stored["pictures"] == 2
    assert stored["audit"].count("report.files_added") == 1

    # The page after adding carries a new key: more pictures are new pictures.
    more = _add_pictures(client, receipt, _form_key(_page(first), 1), _png((0, 255, 0)))
    assert "Your photos are added" in _page(more)
    assert _report(app, reference)["pictures"] == 3


def test_refused_pictures_leave_the_key_unclaimed(app):
    enable(app, "reporting")
    client = app.test_client()
    reference, receipt = send_report(client)
    key = _form_key(_page(post_form(client, FOLLOW_UP, {"receipt": receipt})), 1)
    refused = _add_pictures(client, receipt, key, b"not a picture")
    assert refused.status_code == 422
    assert _report(app, reference)["pictures"] == 0
    # Choosing a real picture and sending the same form again adds it.
    assert "Your photos are added" in _page(_add_pictures(client, receipt, key, _png()))
    assert _report(app, reference)["pictures"] == 1


def test_pictures_sent_twice_at_the_same_moment_are_added_once(app):
    enable(app, "reporting")
    clients = [app.test_client() for _ in range(2)]
    reference, receipt = send_report(clients[0])
    pages = [_page(post_form(c, FOLLOW_UP, {"receipt": receipt})) for c in clients]
    key = _form_key(pages[0], 1)
    tokens = [re.search(r'name="csrf_token" value="([^"]+)"', p).group(1) for p in pages]
    picture = _png()
    answers, ready = [], threading.Barrier(2)

    def tap(client, token):
        ready.wait()
        response = client.post(FOLLOW_UP, data={"csrf_token": token, "receipt": receipt, "action": "upload",
                                                "form_key": key, "files": [(io.BytesIO(picture), "shot.png")]},
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
    answers = [_page(step(client, {"form_key": key, "files": [(io.BytesIO(_png()), "shot.png")]}, action="upload",
                          step_code="files", content_type="multipart/form-data")) for _tap in range(2)]
    assert "already added" not in answers[0] and "These pictures were already added" in answers[1]
    assert _draft_pictures(app) == 1


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
