"""The case core on its pages: the referral queue (accept, decline with neutral words), who sees a
case (404 for anyone else, break-glass with an audited reason supervisors see), stage rules,
contacts, tasks, messages, the timeline, task reminders, and canaries kept out of the database."""

from __future__ import annotations

import datetime
import re

import pytest
from casework_common import in_db, make_case, raw_database_text
from helpers import enable, post_form, sign_in

from core.db import connection


@pytest.fixture
def app(make_app, tmp_path):
    app = make_app({"MAIL_BACKEND": "file", "BASE_URL": "https://umbrella.example"})
    enable(app, "reporting", "casework")
    return app


@pytest.fixture
def worker(make_user):
    return make_user("caseworker", email="worker@example.org")


@pytest.fixture
def other(make_user):
    return make_user("caseworker", email="other@example.org")


@pytest.fixture
def supervisor(make_user):
    return make_user("casework_supervisor", email="super@example.org")


def mails(app) -> list[str]:
    from core.mail import mail_folder

    with app.app_context():
        folder = mail_folder()
    return [path.read_text() for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


def self_referral(client, **extra) -> None:
    form = {"action": "send", "contact_method": "email", "contact": "client@example.org", **extra}
    assert post_form(client, "/casework/support", form, token_from="/casework/support").status_code == 200


def open_referral_id(app) -> int:
    from plugins.casework.models import Referral

    with in_db(app):
        return Referral.select().where(Referral.status == "open").order_by(Referral.id.desc()).first().id


def test_a_caseworker_accepts_a_referral_and_the_case_copies_the_contact(app, client, worker):
    self_referral(app.test_client(), working_name="Kai", safe_times="after 6", may_leave_message="no")
    sign_in(client, worker)
    queue = client.get("/casework/referrals").get_data(as_text=True)
    assert "Kai" in queue and "client@example.org" in queue
    referral_id = open_referral_id(app)
    accepted = post_form(client, f"/casework/referrals/{referral_id}/accept", {}, token_from="/casework/referrals")
    assert accepted.status_code == 303
    reference = accepted.headers["Location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"C-[2-9A-HJ-NP-Z]{6}", reference)
    from plugins.casework.models import Case, Referral

    with in_db(app):
        case = Case.get(Case.reference == reference)
        assert case.worker_id == worker.id and case.stage == "new"
        assert case.contact == "client@example.org" and case.working_name == "Kai"
        assert case.safe_times == "after 6" and case.may_leave_message is False
        assert Referral.get_by_id(referral_id).status == "accepted"
    page = client.get(f"/casework/cases/{reference}").get_data(as_text=True)
    assert "Kai" in page and "Case opened" in page
    again = post_form(client, f"/casework/referrals/{referral_id}/accept", {}, token_from="/casework/referrals")
    assert again.status_code == 303 and "already been dealt with" in client.get("/casework/referrals").get_data(
        as_text=True)


def test_a_supervisor_gives_a_new_case_to_a_worker(app, client, worker, supervisor):
    self_referral(app.test_client())
    sign_in(client, supervisor)
    referral_id = open_referral_id(app)
    accepted = post_form(client, f"/casework/referrals/{referral_id}/accept", {"worker": str(worker.id)},
                         token_from="/casework/referrals")
    reference = accepted.headers["Location"].rsplit("/", 1)[1]
    from plugins.casework.models import Case

    with in_db(app):
        case = Case.get(Case.reference == reference)
    assert case.worker_id == worker.id and case.supervisor_id == supervisor.id


def test_declining_tells_the_person_in_neutral_words_with_where_else_to_turn(app, client, worker):
    self_referral(app.test_client(), needs="Cnrydeclined7 help")
    sign_in(client, worker)
    referral_id = open_referral_id(app)
    bad = post_form(client, f"/casework/referrals/{referral_id}/decline", {"reason": "rude"},
                    token_from="/casework/referrals")
    assert bad.status_code == 303
    from plugins.casework.models import Referral

    with in_db(app):
        assert Referral.get_by_id(referral_id).status == "open"
    post_form(client, f"/casework/referrals/{referral_id}/decline",
              {"reason": "outside_area", "note": "Cnrystaffnote7"}, token_from="/casework/referrals")
    with app.test_request_context(), connection():
        from plugins.casework.service import decline_message

        referral = Referral.get_by_id(referral_id)
        assert referral.status == "declined" and referral.decline_reason == "outside_area"
        message = decline_message(referral)
    assert "does not cover the area" in message and "999" in message
    [sent] = [m for m in mails(app) if "client@example.org" in m]
    assert "An answer to your request" in sent and "Cnrystaffnote7" not in sent and "Cnrydeclined7" not in sent
    assert "Cnrystaffnote7" not in raw_database_text(app)


def test_another_caseworker_gets_404_and_break_glass_is_audited_and_seen_by_supervisors(
        app, client, worker, other, supervisor):
    reference = make_case(app, worker)
    sign_in(client, other)
    for path in (f"/casework/cases/{reference}", f"/casework/cases/{reference}/timeline",
                 "/casework/cases/C-ZZZZZZ"):
        assert client.get(path).status_code == 404, path
    refused = post_form(client, f"/casework/cases/{reference}/tasks", {"title": "x"}, token_from="/casework/")
    assert refused.status_code == 404
    listing = client.get("/casework/").get_data(as_text=True)
    assert reference not in listing
    no_reason = post_form(client, "/casework/break-glass", {"reference": reference, "reason": " "},
                          token_from="/casework/break-glass")
    assert no_reason.status_code == 422
    missing = post_form(client, "/casework/break-glass", {"reference": "C-ZZZZZZ", "reason": "cover"},
                        token_from="/casework/break-glass")
    assert missing.status_code == 404
    opened = post_form(client, "/casework/break-glass", {"reference": reference, "reason": "Covering Cnryglass7"},
                       token_from="/casework/break-glass")
    assert opened.status_code == 303
    assert client.get(f"/casework/cases/{reference}").status_code == 200
    from core.audit import AuditEntry

    with in_db(app):
        actions = [(e.action, e.actor_id) for e in AuditEntry.select().where(
            AuditEntry.target == f"case:{reference}")]
    assert ("case.break_glass", other.id) in actions and ("case.viewed", other.id) in actions
    assert client.get("/casework/break-glass/log").status_code == 403
    boss = client.application.test_client()
    sign_in(boss, supervisor)
    log_page = boss.get("/casework/break-glass/log").get_data(as_text=True)
    assert reference in log_page and "Covering Cnryglass7" in log_page
    assert "Cnryglass7" not in raw_database_text(app)


def test_supervisors_see_every_case_and_filter_by_stage_and_worker(app, client, worker, other, supervisor):
    mine = make_case(app, worker)
    theirs = make_case(app, other)
    sign_in(client, supervisor)
    everything = client.get("/casework/").get_data(as_text=True)
    assert mine in everything and theirs in everything
    assert f"#{worker.id}" in everything and "bound method" not in everything  # each worker named
    case_page = client.get(f"/casework/cases/{mine}").get_data(as_text=True)
    assert f">#{other.id}</option>" in case_page and "bound method" not in case_page
    only_other = client.get(f"/casework/?worker={other.id}").get_data(as_text=True)
    assert theirs in only_other and mine not in only_other
    assert mine not in client.get("/casework/?stage=active").get_data(as_text=True)
    assert client.get(f"/casework/cases/{mine}").status_code == 200
    reassigned = post_form(client, f"/casework/cases/{mine}/worker", {"worker": str(other.id)},
                           token_from=f"/casework/cases/{mine}")
    assert reassigned.status_code == 303
    from plugins.casework.models import Case

    with in_db(app):
        assert Case.get(Case.reference == mine).worker_id == other.id


def test_stage_rules(app, worker, supervisor):
    from plugins.casework import service
    from plugins.casework.models import Approval, Case

    reference = make_case(app, worker)
    with app.test_request_context(), connection():
        case = Case.get(Case.reference == reference)
        with pytest.raises(service.CaseworkError, match="from the closing stage"):
            service.set_stage(case, "closed", worker)
        with pytest.raises(service.CaseworkError, match="listed stages"):
            service.set_stage(case, "archived", worker)
        with pytest.raises(service.CaseworkError, match="already at this stage"):
            service.set_stage(case, "new", worker)
        for stage in ("assessment", "plan", "active", "plan", "active"):
            case = service.set_stage(case, stage, worker)
            assert case.stage == stage
        with pytest.raises(service.CaseworkError, match="approval"):
            service.set_stage(case, "closing", worker)
        Approval.create(case=case, kind="closure", requested_by=worker.id, decided_by=supervisor.id,
                        decided_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None), decision="approved")
        case = service.set_stage(case, "closing", worker)
        case = service.set_stage(case, "closed", worker)
        assert case.closed_at is not None
        with pytest.raises(service.CaseworkError, match="only be reopened"):
            service.set_stage(case, "active", worker)
        case = service.set_stage(case, "assessment", worker)
        assert case.stage == "assessment" and case.closed_at is None and case.reopened_count == 1
        # The approval was given before the reopening: closing again needs a new one.
        with pytest.raises(service.CaseworkError, match="approval"):
            service.set_stage(case, "closing", worker)
        from plugins.casework.timeline import event_labels, events

        kinds = [e.kind for e in events(case)]
        assert kinds.count("stage") == 7 and "reopened" in kinds
        labels = event_labels()
        assert "stage" in labels and "approval_requested" in labels  # merged from every module


def test_the_stage_form_says_why_a_change_is_refused(app, client, worker):
    reference = make_case(app, worker)
    sign_in(client, worker)
    path = f"/casework/cases/{reference}"
    post_form(client, f"{path}/stage", {"stage": "closed"}, token_from=path)
    assert "from the closing stage" in client.get(path).get_data(as_text=True)
    post_form(client, f"{path}/stage", {"stage": "assessment"}, token_from=path)
    assert "Assessment" in client.get(path).get_data(as_text=True)


def test_contacts_tasks_and_messages_keep_their_text_out_of_the_database_file(app, client, worker):
    reference = make_case(app, worker)
    sign_in(client, worker)
    path = f"/casework/cases/{reference}"
    post_form(client, f"{path}/contacts", {"channel": "phone", "outcome": "unsafe_to_talk", "outbound": "out",
                                           "minutes": "2", "note": "Cnrycontact7 partner was there"}, token_from=path)
    post_form(client, f"{path}/contacts", {"channel": "text", "outcome": "failed"}, token_from=path)
    post_form(client, f"{path}/contacts", {"channel": "pigeon", "outcome": "failed"}, token_from=path)
    post_form(client, f"{path}/tasks", {"title": "Cnrytask7 call the clinic", "due_on": "2020-01-01"},
              token_from=path)
    post_form(client, f"{path}/tasks", {"title": "Later", "due_on": "not a date"}, token_from=path)
    post_form(client, f"{path}/messages", {"body": "Cnrymessage7 see you Tuesday"}, token_from=path)
    page = client.get(path).get_data(as_text=True)
    for text in ("Cnrycontact7", "Not safe to talk", "Could not get through", "Cnrytask7", "overdue since",
                 "Cnrymessage7", "Contact recorded", "Task added"):
        assert text in page, text
    from plugins.casework.models import Contact, Task

    with in_db(app):
        assert Contact.select().count() == 2 and Task.select().count() == 1
        task = Task.get()
    done = post_form(client, f"{path}/tasks/{task.id}", {"action": "done"}, token_from=path)
    assert done.status_code == 303
    with in_db(app):
        assert Task.get_by_id(task.id).done_at is not None
    post_form(client, f"{path}/tasks/{task.id}", {"action": "undo"}, token_from=path)
    with in_db(app):
        assert Task.get_by_id(task.id).done_at is None
    timeline = client.get(f"{path}/timeline").get_data(as_text=True)
    assert "Task done" in timeline and "Task open again" in timeline and "Message to the client" in timeline
    raw = raw_database_text(app)
    for canary in ("Cnrycontact7", "Cnrytask7", "Cnrymessage7"):
        assert canary not in raw


def test_workers_are_reminded_of_due_tasks_with_a_count_only_in_their_language(app, worker, other):
    from core.accounts.models import User
    from plugins.casework import service
    from plugins.casework.models import Case
    from plugins.casework.tasks import remind_tasks

    reference = make_case(app, worker)
    make_case(app, other)
    today = datetime.date.today()
    with app.test_request_context(), connection():
        User.update(locale="es").where(User.id == worker.id).execute()
        case = Case.get(Case.reference == reference)
        service.add_task(case, worker, "Cnryremind7 one", today)
        service.add_task(case, worker, "Cnryremind7 two", today - datetime.timedelta(days=3))
        service.add_task(case, worker, "Cnryremind7 later", today + datetime.timedelta(days=3))
    with app.app_context(), connection():
        assert remind_tasks.run_now() == 1
    [sent] = [m for m in mails(app) if "worker@example.org" in m]
    assert "Cnryremind7" not in sent and "Test Sky" not in sent and reference not in sent
    assert "Content-Language: es" in sent
    assert "2" in sent


def test_the_casework_pages_need_casework_access(app, client, make_user):
    sign_in(client, make_user("member"))
    for path in ("/casework/", "/casework/referrals", "/casework/break-glass"):
        assert client.get(path).status_code == 403
    assert client.get("/casework/support").status_code == 200
