"""Nothing about the person who reported reaches an alert: reports are filled with random personal
details, alerts are written from them the default way (with the perpetrator identifiers), reviewed,
published, corrected, withdrawn, delivered, fed and checked, and every page, feed, e-mail (with the alert's
details in it), text message and API answer is searched for each of those details. A withdrawal's
reason (staff only) reaches no message and no member."""

from __future__ import annotations

import json
import random
import secrets

from helpers import csrf_token, enable, enrol_two_factor, sign_in
from smtp_server import SmtpServer
from test_alerts_helpers import make_report, make_subscribers

from core.db import connection

FIRST = ["Amira", "Bea", "Carmen", "Dana", "Eli", "Fern", "Gina", "Hana", "Iris", "Jade"]
STREETS = ["Mill Lane", "Station Road", "Church Street", "Park Avenue", "Queens Road"]


def random_person(rng: random.Random) -> dict:
    tag = secrets.token_hex(4)
    return {
        "email": f"{rng.choice(FIRST).lower()}.{tag}@example.net",
        "working_name": f"{rng.choice(FIRST)}{tag}",
        "phone": f"07700 9{rng.randrange(10000, 99999)}",
        "address": f"Flat {rng.randrange(1, 90)}, {rng.randrange(1, 300)} {rng.choice(STREETS)} {tag}",
        "story": f"It happened to me, {rng.choice(FIRST)}{tag}, after work {secrets.token_hex(3)}.",
        "safe_times": f"text only after {rng.randrange(5, 11)}pm {tag}",
        "name_he_used": f"Mr{tag.upper()}",
    }


def test_no_personal_detail_of_a_reporter_reaches_any_alert_output(app, make_app, make_user, tmp_path):
    from core.accounts import tokens
    from core.accounts.models import User

    rng = random.Random(secrets.randbits(32))
    smtp = SmtpServer().start()
    try:
        enable(app, "reporting", "alerts")
        site = make_app({**smtp.overrides, "BASE_URL": "https://notes.example.org", "SMS_BACKEND": "file"})
        from core.settings import save_settings

        with site.test_request_context(), connection():
            save_settings("alerts", {"email_details": True})  # the alert's text in the e-mails too
        people = [random_person(rng) for _n in range(4)]
        moderator = make_user("moderator", email="mod@example.org")
        enrol_two_factor(site, moderator)
        references = []
        perpetrator_phones = []
        with site.test_request_context(), connection():
            for person in people:
                reporter = User.create(email_index=User.email_lookup(person["email"]), email=person["email"],
                                       working_name=person["working_name"])
                reporter.grant("member")
                phone = f"07700 90{rng.randrange(1000, 9999)}"
                perpetrator_phones.append(phone)
                report = make_report(
                    phones=[phone], reporter=reporter, narrative=person["story"], location=person["address"],
                    support_contact=person["phone"], names=[person["name_he_used"]],
                    description={"build": "stocky", "hair": "grey"}, vehicle={"make": "Ford", "colour": "blue"},
                )
                report.support_safe_times = person["safe_times"]
                report.save()
                references.append(report.reference)
            make_subscribers(3, channels="email,sms", sms_number="+447700900001")
            _row, token = tokens.create_token(User.get_by_id(moderator.id), "moderation")
        api = site.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        created = api.post("/api/v1/alerts", json={"reports": references[:2], "summary": "Two reports of a man "
                                                   "who robs after booking.", "regions": ["london"]}, headers=auth)
        assert created.status_code == 201, created.get_json()
        second = api.post("/api/v1/alerts", json={"reports": references[2:], "summary": "A driver who threatens.",
                                                  "regions": ["london", "wales"]}, headers=auth)
        outputs = [created.get_data(as_text=True), second.get_data(as_text=True)]
        for alert_id in (created.get_json()["id"], second.get_json()["id"]):
            reviewed = api.post(f"/api/v1/alerts/{alert_id}/review", headers=auth)  # the preview, with counts
            assert reviewed.status_code == 200, reviewed.get_json()
            outputs.append(reviewed.get_data(as_text=True))
            outputs.append(api.post(f"/api/v1/alerts/{alert_id}/publish", headers=auth).get_data(as_text=True))
        # A correction tells the three subscribers again (e-mail and text), with the corrected text.
        outputs.append(api.patch(f"/api/v1/alerts/{second.get_json()['id']}", json={"severity": "high",
                                 "summary": "A driver who threatens, corrected."}, headers=auth).get_data(as_text=True))

        member = site.test_client()
        sign_in(member, make_user("member", email="reader@example.org"))
        staff = site.test_client()
        sign_in(staff, moderator)
        ids = [created.get_json()["id"], second.get_json()["id"]]
        pages = ["/alerts/", "/alerts/?q=man", "/api/v1/alerts", "/n/"]
        for alert_id in ids:
            pages += [f"/alerts/{alert_id}", f"/alerts/{alert_id}/print", f"/api/v1/alerts/{alert_id}"]
        for path in pages:
            outputs.append(member.get(path, follow_redirects=True).get_data(as_text=True))
        for path in ["/alerts/manage/"] + [f"/alerts/manage/{alert_id}" for alert_id in ids]:
            outputs.append(staff.get(path).get_data(as_text=True))
        token_check = csrf_token(member, "/alerts/check")
        for phone in perpetrator_phones:
            answer = member.post("/api/v1/check", json={"identifier": phone}, headers={"X-CSRFToken": token_check})
            assert answer.get_json()["result"] == "caution"
            outputs.append(answer.get_data(as_text=True))
        outputs.append(api.get("/api/v1/alerts", headers=auth).get_data(as_text=True))
        feed_token = _feed_token(staff)
        for suffix in ("atom", "json"):
            outputs.append(api.get(f"/api/v1/feeds/alerts.{suffix}",
                                   headers={"Authorization": f"Bearer {feed_token}"}).get_data(as_text=True))
        # Withdrawing tells the same three people, and never why.
        reason = f"REASON-{secrets.token_hex(6)}: {people[0]['working_name']} asked us to."
        withdrawn = api.post(f"/api/v1/alerts/{ids[0]}/withdraw", json={"reason": reason}, headers=auth)
        assert withdrawn.status_code == 200
        after = [member.get(path, follow_redirects=True).get_data(as_text=True)
                 for path in ("/alerts/", f"/alerts/{ids[0]}", "/api/v1/alerts")]
        assert len(smtp.messages) == 12
        messages = [message.as_string() for message in smtp.messages]
        assert sum("has been updated" in text for text in messages) == 3
        assert sum("has been withdrawn" in text for text in messages) == 3
        sms_lines = (tmp_path / "instance" / "sms" / "outbox.jsonl").read_text()
        assert len(sms_lines.splitlines()) == 12
        outputs += messages + [sms_lines] + after
    finally:
        smtp.stop()

    everything = "\n".join(outputs)
    assert "A driver who threatens, corrected." in everything  # the corrected text did go out
    assert reason.split(":")[0] not in everything and reason not in everything
    assert "+447700" in everything  # the perpetrators' numbers are there, as published
    for person in people:
        for key, value in person.items():
            assert value not in everything, f"the reporter's {key} reached an alert output"
            assert value.lower() not in everything.lower(), f"the reporter's {key} reached an alert output"
        digits = person["phone"].replace(" ", "")
        assert digits[1:] not in everything.replace(" ", ""), "the reporter's phone reached an alert output"
        local_part = person["email"].split("@")[0]
        assert local_part not in everything
    # Staff pages name the source reports by reference (for moderators only), never by person.
    assert json.loads(outputs[0])["reports"] == references[:2]


def _feed_token(staff) -> str:
    from helpers import post_form

    page = post_form(staff, "/alerts/manage/feeds", {"label": "Outreach"}, token_from="/alerts/manage/feeds")
    return page.get_data(as_text=True).split('<code class="token">')[1].split("<")[0]
