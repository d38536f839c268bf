"""Tables of the training plugin (prefixed training_).

Courses for the professionals sex workers meet: authored in the browser, taught in lessons,
quizzes and sessions in person or online, finished with a certificate anyone can verify.
Learners are professionals (police, health and support staff), not members; what they typed
is kept to what training needs. Questionnaire answers are anonymous: they are stored with no
link to the person, and a separate row only records that someone has answered.
"""

from __future__ import annotations

import json

from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField

from core.accounts.models import User
from core.crypto import EncryptedTextField
from core.db import BaseModel, utcnow
from core.organisations import Organisation

COURSE_STATUSES = ("draft", "published", "archived")
ENROLMENT_MODES = ("open", "code", "invitation", "manager")
ENROLMENT_STATUSES = ("requested", "active", "completed", "withdrawn")
QUESTION_KINDS = ("single", "multiple", "true_false", "short")
BOOKING_STATUSES = ("requested", "booked", "waitlisted", "cancelled")
ATTENDANCE = ("present", "late", "excused", "absent")
COMPLETION_RULES = ("all", "chosen")
QUESTIONNAIRE_KINDS = ("before", "after")


class TrainingModel(BaseModel):
    """Shared by the training tables: when a row was made."""

    created_at = DateTimeField(default=utcnow)


class Course(BaseModel):
    """A course in one language. Its translations are courses too, pointing at the original."""

    title = CharField(max_length=200)
    summary = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    language = CharField(max_length=16, default="en")
    translation_of = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="translations")
    version = IntegerField(default=1)  # goes up when a published course is changed
    status = CharField(max_length=16, default="draft", index=True)  # COURSE_STATUSES
    enrolment = CharField(max_length=16, default="open")  # ENROLMENT_MODES
    enrolment_code_hash = CharField(max_length=64, null=True)
    needs_approval = BooleanField(default=False)  # an organisation manager or trainer approves
    completion_rule = CharField(max_length=16, default="all")  # COMPLETION_RULES
    hours = IntegerField(default=0)  # whole hours, shown on the certificate
    certificate_valid_days = IntegerField(null=True)  # None: certificates never expire
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "training_course"


class CourseTrainer(TrainingModel):
    """A trainer credited on a course, by working name; lived-experience co-trainers too."""

    course = ForeignKeyField(Course, on_delete="CASCADE", backref="trainers")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    credited_name = CharField(max_length=120)
    lived_experience = BooleanField(default=False)

    class Meta:
        table_name = "training_course_trainer"


class Module(TrainingModel):
    course = ForeignKeyField(Course, on_delete="CASCADE", backref="modules")
    position = IntegerField(default=0)
    title = CharField(max_length=200)

    class Meta:
        table_name = "training_module"


class Lesson(TrainingModel):
    """Formatted text (a safe subset of Markdown, sanitised when rendered), a video link, files."""

    module = ForeignKeyField(Module, on_delete="CASCADE", backref="lessons")
    position = IntegerField(default=0)
    title = CharField(max_length=200)
    body = TextField(default="")  # Markdown as the trainer wrote it
    video_url = CharField(max_length=500, null=True)
    counts_for_completion = BooleanField(default=True)

    class Meta:
        table_name = "training_lesson"


class LessonFile(TrainingModel):
    lesson = ForeignKeyField(Lesson, on_delete="CASCADE", backref="files")
    filename = CharField(max_length=200)
    content_type = CharField(max_length=100)
    size = IntegerField()
    data = TextField()  # base64; training files are course material, not personal data

    class Meta:
        table_name = "training_lesson_file"


class Quiz(TrainingModel):
    course = ForeignKeyField(Course, on_delete="CASCADE", backref="quizzes")
    module = ForeignKeyField(Module, null=True, on_delete="SET NULL", backref="quizzes")
    title = CharField(max_length=200)
    pass_mark = IntegerField(default=80)  # percent
    draw = IntegerField(default=10)  # questions drawn at random for each attempt
    attempt_limit = IntegerField(null=True)  # None: no limit
    counts_for_completion = BooleanField(default=True)

    class Meta:
        table_name = "training_quiz"


class Question(TrainingModel):
    """A question of the quiz's bank. Its answer key is read only when an attempt is marked."""

    quiz = ForeignKeyField(Quiz, on_delete="CASCADE", backref="questions")
    kind = CharField(max_length=16)  # QUESTION_KINDS
    text = TextField()
    feedback = TextField(default="")
    position = IntegerField(default=0)

    class Meta:
        table_name = "training_question"


class Choice(TrainingModel):
    """An answer option (single, multiple, true/false) or an accepted short answer (short)."""

    question = ForeignKeyField(Question, on_delete="CASCADE", backref="choices")
    text = CharField(max_length=500)
    correct = BooleanField(default=False)
    feedback = TextField(default="")
    position = IntegerField(default=0)

    class Meta:
        table_name = "training_choice"


class Enrolment(TrainingModel):
    course = ForeignKeyField(Course, on_delete="CASCADE", backref="enrolments")
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    status = CharField(max_length=16, default="active", index=True)  # ENROLMENT_STATUSES
    enrolled_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    approved_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    approved_at = DateTimeField(null=True)
    completed_at = DateTimeField(null=True, index=True)

    class Meta:
        table_name = "training_enrolment"
        indexes = ((("course", "user"), True),)


class LessonDone(TrainingModel):
    enrolment = ForeignKeyField(Enrolment, on_delete="CASCADE", backref="lessons_done")
    lesson = ForeignKeyField(Lesson, on_delete="CASCADE", backref="+")

    class Meta:
        table_name = "training_lesson_done"
        indexes = ((("enrolment", "lesson"), True),)


class Attempt(TrainingModel):
    """One try at a quiz: the questions drawn (in order), then the answers and the mark."""

    quiz = ForeignKeyField(Quiz, on_delete="CASCADE", backref="attempts")
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    drawn = TextField(default="[]")  # question ids, JSON
    answers = TextField(null=True)  # {question id: answer}, JSON, once submitted
    submitted_at = DateTimeField(null=True)
    score = IntegerField(null=True)  # percent
    passed = BooleanField(null=True)
    seed = IntegerField(default=0)  # the options' order on the attempt page (never sent anywhere)

    class Meta:
        table_name = "training_attempt"
        indexes = ((("quiz", "user"), False),)

    @property
    def drawn_ids(self) -> list[int]:
        return json.loads(self.drawn or "[]")


class Session(TrainingModel):
    """A session in person or online, with one or more dates, a capacity and a waitlist."""

    course = ForeignKeyField(Course, on_delete="CASCADE", backref="sessions")
    title = CharField(max_length=200)
    venue = TextField(null=True)
    online_link = EncryptedTextField(null=True)  # shown only to booked learners
    capacity = IntegerField(default=20)
    needs_approval = BooleanField(default=False)  # the learner's organisation manager approves
    cancel_cutoff_hours = IntegerField(default=24)
    counts_for_completion = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    cancelled_at = DateTimeField(null=True)

    class Meta:
        table_name = "training_session"


class SessionDate(TrainingModel):
    """One date of a session. `uid` stays for its life and `sequence` rises with every change, so
    calendars update or cancel the event they have instead of adding another."""

    session = ForeignKeyField(Session, on_delete="CASCADE", backref="dates")
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField()
    uid = CharField(max_length=64, unique=True)
    sequence = IntegerField(default=0)
    attendance_closed_at = DateTimeField(null=True)  # unmarked learners were set absent then
    cancelled_at = DateTimeField(null=True)  # this date alone was cancelled (kept for its METHOD:CANCEL)

    class Meta:
        table_name = "training_session_date"


class Booking(TrainingModel):
    session = ForeignKeyField(Session, on_delete="CASCADE", backref="bookings")
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    status = CharField(max_length=16, index=True)  # BOOKING_STATUSES
    approved_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    updated_at = DateTimeField(default=utcnow)
    reminded_at = DateTimeField(null=True)

    class Meta:
        table_name = "training_booking"
        # The waitlist is read in the order people joined it (updated_at, set when the status changes).
        indexes = ((("session", "user"), True), (("session", "status", "updated_at"), False))


class Attendance(TrainingModel):
    session_date = ForeignKeyField(SessionDate, on_delete="CASCADE", backref="attendance")
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    status = CharField(max_length=16)  # ATTENDANCE
    marked_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    self_check_in = BooleanField(default=False)

    class Meta:
        table_name = "training_attendance"
        indexes = ((("session_date", "user"), True),)


class CheckInCode(TrainingModel):
    """The secret behind a session date's QR code; it works only inside its window."""

    session_date = ForeignKeyField(SessionDate, on_delete="CASCADE", backref="+")
    token_hash = CharField(max_length=64, unique=True)
    valid_from = DateTimeField()
    valid_until = DateTimeField()

    class Meta:
        table_name = "training_check_in_code"


class Certificate(TrainingModel):
    """What the certificate says, as issued: later changes to the course or name do not alter it.

    `payload` is the canonical JSON that `signature` (Ed25519, the instance's training key) signs.
    """

    code = CharField(max_length=32, unique=True)  # unguessable, shown on the certificate and its QR code
    course = ForeignKeyField(Course, null=True, on_delete="SET NULL", backref="certificates")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    learner_name = EncryptedTextField()  # as the learner entered it (personal data: encrypted)
    course_title = CharField(max_length=200)
    issued_on = DateField()
    hours = IntegerField(default=0)
    trainers = CharField(max_length=500, default="")
    expires_on = DateField(null=True, index=True)
    payload = EncryptedTextField()  # it holds the name; "" until the learner has entered it
    signature = CharField(max_length=128)  # base64; "" until the learner has entered their name
    revoked_at = DateTimeField(null=True)
    revoke_reason = EncryptedTextField(null=True)  # a trainer's words: shown to the learner and trainers only
    renewal_reminded_at = DateTimeField(null=True)
    # One certificate per completion of an enrolment (plain ids: added by migration 0007).
    enrolment_id = IntegerField(null=True)
    completed_at = DateTimeField(null=True)

    class Meta:
        table_name = "training_certificate"
        indexes = ((("enrolment_id", "completed_at"), True),)


class Questionnaire(TrainingModel):
    """Before or after a course: attitude and confidence statements, answered anonymously."""

    course = ForeignKeyField(Course, on_delete="CASCADE", backref="questionnaires")
    kind = CharField(max_length=16)  # QUESTIONNAIRE_KINDS
    items = TextField(default="[]")  # the statements, JSON list of text

    class Meta:
        table_name = "training_questionnaire"
        indexes = ((("course", "kind"), True),)


class QuestionnaireAnswer(BaseModel):
    """One anonymous set of answers: no person, no time finer than the month."""

    questionnaire = ForeignKeyField(Questionnaire, on_delete="CASCADE", backref="answers")
    month = DateField(index=True)
    scores = TextField()  # JSON list, one 1-5 score (or null) per statement

    class Meta:
        table_name = "training_questionnaire_answer"


class QuestionnaireDone(BaseModel):
    """That someone answered (so nobody answers twice), kept apart from what they answered."""

    questionnaire = ForeignKeyField(Questionnaire, on_delete="CASCADE", backref="+")
    user = ForeignKeyField(User, on_delete="CASCADE", backref="+")

    class Meta:
        table_name = "training_questionnaire_done"
        indexes = ((("questionnaire", "user"), True),)


class CourseOrganisation(BaseModel):
    """An organisation whose people a course is offered to by their manager (manager enrolment)."""

    course = ForeignKeyField(Course, on_delete="CASCADE", backref="+")
    organisation = ForeignKeyField(Organisation, on_delete="CASCADE", backref="+")

    class Meta:
        table_name = "training_course_organisation"
        indexes = ((("course", "organisation"), True),)


MODELS = [CourseTrainer, Module, Lesson, LessonFile, Quiz, Question, Choice, Enrolment, LessonDone, Attempt, Session,
          SessionDate, Booking, Attendance, CheckInCode, Certificate, Questionnaire, QuestionnaireAnswer,
          QuestionnaireDone, CourseOrganisation]
