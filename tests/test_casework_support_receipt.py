""""Get support" keeps its receipt for the browser that sent the form, and keeps what was typed when
the language changes.

A second tap (whose answer the browser draws over the first), or a reload, shows the same receipt
again for ten minutes, to that browser only, until "I have kept my receipt" or Quick exit; then,
or to another browser, only "we already have this request". The receipt is kept encrypted, never
in the session cookie, never logged. Two sends of one form at once make one request and both
answers show the same receipt.

The footer's language switcher posts the form's answers (action "language"): the page comes back
in the new language with everything typed, with no request made, no key claimed and no error
shown for answers not finished.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import threading
import time

import pytest
from casework_common import in_db, raw_database_text, referral_count, with_casework
from conftest import using_postgres
from helpers import csrf_token, sign_in

from core.db import db, utcnow

SUPPORT = "/casework/support"
FORM = {"action": "send", "working_name": "Robin", "contact_method": "text", "contact": "07700 900444",
        "safe_times": "after 6", "may_leave_message": "no"}
RECEIPT = re.compile(r'<p class="receipt" id="receipt"><bdi dir="ltr"><strong>(\d{4} \d{4} \d{4} \d{4})</strong>')
ANY_RECEIPT = re.compile(r"\d{4} \d{4} \d{4} \d{4}")


app = with_casework  # every test here: the app with the casework module on


def _kept_rows(app) -> list:
    from core.models import KeptReceipt

    with in_db(app):
        return list(KeptReceipt.select())


def _form_key(page: str) -> str:
    return re.search(r'<form[^>]*id="support-form".*?name="form_key" value="([^"]+)"', page, re.S).group(1)


def _open_form(client) -> tuple[str, str]:
    """The form as a browser gets it: (its one-time key, the session's CSRF token)."""
    page = client.get(SUPPORT).get_data(as_text=True)
    return _form_key(page), re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _send(client, key: str, token: str | None = None, **values):
    token = token or csrf_token(client, SUPPORT)
    return client.post(SUPPORT, data={"csrf_token": token, "form_key": key, **FORM, **values})


def _receipt(response) -> str | None:
    found = RECEIPT.search(response.get_data(as_text=True))
    return found.group(1) if found else None


def _kept_button(page: str) -> bool:
    return bool(re.search(r'<button type="submit" name="action" value="kept_receipt"[^>]*>I have kept my receipt',
                          page))


def _only_already_sent(response) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "We already have this request" in page
    assert not ANY_RECEIPT.search(page) and not _kept_button(page)


# -- the receipt again, for the same browser -----------------------------------------------------------


def test_a_second_tap_or_a_reload_shows_the_same_receipt_with_a_way_to_say_it_is_kept(app, client):
    key, token = _open_form(client)
    first = _send(client, key, token)
    receipt = _receipt(first)
    assert first.status_code == 200 and receipt
    assert _kept_button(first.get_data(as_text=True))

    for _ in range(2):  # a second tap, then a reload of its answer
        again = _send(client, key, token)
        page = again.get_data(as_text=True)
        assert again.status_code == 200 and _receipt(again) == receipt
        assert "We already have this request" not in page and _kept_button(page)
        assert "few minutes" in page  # says how long it is shown, not "only once"
    assert referral_count(app) == 1

    [row] = _kept_rows(app)
    assert set(type(row)._meta.fields) == {"key_hash", "receipt", "expires_at"}  # nothing else of the request
    ten_minutes = utcnow() + datetime.timedelta(minutes=10)
    assert ten_minutes - datetime.timedelta(seconds=30) < row.expires_at <= ten_minutes
    assert key not in row.key_hash  # a hash, not the form's key


def test_i_have_kept_my_receipt_forgets_it_and_a_later_send_says_only_already_sent(app, client):
    key, token = _open_form(client)
    receipt = _receipt(_send(client, key, token))
    kept = client.post(SUPPORT, data={"csrf_token": token, "form_key": key, "action": "kept_receipt"})
    assert kept.status_code == 303 and kept.headers["Location"].endswith("/")
    home = client.get("/").get_data(as_text=True)
    assert "This phone or computer no longer shows your receipt." in home and receipt not in home
    assert _kept_rows(app) == []

    _only_already_sent(_send(client, key, token))
    assert referral_count(app) == 1


def test_another_browser_with_the_same_form_key_gets_no_receipt(app, client):
    key, token = _open_form(client)
    receipt = _receipt(_send(client, key, token))
    other = app.test_client()
    other_key, _other_token = _open_form(other)  # a browser with its own session
    assert other_key != key
    _only_already_sent(_send(other, key))  # the first browser's form key, sent from the second
    assert referral_count(app) == 1
    assert _receipt(_send(client, key, token)) == receipt  # still there for the browser that sent it


def test_after_ten_minutes_the_receipt_is_not_shown_again_and_is_deleted(app, client):
    from core.builtin import forget_ended_receipts
    from core.models import KeptReceipt

    key, token = _open_form(client)
    assert _receipt(_send(client, key, token))
    later_key, later_token = _open_form(client)
    assert _receipt(_send(client, later_key, later_token))  # a second request, still in its ten minutes
    with in_db(app):
        first = KeptReceipt.select().order_by(KeptReceipt.expires_at).first()
        KeptReceipt.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).where(
            KeptReceipt.key_hash == first.key_hash).execute()

    _only_already_sent(_send(client, key, token))
    with app.test_request_context(), in_db(app):
        assert forget_ended_receipts.run_now() == 1  # the queue's task: ended receipts go
    assert len(_kept_rows(app)) == 1  # the other one is still in its time
    assert _receipt(_send(client, later_key, later_token))


def test_the_retention_sweep_deletes_a_receipt_whose_time_is_over(app, client):
    from core.models import KeptReceipt
    from core.retention import sweep

    key, token = _open_form(client)
    _send(client, key, token)
    with in_db(app):
        KeptReceipt.update(expires_at=utcnow() - datetime.timedelta(seconds=5)).execute()
        sweep(app)
    assert _kept_rows(app) == []


def test_quick_exit_forgets_the_receipt_for_this_browser_only(app, client):
    key, token = _open_form(client)
    page = _send(client, key, token).get_data(as_text=True)
    beacon = re.search(r'<form method="post" action="/receipts/forget" data-quick-exit-forget hidden>'
                       r'.*?</form>', page, re.S).group(0)
    assert f'name="form_key" value="{key}"' in beacon

    other = app.test_client()
    assert other.post("/receipts/forget", data={"csrf_token": csrf_token(other, SUPPORT),
                                                        "form_key": key}).status_code == 204
    assert len(_kept_rows(app)) == 1  # another browser cannot make it go

    gone = client.post("/receipts/forget", data={"csrf_token": token, "form_key": key})
    assert gone.status_code == 204 and gone.get_data() == b""
    assert _kept_rows(app) == []
    _only_already_sent(_send(client, key, token))


def test_the_receipt_is_stored_encrypted_never_in_the_cookie_and_never_logged(app, client, caplog, capfd):
    caplog.set_level("DEBUG")
    key, token = _open_form(client)
    receipt = _receipt(_send(client, key, token))
    assert receipt and _receipt(_send(client, key, token)) == receipt
    digits = receipt.replace(" ", "")

    raw = raw_database_text(app)
    assert receipt not in raw and digits not in raw

    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert receipt not in cookie and digits not in cookie
    assert not any(digits in str(value).replace(" ", "") for value in session.values())

    logged = capfd.readouterr()
    assert digits not in (logged.out + logged.err).replace(" ", "")
    assert not any(digits in str(vars(record)).replace(" ", "") for record in caplog.records)


def test_nothing_is_kept_for_someone_signed_in(app, client, make_user):
    sign_in(client, make_user("member"))
    key, token = _open_form(client)
    first = _send(client, key, token, contact="")
    assert first.status_code == 200 and not _receipt(first)
    again = _send(client, key, token, contact="")
    assert "We already have this request" in again.get_data(as_text=True)
    assert referral_count(app) == 1 and _kept_rows(app) == []


# -- two sends at once ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _writes_held(app):
    """Hold the database's writes while both sends arrive, so that both are in flight before either
    makes anything: SQLite's write lock (db.atomic is BEGIN IMMEDIATE), or on PostgreSQL the table
    the form's key is claimed in."""
    with in_db(app), db.atomic():
        if using_postgres():
            db.execute_sql("LOCK TABLE throttle_count IN EXCLUSIVE MODE")
        yield


def test_two_sends_of_one_form_at_once_make_one_request_and_both_show_its_receipt(app):
    first_tap = app.test_client()
    key, token = _open_form(first_tap)
    second_tap = app.test_client()  # the same browser: the same session cookie, sent on both taps
    name = app.config["SESSION_COOKIE_NAME"]
    second_tap.set_cookie(name, first_tap.get_cookie(name).value)

    start, answers = threading.Barrier(3), {}

    def tap(which, browser):
        start.wait()
        answers[which] = _send(browser, key, token)

    threads = [threading.Thread(target=tap, args=(which, browser))
               for which, browser in (("first", first_tap), ("second", second_tap))]
    with _writes_held(app):
        for thread in threads:
            thread.start()
        start.wait()
        time.sleep(0.5)  # both requests reach the claim of the key, and wait there
    for thread in threads:
        thread.join(timeout=60)
    assert set(answers) == {"first", "second"}
    assert all(answer.status_code == 200 for answer in answers.values())
    receipts = {_receipt(answer) for answer in answers.values()}
    assert len(receipts) == 1 and None not in receipts  # the same receipt in both answers
    assert referral_count(app) == 1 and len(_kept_rows(app)) == 1


def test_the_receipt_is_kept_in_the_transaction_that_makes_the_request(app):
    """The request, the claim of its form's key and its kept receipt are one transaction: when
    keeping the receipt fails, nothing is made and the key is still free; so a second send that
    finds the key claimed always finds the receipt too."""
    from peewee import IntegrityError

    from core.models import KeptReceipt
    from plugins.casework import service
    from plugins.casework.models import Referral

    taken, free = "a" * 64, "b" * 64
    with app.test_request_context(), in_db(app):
        KeptReceipt.create(key_hash=taken, receipt="0000 0000 0000 0000", expires_at=utcnow())
        with pytest.raises(IntegrityError):
            service.self_referral({"contact": "07700 900555"}, None, form_key="k" * 22, keep_receipt_as=taken)
        assert Referral.select().count() == 0
        _referral, receipt = service.self_referral({"contact": "07700 900555"}, None, form_key="k" * 22,
                                                   keep_receipt_as=free)  # the same key: it was not claimed
        assert receipt and KeptReceipt.get_by_id(free).receipt == receipt
        with pytest.raises(service.AlreadySent):
            service.self_referral({"contact": "07700 900555"}, None, form_key="k" * 22, keep_receipt_as=free)


# -- changing the language -----------------------------------------------------------------------------

TYPED = {"working_name": "Robin", "contact_method": "signal", "safe_times": "Texts after 6pm",
         "may_leave_message": "no", "language": "es", "needs": "Somewhere safe to stay"}


def _switcher(page: str) -> str:
    return re.search(r'<form[^>]*id="language".*?</form>', page, re.S).group(0)


@pytest.mark.once
def test_the_language_switcher_posts_the_support_form(app, client):
    switcher = _switcher(client.get(SUPPORT).get_data(as_text=True))
    assert 'name="locale" form="support-form"' in switcher
    assert 'form="support-form" name="action" value="language"' in switcher


@pytest.mark.once
def test_changing_language_keeps_what_was_typed_and_sends_nothing(app, client):
    key, token = _open_form(client)
    # The way to reach them, the one needed answer, is not typed yet: no error for it.
    switched = client.post(SUPPORT, data={"csrf_token": token, "form_key": key, **TYPED, "contact": "",
                                          "action": "language", "locale": "pl"})
    page = switched.get_data(as_text=True)
    assert switched.status_code == 200
    assert '<html lang="pl"' in page and "Poproś o wsparcie" in page  # the page, in Polish
    assert 'value="Robin"' in page and 'value="Texts after 6pm"' in page and "Somewhere safe to stay" in page
    assert re.search(r'<option value="signal"[^>]*selected', page)
    assert re.search(r'<option value="es"[^>]*selected', page)
    assert re.search(r'<input[^>]*value="no"[^>]*checked', page)
    assert "error-summary" not in page and "aria-invalid" not in page
    assert _form_key(page) == key  # the same form: its key, still unclaimed
    assert referral_count(app) == 0 and _kept_rows(app) == []
    assert 'name="locale" form="support-form"' in _switcher(page)  # and the switcher still keeps the answers

    assert '<html lang="pl"' in client.get("/").get_data(as_text=True)  # the choice is kept for what follows
    sent = _send(client, key, token, **TYPED)  # the same key sends the request: it was not claimed
    assert sent.status_code == 200 and _receipt(sent)
    assert referral_count(app) == 1


@pytest.mark.once
def test_an_unknown_language_changes_nothing_and_keeps_the_answers(app, client):
    key, token = _open_form(client)
    kept = client.post(SUPPORT, data={"csrf_token": token, "form_key": key, **TYPED,
                                      "action": "language", "locale": "xx"})
    page = kept.get_data(as_text=True)
    assert kept.status_code == 200 and '<html lang="en' in page and 'value="Robin"' in page
    assert referral_count(app) == 0


@pytest.mark.once
def test_changing_language_on_the_answer_keeps_the_receipt_in_view(app, client):
    """The footer's switcher on "Your request is sent" posts the "kept" form: the same page in the
    new language, receipt and all; another browser with the same form gets no receipt that way."""
    key, token = _open_form(client)
    first = _send(client, key, token)
    receipt = _receipt(first)
    switcher = _switcher(first.get_data(as_text=True))
    assert 'form="receipt-form" name="action" value="language"' in switcher

    switched = client.post(SUPPORT, data={"csrf_token": token, "form_key": key, "page": "receipt",
                                          "action": "language", "locale": "fr"})
    page = switched.get_data(as_text=True)
    assert switched.status_code == 200 and '<html lang="fr"' in page
    assert _receipt(switched) == receipt and _kept_button_anywhere(page)
    assert referral_count(app) == 1 and len(_kept_rows(app)) == 1

    elsewhere = app.test_client()
    other = elsewhere.post(SUPPORT, data={"csrf_token": csrf_token(elsewhere, SUPPORT), "form_key": key,
                                          "page": "receipt", "action": "language", "locale": "fr"})
    assert other.status_code == 200 and not ANY_RECEIPT.search(other.get_data(as_text=True))


def _kept_button_anywhere(page: str) -> bool:
    return 'name="action" value="kept_receipt"' in page
