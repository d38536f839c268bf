"""Training certificates: issued once per completion, named by the learner, signed, verified on the
public page, through the API and offline; expired and revoked say so; unknown and malformed codes
answer alike; lookups are throttled per address; renewal reminders; the signing key is backed up.

On SQLite, and on PostgreSQL with REDUMBRELLA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import base64
import datetime
import json
import re

import pytest
from casework_common import in_db, raw_database_text
from helpers import enable, post_form, sign_in

from core.cli import cli
from core.db import connection, db


@pytest.fixture
def training(app):
    enable(app, "training")
    return app


def make_course(app, title="Responding without judgement", hours=3, valid_days=None, trainers=("Trainer Rose",)):
    from plugins.training.models import Course, CourseTrainer

    with in_db(app):
        course = Course.create(title=title, status="published", hours=hours, certificate_valid_days=valid_days)
        for name in trainers:
            CourseTrainer.create(course=course, credited_name=name)
    return course.id


def complete(app, user, course_id, when=None):
    """An enrolment completed (as learning.check_completion leaves it), then issue_for as it calls it."""
    from plugins.training import certificates
    from plugins.training.models import Enrolment

    with app.test_request_context(), connection():
        enrolment = Enrolment.create(course=course_id, user=user.id, status="completed",
                                     completed_at=when or datetime.datetime(2026, 3, 4, 10, 0))
        certificate = certificates.issue_for(enrolment)
        return enrolment.id, certificate.id


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def name_it(client, certificate_id, name="Alex Example"):
    path = f"/training/certificates/{certificate_id}"
    return post_form(client, path, {"learner_name": name}, token_from=path)


def code_of(app, certificate_id) -> str:
    from plugins.training.models import Certificate

    with in_db(app):
        return Certificate.get_by_id(certificate_id).code


def issued(app, user, course_id, name="Alex Example", issued_on=None):
    from plugins.training import certificates
    from plugins.training.models import Course

    with app.test_request_context(), connection():
        return certificates.issue(user.id if user else None, Course.get_by_id(course_id), name, issued_on=issued_on)


# -- issuing -----------------------------------------------------------------------------------------


def test_issue_for_is_idempotent_and_waits_for_the_name(training, make_user):
    from plugins.training import certificates
    from plugins.training.models import Certificate, Enrolment

    learner = make_user("learner")
    course_id = make_course(training, valid_days=365)
    enrolment_id, first = complete(training, learner, course_id)
    with training.test_request_context(), connection():
        again = certificates.issue_for(Enrolment.get_by_id(enrolment_id))
        assert again.id == first
        assert Certificate.select().count() == 1
        cert = Certificate.get_by_id(first)
        assert cert.signature == "" and cert.expires_on == datetime.date(2027, 3, 4)
        assert re.fullmatch(r"([A-Z2-7]{4}-){4}[A-Z2-7]{4}", cert.code)
        # not named yet: the public lookup does not know it
        assert certificates.find(cert.code) is None

    client = signed_in(training, learner)
    page = client.get(f"/training/certificates/{first}").get_data(as_text=True)
    assert 'name="learner_name"' in page
    assert name_it(client, first, "").status_code == 422
    assert name_it(client, first, "Alex\u202eExample").status_code == 422  # core's text rule
    assert name_it(client, first).status_code == 302
    page = client.get(f"/training/certificates/{first}").get_data(as_text=True)
    assert "Alex Example" in page and 'name="learner_name"' not in page
    assert name_it(client, first, "Someone Else").status_code == 422  # set once, for good
    with in_db(training):
        assert Certificate.get_by_id(first).learner_name == "Alex Example"


def test_certificates_of_others_are_404(training, make_user):
    owner, other = make_user("learner"), make_user("learner")
    _e, cert_id = complete(training, owner, make_course(training))
    client = signed_in(training, other)
    for suffix in ("", "/print", "/certificate.pdf", "/certificate.json"):
        assert client.get(f"/training/certificates/{cert_id}{suffix}").status_code == 404
    assert name_it(client, cert_id).status_code == 404


def test_name_is_stored_encrypted(training, make_user):
    learner = make_user("learner")
    _e, cert_id = complete(training, learner, make_course(training))
    name_it(signed_in(training, learner), cert_id, "Cnryqwertyname Person")
    assert "Cnryqwertyname" not in raw_database_text(training)


# -- verifying ---------------------------------------------------------------------------------------


def test_verifies_on_the_page_the_api_and_offline(training, make_user):
    from plugins.training import certificates

    learner = make_user("learner")
    course_id = make_course(training, trainers=("Trainer Rose", "Co-trainer Sam"))
    _e, cert_id = complete(training, learner, course_id)
    client = signed_in(training, learner)
    name_it(client, cert_id, "Ana-Maria Ștefănescu")
    code = code_of(training, cert_id)

    public = training.test_client()  # nobody signed in
    page = public.get(f"/training/verify/{code}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for shown in ("Ana-Maria Ștefănescu", "Responding without judgement", "Trainer Rose", "Co-trainer Sam", code,
                  'data-status="valid"'):
        assert shown in text
    # typed loosely: lower case, spaces, 0 for O
    loose = code.lower().replace("-", " ").replace("o", "0")
    assert public.get("/training/verify", query_string={"code": loose}).status_code == 200

    api = public.get(f"/api/v1/certificates/{code}")
    assert api.status_code == 200
    body = api.get_json()
    assert body["status"] == "valid" and body["revoked_on"] is None
    fields = body["certificate"]
    assert fields["learner_name"] == "Ana-Maria Ștefănescu" and fields["hours"] == 3
    assert fields["trainers"] == ["Trainer Rose", "Co-trainer Sam"] and fields["issued_on"] == "2026-03-04"
    assert fields["verify_url"].endswith(f"/training/verify/{code}")

    key = public.get("/api/v1/certificates/public-key").get_json()
    raw = base64.b64decode(key["raw_base64"])
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    assert load_pem_public_key(key["pem"].encode()).public_bytes_raw() == raw
    # the API's fields and signature verify with the published key
    Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(body["signature"]),
                                                   certificates.canonical(fields))
    assert fields["key_id"] == key["key_id"]

    download = client.get(f"/training/certificates/{cert_id}/certificate.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    data = download.get_data()
    assert certificates.verify_document(data, raw).ok
    assert certificates.verify_document(data + b"\n", raw).ok
    # every single changed byte fails
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] = (changed[position] + 1) % 256
        assert not certificates.verify_document(bytes(changed), raw).ok, position
    # another instance's key does not verify it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    assert not certificates.verify_document(data, stranger).ok


def test_verify_command(training, make_user, tmp_path):
    learner = make_user("learner")
    _e, cert_id = complete(training, learner, make_course(training))
    client = signed_in(training, learner)
    name_it(client, cert_id)
    data = client.get(f"/training/certificates/{cert_id}/certificate.json").get_data()
    good = tmp_path / "good.json"
    good.write_bytes(data)
    bad = tmp_path / "bad.json"
    bad.write_bytes(data.replace(b"Alex Example", b"Alex Exampld"))
    key = training.test_client().get("/api/v1/certificates/public-key").get_json()
    pem = tmp_path / "key.pem"
    pem.write_text(key["pem"])
    runner = training.test_cli_runner()
    result = runner.invoke(cli, ["training", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert "GENUINE" in result.output and "Alex Example" in result.output
    for extra in (["--public-key", str(pem)], ["--public-key", key["raw_base64"]]):
        assert runner.invoke(cli, ["training", "verify", *extra, str(good)]).exit_code == 0
    result = runner.invoke(cli, ["training", "verify", str(bad)])
    assert result.exit_code == 1 and "NOT VALID" in result.output


def test_printable_page_and_pdf(training, make_user):
    learner = make_user("learner")
    _e, cert_id = complete(training, learner, make_course(training))
    client = signed_in(training, learner)
    assert client.get(f"/training/certificates/{cert_id}/certificate.pdf").status_code == 302  # name it first
    name_it(client, cert_id)
    code = code_of(training, cert_id)
    printable = client.get(f"/training/certificates/{cert_id}/print").get_data(as_text=True)
    assert "Alex Example" in printable and code in printable and "data:image/svg+xml" in printable
    pdf = client.get(f"/training/certificates/{cert_id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.get_data().startswith(b"%PDF-")


def test_pdf_without_a_unicode_font_keeps_letters_readable():
    from plugins.training.certificate_pdf import latin1

    assert latin1("Ștefănescu Zoë 李") == "Stefanescu Zoë ?"


def test_expired_and_revoked_say_so(training, make_user):
    learner, trainer = make_user("learner"), make_user("trainer")
    old = make_course(training, "An old course", valid_days=30)
    cert = issued(training, learner, old, issued_on=datetime.date(2020, 1, 1))
    public = training.test_client()
    body = public.get(f"/api/v1/certificates/{cert.code}").get_json()
    assert body["status"] == "expired" and body["certificate"]["expires_on"] == "2020-01-31"
    assert 'data-status="expired"' in public.get(f"/training/verify/{cert.code}").get_data(as_text=True)

    current = issued(training, learner, make_course(training))
    client = signed_in(training, trainer)
    path = f"/training/certificates/{current.id}"
    assert post_form(client, f"{path}/revoke", {"reason": ""}, token_from=path).status_code == 302
    assert public.get(f"/api/v1/certificates/{current.code}").get_json()["status"] == "valid"  # no reason: refused
    assert post_form(client, f"{path}/revoke", {"reason": "Issued in error"}, token_from=path).status_code == 302
    body = public.get(f"/api/v1/certificates/{current.code}").get_json()
    assert body["status"] == "revoked" and body["revoked_on"] is not None
    page = public.get(f"/training/verify/{current.code}").get_data(as_text=True)
    assert 'data-status="revoked"' in page and "Issued in error" not in page  # the reason is not public
    learner_page = signed_in(training, learner).get(path).get_data(as_text=True)
    assert "Issued in error" in learner_page
    from core.audit import AuditEntry

    with in_db(training):
        assert AuditEntry.select().where((AuditEntry.action == "training.certificate_revoked")
                                         & (AuditEntry.target == f"certificate:{current.id}")).count() == 1


def test_learners_cannot_revoke(training, make_user):
    learner = make_user("learner")
    cert = issued(training, learner, make_course(training))
    client = signed_in(training, learner)
    path = f"/training/certificates/{cert.id}"
    assert post_form(client, f"{path}/revoke", {"reason": "x"}, token_from=path).status_code == 403


def test_unknown_and_malformed_codes_answer_alike(training, make_user):
    learner = make_user("learner")
    _e, unnamed = complete(training, learner, make_course(training))
    public = training.test_client()
    answers = []
    for code in ("ABCD-EFGH-JKLM-NPQR-STUV", "not a code", "x" * 300, "ABCD/EFGH", "%00", code_of(training, unnamed)):
        api = public.get(f"/api/v1/certificates/{code}")
        page = public.get(f"/training/verify/{code}")
        answers.append((api.status_code, sorted(api.get_json()), sorted(api.get_json()["error"]),
                        page.status_code, 'data-status="unknown"' in page.get_data(as_text=True)))
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][0] == 404 and answers[0][3] == 404 and answers[0][4]
    bodies = {public.get(f"/api/v1/certificates/{code}").get_data() for code in ("ABCD-EFGH-JKLM-NPQR-STUV", "bad")}
    assert len(bodies) == 1


def test_lookups_are_throttled_per_address_without_storing_it(training, make_user):
    from core import throttle
    from core.settings import save_settings
    from core.throttle import ThrottleCount
    from plugins.training.certificates import LOOKUPS

    with training.test_request_context(), connection():
        save_settings("training", {"verify_per_minute": 3})
    cert = issued(training, make_user("learner"), make_course(training))
    first = training.test_client()
    statuses = [first.get(f"/api/v1/certificates/{cert.code}", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 200]
    page = first.get("/training/verify/anything", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert page.status_code == 429 and page.headers["Retry-After"] == "60"
    api = first.get(f"/api/v1/certificates/{cert.code}", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert api.status_code == 429 and api.get_json()["error"]["status"] == 429
    other = first.get(f"/api/v1/certificates/{cert.code}", environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert other.status_code == 200
    with in_db(training):
        keys = [row.key for row in ThrottleCount.select().where(ThrottleCount.scope == LOOKUPS.scope)]
    assert len(keys) == 2 and not any("203.0.113" in key or "198.51" in key for key in keys)
    assert "203.0.113.7" not in raw_database_text(training)

    with in_db(training):
        assert throttle.prune(datetime.datetime.now() + datetime.timedelta(minutes=5)) == 2


def test_public_pages_need_no_sign_in_but_lists_do(training, make_user):
    public = training.test_client()
    assert public.get("/training/verify").status_code == 200
    assert public.get("/api/v1/certificates/public-key").status_code == 200
    assert public.get("/training/certificates").status_code == 302  # to sign in
    assert signed_in(training, make_user("learner")).get("/training/certificates/issued").status_code == 403


def test_learners_list(training, make_user):
    learner = make_user("learner")
    _e, waiting = complete(training, learner, make_course(training, "First course"))
    issued(training, learner, make_course(training, "Second course"))
    page = signed_in(training, learner).get("/training/certificates").get_data(as_text=True)
    assert "First course" in page and "Second course" in page and "enter your name" in page
    assert 'href="/training/certificates"' in page  # in the menu


# -- renewal reminders --------------------------------------------------------------------------------


def test_renewal_reminder_once_before_expiry(training, make_user, tmp_path):
    from plugins.training import certificates
    from plugins.training.models import Certificate

    learner = make_user("learner")
    course_id = make_course(training, "Renew me", valid_days=40)
    today = datetime.date.today()
    soon = issued(training, learner, course_id, issued_on=today - datetime.timedelta(days=20))  # ends in 20 days
    later = issued(training, learner, make_course(training, "Later", valid_days=400), issued_on=today)
    with training.test_request_context(), connection():
        due = certificates.due_for_reminder(30)
        assert due == [soon.id]
        assert certificates.remind_renewals.run_now() == 1
        assert certificates.remind_renewals.run_now() == 0  # once only
        assert Certificate.get_by_id(soon.id).renewal_reminded_at is not None
        assert Certificate.get_by_id(later.id).renewal_reminded_at is None
    mail_dir = tmp_path / "instance" / "mail"
    messages = [path.read_text() for path in mail_dir.glob("*.eml")]
    assert len(messages) == 1 and "Renew me" in messages[0] and learner.email in messages[0]


def test_revoked_certificates_get_no_reminder(training, make_user):
    from plugins.training import certificates

    learner, trainer = make_user("learner"), make_user("trainer")
    cert = issued(training, learner, make_course(training, valid_days=10))
    with training.test_request_context(), connection():
        certificates.revoke(cert, "Issued in error", trainer.id)
        assert certificates.due_for_reminder(30) == []


# -- the signing key ---------------------------------------------------------------------------------


def test_signing_key_is_created_once_private_and_backed_up(training, make_user, tmp_path):
    import stat

    from core import backup
    from plugins.training import certificates

    issued(training, make_user("learner"), make_course(training))
    path = certificates.key_path(training)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    with training.app_context():
        certificates.signing_key(training)
    assert path.read_text() == first
    import tarfile

    target = tmp_path / "backup.tar.gz"
    backup.create(training, target, include_keys=True)
    with tarfile.open(target) as archive:
        member = archive.extractfile("keys/training_signing.key")
        assert member is not None and member.read().decode() == first
    without = tmp_path / "without.tar.gz"
    backup.create(training, without, include_keys=False)
    with tarfile.open(without) as archive:
        assert "keys/training_signing.key" not in archive.getnames()


def test_openapi_describes_the_certificate_api(training):
    spec = training.test_client().get("/api/v1/openapi.json").get_json()
    assert set(spec["paths"]["/certificates/{code}"]["get"]["responses"]) >= {"200", "404", "429"}
    assert "200" in spec["paths"]["/certificates/public-key"]["get"]["responses"]
    assert json.dumps(spec)  # serialisable


def test_concurrent_issue_gives_one_certificate(training, make_user):
    """Two calls for one completion (two workers finishing the last lesson) leave one certificate."""
    from plugins.training import certificates
    from plugins.training.models import Certificate, Enrolment

    learner = make_user("learner")
    enrolment_id, first = complete(training, learner, make_course(training))
    with training.test_request_context(), connection():
        enrolment = Enrolment.get_by_id(enrolment_id)
        with db.atomic():
            assert certificates.issue_for(enrolment).id == first
        assert Certificate.select().where(Certificate.enrolment_id == enrolment_id).count() == 1


def test_restore_puts_the_signing_key_back(training, make_user, tmp_path):
    import tarfile

    from core import backup
    from plugins.training import certificates

    issued(training, make_user("learner"), make_course(training))
    path = certificates.key_path(training)
    kept = path.read_text()
    target = tmp_path / "with-keys.tar.gz"
    backup.create(training, target, include_keys=True)
    path.unlink()  # the disk died
    result = backup.Restored(manifest={})
    with tarfile.open(target) as archive:
        backup._put_plugin_keys_back(archive, path.parent, {"encryption.keys", "blind_index.key", "audit.keys"},
                                     result, keep_replaced=True)
    assert path.read_text() == kept


@pytest.mark.fonts
@pytest.mark.parametrize("language,name,font", [
    ("ar", "ليلى حداد", b"NotoSansArabic"),
    ("th", "สมศรี ใจดี", b"NotoSansThai"),
    ("zh_Hans", "王小红", b"NotoSansCJK"),
    ("bg", "Мария Иванова", b"DejaVuSans"),
])
def test_a_pdf_in_any_shipped_script_draws_every_letter(make_app, language, name, font):
    """The certificate's words and the learner's name in Arabic, Thai, Chinese or Cyrillic come out
    as letters, not "?": the machine's Unicode fonts are used one after another (the test machine
    has the fonts the README's test command installs)."""
    import types

    from plugins.training import _
    from plugins.training.certificate_pdf import available_fonts, drawable, render

    app = make_app({"LOCALES": ["en", language]})
    enable(app, "training")
    assert {family for family, _path, _index in available_fonts()} >= {"dejavu", "noto-arabic", "noto-thai",
                                                                         "noto-cjk"}, "fonts missing"
    certificate = types.SimpleNamespace(
        payload=json.dumps({"issuer": "Red Umbrella", "learner_name": name, "course": name, "hours": 2,
                            "trainers": [name], "code": "RU-TEST", "verify_url": "https://x.test/v/RU-TEST"}),
        issued_on=datetime.date(2026, 12, 6), expires_on=None)
    with app.test_request_context(headers={"Accept-Language": language.replace("_", "-")}):
        title = _("Certificate of completion")
        assert title != "Certificate of completion", "the catalog is compiled"
        assert drawable(title + name) == title + name
        pdf = render(certificate)
    assert pdf.startswith(b"%PDF-") and font in pdf
