"""Issue #12, the report form and what comes after it: what must be answered is marked in words
(and to screen readers), each error in the summary names its question and links to it, a
signed-in reporter is not sent looking for a receipt they never get, and a moderator can go from
a verified report to writing its alert."""

from __future__ import annotations

import re

from helpers import enable, post_form, sign_in
from test_reporting_common import FORM, WHAT, WHEN, WISHES, _page, fill_in, in_db, send_report, step, with_reporting

app = with_reporting  # every test here: the app with the reporting module on


def _require(app, *names: str) -> None:
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("reporting", {"required_fields": list(names)})


def _summary(page: str) -> list[tuple[str, str]]:
    """(link target, text) of each entry of the error summary."""
    box = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert box, page[:3000]
    return re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', box.group(0))


def _lead(page: str) -> str:
    return re.search(r'<p class="lead">(.*?)</p>', page, re.S).group(1)


def test_step_one_says_what_must_be_answered_only_when_something_is_marked(app, client):
    page = _page(client.get(FORM))
    assert "(needed)" not in page and "marked" not in _lead(page)  # nothing marked, nothing promised
    assert "You can skip any question on this page." in _lead(page)
    assert "each of those questions needs a yes or a no" in page  # the consents, named up front

    _require(app, "incident_types", "narrative")
    page = _page(client.get(FORM))
    assert "A question marked “(needed)” must be answered; you can skip the others." in _lead(page)
    legend = re.search(r'<legend>What happened\?(.*?)</legend>', page).group(1)
    assert '<span class="req">(needed)</span>' in legend
    label = re.search(r'<label for="f-narrative">(.*?)</label>', page).group(1)
    assert label == 'In your own words, what happened? <span class="req">(needed)</span>'
    assert re.search(r'<textarea id="f-narrative"[^>]*aria-required="true"', page)


def test_a_needed_choice_list_says_so_and_is_not_offered_as_optional(app, client):
    _require(app, "region")
    client.get(FORM)
    when = _page(step(client, WHAT, step_code="what"))
    assert re.search(r'<select id="f-region"[^>]*aria-required="true"', when)
    region = when[when.index('id="f-region"'):]
    assert region.index('<option value="">Choose</option>') < region.index("</select>")
    assert not re.search(r'<select id="f-location|<input[^>]*id="f-location"[^>]*aria-required', when)

    refused = step(client, {**WHEN, "region": ""}, step_code="when")
    assert refused.status_code == 422
    assert ("f-region", "Which area?: Please answer this; this service asks everyone for it.") in _summary(
        _page(refused))


def test_every_consent_question_is_marked_needed_and_each_error_names_its_question(app, client):
    client.get(FORM)
    for code, values in (("what", WHAT), ("when", WHEN), ("who", {})):
        shown = step(client, values, step_code=code)
    wishes = _page(shown)
    assert "What you would like us to do" in wishes
    for purpose in ("share_alert", "police_intelligence", "police_report", "wants_support", "research"):
        fieldset = re.search(rf'<fieldset id="f-consent_{purpose}"[^>]*>\s*<legend>(.*?)</legend>', wishes, re.S)
        assert fieldset, purpose
        assert 'role="radiogroup"' in fieldset.group(0) and 'aria-required="true"' in fieldset.group(0)
        assert fieldset.group(1).endswith('<span class="req">(needed)</span>')

    refused = step(client, {"consent_share_alert": "yes"}, step_code="wishes")
    assert refused.status_code == 422
    page = _page(refused)
    entries = _summary(page)
    assert entries == [
        ("f-consent_police_intelligence-yes", "Share anonymous information with the police (nothing that identifies "
                                              "you): Please choose yes or no."),
        ("f-consent_police_report-yes", "Help you to make a full report to the police: Please choose yes or no."),
        ("f-consent_wants_support-yes", "Support from a caseworker: Please choose yes or no."),
        ("f-consent_research-yes", "Include your report in research about harm against sex workers (counts only, "
                                   "never your words or anything that could identify you): Please choose yes or no."),
    ]
    for target, _text in entries:  # each link lands on a real radio button of this page
        assert re.search(rf'<input type="radio" id="{target}"', page), target
    assert 'id="f-consent_share_alert-yes" name="consent_share_alert" value="yes" checked' in page


def test_sending_with_a_needed_answer_missing_names_it_on_the_step_that_asks_it(app, client):
    _require(app, "perpetrators")
    client.get(FORM)
    step(client, WHAT, step_code="what")
    who = _page(step(client, WHEN, step_code="when"))
    assert "<h1>The person who did this</h1>" in who and '<span class="req">(needed)</span>' in who
    refused = step(client, {"p0-names": ""}, step_code="who")  # refused on this step, not at the end
    assert refused.status_code == 422
    page = _page(refused)
    assert "<h1>The person who did this</h1>" in page
    assert ("f-perpetrators", "The person who did this: Please answer this; this service asks everyone for it.") in \
        _summary(page)
    assert re.search(r'<div id="f-perpetrators" tabindex="-1"', page)
    assert re.search(r'<p class="error" id="f-perpetrators-error">Please answer this', page)
    # Two people: a mistake in the second person's details says whose.
    step(client, action="add_person", step_code="who")
    wrong = step(client, {"p0-names": "Dave", "p1-phones": "12"}, step_code="who")
    assert wrong.status_code == 422
    assert any(target == "f-p1-phones" and text.startswith("Person 2: Phone numbers: ")
               for target, text in _summary(_page(wrong))), _summary(_page(wrong))


def test_an_anonymous_reporter_is_told_about_the_receipt(app, client):
    check = _page(fill_in(client))
    assert "with the receipt you get when you send your report" in check
    assert "My reports" not in check
    reference, receipt = send_report(client)
    assert receipt


def test_a_signed_in_reporter_is_told_where_the_report_really_is(app, client, make_user):
    member = make_user("member", email="reporter@example.org")
    sign_in(client, member)
    check = _page(fill_in(client))
    assert "receipt" not in check.lower()  # they never get one
    assert "your report will be under “My reports” when you are signed in" in check
    response = step(client, action="send", step_code="check")
    done = _page(response)
    assert "Your receipt" not in done and 'id="receipt"' not in done
    reference = re.search(r'class="reference">(R-[0-9A-Z]{6})<', done).group(1)
    assert f'href="/reporting/mine/{reference}"' in done
    mine = _page(client.get("/reporting/mine"))
    assert reference in mine  # and it really is there


# -- from a verified report to its alert ---------------------------------------------------------


WRITE = "Write an alert from this report"


def _verified_report(app, client, moderator_client, share: bool = True) -> str:
    reference, _receipt = send_report(client, wishes={**WISHES, "consent_share_alert": "yes" if share else "no"})
    response = post_form(moderator_client, f"/reporting/moderate/{reference}/status", {"status": "verified"},
                         token_from=f"/reporting/moderate/{reference}")
    assert response.status_code == 303
    return reference


def test_a_verified_report_links_to_writing_its_alert_when_alerts_are_on(app, client, make_user):
    enable(app, "alerts")
    staff = app.test_client()
    sign_in(staff, make_user("moderator", email="mod@example.org"))
    reference, _receipt = send_report(client)
    before = _page(staff.get(f"/reporting/moderate/{reference}"))
    assert WRITE not in before  # not verified yet

    reference = _verified_report(app, app.test_client(), staff)
    page = _page(staff.get(f"/reporting/moderate/{reference}"))
    link = re.search(rf'<a class="button primary" href="([^"]+)">{WRITE}</a>', page)
    assert link and link.group(1) == f"/alerts/manage/new?report={reference}"
    new_alert = staff.get(link.group(1))
    assert new_alert.status_code == 200
    assert re.search(rf'value="{reference}"[^>]*checked|checked[^>]*value="{reference}"', _page(new_alert))

    # Without the reporter's agreement to share a warning, the page says why there is no link.
    refused = _verified_report(app, app.test_client(), staff, share=False)
    page = _page(staff.get(f"/reporting/moderate/{refused}"))
    assert WRITE not in page
    assert "The reporter has not agreed to a warning being shared" in page


def test_no_alert_link_when_alerts_are_off_or_the_person_may_not_publish(app, client, make_user):
    from core.plugins import get_registry
    from plugins.reporting.moderation import WRITE_ALERT_ENDPOINT, page_link

    staff = app.test_client()
    sign_in(staff, make_user("moderator", email="mod@example.org"))
    reference = _verified_report(app, client, staff)
    page = _page(staff.get(f"/reporting/moderate/{reference}"))
    assert WRITE not in page and "has not agreed" not in page  # alerts are off: nothing about alerts

    enable(app, "alerts")
    assert WRITE in _page(staff.get(f"/reporting/moderate/{reference}"))
    member = make_user("member", email="member@example.org")
    from flask_login import login_user

    with app.test_request_context(), in_db(app):
        assert get_registry().is_enabled("alerts")
        login_user(member)
        assert page_link(WRITE_ALERT_ENDPOINT, report=reference) is None  # no alerts.publish
        assert page_link("alerts.index") == "/alerts/"  # which a member may open
        assert page_link("no_such.endpoint") is None
