"""The step-by-step report form: one address, post/redirect/get, a draft that survives steps and
mistakes, consent shown again before sending, a receipt shown once, and nothing about the device stored."""

from __future__ import annotations

import io
import re

from helpers import post_form, sign_in
from PIL import Image
from test_reporting_common import (
    FORM,
    WHAT,
    WHEN,
    WHO,
    WISHES,
    _page,
    fill_in,
    in_db,
    send_report,
    step,
    with_reporting,
)

from core.db import db

app = with_reporting  # every test here: the app with the reporting module on


def test_every_step_posts_to_the_same_address_and_is_redirected_back_to_it(app, client):
    first = client.get(FORM)
    assert first.status_code == 200
    assert 'action="/reporting/report"' in _page(first)
    headings = []
    for code, values in (("what", WHAT), ("when", WHEN), ("who", WHO), ("wishes", WISHES), ("files", {})):
        posted = step(client, values, step_code=code, follow_redirects=False)
        # post/redirect/get to the same address: Back and reload never send the form again
        assert posted.status_code == 303 and posted.headers["Location"] == FORM
        response = client.get(FORM)
        assert response.status_code == 200
        page = _page(response)
        assert 'action="/reporting/report"' in page
        assert "step=" not in response.request.url and response.request.path == FORM
        headings.append(re.search(r"<h1>(.*?)</h1>", page).group(1))
    assert headings == ["When and where", "The person who did this", "What you would like us to do",
                        "Photos or screenshots", "Check and send"]


def test_anonymous_report_is_stored_encrypted_with_a_receipt_shown_once(app, client):
    reference, receipt = send_report(client)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt)

    from plugins.reporting.models import Consent, Draft, PerpetratorIdentifier, Report

    with in_db(app):
        report = Report.get(Report.reference == reference)
        assert report.reporter_id is None and report.status == "new"
        assert report.narrative == WHAT["narrative"] and report.location == "near the station"
        assert report.incident_type_codes == ["physical_assault", "robbery"]
        assert str(report.occurred_on) == "2024-05-01" and report.region == "london"
        assert report.support_contact == "07700 900999" and report.support_safe_times == "text only"
        assert report.receipt_hash and receipt.replace(" ", "") not in report.receipt_hash
        assert report.urgency == 2  # support was asked for
        kinds = sorted((i.kind, i.display) for i in PerpetratorIdentifier.select())
        assert kinds == [("email", "dave@example.com"), ("handle", "dave_x"), ("phone", "+447700900123"),
                         ("plate", "AB12CDE")]
        assert sorted(c.purpose for c in Consent.select()) == ["share_alert", "wants_support"]
        # the draft is gone once the report is sent: what its key leads to now says only "sent"
        assert Draft.select().count() == 1 and "sent" in Draft.get().data and WHAT["narrative"] not in Draft.get().data
        raw = db.execute_sql("SELECT narrative, location, support_contact FROM reporting_report").fetchone()
        assert all(value.startswith("gAAAA") for value in raw)  # Fernet tokens, not text

    # A reload (or a resend) shows the same report and receipt again for a few minutes, and makes
    # no second report (the receipt's time is tested in test_reporting_form_safety.py).
    again = client.get(FORM)
    assert receipt in _page(again) and reference in _page(again)
    resent = step(client, action="send", step_code="check")
    assert resent.status_code == 200 and receipt in _page(resent) and reference in _page(resent)
    assert "Please start again" not in _page(resent)
    with in_db(app):
        assert Report.select().count() == 1


def test_a_mistake_keeps_everything_typed_and_links_the_message_to_the_field(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    wrong = {**WHEN, "occurred_on": "2999-01-01", "location": "behind the big hotel"}
    response = step(client, wrong, step_code="when")
    assert response.status_code == 422
    page = _page(response)
    assert "This date is in the future" in page
    assert 'aria-describedby="f-occurred_on-hint f-occurred_on-error"' in page
    assert 'aria-invalid="true"' in page
    assert 'value="behind the big hotel"' in page and 'value="2999-01-01"' in page
    assert '<a href="#f-occurred_on">' in page  # the summary at the top links to the field

    # Going back and forward again still shows what was typed on both steps.
    back = step(client, {**wrong}, action="back", step_code="when")
    assert "He took the money back and hit me." in _page(back)
    forward = step(client, WHAT, step_code="what")
    assert 'value="behind the big hotel"' in _page(forward)


def test_a_reload_asks_before_showing_the_answers_then_shows_the_current_step(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    step(client, WHEN, step_code="when")
    reloaded = client.get(FORM)
    page = _page(reloaded)
    assert reloaded.status_code == 200 and "You have a report that is not sent yet" in page
    assert "near the station" not in page and "hit me" not in page  # nothing shown before asking
    resumed = step(client, {"page": "resume"}, action="resume", step_code="who")
    assert "<h1>The person who did this</h1>" in _page(resumed)
    back = step(client, {}, action="back", step_code="who")
    assert 'value="near the station"' in _page(back)


def test_a_wrong_phone_is_named_by_its_line_and_kept(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    step(client, WHEN, step_code="when")
    response = step(client, {**WHO, "p0-phones": "07700 900123\n12"}, step_code="who")
    assert response.status_code == 422
    page = _page(response)
    assert "“12”: This does not look like a phone number" in page
    assert "07700 900123\n12</textarea>" in page


def test_each_consent_is_an_explicit_choice(app, client):
    client.get(FORM)
    for code, values in (("what", WHAT), ("when", WHEN), ("who", WHO)):
        step(client, values, step_code=code)
    response = step(client, {"consent_share_alert": "yes"}, step_code="wishes")
    assert response.status_code == 422
    page = _page(response)
    for purpose in ("police_intelligence", "police_report", "wants_support"):
        assert f'id="f-consent_{purpose}-error"' in page
    assert 'id="f-consent_share_alert-error"' not in page
    assert 'id="f-consent_share_alert-yes" name="consent_share_alert" value="yes" checked' in page


def test_the_check_page_shows_the_consent_choices_again(app, client):
    page = _page(fill_in(client))
    consents = page[page.index('id="sum-wishes"'):]
    assert "<strong>Yes</strong>: Share a warning with other sex workers" in consents
    assert "<strong>No</strong>: Share anonymous information with the police" in consents
    assert "<strong>No</strong>: Help you to make a full report to the police" in consents
    assert "<strong>Yes</strong>: Support from a caseworker" in consents
    assert "text only" in consents
    # "Change" goes back to that step, still on the same address, answers intact.
    change = step(client, action="goto:wishes", step_code="check")
    assert "<h1>What you would like us to do</h1>" in _page(change)
    assert 'value="yes" checked' in _page(change)


def test_support_contact_is_not_kept_without_asking_for_support(app, client):
    reference, _receipt = send_report(client, wishes={**WISHES, "consent_wants_support": "no"})
    from plugins.reporting.models import Report

    with in_db(app):
        report = Report.get(Report.reference == reference)
        assert report.support_contact is None and report.support_safe_times is None


def test_people_can_be_added_and_removed_without_losing_the_others(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    step(client, WHEN, step_code="when")
    two = step(client, {**WHO}, action="add_person", step_code="who")
    assert "Person 2" in _page(two)
    second = {**WHO, "p1-names": "Second Person", "p1-phones": "+44 7700 900555"}
    three = step(client, second, action="add_person", step_code="who")
    assert "Person 3" in _page(three)
    after = step(client, {**second, "p2-names": ""}, action="remove_person:0", step_code="who")
    page = _page(after)
    assert "Person 3" not in page and "Second Person</textarea>" in page and "Dave\n" not in page
    for code, values in (("who", {"p0-names": "Second Person", "p0-phones": "+44 7700 900555", "p1-names": "Third"}),
                         ("wishes", WISHES), ("files", {})):
        step(client, values, step_code=code)
    step(client, action="send", step_code="check")
    from plugins.reporting.models import Perpetrator

    with in_db(app):
        assert sorted(p.name_list[0] for p in Perpetrator.select()) == ["Second Person", "Third"]


def test_deleting_the_answers_removes_the_draft(app, client):
    client.get(FORM)
    step(client, WHAT, step_code="what")
    from plugins.reporting.models import Draft

    with in_db(app):
        assert Draft.select().count() == 1
        stored = db.execute_sql("SELECT data FROM reporting_draft").fetchone()[0]
        assert "hit me" not in stored and stored.startswith("gAAAA")  # the draft is encrypted
    asked = step(client, {}, action="discard", step_code="when")
    assert "Delete your answers?" in _page(asked)  # asked first: one slip deletes nothing
    with in_db(app):
        assert Draft.select().count() == 1
    response = step(client, {"page": "confirm"}, action="discard_yes", step_code="when")
    assert "Your answers are deleted." in _page(response)
    with in_db(app):
        assert Draft.select().count() == 0


def test_no_address_or_browser_detail_is_stored(app):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "203.0.113.77", "HTTP_USER_AGENT": "CanaryBrowser/9.9"})
    send_report(client)
    with in_db(app):
        for table in [t for t in db.get_tables() if t.startswith("reporting_")]:
            for row in db.execute_sql(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608
                text = " ".join(str(value) for value in row)
                assert "203.0.113.77" not in text and "CanaryBrowser" not in text


def test_required_fields_come_from_the_settings(app, client):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"required_fields": ["region"]})
    client.get(FORM)
    what = _page(step(client, WHAT, step_code="what"))
    assert "(needed)" in what  # the region's label says it is needed
    response = step(client, {**WHEN, "region": ""}, step_code="when")
    assert response.status_code == 422
    assert 'id="f-region-error"' in _page(response)


def test_instance_incident_types_and_regions_are_offered(app, client):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"incident_types": ["rape", "spiking | Drink spiking"],
                                    "regions": ["wales", "cardiff | Cardiff"]})
    page = _page(client.get(FORM))
    assert "Drink spiking" in page and 'value="spiking"' in page and 'value="robbery"' not in page
    refused = step(client, {"incident_types": ["robbery"]}, step_code="what")
    assert refused.status_code == 422 and "Please choose one of the listed options." in _page(refused)
    step(client, {"incident_types": ["spiking"]}, step_code="what")
    when = step(client, {"region": "cardiff"}, step_code="when")
    assert when.status_code == 200


def test_a_report_needs_something_in_it(app, client):
    fill_in(client, what={"narrative": ""}, when={"region": ""}, who={"p0-names": ""})
    response = step(client, action="send", step_code="check")
    assert response.status_code == 422
    assert "Please tell us at least a little" in _page(response)


def test_when_anonymous_reports_are_off_people_are_asked_to_sign_in(app, client, make_user):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"allow_anonymous": False})
    page = _page(client.get(FORM))
    assert "Please sign in first" in page and 'name="step"' not in page
    member = make_user("member")
    sign_in(client, member)
    reference, receipt = send_report(client)
    assert receipt is None  # accounts follow up under "My reports", no receipt needed
    mine = _page(client.get("/reporting/mine"))
    assert reference in mine
    from plugins.reporting.models import Report

    with in_db(app):
        assert Report.get(Report.reference == reference).reporter_id == member.id


def test_a_partner_can_report_for_someone_who_agreed(app, client, make_user):
    partner = make_user("partner")
    sign_in(client, partner)
    client.get(FORM)
    refused = step(client, {**WHAT, "on_behalf": "other", "on_behalf_consent": "no"}, step_code="what")
    assert refused.status_code == 422 and "once they have agreed" in _page(refused)
    step(client, {**WHAT, "on_behalf": "other", "on_behalf_consent": "yes"}, step_code="what")
    for code, values in (("when", WHEN), ("who", WHO), ("wishes", WISHES), ("files", {})):
        step(client, values, step_code=code)
    step(client, action="send", step_code="check")
    from plugins.reporting.models import Report

    with in_db(app):
        report = Report.get()
        assert report.on_behalf and report.on_behalf_consent_at is not None and report.reporter_id == partner.id


def test_a_member_is_not_offered_reporting_for_others(app, client, make_user):
    sign_in(client, make_user("member"))
    page = _page(client.get(FORM))
    assert 'name="on_behalf"' not in page


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010E] = "CANARY-EXIF-DESCRIPTION"  # ImageDescription
    exif[0x0110] = "CanaryPhone 12"  # Model
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 40.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert b"CANARY-EXIF-DESCRIPTION" in data
    return data


def test_pictures_are_stripped_of_metadata_and_encrypted(app, client):
    fill = {"what": WHAT, "when": WHEN, "who": WHO, "wishes": WISHES}
    client.get(FORM)
    for code in ("what", "when", "who", "wishes"):
        step(client, fill[code], step_code=code)
    token_page = "/reporting/report"
    upload = post_form(client, FORM, {"step": "files", "action": "upload",
                                      "files": [(io.BytesIO(_jpeg_with_gps()), "photo.jpg"),
                                                (io.BytesIO(b"%PDF-1.4 not a picture"), "notes.pdf")]},
                       token_from=token_page, content_type="multipart/form-data", follow_redirects=True)
    assert upload.status_code == 422
    page = _page(upload)
    assert "Picture 1" in page and "“notes.pdf”: Please send a photo or screenshot" in page
    step(client, {}, step_code="files")
    step(client, action="send", step_code="check")

    from plugins.reporting.models import Attachment

    with in_db(app):
        row = Attachment.get()
        assert row.report_id is not None and row.draft_id is None and row.content_type == "image/jpeg"
        raw = db.execute_sql("SELECT data FROM reporting_attachment").fetchone()[0]
        assert raw.startswith("gAAAA") and "CANARY" not in raw
        clean = row.data
    assert b"CANARY" not in clean and b"Exif" not in clean and b"GPS" not in clean
    picture = Image.open(io.BytesIO(clean))
    assert not picture.getexif() and picture.size == (64, 48)
    assert picture.getpixel((10, 10))[0] > 150  # the picture itself survives


def test_too_many_or_too_large_pictures_are_refused_kindly(app, client):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"max_attachments": 1, "max_attachment_mb": 1})
    client.get(FORM)
    step(client, WHAT, step_code="what")
    big = io.BytesIO(b"\xff\xd8" + b"0" * (1024 * 1024 + 10))
    response = post_form(client, FORM, {"step": "files", "action": "upload", "files": [(big, "big.jpg")]},
                         token_from=FORM, content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 422 and "too large" in _page(response)
    small = io.BytesIO(_jpeg_with_gps())
    ok = post_form(client, FORM, {"step": "files", "action": "upload",
                                  "files": [(small, "a.jpg"), (io.BytesIO(_jpeg_with_gps()), "b.jpg")]},
                   token_from=FORM, content_type="multipart/form-data", follow_redirects=True)
    assert ok.status_code == 422 and "You can add up to 1 photos" in _page(ok)
    from plugins.reporting.models import Attachment

    with in_db(app):
        assert Attachment.select().count() == 1



def test_an_administrator_configures_the_lists_on_the_settings_page(app, client, make_user):
    sign_in(client, make_user("admin"))
    page = "/admin/plugins/reporting/settings"
    shown = client.get(page)
    assert shown.status_code == 200 and "Accept anonymous reports" in _page(shown)
    base = {"allow_anonymous": "y", "incident_types": "rape\nrobbery", "regions": "wales",
            "work_settings": "street", "contact_methods": "phone", "required_fields": "",
            "receipt_valid_days": "365", "keep_rejected_days": "90", "keep_duplicate_days": "90",
            "keep_verified_days": "0", "recent_days": "7", "max_attachments": "5", "max_attachment_mb": "5",
            "receipt_attempts_per_session": "5", "receipt_attempts_global": "100"}
    bad = post_form(client, page, {**base, "regions": "Bad Code!\nwales", "required_fields": "my_name"},
                    token_from=page)
    assert bad.status_code == 422
    assert "does not start with a code" in _page(bad) and "These cannot be required: my_name" in _page(bad)
    saved = post_form(client, page, {**base, "regions": "wales\nswansea | Swansea Bay"}, token_from=page)
    assert saved.status_code == 303
    form_page = _page(app.test_client().get(FORM))
    assert "Rape" in form_page and "Physical assault" not in form_page
    regions = app.test_client().get("/api/v1/regions").get_json()
    assert regions == [{"code": "wales", "name": "Wales"}, {"code": "swansea", "name": "Swansea Bay"}]
