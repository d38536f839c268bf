"""Training quizzes: the question bank (pages and API), the random draw with a stable shuffle,
marking on the server (short answers ignoring case, spaces and Unicode forms), the pass mark, the
attempt limit, feedback only after submission, one marking for two submissions at once, 404 for
anyone not enrolled, trainers' results, and above all: the answer key never reaches the learner
before the attempt is submitted."""

from __future__ import annotations

import json
import re
import threading

import pytest
from casework_common import bearer, in_db, token_for
from helpers import enable, post_form, sign_in

KEY_WORDS = ("Cnryfbq", "Cnryfbc")  # every feedback text in these tests starts with one of these


@pytest.fixture
def app(app):
    enable(app, "training")
    return app


@pytest.fixture
def trainer(make_user):
    return make_user("trainer")


@pytest.fixture
def learner(make_user):
    return make_user("learner")


def make_course(app, *learners, status="active"):
    from plugins.training.models import Course, Enrolment

    with in_db(app):
        course = Course.create(title="Quiz course", status="published", completion_rule="all")
        for person in learners:
            Enrolment.create(course=course.id, user=person.id, status=status)
        return course.id


def make_quiz(app, course_id, *, questions=None, **settings):
    """A quiz with a bank: by default one question of each kind, every option with feedback."""
    from plugins.training.models import Choice, Question, Quiz

    with in_db(app):
        quiz = Quiz.create(course=course_id, title="Check what you learned", **settings)
        for position, (kind, text, options) in enumerate(questions or default_bank()):
            question = Question.create(quiz=quiz.id, kind=kind, text=text, position=position,
                                       feedback=f"Cnryfbq{position} question feedback")
            for index, (option, correct) in enumerate(options):
                Choice.create(question=question.id, text=option, correct=correct, position=index,
                              feedback=f"Cnryfbc{position}x{index} option feedback")
        return quiz.id


def default_bank():
    return [
        ("single", "Who decides what support someone needs?",
         [("The person themselves", True), ("The officer", False), ("Their manager", False)]),
        ("multiple", "Which are safe ways to get in touch?",
         [("The way they chose", True), ("A time they said is safe", True), ("Their workplace", False)]),
        ("true_false", "Sex work and exploitation are the same thing.", [("True", False), ("False", True)]),
        ("short", "What do we call the scheme that shares warnings?", [("Ugly Mugs", True)]),
    ]


def bank_ids(app, quiz_id):
    """{question text: (question id, {option text: (choice id, correct)})}."""
    from plugins.training.models import Choice, Question

    with in_db(app):
        found = {}
        for question in Question.select().where(Question.quiz == quiz_id):
            found[question.text] = (question.id, {c.text: (c.id, c.correct) for c in
                                                  Choice.select().where(Choice.question == question.id)})
        return found


def start_on_page(client, quiz_id):
    response = post_form(client, f"/training/quiz/{quiz_id}/start", token_from=f"/training/quiz/{quiz_id}")
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def right_answers(app, quiz_id, attempt_id) -> dict:
    """The form fields that answer every drawn question right (read from the database by the test)."""
    from plugins.training.models import Attempt

    bank = {qid: options for qid, options in bank_ids(app, quiz_id).values()}
    with in_db(app):
        drawn = Attempt.get_by_id(attempt_id).drawn_ids
    data: dict = {}
    for qid in drawn:
        options = bank[qid]
        correct = [cid for cid, ok in options.values() if ok]
        if len(options) == 1:  # the short answer: typed differently from the accepted one
            data[f"q-{qid}"] = "  ugly   MUGS "
        else:
            data[f"q-{qid}"] = correct
    return data


# -- the key never reaches the learner ------------------------------------------------------------------


def _options_html(page: str, question_id: int) -> list[tuple[int, str]]:
    """(choice id, its HTML with its id and text blanked) for every option of one question."""
    found = []
    for match in re.finditer(r'(<div class="choice"[^>]*>.*?</div>)', page, re.S):
        html = match.group(1)
        ids = re.findall(rf'name="q-{question_id}" value="(\d+)"', html)
        if ids:
            choice_id = int(ids[0])
            text = re.search(r"<label[^>]*>(.*?)</label>", html, re.S).group(1)
            blank = re.sub(rf'(a-{question_id}-){choice_id}"', r'\1ID"', html.replace(f">{text}<", ">TEXT<"))
            blank = blank.replace(f'value="{choice_id}"', 'value="ID"')
            found.append((choice_id, blank))
    return found


def test_the_attempt_page_and_api_never_hold_the_answer_key(app, client, learner):
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course)
    sign_in(client, learner)
    attempt_id = start_on_page(client, quiz_id)
    page = client.get(f"/training/quiz/attempt/{attempt_id}").get_data(as_text=True)
    assert "Who decides what support someone needs?" in page and "The person themselves" in page
    assert "correct" not in page.lower()
    for word in KEY_WORDS:
        assert word not in page
    assert "option feedback" not in page and "question feedback" not in page
    bank = bank_ids(app, quiz_id)
    for text in ("Who decides what support someone needs?", "Which are safe ways to get in touch?",
                 "Sex work and exploitation are the same thing."):
        question_id, options = bank[text]
        shown = _options_html(page, question_id)
        assert sorted(cid for cid, _html in shown) == sorted(cid for cid, _ok in options.values())
        right = {cid for cid, ok in options.values() if ok}
        wrong = {cid for cid, ok in options.values() if not ok}
        assert right and wrong
        # A correct and an incorrect option differ in nothing but their text and id.
        assert len({html for _cid, html in shown}) == 1, shown
    # The attempt form's hidden inputs carry only the CSRF token: nothing about answers.
    action = f'<form method="post" action="/training/quiz/attempt/{attempt_id}"'
    form = re.search(rf"{action}.*?</form>", page, re.S).group(0)
    hidden = re.findall(r'<input type="hidden"[^>]*>', form)
    assert all('name="csrf_token"' in tag for tag in hidden), hidden

    token = bearer(token_for(app, learner))
    body = client.get(f"/api/v1/attempts/{attempt_id}", headers=token)
    assert body.status_code == 200
    text = body.get_data(as_text=True)
    assert "correct" not in text and "feedback" not in text.lower()
    for word in KEY_WORDS:
        assert word not in text
    data = body.get_json()
    assert data["submitted"] is False and data["result"] is None and len(data["questions"]) == 4
    for question in data["questions"]:
        assert set(question) == {"id", "kind", "text", "choices"}
        assert all(set(option) == {"id", "text"} for option in question["choices"])
    started = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token)
    assert started.status_code == 200 and started.get_json()["id"] == attempt_id  # resumed, not a second one
    assert "correct" not in started.get_data(as_text=True)


def test_the_order_is_shuffled_per_attempt_and_stable_on_reload(app, client, learner):
    course = make_course(app, learner)
    options = [(f"Option number {n}", n == 0) for n in range(8)]
    quiz_id = make_quiz(app, course, questions=[("single", "Pick the first", options)])
    question_id, bank = bank_ids(app, quiz_id)["Pick the first"]
    in_bank_order = [bank[text][0] for text, _ok in options]
    sign_in(client, learner)
    orders = []
    for _round in range(3):
        attempt_id = start_on_page(client, quiz_id)
        first = client.get(f"/training/quiz/attempt/{attempt_id}").get_data(as_text=True)
        again = client.get(f"/training/quiz/attempt/{attempt_id}").get_data(as_text=True)
        order = [cid for cid, _html in _options_html(first, question_id)]
        assert order == [cid for cid, _html in _options_html(again, question_id)]
        assert sorted(order) == sorted(in_bank_order)
        orders.append(order)
        wrong = next(cid for cid in order if cid != bank["Option number 0"][0])  # not passed: the course stays open
        done = post_form(client, f"/training/quiz/attempt/{attempt_id}", {f"q-{question_id}": str(wrong)},
                         token_from=f"/training/quiz/attempt/{attempt_id}")
        assert done.status_code == 303
    # 8 options: the chance that three shuffles all keep the bank's order is 1 in 40320^3.
    assert any(order != in_bank_order for order in orders)


def test_a_random_draw_from_the_bank(app, client, learner):
    course = make_course(app, learner)
    questions = [("true_false", f"Statement {n}", [("True", True), ("False", False)]) for n in range(6)]
    quiz_id = make_quiz(app, course, questions=questions, draw=3)
    everything = make_quiz(app, course, questions=questions[:2], draw=10)
    token = bearer(token_for(app, learner))
    made = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token)
    assert made.status_code == 201
    drawn = [q["id"] for q in made.get_json()["questions"]]
    bank = {qid for qid, _options in bank_ids(app, quiz_id).values()}
    assert len(drawn) == 3 == len(set(drawn)) and set(drawn) <= bank
    all_of_them = client.post(f"/api/v1/quizzes/{everything}/attempts", headers=token).get_json()
    assert len(all_of_them["questions"]) == 2
    # True or false always in that order.
    assert [c["text"] for c in all_of_them["questions"][0]["choices"]] == ["True", "False"]


# -- marking ------------------------------------------------------------------------------------------------


def test_marking_pass_mark_and_feedback_after_submission(app, client, learner):
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course, pass_mark=75)
    sign_in(client, learner)
    attempt_id = start_on_page(client, quiz_id)
    answers = right_answers(app, quiz_id, attempt_id)
    bank = bank_ids(app, quiz_id)
    multiple_id, multiple = bank["Which are safe ways to get in touch?"]
    answers[f"q-{multiple_id}"] = [multiple["The way they chose"][0]]  # one of two right options: not right
    response = post_form(client, f"/training/quiz/attempt/{attempt_id}",
                         {k: [str(v) for v in vs] if isinstance(vs, list) else vs for k, vs in answers.items()},
                         token_from=f"/training/quiz/attempt/{attempt_id}")
    assert response.status_code == 303
    result = client.get(f"/training/quiz/attempt/{attempt_id}").get_data(as_text=True)
    assert "You got 75%." in result and "You passed." in result
    assert "Not right" in result
    # Feedback now: the question's, and the chosen options' (not the options nobody chose).
    single_position = 0
    assert f"Cnryfbq{single_position} question feedback" in result
    assert "Cnryfbc0x0 option feedback" in result and "Cnryfbc0x1 option feedback" not in result
    from plugins.training.models import Attempt

    with in_db(app):
        marked = Attempt.get_by_id(attempt_id)
        assert marked.score == 75 and marked.passed is True
        stored = json.loads(marked.answers)
        assert stored[str(multiple_id)]["correct"] is False
        assert stored[str(bank["What do we call the scheme that shares warnings?"][0])]["correct"] is True


@pytest.mark.parametrize("typed, right", [
    ("ugly mugs", True), ("  UGLY   Mugs ", True), ("uglymugs", True), ("ＵＧＬＹ ＭＵＧＳ", True),
    ("Ugly Mugs scheme", False), ("", False),
])
def test_short_answers_ignore_case_spaces_and_unicode_forms(app, client, learner, typed, right):
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course, questions=[
        ("short", "Name it", [("Ugly Mugs", True)]),
        ("short", "Where?", [("Café Noël", True)]),
    ], pass_mark=100)
    token = bearer(token_for(app, learner))
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).get_json()
    bank = bank_ids(app, quiz_id)
    decomposed = "CAFE\u0301 NOE\u0308L"  # e + combining acute, e + combining diaeresis, in capitals
    answers = {str(bank["Name it"][0]): typed, str(bank["Where?"][0]): decomposed}
    marked = client.post(f"/api/v1/attempts/{attempt['id']}/answers", headers=token, json={"answers": answers})
    assert marked.status_code == 200
    rows = {row["text"]: row for row in marked.get_json()["result"]}
    assert rows["Where?"]["correct"] is True
    assert rows["Name it"]["correct"] is right
    assert marked.get_json()["passed"] is right


def test_resubmitting_is_refused_and_two_submissions_at_once_mark_once(app, learner):
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course)
    token = bearer(token_for(app, learner))
    client = app.test_client()
    for _round in range(4):
        attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).get_json()
        answers = {}  # not passed: the enrolment stays active for the next round
        barrier = threading.Barrier(2)
        statuses = []

        def send(answers=answers, attempt=attempt, barrier=barrier, statuses=statuses):
            own = app.test_client()
            barrier.wait()
            statuses.append(own.post(f"/api/v1/attempts/{attempt['id']}/answers", headers=token,
                                     json={"answers": answers}).status_code)

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409]
        again = client.post(f"/api/v1/attempts/{attempt['id']}/answers", headers=token, json={"answers": answers})
        assert again.status_code == 409 and again.get_json()["error"]["status"] == 409
    from plugins.training.models import Attempt

    with in_db(app):
        assert Attempt.select().where(Attempt.submitted_at.is_null(False)).count() == 4


def test_resubmitting_the_page_is_refused(app, client, learner):
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course)
    sign_in(client, learner)
    attempt_id = start_on_page(client, quiz_id)
    path = f"/training/quiz/attempt/{attempt_id}"
    first = post_form(client, path, {}, token_from=path)
    assert first.status_code == 303
    again = post_form(client, path, right_answers(app, quiz_id, attempt_id), token_from=path)
    assert again.status_code == 409 and "already submitted" in again.get_data(as_text=True)
    from plugins.training.models import Attempt

    with in_db(app):
        assert Attempt.get_by_id(attempt_id).score == 0


def test_the_attempt_limit_counts_submitted_attempts(app, client, learner):
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course, attempt_limit=2, pass_mark=100)
    token = bearer(token_for(app, learner))
    for _round in range(2):
        attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token)
        assert attempt.status_code == 201
        # Starting again before submitting resumes the same attempt: it does not use one up.
        assert client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).get_json()["id"] == \
            attempt.get_json()["id"]
        assert client.post(f"/api/v1/attempts/{attempt.get_json()['id']}/answers", headers=token,
                           json={"answers": {}}).status_code == 200
    refused = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token)
    assert refused.status_code == 409
    summary = client.get(f"/api/v1/quizzes/{quiz_id}", headers=token).get_json()
    assert summary["attempts_used"] == 2 and summary["attempts_left"] == 0 and summary["passed"] is False
    sign_in(client, learner)
    page = client.get(f"/training/quiz/{quiz_id}").get_data(as_text=True)
    assert "You have used all your attempts" in page
    assert post_form(client, f"/training/quiz/{quiz_id}/start", token_from=f"/training/quiz/{quiz_id}") \
        .status_code == 303
    from plugins.training.models import Attempt

    with in_db(app):
        assert Attempt.select().count() == 2


def test_only_learners_enrolled_in_the_course_may_attempt(app, client, learner, make_user):
    stranger, withdrawn = make_user("learner"), make_user("learner")
    course = make_course(app, learner)
    make_course(app, withdrawn, status="withdrawn")
    from plugins.training.models import Enrolment

    with in_db(app):
        Enrolment.create(course=course, user=withdrawn.id, status="withdrawn")
    quiz_id = make_quiz(app, course)
    mine = bearer(token_for(app, learner))
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=mine).get_json()
    for person in (stranger, withdrawn):
        token = bearer(token_for(app, person))
        assert client.get(f"/api/v1/quizzes/{quiz_id}", headers=token).status_code == 404
        assert client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).status_code == 404
        assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=token).status_code == 404
        assert client.post(f"/api/v1/attempts/{attempt['id']}/answers", headers=token,
                           json={"answers": {}}).status_code == 404
        assert client.get("/api/v1/quizzes/99999", headers=token).status_code == 404
    web = app.test_client()
    sign_in(web, stranger)
    assert web.get(f"/training/quiz/{quiz_id}").status_code == 404
    assert web.get(f"/training/quiz/attempt/{attempt['id']}").status_code == 404
    assert post_form(web, f"/training/quiz/{quiz_id}/start").status_code == 404
    # Anonymous: sign in first; a member (no training.learn): refused.
    assert app.test_client().get(f"/api/v1/quizzes/{quiz_id}").status_code == 401
    assert client.get(f"/api/v1/quizzes/{quiz_id}", headers=bearer(token_for(app, make_user("member")))) \
        .status_code == 403


def test_bad_answers_are_a_422_never_a_500(app, client, learner):
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course)
    other = make_quiz(app, course)
    token = bearer(token_for(app, learner))
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).get_json()
    foreign_choice = next(iter(next(iter(bank_ids(app, other).values()))[1].values()))[0]
    single = next(q for q in attempt["questions"] if q["kind"] == "single")
    short = next(q for q in attempt["questions"] if q["kind"] == "short")
    path = f"/api/v1/attempts/{attempt['id']}/answers"
    for answers in ({str(single["id"]): foreign_choice}, {str(single["id"]): [c["id"] for c in single["choices"]]},
                    {str(single["id"]): "first"}, {str(single["id"]): True}, {"999999": 1}, {"x": 1},
                    {str(short["id"]): "a\u202eb"}, {str(short["id"]): "x" * 501}, {str(short["id"]): 5}):
        response = client.post(path, headers=token, json={"answers": answers})
        assert response.status_code == 422, answers
        assert "answers" in response.get_json()["error"]["fields"]
    assert client.post(path, headers=token, json={"answers": [], "more": 1}).status_code == 422
    assert client.post(path, headers=token, data="x").status_code == 415
    assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=token).get_json()["submitted"] is False


def test_passing_the_only_quiz_completes_the_course(app, client, learner):
    from plugins.training import learning

    assert hasattr(learning, "check_completion")
    course = make_course(app, learner)
    quiz_id = make_quiz(app, course)
    token = bearer(token_for(app, learner))
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).get_json()
    failed = client.post(f"/api/v1/attempts/{attempt['id']}/answers", headers=token, json={"answers": {}})
    assert failed.get_json()["passed"] is False
    from plugins.training.models import Enrolment

    with in_db(app):
        assert Enrolment.get(Enrolment.user == learner.id).status == "active"
    attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).get_json()
    answers = {k.removeprefix("q-"): v for k, v in right_answers(app, quiz_id, attempt["id"]).items()}
    passed = client.post(f"/api/v1/attempts/{attempt['id']}/answers", headers=token, json={"answers": answers})
    assert passed.get_json()["passed"] is True and passed.get_json()["score"] == 100
    with in_db(app):
        assert Enrolment.get(Enrolment.user == learner.id).status == "completed"
    # The quiz and the result stay readable; new attempts need an active enrolment.
    summary = client.get(f"/api/v1/quizzes/{quiz_id}", headers=token).get_json()
    assert summary["passed"] is True and summary["may_attempt"] is False
    assert client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).status_code == 404
    assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=token).get_json()["score"] == 100
    sign_in(client, learner)
    page = client.get(f"/training/quiz/{quiz_id}").get_data(as_text=True)
    assert "You have completed this course" in page and "Start the quiz" not in page


# -- trainers --------------------------------------------------------------------------------------------------


def test_a_trainer_builds_the_bank_on_the_pages(app, client, trainer, learner):
    course = make_course(app, learner)
    sign_in(client, trainer)
    base = f"/training/author/quizzes/courses/{course}"
    assert client.get(base).status_code == 200
    bad = post_form(client, base, {"title": "", "pass_mark": "200", "draw": "5"}, token_from=base)
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    made = post_form(client, base, {"title": "Module one check", "pass_mark": "50", "draw": "3",
                                    "attempt_limit": "", "counts_for_completion": "y"}, token_from=base)
    assert made.status_code == 303
    quiz_path = made.headers["Location"]
    quiz_id = int(quiz_path.rsplit("/", 1)[1])
    new = f"/training/author/quizzes/{quiz_id}/questions/new"
    two_right = post_form(client, f"{new}?kind=single", {
        "text": "Pick one", "choice-0-text": "A", "choice-0-correct": "y", "choice-1-text": "B",
        "choice-1-correct": "y"}, token_from=f"{new}?kind=single")
    assert two_right.status_code == 422 and "Mark exactly one option as correct." in two_right.get_data(as_text=True)
    for kind, form in (
        ("single", {"text": "Pick one", "choice-0-text": "A", "choice-0-correct": "y", "choice-1-text": "B",
                    "choice-1-feedback": "Cnryfbc not this one"}),
        ("multiple", {"text": "Pick some", "choice-0-text": "A", "choice-0-correct": "y", "choice-1-text": "B",
                      "choice-1-correct": "y", "choice-2-text": "C"}),
        ("true_false", {"text": "It is true", "answer": "true", "false_feedback": "Cnryfbc it is true"}),
        ("short", {"text": "Type it", "choice-0-text": "Ugly Mugs", "choice-1-text": "UM",
                   "feedback": "Cnryfbq either"}),
    ):
        saved = post_form(client, f"{new}?kind={kind}", form, token_from=f"{new}?kind={kind}")
        assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    page = client.get(quiz_path).get_data(as_text=True)
    assert "Cnryfbc not this one" in page and "(correct)" in page and "Accepted answer: UM" in page
    bank = bank_ids(app, quiz_id)
    assert bank["It is true"][1] == {"True": (bank["It is true"][1]["True"][0], True),
                                     "False": (bank["It is true"][1]["False"][0], False)}
    question_id = bank["Pick one"][0]
    edit = f"/training/author/quizzes/{quiz_id}/questions/{question_id}"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="A"' in form and "checked" in form
    changed = post_form(client, edit, {"text": "Pick one again", "choice-0-text": "A", "choice-1-text": "B",
                                       "choice-1-correct": "y"}, token_from=edit)
    assert changed.status_code == 303
    assert bank_ids(app, quiz_id)["Pick one again"][1]["B"][1] is True
    settings = post_form(client, quiz_path, {"title": "Module one check", "pass_mark": "60", "draw": "2",
                                             "attempt_limit": "3"}, token_from=quiz_path)
    assert settings.status_code == 303
    deleted = post_form(client, f"{edit}/delete", token_from=quiz_path)
    assert deleted.status_code == 303
    from core.audit import AuditEntry
    from plugins.training.models import Quiz

    with in_db(app):
        quiz = Quiz.get_by_id(quiz_id)
        assert (quiz.pass_mark, quiz.draw, quiz.attempt_limit, quiz.counts_for_completion) == (60, 2, 3, False)
        actions = {e.action for e in AuditEntry.select().where(AuditEntry.actor_id == trainer.id)}
        assert {"training.quiz_created", "training.question_added", "training.question_changed",
                "training.question_deleted", "training.quiz_changed"} <= actions
    # Learners cannot reach the bank.
    web = app.test_client()
    sign_in(web, learner)
    assert web.get(quiz_path).status_code == 403
    assert web.get(f"/training/author/quizzes/{quiz_id}/results").status_code == 403


def test_results_per_quiz_and_one_learner_on_request(app, client, trainer, learner, make_user):
    second = make_user("learner")
    course = make_course(app, learner, second)
    quiz_id = make_quiz(app, course, pass_mark=50)
    bank = bank_ids(app, quiz_id)
    for person, right in ((learner, True), (second, False)):
        token = bearer(token_for(app, person))
        attempt = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=token).get_json()
        answers = {k.removeprefix("q-"): v for k, v in right_answers(app, quiz_id, attempt["id"]).items()}
        if not right:
            answers = {str(bank["Who decides what support someone needs?"][0]): answers[
                str(bank["Who decides what support someone needs?"][0])]}
        assert client.post(f"/api/v1/attempts/{attempt['id']}/answers", headers=token,
                           json={"answers": answers}).status_code == 200
    trainer_token = bearer(token_for(app, trainer))
    results = client.get(f"/api/v1/author/quizzes/{quiz_id}/results", headers=trainer_token).get_json()
    assert results["attempts"] == 2 and results["learners"] == 2 and results["learners_passed"] == 1
    assert results["average_score"] == (100 + 25) // 2
    missed = {q["text"]: (q["drawn"], q["missed"]) for q in results["questions"]}
    assert missed["Who decides what support someone needs?"] == (2, 0)
    assert missed["Which are safe ways to get in touch?"] == (2, 1)
    assert [b["attempts"] for b in results["bands"]] == [1, 0, 1]
    assert "user" not in json.dumps(results)
    sign_in(client, trainer)
    page = client.get(f"/training/author/quizzes/{quiz_id}/results").get_data(as_text=True)
    assert "1 (50%)" in page and "100%" not in page.replace("0% to 100%", "")  # no one's score on it
    from core.audit import AuditEntry

    with in_db(app):
        assert not AuditEntry.select().where(AuditEntry.action == "training.quiz_attempts_viewed").exists()
    one = client.get(f"/training/author/quizzes/{quiz_id}/results/{second.id}")
    assert one.status_code == 200 and "Score: 25%" in one.get_data(as_text=True)
    assert client.get(f"/training/author/quizzes/{quiz_id}/results/{trainer.id}").status_code == 404
    with in_db(app):
        assert AuditEntry.select().where((AuditEntry.action == "training.quiz_attempts_viewed")
                                         & (AuditEntry.target == f"user:{second.id}")).exists()


def test_the_question_bank_through_the_api(app, client, trainer, learner):
    course = make_course(app, learner)
    token = bearer(token_for(app, trainer))
    base = f"/api/v1/author/courses/{course}/quizzes"
    assert client.post(base, headers=token, json={"title": "x", "pass_mark": 101}).status_code == 422
    assert client.post(base, headers=token, json={"title": "x", "module": 999}).status_code == 422
    assert client.post("/api/v1/author/courses/9999/quizzes", headers=token, json={"title": "x"}).status_code == 404
    made = client.post(base, headers=token, json={"title": "API quiz", "draw": 2, "attempt_limit": 1})
    assert made.status_code == 201
    quiz_id = made.get_json()["id"]
    questions = f"/api/v1/author/quizzes/{quiz_id}/questions"
    for bad in ({"kind": "single", "text": "Q", "choices": [{"text": "A", "correct": True}]},
                {"kind": "single", "text": "Q", "choices": [{"text": "A"}, {"text": "B"}]},
                {"kind": "multiple", "text": "Q", "choices": [{"text": "A", "correct": "yes"}, {"text": "B"}]},
                {"kind": "true_false", "text": "Q"}, {"kind": "short", "text": "Q", "choices": [{"text": "   "}]},
                {"kind": "essay", "text": "Q"}, {"kind": "short", "text": "", "choices": [{"text": "A"}]}):
        assert client.post(questions, headers=token, json=bad).status_code == 422, bad
    added = client.post(questions, headers=token, json={
        "kind": "true_false", "text": "Statement", "answer": False, "true_feedback": "Cnryfbc no"})
    assert added.status_code == 201
    question = added.get_json()["bank"][0]
    assert [(c["text"], c["correct"], c["feedback"]) for c in question["choices"]] == [
        ("True", False, "Cnryfbc no"), ("False", True, "")]
    replaced = client.put(f"{questions}/{question['id']}", headers=token, json={
        "kind": "single", "text": "Now single", "choices": [{"text": "A", "correct": True}, {"text": "B"}]})
    assert replaced.status_code == 200 and replaced.get_json()["bank"][0]["kind"] == "single"
    assert client.patch(f"/api/v1/author/quizzes/{quiz_id}", headers=token,
                        json={"pass_mark": 90}).get_json()["pass_mark"] == 90
    listed = client.get(base, headers=token).get_json()["quizzes"]
    assert [(q["id"], q["questions"]) for q in listed] == [(quiz_id, 1)]
    learner_token = bearer(token_for(app, learner))
    assert client.get(f"/api/v1/author/quizzes/{quiz_id}", headers=learner_token).status_code == 403
    assert client.post(questions, headers=learner_token, json={"kind": "short", "text": "Q",
                                                               "choices": [{"text": "A"}]}).status_code == 403
    assert client.delete(f"{questions}/{question['id']}", headers=token).status_code == 204
    assert client.delete(f"{questions}/{question['id']}", headers=token).status_code == 404
    assert client.delete(f"/api/v1/author/quizzes/{quiz_id}", headers=token).status_code == 204
    assert client.get(f"/api/v1/author/quizzes/{quiz_id}", headers=token).status_code == 404


def test_the_openapi_document_describes_the_quizzes(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/author/courses/{course_id}/quizzes", "/author/quizzes/{quiz_id}",
                 "/author/quizzes/{quiz_id}/questions", "/author/quizzes/{quiz_id}/questions/{question_id}",
                 "/author/quizzes/{quiz_id}/results", "/quizzes/{quiz_id}", "/quizzes/{quiz_id}/attempts",
                 "/attempts/{attempt_id}", "/attempts/{attempt_id}/answers"):
        assert path in paths, path
    assert "409" in paths["/attempts/{attempt_id}/answers"]["post"]["responses"]
    assert "404" in paths["/quizzes/{quiz_id}/attempts"]["post"]["responses"]
