"""By default a peer instance may try no more identifiers a day than one member may check (issue
#15: "a hostile peer cannot enumerate another's alerts faster than a member could"): each point of
a peer's question is one identifier tried and counts as one check."""

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

    def question(points: int) -> dict:
        return {"points": [base64.b64encode(oprf.random_point()).decode() for _ in range(points)]}

    # Eight identifiers in one question are eight checks: 3 such questions use 24 of the 30.
    assert [fake.post(client, "/federation/v1/alerts/check", question(8)).status_code for _ in range(3)] == [200] * 3
    peer_statuses = [fake.post(client, "/federation/v1/alerts/check", question(1)).status_code for _ in range(7)]
    assert peer_statuses == [200] * 6 + [429]
