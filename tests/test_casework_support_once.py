""""Get support": one form sends one request (a reload of "Your request is sent" or a second tap
makes no second request and no second receipt), the receipt reads left to right in every language
and is not drawn as a link, the one needed field says so, and "Your support" can be found."""

from __future__ import annotations

import re

from casework_common import referral_count, with_casework
from helpers import csrf_token, sign_in

FORM = {"action": "send", "working_name": "Robin", "contact_method": "text", "contact": "07700 900444",
        "safe_times": "after 6", "may_leave_message": "no"}
ARABIC = {"Accept-Language": "ar"}


app = with_casework  # every test here: the app with the casework module on


def _form_key(page: str) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', page).group(1)


def _send(client, key: str, **values):
    return client.post("/casework/support", data={"csrf_token": csrf_token(client, "/casework/support"),
                                                   "form_key": key, **FORM, **values})


def test_sending_the_same_form_again_makes_no_second_request(app, client):
    key = _form_key(client.get("/casework/support").get_data(as_text=True))
    first = _send(client, key)
    assert first.status_code == 200
    receipt = re.search(r"<strong>([\d ]{19})</strong>", first.get_data(as_text=True)).group(1)
    assert referral_count(app) == 1

    again = _send(client, key)  # a reload of "Your request is sent", or a second tap
    assert again.status_code == 200 and referral_count(app) == 1
    assert receipt in again.get_data(as_text=True), "the same browser sees the same receipt again"

    elsewhere = app.test_client()  # another browser with the same form: no second request, no receipt
    other = elsewhere.post("/casework/support", data={"csrf_token": csrf_token(elsewhere, "/casework/support"),
                                                       "form_key": key, **FORM})
    page = other.get_data(as_text=True)
    assert other.status_code == 200 and referral_count(app) == 1
    assert "already have this request" in page
    assert receipt not in page and not re.search(r"\d{4} \d{4} \d{4} \d{4}", page)

    fresh = _form_key(client.get("/casework/support").get_data(as_text=True))
    assert fresh != key
    assert _send(client, fresh).status_code == 200 and referral_count(app) == 2  # a new form is a new request


def test_a_corrected_form_keeps_its_key_and_still_sends_once(app, client):
    key = _form_key(client.get("/casework/support").get_data(as_text=True))
    refused = _send(client, key, contact="")
    assert refused.status_code == 422 and referral_count(app) == 0
    assert _form_key(refused.get_data(as_text=True)) == key
    assert _send(client, key).status_code == 200 and _send(client, key).status_code == 200
    assert referral_count(app) == 1


def test_a_made_up_key_is_not_trusted_but_still_sends(app, client):
    assert _send(client, "<script>").status_code == 200 and referral_count(app) == 1
    page = client.get("/casework/support").get_data(as_text=True)
    assert "<script>" not in _form_key(page)


def test_the_receipt_reads_left_to_right_and_is_not_a_card(app, client):
    key = _form_key(client.get("/casework/support", headers=ARABIC).get_data(as_text=True))
    page = client.post("/casework/support", headers=ARABIC, data={
        "csrf_token": csrf_token(client, "/casework/support"), "form_key": key, **FORM}).get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert re.search(r'<p class="receipt" id="receipt"><bdi dir="ltr"><strong>[\d ]{19}</strong></bdi></p>', page)
    assert 'class="card"' not in page
    assert 'href="/casework/my-support/"' in page  # where the receipt is used
    assert "casework.css" in page


def test_the_support_form_marks_the_needed_field_and_links_to_your_support(app, client):
    page = client.get("/casework/support").get_data(as_text=True)
    label = re.search(r'<label for="f-contact">(.*?)</label>', page, re.S).group(1)
    assert "(needed)" in label
    contact = re.search(r'<input[^>]*id="f-contact"[^>]*>', page, re.S).group(0)
    assert 'dir="ltr"' in contact and 'aria-required="true"' in contact and 'autocomplete="off"' in contact
    assert "Already asked?" in page and 'href="/casework/my-support/"' in page


def test_the_receipt_box_on_your_support_is_left_to_right(app, client):
    page = client.get("/casework/my-support/", headers=ARABIC).get_data(as_text=True)
    receipt = re.search(r'<input[^>]*id="f-receipt"[^>]*>', page, re.S).group(0)
    assert 'dir="ltr"' in receipt


def test_the_menu_offers_your_support_to_visitors_who_are_not_signed_in(app, client, make_user):
    menu = client.get("/").get_data(as_text=True)
    assert 'href="/casework/my-support/"' in menu and "Your support" in menu
    member = app.test_client()
    sign_in(member, make_user("member"))
    assert 'href="/casework/my-support/"' not in member.get("/casework/support").get_data(as_text=True).split(
        "<main")[0]  # not in a signed-in menu


def test_staff_pages_show_the_contact_left_to_right(app, client, make_user):
    _send(client, _form_key(client.get("/casework/support").get_data(as_text=True)))
    worker = app.test_client()
    sign_in(worker, make_user("caseworker"))
    page = worker.get("/casework/referrals").get_data(as_text=True)
    assert '<bdi dir="ltr">07700 900444</bdi>' in page


def test_two_sends_of_one_form_at_the_same_moment_make_one_request(app):
    """A double tap on a slow connection: both reach the server together; one request is made."""
    import threading

    from core.db import connection
    from plugins.casework import service

    start, outcomes = threading.Barrier(2), []

    def send():
        with app.test_request_context(), connection():
            start.wait()
            try:
                outcomes.append(service.self_referral({"contact": "07700 900555"}, None, form_key="k" * 22)[1])
            except service.AlreadySent:
                outcomes.append("already")

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome == "already" for outcome in outcomes) == [False, True]
    assert referral_count(app) == 1
