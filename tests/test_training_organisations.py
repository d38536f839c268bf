"""Organisations: administrators' pages, invitations into an organisation, and organisation managers
who see and manage only their own people (404 for anyone else).

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import re

import pytest
from casework_common import in_db
from helpers import enable, post_form, sign_in


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def organisation(app, name, *people):
    from core.organisations import Organisation, set_organisation

    with in_db(app):
        found = Organisation.create(name=name, kind="police")
        for person in people:
            set_organisation(person, found)
    return found.id


# -- administrators -----------------------------------------------------------------------------------


def test_admin_adds_edits_and_fills_an_organisation(app, make_user):
    from core.organisations import Organisation, organisation_of

    admin, partner = make_user("admin"), make_user("partner")
    client = signed_in(app, admin)
    assert "Organisations" in client.get("/").get_data(as_text=True)
    page = "/admin/organisations"
    refused = post_form(client, page, {"name": "", "kind": "police"}, token_from=page)
    assert refused.status_code == 422
    bidi = post_form(client, page, {"name": "Police\u202e", "kind": "police"}, token_from=page)
    assert bidi.status_code == 422
    added = post_form(client, page, {"name": "Example Constabulary", "kind": "police", "region": "North"},
                      token_from=page)
    assert added.status_code == 303
    edit = added.headers["Location"]
    organisation_id = int(re.search(r"/(\d+)$", edit).group(1))
    assert post_form(client, edit, {"action": "save", "name": "Example Police", "kind": "police"},
                     token_from=edit).status_code == 303
    nobody = post_form(client, edit, {"action": "add_member", "email": "nobody@example.org"}, token_from=edit)
    assert nobody.status_code == 422 and "No account uses that address" in nobody.get_data(as_text=True)
    assert post_form(client, edit, {"action": "add_member", "email": partner.email}, token_from=edit).status_code == 303
    with in_db(app):
        assert Organisation.get_by_id(organisation_id).name == "Example Police"
        assert organisation_of(partner).id == organisation_id
    assert "Example Police" in client.get(page).get_data(as_text=True)
    removed = post_form(client, edit, {"action": "remove_member", "user": str(partner.id)}, token_from=edit)
    assert removed.status_code == 303
    with in_db(app):
        assert organisation_of(partner) is None
    # Not an administrator: refused.
    assert signed_in(app, make_user("moderator")).get(page).status_code == 403


def test_an_invitation_can_put_the_new_account_in_an_organisation(app, make_user):
    from core.accounts.invitations import Invitation
    from core.accounts.models import User
    from core.organisations import organisation_of

    admin = make_user("admin")
    organisation_id = organisation(app, "Example Health Trust")
    client = signed_in(app, admin)
    page = "/admin/invitations"
    response = post_form(client, page, {"email": "newcomer@example.org", "roles": ["partner"], "locale": "en",
                                        "organisation": str(organisation_id)}, token_from=page)
    assert response.status_code == 303
    with in_db(app):
        invitation = Invitation.get()
        assert invitation.organisation_id == organisation_id
        raw = invitation.issue()
    newcomer = app.test_client()
    path = f"/account/invitation/{raw}"
    accepted = post_form(newcomer, path, {"password": "a long new passphrase", "confirm": "a long new passphrase"},
                         token_from=path)
    assert accepted.status_code == 303
    with in_db(app):
        assert organisation_of(User.by_email("newcomer@example.org")).id == organisation_id


def test_an_invitation_refuses_an_organisation_not_listed(app, make_user):
    client = signed_in(app, make_user("admin"))
    response = post_form(client, "/admin/invitations", {"email": "x@example.org", "roles": ["partner"],
                                                        "locale": "en", "organisation": "999"},
                         token_from="/admin/invitations")
    assert response.status_code == 422


# -- organisation managers ----------------------------------------------------------------------------


@pytest.fixture
def training(app):
    enable(app, "reporting", "alerts", "training")
    return app


def _course(app, title, **values):
    from plugins.training.models import Course

    with in_db(app):
        return Course.create(title=title, status="published", **values).id


def test_a_manager_sees_only_their_own_organisations_people(training, make_user):
    manager, mine, theirs = make_user("organisation_manager"), make_user("learner"), make_user("learner")
    other_manager = make_user("organisation_manager")
    with in_db(training):
        from core.accounts.models import User

        User.update(working_name="Mine Person").where(User.id == mine.id).execute()
        User.update(working_name="Their Person").where(User.id == theirs.id).execute()
    organisation(training, "Ours", manager, mine)
    organisation(training, "Theirs", other_manager, theirs)
    client = signed_in(training, manager)
    page = client.get("/training/organisation").get_data(as_text=True)
    assert "Mine Person" in page and "Their Person" not in page and "Theirs" not in page
    assert client.get(f"/training/organisation/people/{mine.id}").status_code == 200
    assert client.get(f"/training/organisation/people/{theirs.id}").status_code == 404
    assert client.get("/training/organisation/people/999999").status_code == 404
    # Enrolling someone outside is the same 404, and nothing is written.
    course_id = _course(training, "Open course")
    outside = post_form(client, "/training/organisation/enrol", {"person": str(theirs.id), "course": str(course_id)},
                        token_from="/training/organisation")
    assert outside.status_code == 404
    from plugins.training.models import Enrolment

    with in_db(training):
        assert not Enrolment.select().where(Enrolment.user == theirs.id).exists()


def test_a_manager_without_an_organisation_sees_nobody(training, make_user):
    manager = make_user("organisation_manager")
    learner = make_user("learner")
    organisation(training, "Somewhere", learner)
    client = signed_in(training, manager)
    assert "does not belong to an organisation" in client.get("/training/organisation").get_data(as_text=True)
    assert client.get(f"/training/organisation/people/{learner.id}").status_code == 404


def test_a_manager_enrols_on_offered_courses_and_approves_requests(training, make_user):
    from plugins.training.models import CourseOrganisation, Enrolment
    from plugins.training.organisations import manager_may_approve

    manager, mine, theirs = make_user("organisation_manager"), make_user("learner"), make_user("learner")
    ours = organisation(training, "Ours", manager, mine)
    organisation(training, "Theirs", theirs)
    offered = _course(training, "Offered to us", enrolment="manager")
    not_offered = _course(training, "Offered elsewhere", enrolment="manager")
    needs = _course(training, "Needs approval", needs_approval=True)
    with in_db(training):
        CourseOrganisation.create(course=offered, organisation=ours)
        assert manager_may_approve(manager, mine) and not manager_may_approve(manager, theirs)
        assert not manager_may_approve(manager, manager)
    client = signed_in(training, manager)
    person_page = f"/training/organisation/people/{mine.id}"
    page = client.get(person_page).get_data(as_text=True)
    assert "Offered to us" in page and "Offered elsewhere" not in page
    assert post_form(client, "/training/organisation/enrol", {"person": str(mine.id), "course": str(offered)},
                     token_from=person_page).status_code == 303
    refused = post_form(client, "/training/organisation/enrol", {"person": str(mine.id), "course": str(not_offered)},
                        token_from=person_page)
    assert refused.status_code == 404
    with in_db(training):
        assert Enrolment.get((Enrolment.user == mine.id) & (Enrolment.course == offered)).status == "active"
        assert not Enrolment.select().where(Enrolment.course == not_offered).exists()

    # Requests: the manager approves their own person's, and gets 404 for another organisation's.
    for person in (mine, theirs):
        learner = signed_in(training, person)
        post_form(learner, f"/training/courses/{needs}/enrol", token_from=f"/training/courses/{needs}")
    with in_db(training):
        own = Enrolment.get((Enrolment.user == mine.id) & (Enrolment.course == needs))
        other = Enrolment.get((Enrolment.user == theirs.id) & (Enrolment.course == needs))
        assert own.status == other.status == "requested"
    assert "Waiting for your approval" in client.get("/training/organisation").get_data(as_text=True)
    assert post_form(client, f"/training/enrolments/{other.id}/approve",
                     token_from="/training/organisation").status_code == 404
    assert post_form(client, f"/training/enrolments/{own.id}/approve",
                     token_from="/training/organisation").status_code == 303
    with in_db(training):
        assert Enrolment.get_by_id(own.id).status == "active"
        assert Enrolment.get_by_id(own.id).approved_by_id == manager.id
        assert Enrolment.get_by_id(other.id).status == "requested"


# -- partner feed tokens belong to an organisation ----------------------------------------------------


def test_a_feed_token_is_made_for_an_organisation_and_shows_its_name(training, make_user):
    from plugins.alerts.models import FeedToken

    organisation_id = organisation(training, "Example Outreach Team")
    staff = signed_in(training, make_user("moderator"))
    page = "/alerts/manage/feeds"
    assert "Example Outreach Team" in staff.get(page).get_data(as_text=True)  # offered in the list
    neither = post_form(staff, page, {"organisation": "", "label": ""}, token_from=page)
    assert neither.status_code == 422 and "Please choose the partner organisation" in neither.get_data(as_text=True)
    unknown = post_form(staff, page, {"organisation": "999999", "label": ""}, token_from=page)
    assert unknown.status_code == 422
    made = post_form(staff, page, {"organisation": str(organisation_id), "label": ""}, token_from=page)
    assert made.status_code == 200 and '<code class="token">' in made.get_data(as_text=True)
    typed = post_form(staff, page, {"organisation": "", "label": "A drop-in not listed"}, token_from=page)
    assert typed.status_code == 200
    with in_db(training):
        rows = {row.organisation_id: row.label for row in FeedToken.select()}
    assert rows == {organisation_id: "", None: "A drop-in not listed"}
    listing = staff.get(page).get_data(as_text=True)
    assert "<td>Example Outreach Team</td>" in listing and "<td>A drop-in not listed</td>" in listing


def test_the_migration_gives_old_tokens_the_organisation_their_label_names(app):
    from core import schema
    from core.crypto import keyring
    from core.db import db

    step = "alerts:0006_feed_token_organisation"
    with in_db(app):
        runner = next(runner for runner in schema.runners(app) if runner.owner == "alerts")
        undone = runner.down(step)
        assert undone[-1] == step
        db.execute_sql(f"INSERT INTO organisation (name, kind, created_at) VALUES ({db.param}, 'police', "
                       "CURRENT_TIMESTAMP)", ("Example  Police",))
        (organisation_id,) = db.execute_sql("SELECT max(id) FROM organisation").fetchone()
        for number, label in enumerate(("example police ", "Someone else")):
            db.execute_sql("INSERT INTO alerts_feed_token (label, token_hash, created_at) VALUES "
                           f"({db.param}, {db.param}, CURRENT_TIMESTAMP)", (keyring().encrypt(label), f"h{number}"))
        assert schema.upgrade(app) == list(reversed(undone))
        rows = db.execute_sql("SELECT token_hash, organisation_id, label FROM alerts_feed_token "
                              "ORDER BY token_hash").fetchall()
    assert [(row[0], row[1]) for row in rows] == [("h0", organisation_id), ("h1", None)]
    assert [keyring().decrypt(row[2]) for row in rows] == ["example police ", "Someone else"]  # labels kept
