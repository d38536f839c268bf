"""`redumbrella demo` for training: a clearly fake course with everything a newcomer should see,
an organisation with its manager and learner, an enrolment, and a certificate signed the ordinary
way; running it again adds nothing."""

from __future__ import annotations

from helpers import TEST_PASSWORD, sign_in

from core.db import connection
from core.demo import fill


def _counts():
    from core.organisations import Organisation, OrganisationMember
    from plugins.training.models import (
        Booking,
        Certificate,
        Course,
        Enrolment,
        Lesson,
        Module,
        Question,
        Quiz,
        Session,
        SessionDate,
    )

    return {model.__name__: model.select().count() for model in (
        Course, Module, Lesson, Quiz, Question, Session, SessionDate, Booking, Enrolment, Certificate,
        Organisation, OrganisationMember)}


def test_demo_fills_training_once_and_the_learner_sees_it(app):
    from core.organisations import organisation_of
    from plugins.training import certificates
    from plugins.training.models import Certificate, Course, Enrolment, Quiz, Session

    with app.app_context(), connection():
        accounts, _password = fill(app, TEST_PASSWORD)
        learner, manager = accounts["learner"], accounts["organisation_manager"]
        course = Course.get(Course.title == "Demo: working with sex workers without judgement")
        assert course.status == "published" and course.title.startswith("Demo: ")
        assert len(course.modules) == 2 and sum(len(m.lessons) for m in course.modules) == 3
        quiz = Quiz.get(Quiz.course == course.id)
        assert len(quiz.questions) == 3
        session = Session.get(Session.course == course.id)
        assert len(session.dates) == 1 and session.dates[0].starts_at is not None
        organisation = organisation_of(manager)
        assert organisation is not None and "DEMO" in organisation.name
        assert organisation_of(learner).id == organisation.id
        assert Enrolment.get(Enrolment.course == course.id, Enrolment.user == learner.id).status == "active"

        certificate = Certificate.get(Certificate.user == learner.id)
        assert certificate.signature and certificate.learner_name == "Demo Learner (made up)"
        assert certificates.status_of(certificate) == "valid"
        checked = certificates.verify_document(certificates.document(certificate), certificates.public_key_raw())
        assert checked.ok, checked.problem
        code = certificate.code
        first = _counts()

        fill(app, TEST_PASSWORD)  # a second run changes nothing
        assert _counts() == first

    client = app.test_client()
    sign_in(client, "learner@demo.invalid")
    catalogue = client.get("/training/").get_data(as_text=True)
    assert "Demo: working with sex workers without judgement" in catalogue
    page = client.get(f"/training/verify/{code}")
    assert page.status_code == 200 and "Demo Learner (made up)" in page.get_data(as_text=True)
