"""On "Follow up a report" (and My reports) the whole page is one form, so changing the language
keeps what was typed or chosen in every part of it, not only the message box: the contact details
for a yes to support, the tick before a yes to the police, and the names of pictures chosen but not
added (a file field cannot be filled in again, and the pictures are not sent: the page asks for
them again). Nothing is sent, given or stored by the change, and what is sent afterwards is stored
once. The message box itself is tested in test_reporting_followup_keep.py.
"""

from __future__ import annotations

import io
import re

from helpers import post_form, sign_in
from test_reporting_common import WISHES, _page, in_db, png, send_report, with_reporting

FOLLOW_UP = "/reporting/follow-up"
NO_SUPPORT = {**WISHES, "consent_wants_support": "no", "support_contact": "", "support_safe_times": ""}
CONTACT = {"support_contact_method": "text", "support_contact": "07700 900555",
           "support_safe_times": "Weekdays after 6pm, text only", "support_may_leave_message": "no"}
FRENCH_SUPPORT_LEGEND = "Si vous voulez du soutien : comment vous joindre en sécurité ?"


reporting = with_reporting  # every test here: the app with the reporting module on


def _stored(app, reference: str) -> dict:
    """Everything a follow-up action could change, to compare before and after."""
    from core.audit import AuditEntry
    from plugins.reporting.models import Attachment, Consent, Report, ReportMessage

    with in_db(app):
        report = Report.get(Report.reference == reference)
        return {
            "messages": [m.body for m in ReportMessage.select().where(ReportMessage.report == report)],
            "pictures": Attachment.select().where(Attachment.report == report).count(),
            "consents": sorted((c.purpose, c.withdrawn_at is None) for c in
                               Consent.select().where(Consent.report == report)),
            "contact": [getattr(report, name) for name in CONTACT],
            "status": report.status,
            "updated_at": report.updated_at,
            "audit": sorted(e.action for e in AuditEntry.select().where(AuditEntry.target.startswith(
                f"report:{reference}"))),
        }


def _given(app, reference: str, purpose: str) -> int:
    """How many times the purpose was said yes to (rows, withdrawn or not)."""
    from plugins.reporting.models import Consent, Report

    with in_db(app):
        report = Report.get(Report.reference == reference)
        return Consent.select().where((Consent.report == report) & (Consent.purpose == purpose)).count()


def _field(page: str, name: str) -> str:
    return re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', page).group(0)


def _value(page: str, name: str) -> str:
    return re.search(r'value="([^"]*)"', _field(page, name)).group(1)


def _switch(client, receipt: str, fields: dict, locale: str = "fr", **kwargs):
    return post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "language", "locale": locale, **fields},
                     **kwargs)


def _opened(client, receipt: str) -> str:
    return _page(post_form(client, FOLLOW_UP, {"receipt": receipt}))


def test_the_whole_page_is_one_form_that_the_language_switcher_posts(reporting):
    client = reporting.test_client()
    _reference, receipt = send_report(client, wishes=NO_SUPPORT)
    page = _opened(client, receipt)
    main = page[page.index("<main"):page.index("</main>")]
    assert main.count("<form") == 1 and 'id="follow-up-form"' in main
    form = re.search(r'<form[^>]*id="follow-up-form"[^>]*>', main).group(0)
    assert "enctype" not in form  # only "Add these pictures" sends the pictures themselves
    assert 'value="upload" formenctype="multipart/form-data"' in main
    for name in ("body", "files", *CONTACT, "agree"):
        assert f'name="{name}"' in main, name
    assert 'name="locale" form="follow-up-form"' in page
    assert 'form="follow-up-form" name="action" value="language"' in page
    # Enter in a field presses the form's first button: a disabled one, so it sends nothing.
    first = re.search(r"<button[^>]*>", main).group(0)
    assert "disabled" in first and "hidden" in first and 'name="action"' not in first


def test_changing_language_keeps_the_contact_details_for_support_and_gives_nothing(reporting):
    client = reporting.test_client()
    reference, receipt = send_report(client, wishes=NO_SUPPORT)
    before = _stored(reporting, reference)
    page = _opened(client, receipt)

    switched = _switch(client, receipt, {**CONTACT, "form_key": re.search(r'name="form_key" value="([^"]+)"',
                                                                            page).group(1)})
    assert switched.status_code == 200
    text = _page(switched)
    assert '<html lang="fr"' in text and FRENCH_SUPPORT_LEGEND in text
    assert "Le meilleur moyen de vous joindre" in text  # the fields' labels, in French
    assert '<option value="text" selected>SMS</option>' in text
    assert _value(text, "support_contact") == "07700 900555"
    assert _value(text, "support_safe_times") == "Weekdays after 6pm, text only"
    assert 'id="f-support_may_leave_message-no" name="support_may_leave_message" value="no" checked' in text
    assert "has-error" not in text and 'class="error' not in text
    assert _stored(reporting, reference) == before  # no yes given, nothing saved, nothing audited

    # The yes, pressed now on the page in French, is given once with those details.
    give = {"receipt": receipt, "action": "give:wants_support", **CONTACT}
    assert post_form(client, FOLLOW_UP, give).status_code == 200
    assert post_form(client, FOLLOW_UP, give).status_code == 200  # the browser's resend on reload
    assert _given(reporting, reference, "wants_support") == 1
    after = _stored(reporting, reference)
    assert after["contact"] == ["text", "07700 900555", "Weekdays after 6pm, text only", False]
    assert after["audit"].count("report.consent_given") == 1


def test_changing_language_keeps_the_tick_before_a_yes_to_the_police_and_gives_nothing(reporting):
    client = reporting.test_client()
    reference, receipt = send_report(client, wishes=NO_SUPPORT)
    before = _stored(reporting, reference)

    text = _page(_switch(client, receipt, {"agree": "police_report"}))
    assert '<html lang="fr"' in text
    assert '<label for="agree-police_report">Oui, je suis d&#39;accord</label>' in text \
        or "<label for=\"agree-police_report\">Oui, je suis d'accord</label>" in text
    assert 'id="agree-police_report" name="agree" value="police_report" checked' in text
    assert 'checked' not in _field(text, "agree")  # the first box, police_intelligence's, stays as it was: empty
    assert _stored(reporting, reference) == before

    # Each tick counts for its own yes only: the police_report tick does not give police_intelligence.
    other = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "give:police_intelligence",
                                          "agree": "police_report"})
    assert other.status_code == 422
    assert 'id="agree-police_report" name="agree" value="police_report" checked' in _page(other)  # kept
    assert _given(reporting, reference, "police_intelligence") == 0
    give = {"receipt": receipt, "action": "give:police_report", "agree": "police_report"}
    assert post_form(client, FOLLOW_UP, give).status_code == 200
    assert post_form(client, FOLLOW_UP, give).status_code == 200
    assert _given(reporting, reference, "police_report") == 1


def test_pictures_chosen_but_not_added_are_named_in_the_new_language_and_not_sent(reporting):
    client = reporting.test_client()
    reference, receipt = send_report(client, wishes=NO_SUPPORT)
    before = _stored(reporting, reference)
    page = _opened(client, receipt)
    key = re.search(r'name="files_key" value="([^"]+)"', page).group(1)

    # What the browser posts for a file field in a form that is not multipart: the names only.
    switched = _switch(client, receipt, {"files": ["IMG_2041.jpg", "capture <1>.png"], "files_key": key,
                                         "body": "Typed too."})
    assert switched.status_code == 200
    text = _page(switched)
    assert '<html lang="fr"' in text
    notice = re.search(r'<p class="flash" role="status">(.*?)</p>', text, re.S).group(1)
    assert "IMG_2041.jpg, capture &lt;1&gt;.png" in notice  # named, so they can be found again
    assert "« Ajouter ces images »" in notice  # the button it names is the one on the page, in French
    assert "<label for=\"f-files\">Ajouter des images</label>" in text
    assert re.search(r'<textarea id="f-body"[^>]*>Typed too.</textarea>', text)
    assert _stored(reporting, reference) == before  # not added: they would reach the team at once
    assert re.search(r'name="files_key" value="([^"]+)"', text).group(1) == key  # the same key, unclaimed

    # Chosen again and added: stored once, even when the page from before the switch adds them too.
    upload = {"receipt": receipt, "action": "upload", "files_key": key}
    first = post_form(client, FOLLOW_UP, {**upload, "files": [(io.BytesIO(png()), "IMG_2041.jpg")]},
                      content_type="multipart/form-data")
    assert first.status_code == 200 and '<html lang="fr"' in _page(first)
    post_form(client, FOLLOW_UP, {**upload, "files": [(io.BytesIO(png()), "IMG_2041.jpg")]},
              content_type="multipart/form-data")
    after = _stored(reporting, reference)
    assert after["pictures"] == 1 and after["audit"].count("report.files_added") == 1


def test_pictures_posted_whole_with_a_change_of_language_are_not_added_either(reporting):
    """A client that sends the files themselves (multipart) with the switch: still named, not added."""
    client = reporting.test_client()
    reference, receipt = send_report(client, wishes=NO_SUPPORT)
    switched = _switch(client, receipt, {"files": [(io.BytesIO(png()), "shot.png")]},
                       content_type="multipart/form-data")
    assert switched.status_code == 200
    assert "shot.png" in re.search(r'<p class="flash" role="status">(.*?)</p>', _page(switched), re.S).group(1)
    assert _stored(reporting, reference)["pictures"] == 0


def test_no_pictures_chosen_means_no_notice(reporting):
    client = reporting.test_client()
    _reference, receipt = send_report(client, wishes=NO_SUPPORT)
    text = _page(_switch(client, receipt, {"files": ""}))  # an empty file field, as browsers post it
    assert '<html lang="fr"' in text and 'class="flash"' not in text


def test_everything_typed_is_kept_through_a_mistake_in_one_part(reporting):
    """One form: a mistake in the support details keeps the message and the tick too, and gives nothing."""
    client = reporting.test_client()
    reference, receipt = send_report(client, wishes=NO_SUPPORT)
    refused = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "give:wants_support",
                                            "support_contact_method": "pigeon", "support_contact": "07700 900555",
                                            "body": "Still writing.", "agree": "police_intelligence"})
    assert refused.status_code == 422
    text = _page(refused)
    assert _value(text, "support_contact") == "07700 900555"
    assert re.search(r'<textarea id="f-body"[^>]*>Still writing.</textarea>', text)
    assert 'id="agree-police_intelligence" name="agree" value="police_intelligence" checked' in text
    assert _given(reporting, reference, "wants_support") == 0


def test_a_signed_in_reporter_keeps_every_part_on_my_reports_too(reporting, make_user):
    client = reporting.test_client()
    sign_in(client, make_user("member"))
    reference, _receipt = send_report(client, wishes=NO_SUPPORT)
    path = f"/reporting/mine/{reference}"
    before = _stored(reporting, reference)
    switched = post_form(client, path, {"action": "language", "locale": "fr", **CONTACT, "agree": "police_report",
                                        "body": "Bonjour.", "files": "note.png"}, token_from=path)
    assert switched.status_code == 200  # drawn at once: a redirect would lose what was typed
    text = _page(switched)
    assert '<html lang="fr"' in text and FRENCH_SUPPORT_LEGEND in text
    assert _value(text, "support_contact") == "07700 900555"
    assert 'value="police_report" checked' in text
    assert re.search(r'<textarea id="f-body"[^>]*>Bonjour.</textarea>', text)
    assert "note.png" in text
    assert _stored(reporting, reference) == before


# -- after one part is done, the others stay as typed --------------------------------------------


def _form_key(page: str) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', page).group(1)


def test_adding_pictures_keeps_the_message_and_the_support_details_being_typed(reporting):
    """A reporter half-way through a message adds a picture first: the picture is added, the message,
    the contact details and the tick stay as typed (nothing of them sent), and the message sent
    afterwards is stored once, after which its box is empty and the rest still there."""
    client = reporting.test_client()
    reference, receipt = send_report(client, wishes=NO_SUPPORT)
    page = _opened(client, receipt)
    typed = {**CONTACT, "body": "He came back on Friday.", "agree": "police_report",
             "form_key": _form_key(page)}
    added = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "upload", **typed,
                                          "files_key": re.search(r'name="files_key" value="([^"]+)"', page).group(1),
                                          "files": [(io.BytesIO(png()), "shot.png")]},
                      content_type="multipart/form-data")
    assert added.status_code == 200
    text = _page(added)
    assert "Your photos are added" in text
    assert re.search(r'<textarea id="f-body"[^>]*>He came back on Friday.</textarea>', text)
    assert _value(text, "support_contact") == "07700 900555"
    assert 'value="police_report" checked' in text
    assert _form_key(text) == typed["form_key"], "the message's key is still unclaimed"
    stored = _stored(reporting, reference)
    assert stored["pictures"] == 1 and stored["messages"] == [] and _given(reporting, reference, "police_report") == 0

    sent = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "message", **typed})
    text = _page(sent)
    assert "Your message is sent" in text
    assert re.search(r'<textarea id="f-body"[^>]*></textarea>', text), "the message sent is not offered again"
    assert _form_key(text) != typed["form_key"]
    assert _value(text, "support_contact") == "07700 900555" and 'value="police_report" checked' in text
    again = post_form(client, FOLLOW_UP, {"receipt": receipt, "action": "message", **typed})  # a reload
    assert "already sent" in _page(again)
    assert _stored(reporting, reference)["messages"] == ["He came back on Friday."]


def test_a_yes_to_support_on_my_reports_empties_its_details_and_keeps_the_message(reporting, make_user):
    client = reporting.test_client()
    sign_in(client, make_user("member"))
    reference, _receipt = send_report(client, wishes=NO_SUPPORT)
    path = f"/reporting/mine/{reference}"
    given = post_form(client, path, {"action": "give:wants_support", **CONTACT, "body": "Still writing.",
                                     "agree": "police_report"}, token_from=path)
    assert given.status_code == 200  # drawn at once, as for a receipt holder: a redirect would lose the rest
    text = _page(given)
    assert "Done. You said yes to" in text
    assert re.search(r'<textarea id="f-body"[^>]*>Still writing.</textarea>', text)
    assert 'value="police_report" checked' in text
    assert 'value="07700 900555"' not in text, "the details given are not offered again"
    assert _given(reporting, reference, "wants_support") == 1
    assert _stored(reporting, reference)["messages"] == []
