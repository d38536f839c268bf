"""Courses in the browser: modules, lessons, quizzes, enrolment, sessions, attendance, certificates
and questionnaires (see plugins/training/models.py)."""

import datetime

from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def utcnow():
    """Naive UTC, as every timestamp column stores it (datetime.datetime.utcnow is deprecated)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    now = utcnow

    class User(Model):
        class Meta:
            table_name = "user"

    class Organisation(Model):
        class Meta:
            table_name = "organisation"

    class Course(Model):
        class Meta:
            table_name = "training_course"

    # Added columns that point at other rows are plain ids: SQLite cannot add a foreign key constraint.
    migrator.migrate(
        migrator.add_column("training_course", "language", CharField(max_length=16, default="en")),
        migrator.add_column("training_course", "translation_of_id", IntegerField(null=True)),
        migrator.add_column("training_course", "version", IntegerField(default=1)),
        migrator.add_column("training_course", "status", CharField(max_length=16, index=True, default="draft")),
        migrator.add_column("training_course", "enrolment", CharField(max_length=16, default="open")),
        migrator.add_column("training_course", "enrolment_code_hash", CharField(max_length=64, null=True)),
        migrator.add_column("training_course", "needs_approval", BooleanField(default=False)),
        migrator.add_column("training_course", "completion_rule", CharField(max_length=16, default="all")),
        migrator.add_column("training_course", "hours", IntegerField(default=0)),
        migrator.add_column("training_course", "certificate_valid_days", IntegerField(null=True)),
        migrator.add_column("training_course", "created_by_id", IntegerField(null=True)),
        migrator.add_column("training_course", "updated_at", DateTimeField(default=now)),
    )
    # Before this release every course was listed in the catalogue: keep them listed.
    db.execute_sql("UPDATE training_course SET status = 'published'")

    class CourseTrainer(Model):
        course = ForeignKeyField(Course, backref="+", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        credited_name = CharField(max_length=120)
        lived_experience = BooleanField(default=False)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_course_trainer"

    class Module(Model):
        course = ForeignKeyField(Course, backref="+", on_delete="CASCADE")
        position = IntegerField(default=0)
        title = CharField(max_length=200)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_module"

    class Lesson(Model):
        module = ForeignKeyField(Module, backref="+", on_delete="CASCADE")
        position = IntegerField(default=0)
        title = CharField(max_length=200)
        body = TextField(default="")
        video_url = CharField(max_length=500, null=True)
        counts_for_completion = BooleanField(default=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_lesson"

    class LessonFile(Model):
        lesson = ForeignKeyField(Lesson, backref="+", on_delete="CASCADE")
        filename = CharField(max_length=200)
        content_type = CharField(max_length=100)
        size = IntegerField()
        data = TextField()
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_lesson_file"

    class Quiz(Model):
        course = ForeignKeyField(Course, backref="+", on_delete="CASCADE")
        module = ForeignKeyField(Module, backref="+", null=True, on_delete="SET NULL")
        title = CharField(max_length=200)
        pass_mark = IntegerField(default=80)
        draw = IntegerField(default=10)
        attempt_limit = IntegerField(null=True)
        counts_for_completion = BooleanField(default=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_quiz"

    class Question(Model):
        quiz = ForeignKeyField(Quiz, backref="+", on_delete="CASCADE")
        kind = CharField(max_length=16)
        text = TextField()
        feedback = TextField(default="")
        position = IntegerField(default=0)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_question"

    class Choice(Model):
        question = ForeignKeyField(Question, backref="+", on_delete="CASCADE")
        text = CharField(max_length=500)
        correct = BooleanField(default=False)
        feedback = TextField(default="")
        position = IntegerField(default=0)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_choice"

    class Enrolment(Model):
        course = ForeignKeyField(Course, backref="+", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        status = CharField(max_length=16, index=True, default="active")
        enrolled_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        approved_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        approved_at = DateTimeField(null=True)
        completed_at = DateTimeField(null=True, index=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_enrolment"
            indexes = [(("course", "user"), True)]

    class LessonDone(Model):
        enrolment = ForeignKeyField(Enrolment, backref="+", on_delete="CASCADE")
        lesson = ForeignKeyField(Lesson, backref="+", on_delete="CASCADE")
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_lesson_done"
            indexes = [(("enrolment", "lesson"), True)]

    class Attempt(Model):
        quiz = ForeignKeyField(Quiz, backref="+", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        drawn = TextField(default="[]")
        answers = TextField(null=True)
        submitted_at = DateTimeField(null=True)
        score = IntegerField(null=True)
        passed = BooleanField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_attempt"

    class Session(Model):
        course = ForeignKeyField(Course, backref="+", on_delete="CASCADE")
        title = CharField(max_length=200)
        venue = TextField(null=True)
        online_link = TextField(null=True)
        capacity = IntegerField(default=20)
        needs_approval = BooleanField(default=False)
        cancel_cutoff_hours = IntegerField(default=24)
        counts_for_completion = BooleanField(default=True)
        created_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        cancelled_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_session"

    class SessionDate(Model):
        session = ForeignKeyField(Session, backref="+", on_delete="CASCADE")
        starts_at = DateTimeField(index=True)
        ends_at = DateTimeField()
        uid = CharField(max_length=64, unique=True)
        sequence = IntegerField(default=0)
        attendance_closed_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_session_date"

    class Booking(Model):
        session = ForeignKeyField(Session, backref="+", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        status = CharField(max_length=16, index=True)
        approved_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        updated_at = DateTimeField(default=now)
        reminded_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_booking"
            indexes = [(("session", "user"), True)]

    class Attendance(Model):
        session_date = ForeignKeyField(SessionDate, backref="+", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        status = CharField(max_length=16)
        marked_by = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        self_check_in = BooleanField(default=False)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_attendance"
            indexes = [(("session_date", "user"), True)]

    class CheckInCode(Model):
        session_date = ForeignKeyField(SessionDate, backref="+", on_delete="CASCADE")
        token_hash = CharField(max_length=64, unique=True)
        valid_from = DateTimeField()
        valid_until = DateTimeField()
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_check_in_code"

    class Certificate(Model):
        code = CharField(max_length=32, unique=True)
        course = ForeignKeyField(Course, field="id", backref="+", null=True, on_delete="SET NULL")
        user = ForeignKeyField(User, backref="+", null=True, on_delete="SET NULL")
        learner_name = CharField(max_length=200)
        course_title = CharField(max_length=200)
        issued_on = DateField()
        hours = IntegerField(default=0)
        trainers = CharField(max_length=500, default="")
        expires_on = DateField(null=True, index=True)
        payload = TextField()
        signature = CharField(max_length=128)
        revoked_at = DateTimeField(null=True)
        revoke_reason = CharField(max_length=300, null=True)
        renewal_reminded_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_certificate"

    class Questionnaire(Model):
        course = ForeignKeyField(Course, backref="+", on_delete="CASCADE")
        kind = CharField(max_length=16)
        items = TextField(default="[]")
        created_at = DateTimeField(default=now)

        class Meta:
            table_name = "training_questionnaire"
            indexes = [(("course", "kind"), True)]

    class QuestionnaireAnswer(Model):
        questionnaire = ForeignKeyField(Questionnaire, backref="+", on_delete="CASCADE")
        month = DateField(index=True)
        scores = TextField()

        class Meta:
            table_name = "training_questionnaire_answer"

    class QuestionnaireDone(Model):
        questionnaire = ForeignKeyField(Questionnaire, backref="+", on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")

        class Meta:
            table_name = "training_questionnaire_done"
            indexes = [(("questionnaire", "user"), True)]

    class CourseOrganisation(Model):
        course = ForeignKeyField(Course, backref="+", on_delete="CASCADE")
        organisation = ForeignKeyField(Organisation, backref="+", on_delete="CASCADE")

        class Meta:
            table_name = "training_course_organisation"
            indexes = [(("course", "organisation"), True)]

    tables = [
        CourseTrainer,
        Module,
        Lesson,
        LessonFile,
        Quiz,
        Question,
        Choice,
        Enrolment,
        LessonDone,
        Attempt,
        Session,
        SessionDate,
        Booking,
        Attendance,
        CheckInCode,
        Certificate,
        Questionnaire,
        QuestionnaireAnswer,
        QuestionnaireDone,
        CourseOrganisation,
    ]
    with db.bind_ctx([User, Organisation, Course, *tables]):
        db.create_tables(tables)


def down(migrator, db):
    for table in reversed(
        [
            "training_course_trainer",
            "training_module",
            "training_lesson",
            "training_lesson_file",
            "training_quiz",
            "training_question",
            "training_choice",
            "training_enrolment",
            "training_lesson_done",
            "training_attempt",
            "training_session",
            "training_session_date",
            "training_booking",
            "training_attendance",
            "training_check_in_code",
            "training_certificate",
            "training_questionnaire",
            "training_questionnaire_answer",
            "training_questionnaire_done",
            "training_course_organisation",
        ]
    ):
        db.execute_sql(f"DROP TABLE {table}")  # noqa: S608 - fixed names
    migrator.migrate(
        migrator.drop_column("training_course", "language"),
        migrator.drop_column("training_course", "translation_of_id"),
        migrator.drop_column("training_course", "version"),
        migrator.drop_column("training_course", "status"),
        migrator.drop_column("training_course", "enrolment"),
        migrator.drop_column("training_course", "enrolment_code_hash"),
        migrator.drop_column("training_course", "needs_approval"),
        migrator.drop_column("training_course", "completion_rule"),
        migrator.drop_column("training_course", "hours"),
        migrator.drop_column("training_course", "certificate_valid_days"),
        migrator.drop_column("training_course", "created_by_id"),
        migrator.drop_column("training_course", "updated_at"),
    )
