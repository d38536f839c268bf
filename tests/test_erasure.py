"""Erasure of an account and its data (issue #13), on SQLite and on PostgreSQL.

The main test builds an account that used every module the way people do (its profile, a token,
two-factor sign-in, reports sent signed in with messages and a picture, a published alert written
from one of them, a number checked, alerts subscribed to by text message, a case with notes,
messages, appointments, plans and a referral out, a course enrolled on with a lesson done, a quiz
passed, a session booked and attended, a questionnaire answered and a certificate named), erases
it from its own Delete page, and then searches every column of every table of the database
catalog: for the account's number as a foreign key or in a column that names an account, for
"user:<number>" in text, and for its e-mail address, working name, mobile number, their blind
indexes and every canary typed into a free-text field, decrypting what is encrypted. Only what
the issue allows may be found: the audit log's account numbers, and the narrative of the report a
published alert was written from, which must no longer be linked to the account. The same search
is run before the erasure and must find all of it, so it cannot pass by finding nothing.

Then the flows: the member's page (password and two-factor code, wrong ones refused, the
confirmation page), the administrator's pages (find, two steps, own account and last
administrator refused, audited), the API (DELETE /api/v1/me), a module switched off still
erasing, a failing plugin leaving everything as it was, and a staff account's erasure.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass, field
from types import ModuleType

import pytest
from helpers import TEST_PASSWORD, enable, enrol_two_factor, next_two_factor_code, post_form, sign_in
from test_reporting_common import FORM, step

from core.db import connection, db

MODULES = ("reporting", "alerts", "casework", "training")
# Columns that hold an account's number without a foreign key, by name.
ACCOUNT_COLUMN = re.compile(r"(^|_)(user|account|actor|client|reporter|author|worker|supervisor|learner|owner)_id$"
                            r"|(^|_)by(_id)?$")
# What the issue allows to stay: the audit log names accounts by number.
ALLOWED_NUMBERS = {("audit_entry", "actor_id"), ("audit_entry", "target")}


def canary(kind: str = "") -> str:
    return f"cnry{kind}{secrets.token_hex(5)}"


def in_request(app, function, *args, **kwargs):
    with app.test_request_context(), connection():
        return function(*args, **kwargs)


@dataclass
class Person:
    """What was typed for the account, and where its traces are."""

    id: int
    email: str
    name: str
    phone_digits: str
    needles: dict[str, str] = field(default_factory=dict)  # lower-case text -> where it was typed
    kept_report: int | None = None
    kept_narrative: str = ""
    certificate_code: str = ""
    waiting_booking: int | None = None
    indexes: dict[str, str] = field(default_factory=dict)  # blind indexes of its address and phone
    case: str = ""
    client: object = None

    def add(self, where: str, value: str) -> str:
        self.needles[value.lower()] = where
        return value


# -- searching the whole database ----------------------------------------------------------------


def _readable(value) -> list[str]:
    """A stored value as text, and decrypted when it is a Fernet token (as core.crypto stores)."""
    from core.crypto import keyring

    if isinstance(value, bytes | memoryview):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        return [str(value)]
    found = [value]
    if value.startswith("gAAAAA"):
        for decrypt in (keyring().decrypt, lambda token: keyring().decrypt_bytes(token.encode()).decode("latin-1")):
            try:
                found.append(decrypt(value))
                break
            except Exception:  # noqa: S112  # not a token of ours: the raw value was searched already
                continue
    return found


def traces(app, person: Person, allowed_cells: dict | None = None) -> list[str]:
    """Every place in the database where the account can still be found, one line each."""
    from core.accounts.throttle import LOGIN, RESET, account_key

    allowed_cells = allowed_cells or {}
    with app.test_request_context(), connection():
        texts = dict(person.needles)
        texts[person.email.lower()] = "e-mail address"
        texts[person.name.lower()] = "working name"
        texts[person.phone_digits] = "mobile number"
        texts.update(person.indexes)
        for kind in (LOGIN, RESET):
            texts[account_key(person.email, kind)] = f"{kind} throttle key"
        number = re.compile(rf"\buser:{person.id}\b")
        found = []
        for table in sorted(db.get_tables()):
            foreign = {fk.column for fk in db.get_foreign_keys(table) if fk.dest_table == "user"}
            cursor = db.execute_sql(f'SELECT * FROM "{table}"')  # noqa: S608  # a name from the catalog
            columns = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                values = dict(zip(columns, row, strict=True))
                key = values.get("id")
                for column, value in values.items():
                    if value is None or (table, key, column) in allowed_cells.get("cells", set()):
                        continue
                    where = f"{table}.{column} (row {key})"
                    if (column in foreign or ACCOUNT_COLUMN.search(column)) and value == person.id \
                            and not isinstance(value, bool) and (table, column) not in ALLOWED_NUMBERS:
                        found.append(f"{where}: the account's number")
                    for text in _readable(value):
                        lowered = text.lower()
                        if number.search(lowered) and (table, column) not in ALLOWED_NUMBERS:
                            found.append(f"{where}: user:{person.id}")
                        found += [f"{where}: {what}" for needle, what in texts.items() if needle in lowered]
        return sorted(set(found))


# -- an account that used every module ----------------------------------------------------------------


@pytest.fixture
def site(make_app):
    app = make_app({"SMS_BACKEND": "file"})
    enable(app, *MODULES)
    return app


def _staff(app, make_user, *roles):
    user = make_user(*roles)
    enrol_two_factor(app, user)
    return user


def build_everything(app, make_user) -> tuple[Person, dict]:
    """The account, signed in, using every module; returns it and the staff who worked with it."""
    from core.accounts.membership import MembershipApplication, phone_lookup
    from core.accounts.models import User
    from core.accounts.tokens import create_token
    from core.organisations import Organisation, set_organisation

    staff = {
        "moderator": _staff(app, make_user, "moderator"),
        "caseworker": _staff(app, make_user, "caseworker", "casework_supervisor"),
        "trainer": _staff(app, make_user, "trainer"),
    }
    email = f"{canary('mail')}@example.org"
    leaver = make_user("member", "learner", email=email)
    digits = f"{secrets.randbelow(10**6):06d}"
    person = Person(id=leaver.id, email=email, name=canary("name"), phone_digits=f"7912{digits}")
    person.add("mobile number, spaced", f"7912 {digits}")
    enrol_two_factor(app, leaver)
    client = app.test_client()
    sign_in(client, leaver)

    # Core: the profile, a token, an organisation, an application, a failed sign-in, a reset mail.
    profile = post_form(client, "/account/profile", {
        "working_name": person.name, "locale": "en", "mobile": f"07912 {digits}", "contact_email": "y",
        "safe_contact_note": person.add("safe contact note", canary("note")), "region": "Wales",
        "work_types": ["Agency"]}, token_from="/account/profile")
    assert profile.status_code == 303, profile.get_data(as_text=True)[:2000]
    with app.test_request_context(), connection():
        user = User.get_by_id(leaver.id)
        _record, token = create_token(user, person.add("token label", canary("token")))
        set_organisation(user, Organisation.create(name="Canary Outreach"))
        MembershipApplication.create(working_name=person.name, email=email, email_index=User.email_lookup(email),
                                     phone=f"+447912{digits}", phone_index=phone_lookup(f"+447912{digits}"),
                                     note=person.add("application note", canary("apply")), locale="en")
        person.indexes = {user.email_index: "e-mail blind index", phone_lookup(f"+447912{digits}"): "phone index"}
    stranger = app.test_client()
    assert post_form(stranger, "/account/login", {"email": email, "password": "not the password at all"},
                     token_from="/account/login").status_code in (200, 400)
    assert post_form(stranger, "/account/reset", {"email": email}, token_from="/account/reset").status_code in (
        200, 302, 303)
    bearer = {"Authorization": f"Bearer {token}"}

    # Alerts: subscribed by e-mail and text message, a number checked, the list read.
    subscribed = client.put("/api/v1/me/subscriptions", headers=bearer, json={
        "channels": ["email", "sms", "web"], "sms_number": f"07912 {digits}", "regions": ["london"]})
    assert subscribed.status_code == 200, subscribed.get_json()
    assert client.post("/api/v1/check", headers=bearer, json={"identifier": "07700 900456"}).status_code == 200
    assert client.get("/alerts/").status_code == 200

    # Reporting: two reports sent signed in (support asked for in the first), a message, a picture.
    kept_narrative = person.add("narrative of the published report", canary("kept"))
    reports = {}
    for name, narrative, support in (("kept", kept_narrative, True), ("gone", canary("gone"), False)):
        body = {"incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london",
                "location": person.add(f"place of the {name} report", canary("place")),
                "narrative": person.add(f"narrative of the {name} report", narrative) if name == "gone" else narrative,
                "perpetrators": [{"phones": ["07700 900456"], "names": ["Dave"]}],
                "consent": {"share_alert": True, "police_intelligence": False, "police_report": False,
                            "wants_support": support}}
        if support:
            body["support_contact"] = person.add("support contact", canary("reach"))
            body["support_safe_times"] = person.add("safe times", canary("times"))
        sent = client.post("/api/v1/reports", headers=bearer, json=body)
        assert sent.status_code == 201, sent.get_json()
        reports[name] = sent.get_json()["reference"]
    person.kept_narrative = kept_narrative
    # A report begun in the browser and never sent: its draft is tied to this session only.
    client.get(FORM)
    begun = step(client, {"incident_types": ["robbery"], "narrative": person.add("unsent draft", canary("draft"))},
                 step_code="what")
    assert begun.status_code == 200

    def moderate():
        from plugins.alerts import service as alerts
        from plugins.reporting import service as reporting
        from plugins.reporting.models import Attachment, Report

        moderator = User.get_by_id(staff["moderator"].id)
        found = {name: Report.get(Report.reference == ref) for name, ref in reports.items()}
        reporting.add_message(found["gone"], "from_reporter", person.add("message to the team", canary("msg")))
        reporting.add_message(found["kept"], "from_reporter", person.add("message on the kept report",
                                                                          canary("kmsg")))
        reporting.add_message(found["kept"], "to_reporter", "Thank you, we have read it.", moderator)
        reporting.add_message(found["kept"], "note", "Checked against an earlier report.", moderator)
        Attachment.create(report=found["kept"], content_type="image/png", size=20, from_reporter=True,
                          data=person.add("picture", canary("pic")).encode())
        for report in found.values():
            reporting.set_status(report, "verified", moderator)
        published = alerts.create_from_reports([found["kept"]], {"summary": "Watch out for this caller.",
                                                                 "title": "Caller in London"}, moderator)
        alerts.review(published, moderator)
        alerts.publish(published, moderator)
        alerts.create_from_reports([found["gone"]], {"summary": "A draft, never published."}, moderator)
        return found["kept"].id

    person.kept_report = in_request(app, moderate)

    # Casework: the referral from the first report accepted, and everything a case holds.
    def casework():
        from plugins.casework import appointments, plans, referrals_out, service
        from plugins.casework import client as client_page
        from plugins.casework.models import Case, Referral

        worker = User.get_by_id(staff["caseworker"].id)
        referral = Referral.get(Referral.client == leaver.id)
        case = service.accept_referral(referral, worker)
        Case.update(legal_name=person.add("legal name", canary("legal"))).where(Case.id == case.id).execute()
        service.add_contact(case, worker, {"channel": "phone", "outcome": "spoke",
                                           "note": person.add("contact note", canary("contact"))})
        service.add_task(case, worker, person.add("task", canary("task")))
        service.add_message(case, worker, "How are you doing?")
        client_page.write_message(case, person.add("client message", canary("client")), user=User.get_by_id(leaver.id))
        appointments.create(case, worker, {"kind": "police", "starts_at": datetime.datetime(2031, 1, 1, 10),
                                           "place": person.add("appointment place", canary("where")),
                                           "note": person.add("appointment note", canary("appt")),
                                           "remind_client": True})
        appointments.set_reminders(case, leaver.id, "email", by_client=True)
        plans.add_assessment(case, worker, "high", datetime.date(2031, 2, 1),
                             {"safety": ("high", person.add("need note", canary("need")))},
                             summary=person.add("assessment", canary("assess")))
        plans.save_safety_plan(case, worker, person.add("safety plan", canary("plan")), shared_with_client=True)
        plans.add_goal(case, worker, "safety", person.add("goal", canary("goal")))
        plans.set_justice_path(case, worker, "reported")
        plans.add_justice_step(case, worker, "reported", crime_reference=person.add("crime ref", canary("crime")),
                               note=person.add("justice note", canary("justice")))
        plans.save_claim(case, worker, "considering", outcome=person.add("claim", canary("claim")))
        referrals_out.create(case, worker, {"service_kind": "housing", "client_agreed": True,
                                            "service_name": person.add("service", canary("svc")),
                                            "shared": person.add("what was shared", canary("shared"))})
        plans.record_outcomes(case, worker, "intake", {"feels_safer": "2"})
        plans.add_supervision_note(worker, worker.id, person.add("supervision note", canary("sup")), case)
        waiting, _receipt = service.self_referral({"needs": person.add("needs", canary("needs")),
                                                   "contact_method": "text", "contact": f"07912 {digits}"},
                                                  user=User.get_by_id(leaver.id))
        return case.reference

    person.case = in_request(app, casework)

    # Training: enrolled, a lesson done, a quiz passed, a session booked and attended, a certificate.
    def training():
        from plugins.training import attendance, enrolment, learning, questionnaires, quizzes, sessions
        from plugins.training.models import (
            Certificate,
            Choice,
            Course,
            Lesson,
            Module,
            Question,
            Questionnaire,
            Quiz,
            Session,
            SessionDate,
        )

        trainer = User.get_by_id(staff["trainer"].id)
        learner = User.get_by_id(leaver.id)
        course = Course.create(title="Working without judgement", status="published", hours=2)
        module = Module.create(course=course, title="Start")
        lesson = Lesson.create(module=module, title="Why it matters", body="Read this.")
        quiz = Quiz.create(course=course, title="Check", draw=1, pass_mark=50)
        question = Question.create(quiz=quiz, kind="true_false", text="Listening helps.")
        right = Choice.create(question=question, text="True", correct=True)
        Choice.create(question=question, text="False")
        session = Session.create(course=course, title="Together", capacity=1, created_by=trainer.id)
        start = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(days=20)
        date = SessionDate.create(session=session, starts_at=start, ends_at=start + datetime.timedelta(hours=2),
                                  uid=secrets.token_hex(8))
        other = make_user("learner")
        enrolled = enrolment.enrol_self(course, learner)
        enrolment.enrol_self(course, User.get_by_id(other.id))
        sessions.book(session, learner)
        waiting = sessions.book(session, User.get_by_id(other.id))
        assert waiting.status == "waitlisted"
        learning.mark_done(enrolled, lesson)
        attempt, _made = quizzes.start_attempt(quiz, learner)
        assert quizzes.submit(attempt, learner, {str(question.id): right.id}).passed
        attendance.mark(date, trainer, {learner.id: "present"})
        row = Questionnaire.create(course=course, kind="after", items='["I feel more confident."]')
        questionnaires.submit(row, learner.id, [5])
        certificate = Certificate.get(Certificate.user == learner.id)
        return certificate.id, waiting.id

    certificate_id, person.waiting_booking = in_request(app, training)
    named = post_form(client, f"/training/certificates/{certificate_id}",
                      {"learner_name": person.add("name on the certificate", canary("cert"))},
                      token_from=f"/training/certificates/{certificate_id}")
    assert named.status_code == 302, named.get_data(as_text=True)[:2000]
    with app.app_context(), connection():
        from plugins.training.models import Certificate

        person.certificate_code = Certificate.get_by_id(certificate_id).code
    person.client = client
    return person, staff


def erase_from_own_page(app, person: Person):
    page = person.client.get("/account/delete")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    return post_form(person.client, "/account/delete",
                     {"password": TEST_PASSWORD, "code": next_two_factor_code(app, person.email)},
                     token_from="/account/delete")


def test_an_account_that_used_every_module_leaves_nothing_behind(site, make_user):
    from core.accounts.models import User

    person, _staff_accounts = build_everything(site, make_user)
    kept_cell = {"cells": {("reporting_report", person.kept_report, "narrative")}}
    before = traces(site, person)
    # The search sees every kind of trace, so finding nothing later means something.
    for expected in ("user.email", "account_profile.phone", "account_profile.safe_contact_note",
                     "access_token.label", "membership_application.note", "throttle_count.key",
                     "core_outgoing_mail.target", "alerts_subscription.sms_number", "alerts_check_event.account_id",
                     "alerts_reader.user_id", "alerts_delivery.user_id",
                     "reporting_report.narrative", "reporting_report.location", "reporting_message.body",
                     "reporting_attachment.data", "casework_case.legal_name", "casework_contact.note",
                     "casework_message.body", "casework_appointment.place", "casework_referral.needs",
                     "casework_supervision_note.note", "training_enrolment.user_id", "training_attempt.user_id",
                     "training_booking.user_id", "training_attendance.user_id", "training_certificate.learner_name",
                     "training_questionnaire_done.user_id", "reporting_draft.data"):
        assert any(line.startswith(expected) for line in before), (expected, before)

    done = erase_from_own_page(site, person)
    assert done.status_code == 303 and done.headers["Location"].endswith("/account/deleted")
    confirmation = person.client.get(done.headers["Location"])
    assert confirmation.status_code == 200 and "Your account and your data are deleted" in confirmation.get_data(
        as_text=True)
    assert person.client.get("/account/profile").status_code == 302  # signed out

    assert traces(site, person, kept_cell) == []

    with site.test_request_context(), connection():
        from core.audit import AuditEntry, check
        from core.db import is_sqlite
        from plugins.alerts.models import Alert, AlertSource
        from plugins.casework.models import Case, CaseEvent, OutcomeMeasure, Referral
        from plugins.reporting.models import Consent, Report, ReportMessage
        from plugins.training import certificates
        from plugins.training.models import Booking, QuestionnaireAnswer

        shell = User.get_or_none(User.id == person.id)
        if is_sqlite():  # the number is kept by an empty, switched-off row, never given to someone else
            assert shell is not None and not shell.active and shell.email is None and shell.email_index is None
            assert shell.working_name is None and shell.password_hash is None and list(shell.roles) == []
        else:
            assert shell is None
        # The published alert stands, on its report, which keeps the incident but not the person.
        kept = Report.get_by_id(person.kept_report)
        assert kept.reporter_id is None and kept.narrative == person.kept_narrative
        assert kept.location is None and kept.support_contact is None and kept.receipt_hash is None
        assert Consent.select().where((Consent.report == kept.id) & (Consent.purpose == "share_alert")).exists()
        assert [m.kind for m in ReportMessage.select().where(ReportMessage.report == kept.id)] == ["note"]
        published = Alert.get(Alert.status == "published")
        assert AlertSource.get(AlertSource.alert == published.id).report_id == kept.id
        assert Report.select().count() == 1 and AlertSource.select().count() == 1  # the other report went
        # The case stays for the funders' counts, with no one in it, and says what happened.
        case = Case.get(Case.reference == person.case)
        assert case.client_id is None and case.working_name is None and case.contact is None
        assert case.worker_id is not None and OutcomeMeasure.select().where(OutcomeMeasure.case == case.id).count() == 1
        assert CaseEvent.select().where((CaseEvent.case == case.id) & (CaseEvent.kind == "client_erased")).exists()
        assert not Referral.select().where(Referral.status == "open").exists()  # the waiting one withdrawn
        # The certificate is withdrawn: its code still answers, revoked and nameless.
        certificate = certificates.find(person.certificate_code)
        assert certificates.status_of(certificate) == certificates.REVOKED
        assert certificates.public_view(certificate)["certificate"]["learner_name"] == ""
        # The place went to the waiting list; the anonymous questionnaire answer stays.
        assert Booking.get_by_id(person.waiting_booking).status == "booked"
        assert QuestionnaireAnswer.select().count() == 1
        # The audit log is intact and says, by number only, that the account was erased by itself.
        erased = AuditEntry.get(AuditEntry.action == "account.erased")
        assert erased.target == f"user:{person.id}" and erased.actor_id == person.id
        assert check().intact

    public = site.test_client().get(f"/training/verify/{person.certificate_code}")
    assert public.status_code == 200 and 'data-status="revoked"' in public.get_data(as_text=True)


# -- the member's page ----------------------------------------------------------------------------------


def test_the_member_page_says_what_goes_and_asks_for_the_password_and_code(site, make_user):
    member = make_user("member")
    enrol_two_factor(site, member)
    client = site.test_client()
    sign_in(client, member)
    page = client.get("/account/delete").get_data(as_text=True)
    for words in ("What is deleted", "What is kept", "published alert", "fewer than 5", "cannot be undone"):
        assert words in page
    assert 'autocomplete="one-time-code"' in page and 'autocomplete="current-password"' in page

    def attempt(**values):
        return post_form(client, "/account/delete", values, token_from="/account/delete")

    empty = attempt(password="")
    assert empty.status_code == 422 and "Please enter your password." in empty.get_data(as_text=True)
    wrong = attempt(password="not the password at all", code=next_two_factor_code(site, member))
    assert wrong.status_code == 422 and "That password is not right." in wrong.get_data(as_text=True)
    no_code = attempt(password=TEST_PASSWORD)
    assert no_code.status_code == 422 and "That code is not right." in no_code.get_data(as_text=True)
    bad_code = attempt(password=TEST_PASSWORD, code="000000")
    assert bad_code.status_code == 422
    with site.app_context(), connection():
        from core.accounts.models import User

        assert User.get_or_none(User.id == member.id) is not None  # nothing happened yet
    done = attempt(password=TEST_PASSWORD, code=next_two_factor_code(site, member))
    assert done.status_code == 303
    again = post_form(site.test_client(), "/account/login", {"email": member.email, "password": TEST_PASSWORD},
                      token_from="/account/login")
    assert again.status_code in (200, 400)  # refused: no such account any more


def test_wrong_passwords_are_throttled(site, make_user):
    member = make_user("member")
    client = site.test_client()
    sign_in(client, member)
    for _attempt in range(10):
        post_form(client, "/account/delete", {"password": "not the password at all"}, token_from="/account/delete")
    stopped = post_form(client, "/account/delete", {"password": TEST_PASSWORD}, token_from="/account/delete")
    assert stopped.status_code == 429 and "Too many attempts" in stopped.get_data(as_text=True)


# -- the administrator's pages ---------------------------------------------------------------------------


def test_an_administrator_erases_an_account_in_two_steps(site, make_user):
    from core.audit import AuditEntry

    admin = make_user("admin")
    member = make_user("member")
    client = site.test_client()
    sign_in(client, admin)
    assert "Erase an account and its data" in client.get("/admin/members").get_data(as_text=True)
    assert client.get("/admin/members/erase").status_code == 200

    def find(text):
        return post_form(client, "/admin/members/erase", {"account": text}, token_from="/admin/members/erase")

    unknown = find("nobody@example.org")
    assert unknown.status_code == 404 and "No account has that" in unknown.get_data(as_text=True)
    for found in (find(f"#{member.id}"), find(str(member.id)), find(member.email.upper())):
        assert found.status_code == 200 and f"Erase account #{member.id} and its data" in found.get_data(as_text=True)
    assert find("not an address").status_code == 404 and find("9" * 30).status_code == 404
    path = f"/admin/members/erase/{member.id}"
    token_from = "/admin/members/erase"
    unticked = post_form(client, path, {"password": TEST_PASSWORD}, token_from=token_from)
    assert unticked.status_code == 422 and "tick the box" in unticked.get_data(as_text=True)
    wrong = post_form(client, path, {"confirm": "yes", "password": "not my password at all"}, token_from=token_from)
    assert wrong.status_code == 422 and "That password is not right." in wrong.get_data(as_text=True)
    own = post_form(client, f"/admin/members/erase/{admin.id}", {"confirm": "yes", "password": TEST_PASSWORD},
                    token_from=token_from)
    assert own.status_code == 409 and "your own account" in own.get_data(as_text=True)
    assert client.post(path, data={"confirm": "yes", "password": TEST_PASSWORD}).status_code == 400  # no CSRF
    done = post_form(client, path, {"confirm": "yes", "password": TEST_PASSWORD}, token_from=token_from)
    assert done.status_code == 303
    assert f"Account #{member.id} and its data are erased." in client.get(done.headers["Location"]).get_data(
        as_text=True)
    assert post_form(client, path, {"confirm": "yes", "password": TEST_PASSWORD},
                     token_from="/admin/members/erase").status_code == 404
    with site.app_context(), connection():
        from core.accounts.erasure import is_erased
        from core.accounts.models import User

        shell = User.get_or_none(User.id == member.id)  # on SQLite an empty row keeps the number
        assert is_erased(member.id) and (shell is None or (not shell.active and shell.email is None))
        entry = AuditEntry.get(AuditEntry.action == "account.erased")
        assert entry.actor_id == admin.id and entry.target == f"user:{member.id}"


def test_only_administrators_reach_the_erase_pages(site, make_user):
    moderator = make_user("moderator")
    member = make_user("member")
    client = site.test_client()
    sign_in(client, moderator)
    assert client.get("/admin/members/erase").status_code == 403
    assert post_form(client, f"/admin/members/erase/{member.id}", {"confirm": "yes", "password": TEST_PASSWORD},
                     token_from="/").status_code == 403


def test_the_last_administrator_cannot_be_erased(site, make_user):
    from core.accounts.erasure import ErasureRefused, erase_account
    from core.accounts.tokens import create_token

    only = make_user("admin")
    with site.test_request_context(), connection():
        with pytest.raises(ErasureRefused):
            erase_account(only.id, actor_id=only.id)
        from core.accounts.models import User

        _row, token = create_token(User.get_by_id(only.id), "tests")
    enrol_two_factor(site, only)
    api = site.test_client().delete("/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                                    json={"password": TEST_PASSWORD, "code": next_two_factor_code(site, only)})
    assert api.status_code == 409 and "only administrator" in api.get_json()["error"]["message"]
    client = site.test_client()
    sign_in(client, only)
    refused = post_form(client, "/account/delete",
                        {"password": TEST_PASSWORD, "code": next_two_factor_code(site, only)},
                        token_from="/account/delete")
    assert refused.status_code == 409


# -- the API ------------------------------------------------------------------------------------------------


def test_delete_me_through_the_api(site, make_user):
    from core.accounts.tokens import create_token

    member = make_user("member")
    with site.test_request_context(), connection():
        from core.accounts.models import User

        _row, token = create_token(User.get_by_id(member.id), "phone app")
    bearer = {"Authorization": f"Bearer {token}"}
    client = site.test_client()
    assert client.delete("/api/v1/me").status_code == 401
    assert client.delete("/api/v1/me", headers=bearer, data="password").status_code == 415
    missing = client.delete("/api/v1/me", headers=bearer, json={})
    assert missing.status_code == 422 and "password" in missing.get_json()["error"]["fields"]
    unknown = client.delete("/api/v1/me", headers=bearer, json={"password": TEST_PASSWORD, "why": "x"})
    assert unknown.status_code == 422 and "why" in unknown.get_json()["error"]["fields"]
    wrong = client.delete("/api/v1/me", headers=bearer, json={"password": "not the password at all"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["fields"]["password"] == [
        "That password is not right."]
    done = client.delete("/api/v1/me", headers=bearer, json={"password": TEST_PASSWORD})
    assert done.status_code == 204 and done.get_data() == b""
    assert client.get("/api/v1/account", headers=bearer).status_code == 401  # the token went with it
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/me"]["delete"]
    assert {"204", "401", "409", "422", "429"} <= set(operation["responses"])


# -- whole or nothing, modules switched off, staff accounts --------------------------------------------------


def _failing_plugin() -> ModuleType:
    from core.hookspecs import hookimpl
    from core.plugins import PluginInfo

    module = ModuleType("failing_erasure_plugin")
    module.plugin_info = PluginInfo(name="failing", label="Failing")

    @hookimpl
    def account_erased(app, user_id):
        raise RuntimeError("this plugin cannot erase")

    module.account_erased = account_erased
    return module


def test_a_failing_plugin_leaves_everything_as_it_was(make_app, make_user):
    from core.accounts.erasure import erase_account

    app = make_app(extra_plugins=[_failing_plugin()])
    enable(app, *MODULES)
    member = make_user("member")
    with app.test_request_context(), connection():
        from core.accounts.models import User
        from core.audit import AuditEntry
        from plugins.alerts.models import Subscription

        Subscription.create(user=member.id, channels="web")
        with pytest.raises(RuntimeError):
            erase_account(member.id, actor_id=member.id)
        assert User.get_or_none(User.id == member.id) is not None  # the plugin is off, yet it was asked
        assert Subscription.select().where(Subscription.user == member.id).exists()
        assert not AuditEntry.select().where(AuditEntry.action == "account.erased").exists()


def test_a_module_switched_off_still_erases_what_it_holds(site, make_user):
    from core.accounts.erasure import erase_account
    from core.plugins import get_registry

    member = make_user("member", "learner")
    with site.test_request_context(), connection():
        from plugins.training.models import Course, Enrolment

        course = Course.create(title="A course", status="published")
        Enrolment.create(course=course, user=member.id)
        get_registry(site).set_enabled("training", False)
        assert erase_account(member.id, actor_id=member.id) is True
        assert not Enrolment.select().exists()
        assert erase_account(member.id, actor_id=member.id) is False  # a second time: nothing to do


def test_a_staff_account_goes_and_the_work_it_did_stays(site, make_user):
    from core.accounts.erasure import erase_account

    person, staff = build_everything(site, make_user)
    moderator = staff["moderator"]
    with site.test_request_context(), connection():
        from core.accounts.models import User
        from plugins.alerts.models import Alert, AlertRevision
        from plugins.reporting.models import ReportMessage

        User.update(working_name="Desk Kestrel").where(User.id == moderator.id).execute()
        notes = ReportMessage.select().where(ReportMessage.kind == "note").count()
        assert erase_account(moderator.id, actor_id=None) is True
        assert Alert.get(Alert.status == "published").created_by_id is None
        assert not AlertRevision.select().where(AlertRevision.changed_by == moderator.id).exists()
        assert ReportMessage.select().where(ReportMessage.kind == "note").count() == notes
    gone = Person(id=moderator.id, email=moderator.email, name="Desk Kestrel", phone_digits="no phone given")
    gone.indexes = {}
    assert traces(site, gone) == []
    # The member is untouched by their moderator's erasure.
    assert any("reporting_report.reporter_id" in line for line in traces(site, person))


def test_an_erased_newest_account_number_is_never_given_to_the_next_one(site, make_user):
    from core.accounts.erasure import erase_account

    first = make_user("member", email="first@example.org")
    with site.app_context(), connection():
        erase_account(first.id, actor_id=None)
    second = make_user("member", email="second@example.org")
    assert second.id != first.id
