"""Issue #12, subscriptions: "How should we tell you?" is one choice that cannot be ticked twice or
left empty; text messages are offered only where this service sends them (and the alert list's
link says so); an account without an e-mail address is not offered e-mails; the API keeps its
shape."""

from __future__ import annotations

import re

from alerts_fixtures import in_app
from helpers import csrf_token, post_form, sign_in

from core.db import connection

PAGE = "/alerts/subscription"


def _page(response) -> str:
    return response.get_data(as_text=True)


def _how_options(page: str) -> list[tuple[str, str]]:
    """(value, label) of every way offered to be told, in order: radio buttons named "channels"."""
    inputs = re.findall(r'<input[^>]*name="channels"[^>]*>', page)
    assert inputs, page[:3000]
    found = []
    for tag in inputs:
        assert 'type="radio"' in tag, tag  # one choice, never a set of ticks
        value = re.search(r'value="([^"]*)"', tag).group(1)
        input_id = re.search(r'id="([^"]*)"', tag).group(1)
        label = re.search(rf'<label for="{input_id}">([^<]*)</label>', page).group(1)
        found.append((value, label))
    return found


def _checked(page: str) -> list[str]:
    return [re.search(r'value="([^"]*)"', tag).group(1)
            for tag in re.findall(r'<input[^>]*name="channels"[^>]*>', page) if " checked" in tag]


def _link(page: str) -> str:
    """The words of the alert list's own link to the settings (below its heading, not the menu)."""
    main = page[page.index("<h1>"):]
    return re.search(r'<a href="/alerts/subscription">\s*([^<]*?)\s*</a>', main).group(1)


def _saved(client) -> dict:
    return client.get("/api/v1/me/subscriptions").get_json()


def _save(client, **data):
    return post_form(client, PAGE, {"frequency": "immediate", **data}, token_from=PAGE)


def test_without_text_messages_the_page_offers_email_or_no_messages_and_nothing_is_chosen_for_you(
        on, member_client):
    page = _page(member_client.get(PAGE))
    assert _how_options(page) == [("email", "By e-mail"),
                                  ("web", "No messages: I will look at the alerts on this site")]
    assert "text message" not in page.lower()  # nothing promises texts this service cannot send
    assert _checked(page) == []  # a new subscriber chooses; nothing is ticked for them

    # Left empty: refused in words that name the question, linked from the summary; nothing saved.
    refused = _save(member_client, regions=["london"])
    assert refused.status_code == 422
    text = _page(refused)
    assert "Please choose how you want to be told about new alerts." in text
    assert re.search(r'<a href="#channels">How should we tell you about a new alert\?: Please choose how',
                     text), text[:3000]
    assert 'id="channels"' in text
    assert _saved(member_client)["channels"] == ["web"]  # still the default: no row was written
    # A way this service does not offer is refused too (text messages are off here).
    assert _save(member_client, channels="sms", regions=["london"]).status_code == 422

    saved = _save(member_client, channels="email", regions=["london"], frequency="daily")
    assert saved.status_code == 303
    assert _saved(member_client) == {"regions": ["london"], "all_regions": False, "channels": ["email", "web"],
                                     "frequency": "daily", "sms_number": None}
    assert _checked(_page(member_client.get(PAGE))) == ["email"]

    assert _save(member_client, channels="web").status_code == 303
    assert _saved(member_client)["channels"] == ["web"]
    assert _checked(_page(member_client.get(PAGE))) == ["web"]


def test_messages_need_a_region_and_the_error_says_so_next_to_the_regions(on, member_client):
    refused = _save(member_client, channels="email")
    assert refused.status_code == 422
    assert re.search(r'<p class="error" id="regions-error">Please choose at least one region, or all regions.</p>',
                     _page(refused))
    assert _save(member_client, channels="email", all_regions="y").status_code == 303
    assert _saved(member_client)["all_regions"] is True


def test_with_text_messages_the_number_starts_from_the_account_s_mobile(on, make_app, make_user):
    app = make_app({"SMS_BACKEND": "file"})
    member = make_user("member", email="texts@example.org")
    from core.accounts.profile import AccountProfile

    with app.app_context(), connection():
        AccountProfile.create(user=member.id, phone="+447911123456", contact_sms=True)
    client = app.test_client()
    sign_in(client, member)
    page = _page(client.get(PAGE))
    assert _how_options(page) == [("email", "By e-mail"), ("sms", "By text message"),
                                  ("both", "By e-mail and by text message"),
                                  ("web", "No messages: I will look at the alerts on this site")]
    assert re.search(r'<input[^>]*id="sms_number"[^>]*value="\+447911123456"', page), page[:4000]

    saved = _save(client, channels="sms", regions=["wales"], sms_number="+447911123456")
    assert saved.status_code == 303
    assert _saved(client)["channels"] == ["sms", "web"] and _saved(client)["sms_number"] == "+447911123456"
    assert _checked(_page(client.get(PAGE))) == ["sms"]
    assert _save(client, channels="both", regions=["wales"], sms_number="07911 123457").status_code == 303
    assert _saved(client)["channels"] == ["email", "sms", "web"]
    assert _checked(_page(client.get(PAGE))) == ["both"]


def test_the_alert_list_link_promises_only_the_ways_this_service_offers(on, make_app, member_client, make_user):
    page = _page(member_client.get("/alerts/"))
    assert _link(page) == "Get alerts by e-mail"
    assert "or text" not in page

    app = make_app({"SMS_BACKEND": "file"})
    client = app.test_client()
    sign_in(client, make_user("member", email="both@example.org"))
    assert _link(_page(client.get("/alerts/"))) == "Get alerts by e-mail or text message"
    assert "By text message" in _page(client.get(PAGE))  # and the page it opens offers them


def test_an_account_without_an_email_address_is_not_offered_emails(on, make_app, make_user):
    app = make_app({"SMS_BACKEND": "file"})
    member = make_user("member", email="phone-only@example.org")
    client = app.test_client()
    sign_in(client, member)
    from core.accounts.models import User

    with app.app_context(), connection():  # as a member approved from an application with a phone only
        User.update(email=None, email_index=None).where(User.id == member.id).execute()
    page = _page(client.get(PAGE))
    assert [value for value, _label in _how_options(page)] == ["sms", "web"]
    assert _link(_page(client.get("/alerts/"))) == "Get alerts by text message"

    assert _save(client, channels="email", regions=["london"]).status_code == 422
    token = csrf_token(client, PAGE)
    refused = client.put("/api/v1/me/subscriptions", json={"channels": ["email"], "regions": ["london"]},
                         headers={"X-CSRFToken": token})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"]["channels"] == [
        "There is no e-mail address on your account, so we cannot send you e-mails. Please choose another way."]
    assert _saved(client)["channels"] == ["web"]


def test_ticks_sent_by_the_old_page_still_read_as_the_choice_they_meant(on, make_app, make_user):
    app = make_app({"SMS_BACKEND": "file"})
    client = app.test_client()
    sign_in(client, make_user("member", email="old-tab@example.org"))
    assert _save(client, channels=["email", "web"], regions=["london"]).status_code == 303
    assert _saved(client)["channels"] == ["email", "web"]
    assert _save(client, channels=["email", "sms"], regions=["london"], sms_number="07911 123458").status_code == 303
    assert _saved(client)["channels"] == ["email", "sms", "web"]


def test_a_subscription_made_through_the_api_shows_as_the_choice_it_amounts_to(on, member, member_client):
    from plugins.alerts import subscriptions

    # Saved before text messages were switched off here: what is really sent is e-mail.
    in_app(on, lambda: subscriptions.save(member, {"channels": ["email", "sms"], "regions": ["london"],
                                                   "sms_number": "+447911123459"}, True))
    assert _checked(_page(member_client.get(PAGE))) == ["email"]
    in_app(on, lambda: subscriptions.save(member, {"channels": [], "regions": []}, False))
    assert _checked(_page(member_client.get(PAGE))) == ["web"]


def test_the_account_page_says_its_text_messages_are_from_our_team_not_alerts(on, member_client):
    page = _page(member_client.get("/account/profile"))
    fieldset = re.search(r'<fieldset class="field" aria-describedby="contact-hint">\s*<legend>(.*?)</legend>\s*'
                         r'<p class="hint" id="contact-hint">(.*?)</p>', page)
    assert fieldset, page[:4000]
    assert fieldset.group(1) == "Our team may send you messages by"
    assert "Only for messages from our team to you" in fieldset.group(2)
    assert 'id="contact_sms"' in page[fieldset.end():]  # the boxes it is about follow
