"""Clearly fake sample training for a demo instance: a published course with modules, lessons, a
quiz and a session; an organisation with its manager and a learner; the learner enrolled, booked
and part-way through; and a short course the learner finished, with its certificate issued and
signed the ordinary way (completion, then the learner's name). Every name in it is made up."""

from __future__ import annotations

import datetime

DEMO_LESSON = ("DEMO: made-up sample text.\n\n"
               "Sex work is work. People who sell sex are experts in their own lives and safety.\n\n"
               "- Listen first, and ask what the person needs.\n"
               "- Do not ask about things you do not need to know.\n"
               "- Say what you will write down, and who will see it.")


def fill(app, accounts) -> None:
    from core.db import db
    from core.organisations import Organisation, set_organisation
    from plugins.training import authoring, certificates, enrolment, learning, quizzes, sessions
    from plugins.training.models import Course, CourseOrganisation, Enrolment

    if Course.select().exists():
        return
    trainer = accounts.get("trainer")
    learner = accounts.get("learner")
    if trainer is None:
        return
    manager = accounts.get("organisation_manager")

    organisation = Organisation.create(name="DEMO Northshire Police (made up)", kind="police", region="london")
    with db.atomic():
        for person in (manager, learner):
            if person is not None:
                set_organisation(person, organisation)

    course = authoring.create_course(trainer, {
        "title": "Demo: working with sex workers without judgement",
        "summary": "DEMO: a made-up sample course for police, health and support staff.",
        "language": "en", "hours": 3, "certificate_valid_days": 365, "enrolment": "open"})
    authoring.add_trainer(course, trainer, "Demo trainer")
    authoring.add_trainer(course, trainer, "Demo co-trainer (lived experience)", lived_experience=True)
    outline = [("Demo module 1: first contact", ["Demo lesson: listening first", "Demo lesson: what to write down"]),
               ("Demo module 2: safety and reporting", ["Demo lesson: Ugly Mugs reports and alerts"])]
    first_lesson = None
    for module_title, lesson_titles in outline:
        module = authoring.add_module(course, trainer, module_title)
        for title in lesson_titles:
            lesson = authoring.add_lesson(module, trainer, {"title": title, "body": DEMO_LESSON})
            first_lesson = first_lesson or lesson
    settings = {"title": "Demo quiz: the basics", "pass_mark": 60, "draw": 3}  # nosec B105 - a mark, no password
    quiz = quizzes.create_quiz(course, trainer, settings)
    quizzes.add_question(quiz, trainer, {
        "kind": "single", "text": "DEMO: someone tells you they sell sex. What do you do first?",
        "feedback": "Listening first builds trust.",
        "choices": [{"text": "Listen, and ask what they need", "correct": True},
                    {"text": "Write down their real name"}, {"text": "Tell them to stop"}]})
    quizzes.add_question(quiz, trainer, {
        "kind": "true_false", "text": "DEMO: a sex worker's report of violence deserves the same care as anyone's.",
        "answer": True})
    quizzes.add_question(quiz, trainer, {
        "kind": "multiple", "text": "DEMO: which of these help someone feel safe to talk?",
        "choices": [{"text": "Saying who will see your notes", "correct": True},
                    {"text": "A private place to talk", "correct": True},
                    {"text": "Asking about their immigration status"}]})
    starts = datetime.datetime.combine(datetime.date.today() + datetime.timedelta(days=14), datetime.time(18, 0))
    session = sessions.create_session(trainer, {
        "course_id": course.id, "title": "Demo: evening session", "venue": "DEMO Community Hall, 1 Made-up Street",
        "capacity": 12, "cancel_cutoff_hours": 24,
        "dates": [{"starts_at": starts, "ends_at": starts + datetime.timedelta(hours=2)}]})
    course = authoring.set_status(course, trainer, "publish")
    with db.atomic():
        CourseOrganisation.create(course=course.id, organisation=organisation.id)

    short = authoring.create_course(trainer, {
        "title": "Demo: a short introduction", "summary": "DEMO: a made-up ten-minute course.",
        "language": "en", "hours": 1, "certificate_valid_days": 365, "enrolment": "open"})
    authoring.add_trainer(short, trainer, "Demo trainer")
    short_module = authoring.add_module(short, trainer, "Demo module: the basics")
    short_lesson = authoring.add_lesson(short_module, trainer, {"title": "Demo lesson: why this matters",
                                                                "body": DEMO_LESSON})
    short = authoring.set_status(short, trainer, "publish")

    if learner is None:
        return
    # Part-way through the main course: enrolled, the first lesson done, a place at the session.
    taking = enrolment.enrol_self(course, learner)
    learning.mark_done(taking, first_lesson)
    sessions.book(session, learner)
    # The short course finished: completing it issues the certificate, which the learner's name signs.
    finished = enrolment.enrol_self(short, learner)
    learning.mark_done(finished, short_lesson)
    certificate = certificates.issue_for(Enrolment.get_by_id(finished.id))
    if certificate is not None and not certificate.signature:
        certificates.set_name(certificate, "Demo Learner (made up)", learner.id)
