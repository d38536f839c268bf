"""Training enrolment: open, by code, by a trainer, approval, withdrawal; pages and the API.

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import pytest
from casework_common import bearer, in_db, token_for
from helpers import enable, post_form, sign_in


@pytest.fixture
def training(app):
    enable(app, "reporting", "alerts", "training")
    return app


def make_course(app, title="A course", **values):
    from plugins.training.models import Course

    code = values.pop("code", None)
    with in_db(app):
        course = Course.create(title=title, status=values.pop("status", "published"), **values)
        if code is not None:
            from plugins.training.enrolment import set_enrolment_code

            set_enrolment_code(course, code)
    return course.id


def enrolment_status(app, course_id, user):
    from plugins.training.models import Enrolment

    with in_db(app):
        found = Enrolment.get_or_none((Enrolment.course == course_id) & (Enrolment.user == user.id))
        return found.status if found else None


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def enrol_page(client, course_id, data=None):
    return post_form(client, f"/training/courses/{course_id}/enrol", data or {},
                     token_from=f"/training/courses/{course_id}")


def test_open_course_enrol_withdraw_and_come_back(training, make_user):
    learner = make_user("learner")
    course_id = make_course(training, "Open to all")
    make_course(training, "Still a draft", status="draft")
    client = signed_in(training, learner)
    catalogue = client.get("/training/").get_data(as_text=True)
    assert "Open to all" in catalogue and "Still a draft" not in catalogue
    assert enrol_page(client, course_id).status_code == 303
    assert enrolment_status(training, course_id, learner) == "active"
    assert "My courses" in client.get("/training/").get_data(as_text=True)
    response = post_form(client, f"/training/courses/{course_id}/withdraw", token_from=f"/training/courses/{course_id}")
    assert response.status_code == 303
    assert enrolment_status(training, course_id, learner) == "withdrawn"
    assert enrol_page(client, course_id).status_code == 303
    assert enrolment_status(training, course_id, learner) == "active"


def test_draft_course_is_404_for_learners(training, make_user):
    learner = make_user("learner")
    draft = make_course(training, "Draft", status="draft")
    client = signed_in(training, learner)
    assert client.get(f"/training/courses/{draft}").status_code == 404
    response = post_form(client, f"/training/courses/{draft}/enrol", token_from="/training/")
    assert response.status_code == 404
    assert enrolment_status(training, draft, learner) is None


def test_enrolment_by_code_refuses_a_wrong_code_with_422_and_takes_the_right_one(training, make_user):
    from plugins.training.models import Course

    learner = make_user("learner")
    course_id = make_course(training, "Code course", enrolment="code", code="Blue Heron 42")
    with in_db(training):
        stored = Course.get_by_id(course_id).enrolment_code_hash
    assert stored and "heron" not in stored.lower() and len(stored) == 64  # a keyed hash, not the code
    client = signed_in(training, learner)
    for wrong in ("", "Blue Heron 43", "x" * 100):
        response = enrol_page(client, course_id, {"code": wrong})
        assert response.status_code == 422, wrong
        assert "That enrolment code is not right" in response.get_data(as_text=True)
    assert enrolment_status(training, course_id, learner) is None
    # Case and spaces do not matter.
    assert enrol_page(client, course_id, {"code": "blueheron42"}).status_code == 303
    assert enrolment_status(training, course_id, learner) == "active"


def test_enrolment_code_too_short_is_refused_for_the_settings_form(training):
    from plugins.training.authoring import AuthoringError
    from plugins.training.enrolment import set_enrolment_code
    from plugins.training.models import Course

    course_id = make_course(training, enrolment="code", code="good code")
    with in_db(training):
        course = Course.get_by_id(course_id)
        with pytest.raises(AuthoringError) as refused:
            set_enrolment_code(course, "ab")
        assert refused.value.field == "enrolment_code"
        set_enrolment_code(course, "")
        assert Course.get_by_id(course_id).enrolment_code_hash is None


def test_approval_flow_requested_then_approved_by_a_trainer(training, make_user):
    learner, trainer = make_user("learner"), make_user("trainer")
    course_id = make_course(training, "Needs approval", needs_approval=True)
    client = signed_in(training, learner)
    assert enrol_page(client, course_id).status_code == 303
    assert enrolment_status(training, course_id, learner) == "requested"
    # The learner cannot approve themselves.
    from plugins.training.models import Enrolment

    with in_db(training):
        enrolment_id = Enrolment.get(Enrolment.user == learner.id).id
    response = post_form(client, f"/training/enrolments/{enrolment_id}/approve", token_from="/training/")
    assert response.status_code == 404
    assert enrolment_status(training, course_id, learner) == "requested"
    staff = signed_in(training, trainer)
    page = staff.get(f"/training/manage/courses/{course_id}/enrolments")
    assert page.status_code == 200 and "Waiting for approval" in page.get_data(as_text=True)
    response = post_form(staff, f"/training/enrolments/{enrolment_id}/approve",
                         token_from=f"/training/manage/courses/{course_id}/enrolments")
    assert response.status_code == 303
    assert enrolment_status(training, course_id, learner) == "active"
    with in_db(training):
        assert Enrolment.get_by_id(enrolment_id).approved_by_id == trainer.id


def test_invitation_course_is_hidden_until_a_trainer_enrols_the_person(training, make_user):
    learner, trainer = make_user("learner"), make_user("trainer")
    course_id = make_course(training, "By invitation only", enrolment="invitation")
    client = signed_in(training, learner)
    assert "By invitation only" not in client.get("/training/").get_data(as_text=True)
    assert client.get(f"/training/courses/{course_id}").status_code == 404
    staff = signed_in(training, trainer)
    path = f"/training/manage/courses/{course_id}/enrolments"
    unknown = post_form(staff, path, {"action": "invite", "email": "nobody@example.org"}, token_from=path)
    assert unknown.status_code == 422 and "No account uses that address" in unknown.get_data(as_text=True)
    invited = post_form(staff, path, {"action": "invite", "email": learner.email.upper()}, token_from=path)
    assert invited.status_code == 303
    assert enrolment_status(training, course_id, learner) == "active"
    assert "By invitation only" in client.get("/training/").get_data(as_text=True)


# -- the API ------------------------------------------------------------------------------------------


def test_api_courses_lists_what_the_caller_may_see(training, make_user):
    open_id = make_course(training, "Open one")
    draft_id = make_course(training, "Draft one", status="draft")
    invited_id = make_course(training, "Invited one", enrolment="invitation")
    anonymous = training.test_client()
    listed = anonymous.get("/api/v1/courses")
    assert listed.status_code == 200
    ids = [course["id"] for course in listed.get_json()["courses"]]
    assert open_id in ids and draft_id not in ids and invited_id not in ids
    assert anonymous.get(f"/api/v1/courses/{open_id}").get_json()["my_enrolment"] is None
    assert anonymous.get(f"/api/v1/courses/{draft_id}").status_code == 404
    assert anonymous.get(f"/api/v1/courses/{invited_id}").status_code == 404
    assert anonymous.post(f"/api/v1/courses/{open_id}/enrol").status_code == 401


def test_api_enrol_by_code_and_my_training(training, make_user):
    learner = make_user("learner")
    course_id = make_course(training, "Code course", enrolment="code", code="secret code")
    open_id = make_course(training, "Open course")
    headers = bearer(token_for(training, learner))
    client = training.test_client()
    wrong = client.post(f"/api/v1/courses/{course_id}/enrol", json={"code": "not it"}, headers=headers)
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["fields"]["code"] == [
        "That enrolment code is not right. Please check it with your trainer."]
    junk = client.post(f"/api/v1/courses/{course_id}/enrol", json={"code": "x", "other": 1}, headers=headers)
    assert junk.status_code == 422
    right = client.post(f"/api/v1/courses/{course_id}/enrol", json={"code": "SECRET CODE"}, headers=headers)
    assert right.status_code == 201 and right.get_json()["status"] == "active"
    assert client.post(f"/api/v1/courses/{open_id}/enrol", headers=headers).status_code == 201
    mine = client.get("/api/v1/me/training", headers=headers)
    assert mine.status_code == 200
    body = mine.get_json()
    assert sorted(item["course"] for item in body["enrolments"]) == sorted([course_id, open_id])
    assert all({"done", "total", "percent"} <= set(item) for item in body["enrolments"])
    assert body["certificates"] == []
    detail = client.get(f"/api/v1/courses/{course_id}", headers=headers).get_json()
    assert detail["my_enrolment"] == "active"


def test_api_invitation_course_is_403_for_a_learner_already_shown_it(training, make_user):
    """A manager course offered to the learner's organisation is visible, but only the manager enrols."""
    from core.organisations import Organisation, set_organisation
    from plugins.training.models import CourseOrganisation

    learner = make_user("learner")
    course_id = make_course(training, "Offered", enrolment="manager")
    with in_db(training):
        organisation = Organisation.create(name="Example Police")
        set_organisation(learner, organisation)
        CourseOrganisation.create(course=course_id, organisation=organisation)
    headers = bearer(token_for(training, learner))
    client = training.test_client()
    assert client.get(f"/api/v1/courses/{course_id}", headers=headers).status_code == 200
    refused = client.post(f"/api/v1/courses/{course_id}/enrol", headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["message"]
    assert enrolment_status(training, course_id, learner) is None
