"""By default a peer instance may ask no more checks a day than one member may make (issue #15:
"a hostile peer cannot enumerate another's alerts faster than a member could")."""

from __future__ import annotations

import base64

from alerts_fixtures import in_app
from test_federation_check import FakePeer, check

from core.federation import oprf


def defaults(app) -> dict:
    from plugins.alerts.service import settings

    return in_app(app, settings)


def test_a_peer_gets_no_more_checks_a_day_than_a_member(on, member_client):
    conf = defaults(on)
    assert conf["peer_check_limit"] == conf["check_limit_account"] == 30
    assert conf["peer_check_warning"] < conf["peer_check_limit"]

    member_statuses = [check(member_client, f"07700 900{n:03d}").status_code for n in range(31)]
    assert member_statuses == [200] * 30 + [429]

    fake = FakePeer(on)
    client = on.test_client()
    question = {"points": [base64.b64encode(oprf.random_point()).decode() for _ in range(8)]}
    peer_statuses = [fake.post(client, "/federation/v1/alerts/check", question).status_code for _ in range(31)]
    assert peer_statuses == [200] * 30 + [429]
