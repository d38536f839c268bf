"""Trainers' authoring: courses, modules, lessons, files, credits, language versions, publishing.

Used by the trainers' pages (author_views.py) and their API (author_api.py); both check the
training.manage permission before calling here. Every change is one transaction and is audited by
code and reference only (never a title or a name). Changing a published course (its details, a
module, a lesson, a file, a credit) raises its version by one, with a single UPDATE so two trainers
saving at once both count.

A course in another language is a Course of its own whose `translation_of` is the original;
"add a version in another language" copies the original's structure (modules, lessons, files,
credits, quizzes) as a draft for translating.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
from dataclasses import dataclass
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from peewee import fn

from core import text as text_rule
from core.audit import record
from core.db import db, lock_row, utcnow
from plugins.training import _
from plugins.training.markdown import MAX_BODY
from plugins.training.models import (
    COMPLETION_RULES,
    ENROLMENT_MODES,
    Choice,
    Course,
    CourseTrainer,
    Lesson,
    LessonFile,
    Module,
    Question,
    Quiz,
)

MAX_FILE_BYTES = 10 * 1024 * 1024  # one lesson file; MAX_CONTENT_LENGTH (16 MiB) caps the request
MAX_FILES_PER_LESSON = 20
MAX_HOURS = 1000
MAX_VALID_DAYS = 3650

# What a lesson file may be, by its extension: the type it is served as, and how its first bytes look.
FILE_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",  # served with charset=utf-8: its bytes were checked to be UTF-8
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_OFFICE_PART = {"docx": "word/document.xml", "pptx": "ppt/presentation.xml"}


class AuthoringError(Exception):
    """A change refused, with a translated message for the trainer (a 422 or the form again)."""

    def __init__(self, message: str, field: str = "_schema"):
        super().__init__(message)
        self.message = message
        self.field = field


class StatusConflict(AuthoringError):
    """The change does not fit the course's state (a 409)."""


# -- checks shared by the pages and the API ----------------------------------------------------------------


def clean_text(value: str | None, field: str, multiline: bool = False, max_length: int = 200) -> str:
    """Text under core.text's rule (no control or invisible characters, no half emoji), trimmed."""
    try:
        kept = text_rule.clean(value or "", multiline)
    except text_rule.TextRefused as exc:
        raise AuthoringError(text_rule.message(exc.problem), field) from None
    if len(kept) > max_length:
        raise AuthoringError(_("Please keep this under %(count)d characters (it has %(length)d).",
                               count=max_length, length=len(kept)), field)
    return kept


def language_ok(code: str) -> bool:
    if not code or len(code) > 16 or not re.fullmatch(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*", code):
        return False
    try:
        Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return False
    return True


def check_video_url(value: str | None) -> str | None:
    """An http(s) address shown as a link (never embedded), or None; AuthoringError otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500 or any(c.isspace() for c in value):
        raise AuthoringError(_("Please give a full web address starting with https://."), "video_url")
    return value


@dataclass
class CleanFile:
    filename: str
    content_type: str
    data: bytes


def check_file(filename: str, data: bytes) -> CleanFile:
    """A lesson file if it is one of the allowed kinds and small enough (by its name AND its bytes)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(c for c in name if c.isprintable() and c not in '"<>:|?*')[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in FILE_TYPES:
        raise AuthoringError(_("Files can be PDF, PNG, JPEG, plain text, Word (.docx) or PowerPoint (.pptx)."), "file")
    if not data:
        raise AuthoringError(_("This file is empty."), "file")
    if len(data) > MAX_FILE_BYTES:
        raise AuthoringError(_("Files can be up to %(size)d MB.", size=MAX_FILE_BYTES // (1024 * 1024)), "file")
    if not _looks_like(extension, data):
        raise AuthoringError(_("This file does not look like a .%(extension)s file.", extension=extension), "file")
    return CleanFile(filename=name, content_type=FILE_TYPES[extension], data=data)


def _looks_like(extension: str, data: bytes) -> bool:
    if extension == "pdf":
        return data.startswith(b"%PDF-")
    if extension == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if extension == "txt":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return "\x00" not in text
    if extension in _OFFICE_PART:
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return _OFFICE_PART[extension] in archive.namelist()
        except (zipfile.BadZipFile, ValueError):
            return False
    return False


def file_bytes(row: LessonFile) -> bytes:
    try:
        return base64.b64decode(row.data, validate=True)
    except (binascii.Error, ValueError):
        return b""


# -- reading ----------------------------------------------------------------------------------------------


def modules_of(course: Course) -> list[Module]:
    return list(Module.select().where(Module.course == course.id).order_by(Module.position, Module.id))


def lessons_of(module: Module) -> list[Lesson]:
    return list(Lesson.select().where(Lesson.module == module.id).order_by(Lesson.position, Lesson.id))


def outline(course: Course) -> list[tuple[Module, list[Lesson]]]:
    """The course's modules in order, each with its lessons in order (two queries)."""
    modules = modules_of(course)
    by_module: dict[int, list[Lesson]] = {m.id: [] for m in modules}
    if modules:
        for lesson in (Lesson.select().where(Lesson.module.in_(list(by_module)))
                       .order_by(Lesson.position, Lesson.id)):
            by_module[lesson.module_id].append(lesson)
    return [(m, by_module[m.id]) for m in modules]


def files_of(lesson: Lesson) -> list[LessonFile]:
    """The lesson's files without their contents."""
    return list(LessonFile.select(LessonFile.id, LessonFile.lesson, LessonFile.filename, LessonFile.content_type,
                                  LessonFile.size, LessonFile.created_at)
                .where(LessonFile.lesson == lesson.id).order_by(LessonFile.id))


def trainers_of(course: Course) -> list[CourseTrainer]:
    return list(CourseTrainer.select().where(CourseTrainer.course == course.id).order_by(CourseTrainer.id))


def family(course: Course) -> list[Course]:
    """The course and its versions in other languages: the original first."""
    root = course.translation_of_id or course.id
    return list(Course.select().where((Course.id == root) | (Course.translation_of == root))
                .order_by(Course.translation_of.is_null(False), Course.language, Course.id))


def courses_for_authors():
    return Course.select().order_by(Course.status == "archived", Course.title, Course.id)


# -- courses ----------------------------------------------------------------------------------------------

COURSE_FIELDS = ("title", "summary", "language", "hours", "completion_rule", "certificate_valid_days", "enrolment",
                 "needs_approval")


def _check_course(data: dict) -> dict:
    values = {key: data[key] for key in COURSE_FIELDS if key in data}
    if "title" in values:
        values["title"] = clean_text(values["title"], "title")
        if not values["title"]:
            raise AuthoringError(_("Please give the course a title."), "title")
    if "summary" in values:
        values["summary"] = clean_text(values["summary"], "summary", multiline=True, max_length=5000)
    if "language" in values:
        if not language_ok(values["language"]):
            raise AuthoringError(_("Please choose a language."), "language")
        values["language"] = values["language"].replace("-", "_")
    if "completion_rule" in values and values["completion_rule"] not in COMPLETION_RULES:
        raise AuthoringError(_("Please choose how the course is completed."), "completion_rule")
    if "enrolment" in values and values["enrolment"] not in ENROLMENT_MODES:
        raise AuthoringError(_("Please choose how people enrol."), "enrolment")
    if "hours" in values and not (0 <= int(values["hours"] or 0) <= MAX_HOURS):
        raise AuthoringError(_("Please give a number of hours from 0 to %(max)d.", max=MAX_HOURS), "hours")
    if values.get("certificate_valid_days") is not None and not (
            1 <= values["certificate_valid_days"] <= MAX_VALID_DAYS):
        raise AuthoringError(_("Please give a number of days from 1 to %(max)d, or leave it empty.",
                               max=MAX_VALID_DAYS), "certificate_valid_days")
    return values


def _set_code(course: Course, code: str | None) -> None:
    """The enrolment code goes through the enrolment module, which alone knows how codes are kept."""
    if code is None:
        return
    try:
        from plugins.training.enrolment import set_enrolment_code
    except ImportError:
        raise AuthoringError(_("Enrolment codes cannot be set here yet."), "enrolment_code") from None
    set_enrolment_code(course, code)


def create_course(user, data: dict) -> Course:
    values = _check_course(data)
    with db.atomic():
        course = Course.create(created_by=user.id, **values)
        _set_code(course, data.get("enrolment_code") or None)
        record("training.course_created", target=f"course:{course.id}", actor_id=user.id)
    return course


def changed(course: Course) -> None:
    """Note a change to the course: updated now, and one version higher if it is published."""
    now = utcnow()
    Course.update(updated_at=now).where(Course.id == course.id).execute()
    bumped = (Course.update(version=Course.version + 1)
              .where((Course.id == course.id) & (Course.status == "published")).execute())
    course.updated_at = now
    if bumped:
        course.version = Course.select(Course.version).where(Course.id == course.id).scalar()


def update_course(course: Course, user, data: dict) -> Course:
    values = _check_course(data)
    with db.atomic():
        lock_row(Course, course.id)
        current = Course.get_by_id(course.id)
        differs = {key: value for key, value in values.items() if getattr(current, key) != value}
        if differs:
            Course.update(**differs).where(Course.id == course.id).execute()
        code = data.get("enrolment_code") or None
        _set_code(current, code)
        if differs or code:
            changed(current)
            record("training.course_changed", target=f"course:{course.id}", actor_id=user.id)
    return Course.get_by_id(course.id)


STATUS_CHANGES = {  # action: (allowed from, to)
    "publish": (("draft", "archived"), "published"),
    "unpublish": (("published",), "draft"),
    "archive": (("draft", "published"), "archived"),
}


def set_status(course: Course, user, action: str) -> Course:
    if action not in STATUS_CHANGES:
        raise AuthoringError(_("Please choose publish, unpublish or archive."), "action")
    allowed, target = STATUS_CHANGES[action]
    with db.atomic():
        lock_row(Course, course.id)
        current = Course.get_by_id(course.id)
        if current.status not in allowed:
            raise StatusConflict(_("This course is already %(status)s.", status=status_label(current.status)))
        if target == "published" and not Lesson.select().join(Module).where(Module.course == course.id).exists():
            raise StatusConflict(_("Add at least one lesson before publishing."))
        Course.update(status=target, updated_at=utcnow()).where(Course.id == course.id).execute()
        record(f"training.course_{target}" if action != "unpublish" else "training.course_unpublished",
               target=f"course:{course.id}", actor_id=user.id)
    return Course.get_by_id(course.id)


def status_label(status: str) -> str:
    return {"draft": _("a draft"), "published": _("published"), "archived": _("archived")}.get(status, status)


# -- modules and lessons ----------------------------------------------------------------------------------


def _title(value: str | None, message: str) -> str:
    title = clean_text(value, "title")
    if not title:
        raise AuthoringError(message, "title")
    return title


def add_module(course: Course, user, title: str) -> Module:
    title = _title(title, _("Please give the module a title."))
    with db.atomic():
        lock_row(Course, course.id)
        last = Module.select(fn.MAX(Module.position)).where(Module.course == course.id).scalar()
        module = Module.create(course=course.id, title=title, position=(last or 0) + 1)
        changed(course)
        record("training.module_added", target=f"module:{module.id}", actor_id=user.id)
    return module


def rename_module(module: Module, user, title: str) -> Module:
    title = _title(title, _("Please give the module a title."))
    with db.atomic():
        Module.update(title=title).where(Module.id == module.id).execute()
        changed(module.course)
        record("training.module_changed", target=f"module:{module.id}", actor_id=user.id)
    return Module.get_by_id(module.id)


def delete_module(module: Module, user) -> None:
    with db.atomic():
        course = module.course
        module.delete_instance(recursive=False)
        changed(course)
        record("training.module_deleted", target=f"module:{module.id}", actor_id=user.id)


def _swap(model, row, siblings_where, direction: str, lock_course_id: int) -> None:
    with db.atomic():
        lock_row(Course, lock_course_id)
        siblings = list(model.select().where(siblings_where).order_by(model.position, model.id))
        # Positions may repeat or have gaps (copies, deletions): number them afresh first.
        for index, sibling in enumerate(siblings, start=1):
            if sibling.position != index:
                model.update(position=index).where(model.id == sibling.id).execute()
                sibling.position = index
        index = next(i for i, s in enumerate(siblings) if s.id == row.id)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(siblings):
            a, b = siblings[index], siblings[other]
            model.update(position=b.position).where(model.id == a.id).execute()
            model.update(position=a.position).where(model.id == b.id).execute()


def move_module(module: Module, user, direction: str) -> None:
    _swap(Module, module, Module.course == module.course_id, direction, module.course_id)
    with db.atomic():
        changed(module.course)
        record("training.module_moved", target=f"module:{module.id}", actor_id=user.id)


LESSON_FIELDS = ("title", "body", "video_url", "counts_for_completion")


def _check_lesson(data: dict) -> dict:
    values = {key: data[key] for key in LESSON_FIELDS if key in data}
    if "title" in values:
        values["title"] = _title(values["title"], _("Please give the lesson a title."))
    if "body" in values:
        values["body"] = clean_text(values["body"], "body", multiline=True, max_length=MAX_BODY)
    if "video_url" in values:
        values["video_url"] = check_video_url(values["video_url"])
    if "counts_for_completion" in values:
        values["counts_for_completion"] = bool(values["counts_for_completion"])
    return values


def add_lesson(module: Module, user, data: dict) -> Lesson:
    values = _check_lesson(data)
    if "title" not in values:
        raise AuthoringError(_("Please give the lesson a title."), "title")
    with db.atomic():
        lock_row(Course, module.course_id)
        last = Lesson.select(fn.MAX(Lesson.position)).where(Lesson.module == module.id).scalar()
        lesson = Lesson.create(module=module.id, position=(last or 0) + 1, **values)
        changed(module.course)
        record("training.lesson_added", target=f"lesson:{lesson.id}", actor_id=user.id)
    return lesson


def update_lesson(lesson: Lesson, user, data: dict) -> Lesson:
    values = _check_lesson(data)
    with db.atomic():
        current = Lesson.get_by_id(lesson.id)
        differs = {key: value for key, value in values.items() if getattr(current, key) != value}
        if differs:
            Lesson.update(**differs).where(Lesson.id == lesson.id).execute()
            changed(current.module.course)
            record("training.lesson_changed", target=f"lesson:{lesson.id}", actor_id=user.id)
    return Lesson.get_by_id(lesson.id)


def delete_lesson(lesson: Lesson, user) -> None:
    with db.atomic():
        course = lesson.module.course
        lesson.delete_instance()
        changed(course)
        record("training.lesson_deleted", target=f"lesson:{lesson.id}", actor_id=user.id)


def move_lesson(lesson: Lesson, user, direction: str) -> None:
    course_id = lesson.module.course_id
    _swap(Lesson, lesson, Lesson.module == lesson.module_id, direction, course_id)
    with db.atomic():
        changed(lesson.module.course)
        record("training.lesson_moved", target=f"lesson:{lesson.id}", actor_id=user.id)


# -- files ------------------------------------------------------------------------------------------------


def add_file(lesson: Lesson, user, filename: str, data: bytes) -> LessonFile:
    clean = check_file(filename, data)
    with db.atomic():
        lock_row(Course, lesson.module.course_id)
        if LessonFile.select().where(LessonFile.lesson == lesson.id).count() >= MAX_FILES_PER_LESSON:
            raise AuthoringError(_("A lesson can have up to %(count)d files.", count=MAX_FILES_PER_LESSON), "file")
        row = LessonFile.create(lesson=lesson.id, filename=clean.filename, content_type=clean.content_type,
                                size=len(clean.data), data=base64.b64encode(clean.data).decode("ascii"))
        changed(lesson.module.course)
        record("training.file_added", target=f"lesson_file:{row.id}", actor_id=user.id)
    return row


def delete_file(row: LessonFile, user) -> None:
    with db.atomic():
        course = row.lesson.module.course
        LessonFile.delete().where(LessonFile.id == row.id).execute()
        changed(course)
        record("training.file_deleted", target=f"lesson_file:{row.id}", actor_id=user.id)


# -- trainers credited ------------------------------------------------------------------------------------


def add_trainer(course: Course, user, credited_name: str, lived_experience: bool = False,
                account_id: int | None = None) -> CourseTrainer:
    name = clean_text(credited_name, "credited_name", max_length=120)
    if not name:
        raise AuthoringError(_("Please give the name to credit (a working name is fine)."), "credited_name")
    with db.atomic():
        row = CourseTrainer.create(course=course.id, user=account_id, credited_name=name,
                                   lived_experience=bool(lived_experience))
        changed(course)
        record("training.trainer_credited", target=f"course:{course.id}", actor_id=user.id)
    return row


def remove_trainer(row: CourseTrainer, user) -> None:
    with db.atomic():
        course = row.course
        CourseTrainer.delete().where(CourseTrainer.id == row.id).execute()
        changed(course)
        record("training.trainer_uncredited", target=f"course:{course.id}", actor_id=user.id)


# -- versions in other languages -------------------------------------------------------------------------


def add_translation(course: Course, user, language: str) -> Course:
    """A draft copy of the course's structure in `language`, pointing at the original, for translating."""
    if not language_ok(language):
        raise AuthoringError(_("Please choose a language."), "language")
    language = language.replace("-", "_")
    with db.atomic():
        root = Course.get_by_id(course.translation_of_id or course.id)
        lock_row(Course, root.id)
        if any(member.language == language for member in family(root)):
            raise StatusConflict(_("This course already has a version in that language."), "language")
        source = course
        copy = Course.create(
            title=source.title, summary=source.summary, language=language, translation_of=root.id, version=1,
            status="draft", enrolment=source.enrolment, enrolment_code_hash=source.enrolment_code_hash,
            needs_approval=source.needs_approval, completion_rule=source.completion_rule, hours=source.hours,
            certificate_valid_days=source.certificate_valid_days, created_by=user.id)
        for trainer in trainers_of(source):
            CourseTrainer.create(course=copy.id, user=trainer.user_id, credited_name=trainer.credited_name,
                                 lived_experience=trainer.lived_experience)
        module_map: dict[int, int] = {}
        for module, lessons in outline(source):
            new_module = Module.create(course=copy.id, title=module.title, position=module.position)
            module_map[module.id] = new_module.id
            for lesson in lessons:
                new_lesson = Lesson.create(module=new_module.id, title=lesson.title, body=lesson.body,
                                           video_url=lesson.video_url, position=lesson.position,
                                           counts_for_completion=lesson.counts_for_completion)
                for row in LessonFile.select().where(LessonFile.lesson == lesson.id).order_by(LessonFile.id):
                    LessonFile.create(lesson=new_lesson.id, filename=row.filename, content_type=row.content_type,
                                      size=row.size, data=row.data)
        for quiz in Quiz.select().where(Quiz.course == source.id).order_by(Quiz.id):
            new_quiz = Quiz.create(course=copy.id, module=module_map.get(quiz.module_id), title=quiz.title,
                                   pass_mark=quiz.pass_mark, draw=quiz.draw, attempt_limit=quiz.attempt_limit,
                                   counts_for_completion=quiz.counts_for_completion)
            for question in Question.select().where(Question.quiz == quiz.id).order_by(Question.position, Question.id):
                new_question = Question.create(quiz=new_quiz.id, kind=question.kind, text=question.text,
                                               feedback=question.feedback, position=question.position)
                for choice in Choice.select().where(Choice.question == question.id).order_by(Choice.position,
                                                                                             Choice.id):
                    Choice.create(question=new_question.id, text=choice.text, correct=choice.correct,
                                  feedback=choice.feedback, position=choice.position)
        record("training.course_translated", target=f"course:{copy.id}", actor_id=user.id)
    return copy
