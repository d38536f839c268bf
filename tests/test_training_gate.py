"""Training and access: learners see nothing of reports, alerts or cases; the partner gate pauses a
partner's alerts and number check without a current certificate, and restores them with one.

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import datetime
import re

import pytest
from casework_common import bearer, in_db, token_for
from helpers import enable, sign_in
from test_route_permissions import DUMMY_VALUES, enable_everything, route_cases

from core.permissions import PUBLIC, SIGNED_IN
from core.plugins import get_registry

ISOLATED = ("reporting", "alerts", "casework")
# Routes of those modules open to any signed-in account: a person's own reports (none of anyone
# else's). Public forms (report an incident, get support) stay public: see docs/modules/training.md.
OWN_DATA = {"reporting.mine", "reporting.my_report"}
PAUSED = "Your access to alerts and the number check is paused"


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


# -- learner isolation -------------------------------------------------------------------------------


def test_a_learner_gets_nothing_of_reports_alerts_or_cases(app, make_user, monkeypatch):
    monkeypatch.setitem(DUMMY_VALUES, "BoundedIntConverter", 1)  # core's bounded <int:...>
    enable_everything(app)
    learner = make_user("learner")
    client = signed_in(app, learner)
    owners = get_registry(app).blueprint_owners
    checked, own = 0, set()
    for case in route_cases(app):
        blueprint = case.endpoint.rsplit(".", 1)[0]
        if owners.get(blueprint) not in ISOLATED or case.permission == PUBLIC:
            continue
        if case.permission == SIGNED_IN:
            own.add(case.endpoint)
            continue
        response = client.open(case.path, method=case.method, follow_redirects=False,
                               headers={"Accept": "application/json"})
        assert response.status_code in (401, 403, 404), f"{case}: {response.status_code}"
        checked += 1
    assert checked > 40  # every reporting, alerts and casework page and API route was tried
    assert own <= OWN_DATA, f"new signed-in routes in {ISOLATED}: decide whether learners may use them"


def _menu(client) -> dict[str, str]:
    """{link target: label} of the main menu."""
    page = client.get("/training/").get_data(as_text=True)
    nav = re.search(r'<nav class="main-nav".*?</nav>', page, re.S).group(0)
    return {href: re.sub(r"\s+", " ", label).strip()
            for href, label in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', nav, re.S)}


def test_a_learners_menu_has_only_training_account_and_public_items(app, make_user):
    enable_everything(app)
    learner = make_user("learner")
    anonymous = _menu(app.test_client())
    mine = _menu(signed_in(app, learner))
    assert "Training" in mine.values() and "My account" in mine.values()
    extra = {href: label for href, label in mine.items() if href not in anonymous}
    others = {href: label for href, label in extra.items()
              if not href.startswith(("/training/", "/account/")) and href != "/reporting/mine"}
    assert not others, others  # beyond what anyone sees: training, the account, and one's own reports
    for hidden in ("Alerts", "Check a number", "Cases", "Referrals", "Reports to review", "Manage alerts"):
        assert hidden not in mine.values()


# -- the partner gate ---------------------------------------------------------------------------------


@pytest.fixture
def gated(app):
    enable(app, "reporting", "alerts", "training")
    return app


def _course(app) -> int:
    from plugins.training.models import Course

    with in_db(app):
        return Course.create(title="Working with sex workers", status="published").id


def _gate(app, course_id, permissions=("alerts.read", "alerts.check")):
    from core.settings import save_settings

    with app.test_request_context(), in_db(app):
        save_settings("training", {"partner_gate_course": course_id, "gate_permissions": list(permissions)})


def _certificate(app, user, course_id, expires_on=None, revoked=False):
    from core.db import utcnow
    from plugins.training.models import Certificate

    with in_db(app):
        count = Certificate.select().count()
        return Certificate.create(code=f"GATE{count:06d}", course=course_id, user=user.id, learner_name="A. Partner",
                                  course_title="Working with sex workers", issued_on=datetime.date.today(),
                                  expires_on=expires_on, payload="{}", signature="x",
                                  revoked_at=utcnow() if revoked else None).id


def test_the_gate_is_off_by_default(gated, make_user):
    partner = make_user("partner")
    _course(gated)
    client = signed_in(gated, partner)
    assert client.get("/alerts/check").status_code == 200
    assert client.get("/alerts/").status_code == 200


def test_the_partner_gate_pauses_and_restores_access(gated, make_user):
    from plugins.training.models import Certificate

    partner = make_user("partner")
    course_id = _course(gated)
    _gate(gated, course_id)
    client = signed_in(gated, partner)
    paused = client.get("/alerts/check")
    assert paused.status_code == 403
    text = paused.get_data(as_text=True)
    assert PAUSED in text and f'href="/training/courses/{course_id}"' in text and "Take or renew the course" in text
    assert client.get("/alerts/").status_code == 403
    # The API says the same, in JSON, with the link.
    headers = bearer(token_for(gated, partner))
    api = gated.test_client().post("/api/v1/check", json={"kind": "phone", "value": "07700 900123"}, headers=headers)
    assert api.status_code == 403
    assert api.get_json()["error"]["message"].startswith(PAUSED)
    assert api.get_json()["error"]["link"] == f"/training/courses/{course_id}"
    # The course page the link leads to is open to the partner.
    assert client.get(f"/training/courses/{course_id}").status_code == 200

    # A current certificate restores access at once.
    cert = _certificate(gated, partner, course_id, expires_on=datetime.date.today())
    assert client.get("/alerts/check").status_code == 200
    assert client.get("/alerts/").status_code == 200
    assert gated.test_client().get("/api/v1/alerts", headers=headers).status_code == 200

    # When it has expired, access pauses again; revoked, too.
    with in_db(gated):
        Certificate.update(expires_on=datetime.date.today() - datetime.timedelta(days=1)).where(
            Certificate.id == cert).execute()
    assert client.get("/alerts/check").status_code == 403
    _certificate(gated, partner, course_id, revoked=True)
    assert client.get("/alerts/check").status_code == 403
    # Renewed: a new current certificate.
    _certificate(gated, partner, course_id, expires_on=datetime.date.today() + datetime.timedelta(days=365))
    assert client.get("/alerts/check").status_code == 200


def test_the_gate_covers_only_the_chosen_permissions_and_only_partners(gated, make_user):
    course_id = _course(gated)
    _gate(gated, course_id, permissions=("alerts.check",))
    partner = signed_in(gated, make_user("partner"))
    assert partner.get("/alerts/check").status_code == 403
    assert partner.get("/alerts/").status_code == 200  # reading alerts is not gated now
    # Members, moderators and partners who are also members hold these permissions by another role.
    for roles in (("member",), ("moderator",), ("partner", "member")):
        client = signed_in(gated, make_user(*roles))
        assert client.get("/alerts/check").status_code == 200, roles


def test_a_certificate_of_another_course_does_not_open_the_gate(gated, make_user):
    partner = make_user("partner")
    course_id, other = _course(gated), _course(gated)
    _gate(gated, course_id)
    _certificate(gated, partner, other)
    assert signed_in(gated, partner).get("/alerts/check").status_code == 403


def test_the_gate_is_silent_while_training_is_off(gated, make_user):
    partner = make_user("partner")
    _gate(gated, _course(gated))
    client = signed_in(gated, partner)
    assert client.get("/alerts/check").status_code == 403
    with in_db(gated):
        get_registry(gated).set_enabled("training", False)
    assert client.get("/alerts/check").status_code == 200
