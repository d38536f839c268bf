"""Moving an instance from SQLite to PostgreSQL (`redumbrella db copy-to`), as docs/moving-to-postgresql.md
says, with the same commands: a SQLite instance with the demo's data, an anonymous report with its
receipt and a picture, and an access token, is copied into an empty PostgreSQL database; the app
on PostgreSQL then serves the same data, new rows get new ids, and a second copy is refused.
"""

from __future__ import annotations

import hashlib
import io
import re
import shlex
import sqlite3
from pathlib import Path

import pytest
from conftest import base_overrides
from federation_instances import postgres_database
from fixtures.processes import instance_env, run_cli
from helpers import post_form
from test_reporting_common import FORM, RECEIPT_PATTERN, WHAT, WHEN, WHO, WISHES, step

from core.app import create_app
from core.cli import cli
from core.db import connection, db

pytestmark = [pytest.mark.once]  # its own SQLite and PostgreSQL databases, whatever the suite's

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "moving-to-postgresql.md"
DOC_URL = "postgresql://redumbrella:PASSWORD@127.0.0.1:5432/redumbrella"
DOC_BACKUP = "/var/backups/redumbrella/before-postgresql.tar.gz"
# The `redumbrella` commands of the doc, in its order; the test runs each of them.
DOC_COMMANDS = [
    f"redumbrella backup {DOC_BACKUP}",
    "redumbrella db status",
    f"redumbrella db copy-to {DOC_URL}",
    "redumbrella db status",  # from here on with REDUMBRELLA_DATABASE_URL set to PostgreSQL
    "redumbrella audit verify",
]


def doc_commands() -> list[str]:
    """Every `redumbrella ...` line of the doc's shell blocks, without its comment."""
    found, shell = [], False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            shell = line.strip() == "```sh"
            continue
        command = line.split("#", 1)[0].strip()
        if shell and command.startswith("redumbrella "):
            found.append(command)
    return found


def test_the_doc_shows_the_commands_this_test_runs():
    assert doc_commands() == DOC_COMMANDS


@pytest.fixture
def target():
    url = postgres_database("move")
    if url is None:
        pytest.skip("NOT RUN: needs PostgreSQL (REDUMBRELLA_TEST_DATABASE_URL or REDUMBRELLA_TEST_POSTGRES_URL)")
    _empty(url)
    yield url
    if db.obj is not None:
        db.obj.close_all()
    _empty(url)


def _empty(url: str) -> None:
    import psycopg2

    connection_ = psycopg2.connect(url)
    connection_.autocommit = True
    try:
        with connection_.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        connection_.close()


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _report_with_picture(client) -> tuple[str, str]:
    """An anonymous report through the web form, with one picture; (reference, receipt)."""
    client.get(FORM)
    for code, values in (("what", WHAT), ("when", WHEN), ("who", WHO), ("wishes", WISHES)):
        assert step(client, values, step_code=code).status_code == 200, code
    uploaded = step(client, {"files": [(io.BytesIO(_png()), "photo.png")]}, action="upload", step_code="files",
                    content_type="multipart/form-data")
    assert uploaded.status_code == 200
    assert step(client, {}, step_code="files").status_code == 200
    page = step(client, action="send", step_code="check").get_data(as_text=True)
    reference = re.search(r'class="reference">(R-[0-9A-Z]{6})<', page).group(1)
    return reference, RECEIPT_PATTERN.search(page).group(1)


def _sqlite_state(path: Path) -> tuple[dict[str, int], str]:
    """Row counts per table and a digest of every row, read straight from the file."""
    with sqlite3.connect(path) as lite:
        tables = [r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        counts = {t: lite.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608
        digest = hashlib.sha256("\n".join(lite.iterdump()).encode()).hexdigest()
    lite.close()
    return counts, digest


def _pg_counts(app) -> dict[str, int]:
    with app.app_context(), connection():
        return {t: db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]  # noqa: S608 - catalog names
                for t in db.get_tables()}


def _pictures(app) -> list[bytes]:
    from plugins.reporting.models import Attachment

    with app.app_context(), connection():
        return [row.data for row in Attachment.select().order_by(Attachment.id)]


def test_copy_a_sqlite_instance_to_postgresql_and_run_on_it(tmp_path, target):
    from core.accounts.models import User
    from core.accounts.tokens import create_token
    from core.demo import fill
    from core.key_check import confirm
    from core.schema import upgrade

    instance = tmp_path / "instance"
    database = instance / "redumbrella.sqlite3"
    env = instance_env(instance, f"sqlite:///{database}")
    source = create_app(base_overrides(instance, f"sqlite:///{database}"))
    with source.app_context(), connection():  # `redumbrella init` and `redumbrella demo`, in this process
        upgrade(source)
        accounts, _password = fill(source, "a long demo passphrase")
    # What the demo lacks: an anonymous report with its receipt and a picture, and an access token.
    reference, receipt = _report_with_picture(source.test_client())
    with source.app_context(), connection():
        partner = User.get_by_id(accounts["partner"].id)
        _record, token = create_token(partner, "case system")
    pictures = _pictures(source)
    assert len(pictures) == 1

    # Another process with the database open (as a running web server has) stops the copy first.
    other = sqlite3.connect(database)
    try:
        other.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        busy = source.test_cli_runner().invoke(cli, ["db", "copy-to", target])
    finally:
        other.close()
    assert busy.exit_code == 1 and "another process has redumbrella.sqlite3 open" in busy.output, busy.output
    with source.app_context(), connection():
        confirm(source)  # what any command records first (core.key_check): the keys, the key files made by now
    db.obj.close_all()
    counts, digest = _sqlite_state(database)

    # The doc's commands, in its order.
    pg_env = instance_env(instance, target)
    outputs = {}
    for command in DOC_COMMANDS:
        args = [target if a == DOC_URL else str(tmp_path / "before.tar.gz") if a == DOC_BACKUP else a
                for a in shlex.split(command)[1:]]
        done = run_cli(args, pg_env if "copy-to" in outputs else env)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.setdefault(args[1] if args[0] == "db" else args[0], done.stdout)
    copied = outputs["copy-to"]
    head = re.search(r"audit log as in SQLite, head (\d+:[0-9a-f]{64})", copied).group(1)
    assert f"copied {sum(counts.values())} rows in {len(counts)} tables" in copied
    assert "every one decrypted" in copied and "REDUMBRELLA_DATABASE_URL=" in copied
    assert f"head {head}" in outputs["audit"]  # `audit verify` on PostgreSQL ends where SQLite's did
    assert _sqlite_state(database) == (counts, digest)  # SQLite only read
    # The database now holds the instance: a second copy is refused.
    again = source.test_cli_runner().invoke(cli, ["db", "copy-to", target])
    assert again.exit_code == 1 and "the PostgreSQL database is not empty" in again.output, again.output

    app = create_app(base_overrides(instance, target))
    assert _pg_counts(app) == counts
    assert _pictures(app) == pictures
    client = app.test_client()
    health = client.get("/healthz").get_json()
    assert health["database"] == "ok" and health["pending_migrations"] == 0, health
    # The receipt opens the report's follow-up, with its picture.
    page = post_form(client, "/reporting/follow-up", {"receipt": receipt}).get_data(as_text=True)
    assert reference in page and "1 picture is with your report." in page
    # The access token still works.
    response = client.get("/api/v1/account", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["id"] == partner.id
    # The demo's certificate still verifies.
    from plugins.training.models import Certificate

    with app.app_context(), connection():
        code = Certificate.get().code
    assert "Valid" in client.get(f"/training/verify/{code}").get_data(as_text=True)
    # New rows get new ids (the sequences were set past the copied ones).
    new_reference, _receipt = _report_with_picture(app.test_client())
    from plugins.reporting.models import Report

    with app.app_context(), connection():
        assert Report.get(Report.reference == new_reference).id == counts["reporting_report"] + 1
        from core.audit import check

        assert check().intact

    db.obj.close_all()
