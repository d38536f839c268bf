"""Training authoring: trainers write courses in the browser (and with a token), lesson text is
sanitised, files are checked and always downloaded, published courses get new versions, and a
version in another language copies the structure for translating.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from helpers import enable, post_form, sign_in

from core.db import connection

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def app(make_app):
    app = make_app()
    enable(app, "training")
    return app


@pytest.fixture
def trainer(make_user):
    return make_user("trainer", email="trainer@example.org")


@pytest.fixture
def browser(app, trainer):
    client = app.test_client()
    sign_in(client, trainer)
    return client


def model(name):
    from plugins.training import models

    return getattr(models, name)


def get(app, name, row_id):
    with app.app_context(), connection():
        return model(name).get_by_id(row_id)


def count(app, name, *where):
    with app.app_context(), connection():
        query = model(name).select()
        for clause in where:
            query = query.where(clause)
        return query.count()


def new_course(browser, **values):
    data = {"title": "Responding without judgement", "summary": "For police officers.", "language": "en",
            "hours": "3", "completion_rule": "all", "certificate_valid_days": "365", "enrolment": "open",
            "enrolment_code": "", **values}
    response = post_form(browser, "/training/author/courses/new", data, token_from="/training/author/courses/new")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def add_module(browser, course_id, title="Why this matters"):
    page = f"/training/author/courses/{course_id}"
    response = post_form(browser, f"{page}/modules", {"title": title}, token_from=page)
    assert response.status_code == 303
    return int(response.headers["Location"].rsplit("module-", 1)[-1])


def add_lesson(browser, module_id, title="First lesson", body="Hello", **values):
    page = f"/training/author/modules/{module_id}/lessons/new"
    data = {"title": title, "body": body, "video_url": "", "counts_for_completion": "y", **values}
    response = post_form(browser, page, data, token_from=page)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def upload(browser, lesson_id, name, data):
    page = f"/training/author/lessons/{lesson_id}"
    return post_form(browser, f"{page}/files", {"file": (io.BytesIO(data), name)}, token_from=page,
                     content_type="multipart/form-data")


def publish(browser, course_id, action="publish"):
    page = f"/training/author/courses/{course_id}"
    return post_form(browser, f"{page}/status", {"action": action}, token_from=page)


def office(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml" if kind == "docx" else "ppt/presentation.xml", "<x/>")
    return buffer.getvalue()


# -- Markdown ----------------------------------------------------------------------------------------------


def test_markdown_keeps_the_safe_subset_and_removes_scripts_links_html_and_images():
    from plugins.training.markdown import render

    html = str(render(
        "# Title\n\n**strong** *em* `code` [ok](https://example.org/a) [mail](mailto:team@example.org)\n\n"
        "<script>alert(1)</script>\n\n<b onclick=\"x()\">raw</b> <iframe src=\"https://evil.example\"></iframe>\n\n"
        "[bad](javascript:alert(1)) [bad2](JaVaScRiPt:alert(2)) [data](data:text/html,hi) [rel](/admin)\n\n"
        "![tracker](https://third-party.example/pixel.png)\n\n> quoted\n\n- one\n- two\n\n1. first\n\n"
        "```\npre\n```\n"))
    assert "<h2>Title</h2>" in html  # h1 shifted below the page's own heading
    assert "<strong>strong</strong>" in html and "<em>em</em>" in html and "<code>code</code>" in html
    assert '<a href="https://example.org/a" rel="nofollow noopener">ok</a>' in html
    assert '<a href="mailto:team@example.org" rel="nofollow noopener">mail</a>' in html
    assert "<blockquote>" in html and "<ul>" in html and "<ol>" in html and "<pre><code>" in html
    # Nothing executable, no raw HTML, no third-party image: the text shows, the markup does not.
    assert "<script" not in html and "<iframe" not in html and "<b" not in html.replace("<blockquote", "")
    assert "&lt;b onclick" in html and not re.search(r"<[^>]*onclick", html)  # escaped text, never an attribute
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert len(hrefs) == 3  # ok, mail, and the image turned into a plain link; the others lost their href
    assert all(h.startswith(("https://", "mailto:")) for h in hrefs), hrefs
    assert "javascript" not in "".join(hrefs).lower() and "data:" not in "".join(hrefs)


def test_sanitiser_alone_removes_what_a_renderer_might_let_through():
    from plugins.training.markdown import sanitise

    dirty = ('<p>ok <script>steal()</script><img src="https://x.example/a.png" onerror="y()">'
             '<a href="javascript:alert(1)">j</a><a href="https://fine.example" target="_blank" rel="opener">f</a>'
             '<style>body{}</style><h1>big</h1><h3>mid</h3></p>')
    clean = sanitise(dirty)
    assert "script" not in clean and "steal" not in clean and "<img" not in clean and "style" not in clean
    assert 'href="javascript' not in clean and "target" not in clean
    assert '<a href="https://fine.example" rel="nofollow noopener">f</a>' in clean
    assert "<h1>" not in clean and "<h3>mid</h3>" in clean


# -- pages ------------------------------------------------------------------------------------------------


def test_a_trainer_writes_and_publishes_a_course_and_changes_raise_the_version(app, browser):
    course_id = new_course(browser)
    course = get(app, "Course", course_id)
    assert (course.status, course.version, course.hours, course.certificate_valid_days) == ("draft", 1, 3, 365)

    refused = publish(browser, course_id)  # nothing to read yet
    assert refused.status_code == 409
    assert "Add at least one lesson" in refused.get_data(as_text=True)

    module_id = add_module(browser, course_id)
    first = add_lesson(browser, module_id, "One", "Text one")
    second = add_lesson(browser, module_id, "Two", "Text two")
    assert get(app, "Course", course_id).version == 1  # drafts do not count versions

    assert publish(browser, course_id).status_code == 303
    assert get(app, "Course", course_id).status == "published"
    assert publish(browser, course_id).status_code == 409  # already published

    page = f"/training/author/lessons/{first}"
    changed = post_form(browser, page, {"title": "One, revised", "body": "New text", "video_url": "",
                                        "counts_for_completion": "y"}, token_from=page)
    assert changed.status_code == 303
    assert get(app, "Course", course_id).version == 2
    assert get(app, "Lesson", first).title == "One, revised"

    moved = post_form(browser, f"/training/author/lessons/{second}/move", {"direction": "up"},
                      token_from=f"/training/author/courses/{course_id}")
    assert moved.status_code == 303
    assert get(app, "Lesson", second).position < get(app, "Lesson", first).position
    assert get(app, "Course", course_id).version == 3

    credited = post_form(browser, f"/training/author/courses/{course_id}/trainers",
                         {"credited_name": "Ruby", "lived_experience": "y"},
                         token_from=f"/training/author/courses/{course_id}")
    assert credited.status_code == 303
    assert get(app, "Course", course_id).version == 4
    page_text = browser.get(f"/training/author/courses/{course_id}").get_data(as_text=True)
    assert "Ruby" in page_text and "co-trainer with lived experience" in page_text

    assert publish(browser, course_id, "unpublish").status_code == 303
    assert get(app, "Course", course_id).status == "draft"
    assert publish(browser, course_id, "archive").status_code == 303
    assert get(app, "Course", course_id).status == "archived"

    from core.audit import AuditEntry

    with app.app_context(), connection():
        actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
        targets = " ".join(e.target for e in AuditEntry.select())
    assert {"training.course_created", "training.lesson_changed", "training.course_published",
            "training.course_unpublished", "training.course_archived", "training.trainer_credited"} <= set(actions)
    assert "Ruby" not in targets and "revised" not in targets


def test_bad_input_is_answered_on_the_form_never_a_500(app, browser):
    course_id = new_course(browser)
    page = "/training/author/courses/new"
    empty = post_form(browser, page, {"title": "", "language": "en", "hours": "1", "completion_rule": "all",
                                      "enrolment": "open"}, token_from=page)
    assert empty.status_code == 422 and "Please give the course a title." in empty.get_data(as_text=True)
    bidi = post_form(browser, page, {"title": "Evil\u202etitle", "language": "en", "hours": "1",
                                     "completion_rule": "all", "enrolment": "open"}, token_from=page)
    assert bidi.status_code == 422 and "invisible formatting" in bidi.get_data(as_text=True)
    module_id = add_module(browser, course_id)
    page = f"/training/author/modules/{module_id}/lessons/new"
    video = post_form(browser, page, {"title": "T", "body": "", "video_url": "javascript:alert(1)"}, token_from=page)
    assert video.status_code == 422 and "https://" in video.get_data(as_text=True)
    assert count(app, "Lesson") == 0


def test_only_trainers_reach_the_authoring_pages(app, make_user):
    course_id = None
    learner = make_user("learner", email="learner@example.org")
    client = app.test_client()
    sign_in(client, learner)
    assert client.get("/training/author/").status_code == 403
    assert client.get("/training/author/courses/new").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/training/author/").status_code == 302  # to the sign-in page
    assert course_id is None


def test_files_are_checked_and_served_as_attachments_with_their_type(app, browser, trainer):
    course_id = new_course(browser)
    lesson_id = add_lesson(browser, add_module(browser, course_id))

    assert upload(browser, lesson_id, "handout.pdf", PDF).status_code == 303
    assert upload(browser, lesson_id, "slides.pptx", office("pptx")).status_code == 303
    assert upload(browser, lesson_id, "notes.docx", office("docx")).status_code == 303
    assert upload(browser, lesson_id, "diagram.png", PNG).status_code == 303
    assert upload(browser, lesson_id, "read me.txt", "Plain text, café".encode()).status_code == 303

    refused = {
        "program.exe": b"MZ\x90\x00",
        "page.html": b"<html><script>alert(1)</script></html>",
        "fake.pdf": b"<html>not a pdf</html>",
        "fake.docx": office("pptx"),  # a zip, but not a Word document
        "image.svg": b"<svg onload='x()'/>",
        "empty.pdf": b"",
    }
    for name, data in refused.items():
        response = upload(browser, lesson_id, name, data)
        assert response.status_code == 422, name
    too_big = upload(browser, lesson_id, "big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))
    assert too_big.status_code == 422 and "up to 10 MB" in too_big.get_data(as_text=True)

    LessonFile = model("LessonFile")
    with app.app_context(), connection():
        files = {f.filename: f for f in LessonFile.select()}
    assert set(files) == {"handout.pdf", "slides.pptx", "notes.docx", "diagram.png", "read me.txt"}

    pdf = browser.get(f"/training/learn/files/{files['handout.pdf'].id}")
    assert pdf.status_code == 200 and pdf.data == PDF
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert "handout.pdf" in pdf.headers["Content-Disposition"]
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    text = browser.get(f"/training/learn/files/{files['read me.txt'].id}")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["Content-Disposition"].startswith("attachment")
    docx = browser.get(f"/training/learn/files/{files['notes.docx'].id}")
    assert docx.headers["Content-Type"] == ("application/vnd.openxmlformats-officedocument."
                                           "wordprocessingml.document")

    removed = post_form(browser, f"/training/author/files/{files['diagram.png'].id}/delete", {},
                        token_from=f"/training/author/lessons/{lesson_id}")
    assert removed.status_code == 303
    assert browser.get(f"/training/learn/files/{files['diagram.png'].id}").status_code == 404


def test_a_version_in_another_language_copies_the_structure_as_a_draft(app, browser):
    course_id = new_course(browser, certificate_valid_days="730", completion_rule="chosen")
    module_id = add_module(browser, course_id, "Module A")
    lesson_id = add_lesson(browser, module_id, "Lesson A1", "Body A1", counts_for_completion="")
    add_lesson(browser, module_id, "Lesson A2", "Body A2")
    add_module(browser, course_id, "Module B")
    upload(browser, lesson_id, "handout.pdf", PDF)
    post_form(browser, f"/training/author/courses/{course_id}/trainers", {"credited_name": "Jade"},
              token_from=f"/training/author/courses/{course_id}")
    with app.app_context(), connection():
        Quiz, Question, Choice = model("Quiz"), model("Question"), model("Choice")
        quiz = Quiz.create(course=course_id, module=module_id, title="Check", pass_mark=70)
        question = Question.create(quiz=quiz, kind="single", text="Q?")
        Choice.create(question=question, text="Yes", correct=True)
        Choice.create(question=question, text="No", correct=False)
    assert publish(browser, course_id).status_code == 303

    page = f"/training/author/courses/{course_id}"
    response = post_form(browser, f"{page}/translations", {"language": "es"}, token_from=page)
    assert response.status_code == 303
    copy_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    assert copy_id != course_id

    from plugins.training import authoring

    with app.app_context(), connection():
        Course = model("Course")
        original, copy = Course.get_by_id(course_id), Course.get_by_id(copy_id)
        assert (copy.translation_of_id, copy.language, copy.status, copy.version) == (course_id, "es", "draft", 1)
        assert (copy.completion_rule, copy.certificate_valid_days, copy.hours) == ("chosen", 730, original.hours)
        shape = [(m.title, [(lsn.title, lsn.body, lsn.counts_for_completion) for lsn in lessons])
                 for m, lessons in authoring.outline(copy)]
        assert shape == [("Module A", [("Lesson A1", "Body A1", False), ("Lesson A2", "Body A2", True)]),
                         ("Module B", [])]
        copied_lesson = authoring.outline(copy)[0][1][0]
        (copied_file,) = authoring.files_of(copied_lesson)
        assert copied_file.filename == "handout.pdf"
        assert [t.credited_name for t in authoring.trainers_of(copy)] == ["Jade"]
        (copied_quiz,) = list(Quiz.select().where(Quiz.course == copy_id))
        assert copied_quiz.module.course_id == copy_id and copied_quiz.pass_mark == 70
        assert sorted((c.text, c.correct) for c in Choice.select().join(Question).where(Question.quiz == copied_quiz))\
            == [("No", False), ("Yes", True)]
        # The original is untouched: same version, same lessons.
        assert original.version == 1 and len(authoring.outline(original)[0][1]) == 2

    again = post_form(browser, f"/training/author/courses/{copy_id}/translations", {"language": "es"},
                      token_from=f"/training/author/courses/{copy_id}")
    assert again.status_code in (409, 422)  # Spanish is taken (not even offered any more)
    from_copy = post_form(browser, f"/training/author/courses/{copy_id}/translations", {"language": "ro"},
                          token_from=f"/training/author/courses/{copy_id}")
    assert from_copy.status_code == 303
    third = int(from_copy.headers["Location"].rsplit("/", 1)[-1])
    assert get(app, "Course", third).translation_of_id == course_id  # always points at the original
    listing = browser.get(f"/training/author/courses/{third}").get_data(as_text=True)
    assert "Español" in listing and "English" in listing


def test_enrolment_code_goes_through_the_enrolment_module(app, browser):
    course_id = new_course(browser, enrolment="code", enrolment_code="SPRING-2030")
    course = get(app, "Course", course_id)
    assert course.enrolment == "code"
    assert course.enrolment_code_hash and "SPRING" not in course.enrolment_code_hash


# -- the API ----------------------------------------------------------------------------------------------


def test_trainers_author_through_the_api_with_a_token(app, trainer, make_user):
    from casework_common import token_for

    token = token_for(app, trainer)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/author/courses", json={"title": "API course", "language": "es", "hours": 2},
                       headers=auth)
    assert made.status_code == 201, made.get_json()
    course_id = made.get_json()["id"]
    bad = client.post("/api/v1/author/courses", json={"title": "", "language": "xx-nope"}, headers=auth)
    assert bad.status_code == 422 and "fields" in bad.get_json()["error"]
    module = client.post(f"/api/v1/author/courses/{course_id}/modules", json={"title": "M"}, headers=auth)
    assert module.status_code == 201
    lesson = client.post(f"/api/v1/author/modules/{module.get_json()['id']}/lessons",
                         json={"title": "L", "body": "**hi** <script>x</script>"}, headers=auth)
    assert lesson.status_code == 201
    lesson_id = lesson.get_json()["id"]
    import base64

    added = client.post(f"/api/v1/author/lessons/{lesson_id}/files",
                        json={"filename": "a.pdf", "content_base64": base64.b64encode(PDF).decode()}, headers=auth)
    assert added.status_code == 201 and added.get_json()["content_type"] == "application/pdf"
    wrong = client.post(f"/api/v1/author/lessons/{lesson_id}/files",
                        json={"filename": "a.exe", "content_base64": base64.b64encode(b"MZ").decode()}, headers=auth)
    assert wrong.status_code == 422
    published = client.post(f"/api/v1/author/courses/{course_id}/status", json={"action": "publish"}, headers=auth)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    changed = client.put(f"/api/v1/author/lessons/{lesson_id}", json={"title": "L2"}, headers=auth)
    assert changed.status_code == 200
    shown = client.get(f"/api/v1/author/courses/{course_id}", headers=auth).get_json()
    assert shown["version"] == 2 and shown["modules"][0]["lessons"][0]["title"] == "L2"
    read = client.get(f"/api/v1/author/lessons/{lesson_id}", headers=auth).get_json()
    assert read["html"] == "<p><strong>hi</strong> &lt;script&gt;x&lt;/script&gt;</p>\n"
    assert read["files"][0]["filename"] == "a.pdf"
    assert client.get("/api/v1/author/courses/999999", headers=auth).status_code == 404

    learner = make_user("learner", email="api-learner@example.org")
    learner_token = token_for(app, learner)
    assert client.get("/api/v1/author/courses", headers={"Authorization": f"Bearer {learner_token}"}).status_code \
        == 403

    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/author/courses/{course_id}" in spec["paths"]
