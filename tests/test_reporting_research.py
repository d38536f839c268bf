"""Research exports: only reports that say yes to research, de-identified, every combination shared
by at least k rows, nothing typed into a report in the file, a second person approves, withdrawing
the consent keeps a report out of later files, and each file is audited with counts only."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections import Counter

import pytest
from helpers import enable, post_form, sign_in
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reporting_common import WHAT, WHEN, WHO, WISHES, api_report, fill_in, in_db, step

from plugins.reporting import research

CANARY = "Zqx-CANARY-8812"
CANARY_PHONE = "07700 900812"


@pytest.fixture
def app(app):
    enable(app, "reporting")
    return app


@pytest.fixture
def admin(app, make_user):
    client = app.test_client()
    client.user = make_user("admin", email="admin@example.org")
    sign_in(client, client.user)
    return client


@pytest.fixture
def second(app, make_user):
    client = app.test_client()
    client.user = make_user("moderator", email="second@example.org")
    sign_in(client, client.user)
    return client


def _body(research_yes: bool, **overrides) -> dict:
    return {
        "incident_types": ["robbery"], "occurred_on": "2025-02-03", "region": "london",
        "work_setting": "outcall", "contact_method": "online_ad",
        "location": f"Flat 3, {CANARY} Street", "narrative": f"He said his name was {CANARY}.",
        "perpetrators": [{"names": [CANARY], "phones": [CANARY_PHONE], "handles": [f"@{CANARY.lower()}"],
                          "description": {"features": CANARY}}],
        "consent": {"share_alert": False, "police_intelligence": False, "police_report": False,
                    "wants_support": research_yes, "research": research_yes},
        "support_contact": f"{CANARY}@example.org",
        **overrides,
    }


def _send(app, count: int, research_yes: bool, **overrides) -> list[str]:
    client = app.test_client()
    references = []
    for _ in range(count):
        response = api_report(client, _body(research_yes, **overrides))
        assert response.status_code == 201, response.get_json()
        references.append(response.get_json()["reference"])
    return references


def _ask(admin, attributes=research.ATTRIBUTES, first="2020-01", last=None) -> int:
    last = last or f"{datetime.date.today():%Y-%m}"
    response = post_form(admin, "/reporting/research/ask", {"first": first, "last": last,
                                                            "attributes": list(attributes)},
                         token_from="/reporting/research/")
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    from plugins.reporting.models import ResearchExport

    with in_db(admin.application):
        return ResearchExport.select().order_by(ResearchExport.id.desc()).get().id


def _download(client, export_id: int):
    return post_form(client, f"/reporting/research/{export_id}/download", token_from="/reporting/research/")


def _files(response) -> tuple[list[dict], str, bytes]:
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = archive.read("data.csv").decode()
    dictionary = archive.read("data_dictionary.csv").decode()
    return list(csv.DictReader(io.StringIO(data))), dictionary, response.data


def test_the_form_asks_for_research_and_keeps_the_answer(app):
    client = app.test_client()
    page = fill_in(client, what=WHAT, when=WHEN, who=WHO, wishes={**WISHES, "consent_research": "yes"})
    assert "Include your report in research" in page.get_data(as_text=True)
    sent = step(client, action="send", step_code="check")
    assert sent.status_code == 200
    from plugins.reporting.models import Report

    with in_db(app):
        assert Report.select().order_by(Report.id.desc()).get().has_consent("research")
    # The question must be answered, like the others.
    other = app.test_client()
    other.get("/reporting/report")
    answers = {k: v for k, v in WISHES.items() if k != "consent_research"}
    for code, values in (("what", WHAT), ("when", WHEN), ("who", WHO)):
        step(other, values, step_code=code)
    assert step(other, answers, step_code="wishes").status_code == 422


def test_research_is_given_and_withdrawn_through_the_api(app, client):
    body = api_report(client, _body(False)).get_json()
    assert body["reference"]
    given_ = client.post("/api/v1/reports/consent", json={"receipt": body["receipt"], "purpose": "research",
                                                           "given": True})
    assert given_.status_code == 200
    states = {c["purpose"]: c["given"] for c in given_.get_json()["consents"]}
    assert states["research"] is True
    withdrawn = client.post("/api/v1/reports/consent/withdraw", json={"receipt": body["receipt"],
                                                                     "purpose": "research"})
    assert {c["purpose"]: c["given"] for c in withdrawn.get_json()["consents"]}["research"] is False


def test_an_export_holds_only_consenting_reports_k_anonymous_and_no_canary(app, admin, second):
    consenting = _send(app, 7, True)
    consenting += _send(app, 6, True, region="wales", occurred_on="2025-06-01", incident_types=["threats"])
    _send(app, 1, True, region="scotland", incident_types=["rape"])  # alone: cannot be grouped with 4 others
    _send(app, 6, False, region="outside_uk", work_setting="street")  # never asked: must not be exported
    export_id = _ask(admin)
    # The person who asked cannot approve; nothing can be downloaded before approval.
    own = post_form(admin, f"/reporting/research/{export_id}/approve", token_from="/reporting/research/")
    assert own.status_code == 409 and "Someone other than" in own.get_data(as_text=True)
    assert _download(admin, export_id).status_code == 409
    assert post_form(second, f"/reporting/research/{export_id}/approve",
                     token_from="/reporting/research/").status_code == 303
    rows, dictionary, raw = _files(_download(admin, export_id))
    # Only the 14 consenting reports (the one in Scotland alone would be 1 in 14 left out, more than
    # 5%: so regions and types are made coarser rather than leave it out); every combination is
    # shared by at least k.
    assert len(consenting) == 13 and len(rows) == 14 and "left_out,0," in dictionary and "rows,14," in dictionary
    combinations = Counter(tuple(row.values()) for row in rows)
    assert min(combinations.values()) >= 5
    assert {row["region"] for row in rows} == {"*"} and {row["types"] for row in rows} == {"*"}
    assert {row["setting"] for row in rows} == {"outcall"}  # the 6 reports without consent were "street"
    assert set(rows[0]) == set(research.ATTRIBUTES) and "k,5," in dictionary
    assert {row["support"] for row in rows} == {"yes"}  # every consenting report asked for support here
    # Nothing anyone typed: no words, names, numbers, places, contact details, references.
    from plugins.reporting.models import Report

    text = (raw.decode("latin-1") + "".join(zipfile.ZipFile(io.BytesIO(raw)).read(name).decode()
                                            for name in ("data.csv", "data_dictionary.csv")))
    for needle in (CANARY, CANARY.lower(), "900812", "447700900812", "Flat 3", "example.org"):
        assert needle not in text
    with in_db(app):
        for reference in Report.select(Report.reference).tuples():
            assert reference[0] not in text
    # Dates are months at the finest; never a day.
    assert all(len(row["month"]) <= 7 for row in rows)


def test_withdrawing_research_keeps_a_report_out_of_later_exports(app, admin, second):
    references = _send(app, 10, True)
    export_id = _ask(admin, attributes=("region", "types"))
    post_form(second, f"/reporting/research/{export_id}/approve", token_from="/reporting/research/")
    rows, _dictionary, _raw = _files(_download(admin, export_id))
    assert len(rows) == 10
    from plugins.reporting import service
    from plugins.reporting.models import Report

    with in_db(app):
        for reference in references[:4]:
            service.withdraw_consent(Report.get(Report.reference == reference), "research", by="reporter")
    rows, dictionary, _raw = _files(_download(admin, export_id))
    assert len(rows) == 6 and "left_out,0," in dictionary
    with in_db(app):
        for reference in references[4:6]:
            service.withdraw_consent(Report.get(Report.reference == reference), "research", by="reporter")
    rows, dictionary, _raw = _files(_download(admin, export_id))
    assert rows == [] and "left_out,4," in dictionary  # 4 left: fewer than k, so none is exported


def test_every_step_is_audited_with_counts_never_rows(app, admin, second):
    _send(app, 5, True)
    export_id = _ask(admin, attributes=("region",))
    post_form(second, f"/reporting/research/{export_id}/approve", token_from="/reporting/research/")
    _files(_download(admin, export_id))
    from core.audit import AuditEntry
    from plugins.reporting.models import Report, ResearchExport

    with in_db(app):
        entries = [(e.action, e.target, e.actor_id) for e in AuditEntry.select().where(
            AuditEntry.action.startswith("research_export.")).order_by(AuditEntry.id)]
        references = [r[0] for r in Report.select(Report.reference).tuples()]
        export = ResearchExport.get_by_id(export_id)
        assert export.downloads == 1 and export.last_rows == 5 and export.last_left_out == 0
        assert export.decided_by_id == second.user.id and export.requested_by_id == admin.user.id
    assert [action for action, _t, _a in entries] == ["research_export.requested", "research_export.approved",
                                                      "research_export.made"]
    made = entries[-1]
    assert made[1] == f"research_export:{export_id} rows=5 left_out=0 k=5 levels=0 attrs=region"
    assert made[2] == admin.user.id and entries[1][2] == second.user.id
    assert not any(reference in target for _a, target, _u in entries for reference in references)


def test_who_may_ask_approve_and_download(app, admin, second, make_user):
    member = app.test_client()
    sign_in(member, make_user("member"))
    assert member.get("/reporting/research/").status_code == 403
    assert second.get("/reporting/research/").status_code == 200  # a moderator sees and approves
    response = post_form(second, "/reporting/research/ask", {"first": "2025-01", "last": "2025-02",
                                                             "attributes": ["region"]},
                         token_from="/reporting/research/")
    assert response.status_code == 403  # only admins ask
    export_id = _ask(admin, attributes=("region",))
    post_form(second, f"/reporting/research/{export_id}/refuse", token_from="/reporting/research/")
    assert _download(admin, export_id).status_code == 409
    assert _download(second, export_id).status_code == 403


def test_an_approval_runs_out(app, admin, second):
    _send(app, 5, True)
    export_id = _ask(admin, attributes=("region",))
    post_form(second, f"/reporting/research/{export_id}/approve", token_from="/reporting/research/")
    from plugins.reporting.models import ResearchExport

    with in_db(app):
        ResearchExport.update(decided_at=datetime.datetime.utcnow() - datetime.timedelta(days=8)).execute()
    assert _download(admin, export_id).status_code == 409


row = st.fixed_dictionaries({
    "month": st.sampled_from(["2025-01", "2025-02", "2025-05", "2024-11", research.NOT_GIVEN]),
    "region": st.sampled_from(["london", "wales", "scotland", research.NOT_GIVEN]),
    "types": st.sampled_from(["robbery", "rape", "robbery+threats", "other", research.NOT_GIVEN]),
    "setting": st.sampled_from(["outcall", "street", research.NOT_GIVEN]),
    "contact": st.sampled_from(["online_ad", "phone"]),
    "police": st.sampled_from(["yes", "no"]),
    "support": st.sampled_from(["yes", "no"]),
})


@settings(max_examples=150, deadline=None)
@given(st.lists(row, max_size=60), st.integers(5, 8),
       st.lists(st.sampled_from(research.ATTRIBUTES), min_size=1, unique=True))
def test_every_exported_combination_is_shared_by_at_least_k(rows, k, attributes):
    made = research.anonymise(rows, attributes, k)
    sizes = Counter(tuple(r[a] for a in attributes) for r in made.rows)
    assert all(size >= k for size in sizes.values())
    assert len(made.rows) + made.left_out == len(rows) == made.consenting
    assert made.left_out <= research.MAX_LEFT_OUT * len(rows) or all(
        made.levels[a] == research.LEVELS[a] for a in attributes)
    # Global recoding: every exported value is one of the generalised values of some input.
    for a in attributes:
        allowed = {research.generalise(a, r[a], made.levels[a]) for r in rows}
        assert {r[a] for r in made.rows} <= allowed
