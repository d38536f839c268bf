"""E-mails that silently never left (issue 9, item 6), and the dependency list (item 10).

- Start-up refuses SMTP without a BASE_URL that can make links (empty, relative, no host).
- `redumbrella init` writes the address it will be served on into config.toml, so the README's
  first command makes an instance whose e-mails carry working links.
- Alert e-mails sent by the worker (no request) carry absolute links; with no address to build one
  the message fails visibly instead of going out with '/n/3'.
- Core's e-mails (set-password links, invitations, resets) that fail are listed for the staff who
  handle them, and the pages say a message is being sent, never that it was.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from configparser import ConfigParser
from email import message_from_bytes
from email.policy import default as default_policy
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from fixtures.processes import instance_env, run_cli
from helpers import post_form, sign_in
from smtp_server import SmtpServer, free_port

from core.config import CONFIG_FILE_NAME
from core.db import connection

ROOT = Path(__file__).resolve().parent.parent


def in_db(app, function, *args, **kwargs):
    with app.app_context(), connection():
        return function(*args, **kwargs)


# -- start-up and init -------------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["", "/", "notes.example.org", "https:///n"])
def test_smtp_without_an_address_for_links_stops_start_up_with_one_line(tmp_path, base_url):
    instance = tmp_path / "instance"
    instance.mkdir()
    env = instance_env(instance, f"sqlite:///{instance / 'db.sqlite3'}", MAIL_SERVER="mail.example.org",
                       MAIL_DEFAULT_SENDER="notes@example.org", BASE_URL=base_url)
    result = run_cli(["plugins", "list"], env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "REDUMBRELLA_BASE_URL must" in lines[0], lines[0]


def test_init_writes_the_address_it_serves_on_and_keeps_it(tmp_path, database_url):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / CONFIG_FILE_NAME).write_text('SITE_NAME = "Notes"\n')
    env = instance_env(instance, database_url)

    first = run_cli(["init", "--base-url", "http://127.0.0.1:8123/"], env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "http://127.0.0.1:8123" in first.stdout
    values = tomllib.loads((instance / CONFIG_FILE_NAME).read_text())
    assert values == {"BASE_URL": "http://127.0.0.1:8123", "SITE_NAME": "Notes"}

    # Again (as every `dev.py run` does), even with another address: what is set stays set.
    again = run_cli(["init", "--base-url", "http://127.0.0.1:9999"], env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "Links in e-mails point to http://127.0.0.1:8123" in again.stdout
    assert (instance / CONFIG_FILE_NAME).read_text().count("BASE_URL") == 1

    # And now SMTP can be configured for that instance: links can be made.
    with_mail = {**env, "REDUMBRELLA_MAIL_SERVER": "mail.example.org",
                 "REDUMBRELLA_MAIL_DEFAULT_SENDER": "n@example.org"}
    assert run_cli(["plugins", "list"], with_mail).returncode == 0


def test_init_refuses_a_base_url_that_cannot_make_links(tmp_path, database_url):
    instance = tmp_path / "instance"
    result = run_cli(["init", "--base-url", "example.org"], instance_env(instance, database_url))
    assert result.returncode == 2 and "--base-url must be a full address" in result.stderr
    assert not (instance / CONFIG_FILE_NAME).exists()


def test_the_run_command_gives_init_the_address_it_serves_on():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    assert dev.base_url("127.0.0.1", "8000") == "http://127.0.0.1:8000"
    assert dev.base_url("0.0.0.0", "9000") == "http://127.0.0.1:9000"  # noqa: S104
    assert dev.base_url("::1", "8000") == "http://[::1]:8000"
    source = (ROOT / "scripts" / "dev.py").read_text()
    assert '"init", "--base-url", base_url(host, port)' in source
    assert source.count('*pinned, "-e", target') == 1  # installs with -c constraints.txt


# -- alert e-mails -----------------------------------------------------------------------------------


def _publish_then_drain_in_the_worker(app, moderator):
    """Publish in a request; send as the worker does, in an app context without any request."""
    from alerts_fixtures import in_app
    from test_alerts_helpers import make_report, make_subscribers

    from core.accounts.models import User
    from plugins.alerts import delivery, service

    def publish():
        make_subscribers(1)
        actor = User.get_by_id(moderator.id)
        alert = service.create_from_reports([make_report()], {"summary": "Take care.", "title": "T"}, actor)
        if hasattr(service, "review"):
            service.review(alert, actor)
        service.publish(alert, actor)
        return alert.id

    alert_id = in_app(app, publish)
    in_db(app, delivery.drain, "email")
    return alert_id


def test_alert_emails_sent_by_the_worker_carry_absolute_links(on, make_app, moderator, tmp_path):
    from plugins.alerts.models import Delivery

    app = make_app({"MAIL_BACKEND": "file", "QUEUE_IMMEDIATE": False, "BASE_URL": "https://notes.example.org/"})
    alert_id = _publish_then_drain_in_the_worker(app, moderator)
    [eml] = (tmp_path / "instance" / "mail").glob("*.eml")
    body = message_from_bytes(eml.read_bytes(), policy=default_policy).get_content()
    assert f"\nhttps://notes.example.org/n/{alert_id}\r\n" in body
    assert in_db(app, lambda: Delivery.get().status) == "sent"


def test_an_alert_email_that_cannot_get_a_full_link_fails_visibly(on, make_app, moderator, tmp_path):
    from plugins.alerts.models import Delivery

    app = make_app({"MAIL_BACKEND": "file", "QUEUE_IMMEDIATE": False, "BASE_URL": ""})
    _publish_then_drain_in_the_worker(app, moderator)
    assert not list((tmp_path / "instance" / "mail").glob("*.eml"))  # nothing with a '/n/3' link
    row = in_db(app, Delivery.get)
    assert (row.status, row.last_error) == ("failed", "NoBaseUrl")


# -- core e-mails that fail are shown to staff ------------------------------------------------------


def _staff(app, make_user, role, email):
    client = app.test_client()
    sign_in(client, make_user(role, email=email))
    return client


def _finish_retries(app, task, row_id):
    """What the queue does over the next half hour: every retry, with the server still down."""
    from core.mail import MAIL_RETRIES, OutgoingMail

    target = in_db(app, lambda: int(OutgoingMail.get_by_id(row_id).target.partition(":")[2]))
    for _attempt in range(MAIL_RETRIES):
        with app.test_request_context(), connection(), pytest.raises(Exception):  # noqa: B017
            task.run_now(target, mail_id=row_id)


def test_an_approval_whose_email_fails_is_listed_for_staff_and_never_called_sent(app, make_app, make_user):
    from core.accounts.invitations import mail_password_link
    from core.mail import OutgoingMail

    down = SmtpServer(port=free_port())  # nothing listens on this port yet
    mail_app = make_app(down.overrides)
    public = mail_app.test_client()
    assert post_form(public, "/join", {"working_name": "Roxy", "email": "roxy@example.org", "mobile": "",
                                       "work_types": ["Independent escort"], "region": "London", "note": ""},
                     token_from="/join").status_code == 303
    staff = _staff(mail_app, make_user, "moderator", "mod@example.org")
    [application_id] = in_db(mail_app, lambda: [a.id for a in __import__(
        "core.accounts.membership", fromlist=["x"]).MembershipApplication.select()])
    approved = post_form(staff, f"/admin/members/applications/{application_id}/approve",
                         token_from=f"/admin/members/applications/{application_id}", follow_redirects=True)
    page = approved.get_data(as_text=True)
    assert "We are sending them a link" in page and "emailed" not in page and "have sent" not in page

    row = in_db(mail_app, OutgoingMail.get)
    assert (row.kind, row.status, row.attempts, row.last_error) == ("set_password", "queued", 1, "MailError")
    assert row.target.startswith("user:")
    listed = staff.get("/admin/messages").get_data(as_text=True)
    assert "Link for an approved member to set a password" in listed
    assert "Not sent yet: it will be tried again" in listed and "roxy@example.org" not in listed

    _finish_retries(mail_app, mail_password_link, row.id)
    assert in_db(mail_app, lambda: OutgoingMail.get_by_id(row.id).status) == "failed"
    listed = staff.get("/admin/messages").get_data(as_text=True)
    assert "Not sent: every try failed" in listed and "Try again" in listed

    # The server is back: staff try again, the message arrives and the list is empty.
    server = SmtpServer(port=down.port).start()
    try:
        retried = post_form(staff, f"/admin/messages/{row.id}/retry", token_from="/admin/messages")
        assert retried.status_code == 303
        assert server.wait_for(1)[0]["To"] == "roxy@example.org"
    finally:
        server.stop()
    assert in_db(mail_app, lambda: OutgoingMail.get_by_id(row.id).status) == "sent"
    assert "None: every message was sent." in staff.get("/admin/messages").get_data(as_text=True)


def test_a_reset_whose_email_fails_is_listed_for_admins_only(app, make_app, make_user):
    from core.mail import OutgoingMail

    down = SmtpServer(port=free_port())
    mail_app = make_app(down.overrides)
    member = make_user("member", email="sam@example.org")
    public = mail_app.test_client()
    asked = post_form(public, "/account/reset", {"email": "sam@example.org"}, token_from="/account/reset")
    page = asked.get_data(as_text=True)
    assert "we are sending it a link" in page and "have sent" not in page
    # An address with no account leaves no record: nothing to fail, nothing to list.
    post_form(public, "/account/reset", {"email": "nobody@example.org"}, token_from="/account/reset")

    rows = in_db(mail_app, lambda: list(OutgoingMail.select()))
    assert [(r.kind, r.target, r.status, r.last_error) for r in rows] == [
        ("reset_password", f"user:{member.id}", "queued", "MailError")]
    admin = _staff(mail_app, make_user, "admin", "admin@example.org")
    assert "Password reset link" in admin.get("/admin/messages").get_data(as_text=True)
    moderator = _staff(mail_app, make_user, "moderator", "mod@example.org")
    assert "Password reset link" not in moderator.get("/admin/messages").get_data(as_text=True)
    assert _staff(mail_app, make_user, "member", "m2@example.org").get("/admin/messages").status_code == 403


# -- dependencies (item 10) ---------------------------------------------------------------------------


def _top_level_imports() -> set[str]:
    found = set()
    for folder in ("core", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"core", "plugins", "__future__"}


def _declared(extra: str | None = None) -> list[str]:
    """setup.cfg's requirements, read from the file (installed metadata can be older than it)."""
    config = ConfigParser()
    config.read(ROOT / "setup.cfg")
    text = config["options.extras_require"][extra] if extra else config["options"]["install_requires"]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _name(requirement: str) -> str:
    import re

    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


DRIVERS = ("postgres", "redis")  # the extras holding the database and queue drivers (core/installation.py)


def test_every_imported_distribution_is_declared_with_both_bounds():
    declared = {_name(req): req for extra in (None, *DRIVERS) for req in _declared(extra)}
    owners = packages_distributions()
    for module in sorted(_top_level_imports()):
        distributions = {name.lower().replace("_", "-") for name in owners.get(module, [])}
        assert distributions, f"{module} is imported but no installed distribution provides it"
        assert distributions & set(declared), \
            f"{module} ({', '.join(distributions)}) is not in install_requires or a driver's extra"
    for requirement in [*declared.values(), *_declared("test")]:
        assert ">=" in requirement and "<" in requirement, f"{requirement} needs a floor and a ceiling"


def test_constraints_pin_every_requirement_the_tests_run_with():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _sep, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    from importlib.metadata import version

    for requirement in [*_declared(), *_declared("test"), *(req for extra in DRIVERS for req in _declared(extra))]:
        name = _name(requirement)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert version(name) == pins[name], f"{name}: installed {version(name)}, constraints.txt pins {pins[name]}"
