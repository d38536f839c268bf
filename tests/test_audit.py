"""The audit log: the admin page (filters, pages, no personal data, its own reading recorded), the
database refusing edits, `redumbrella audit verify` catching one tampered or removed row, a
whole chain recomputed without the audit key (issue 9, item 4), and a saved head catching
entries removed from the end."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re

import pytest
from conftest import using_postgres
from helpers import sign_in

from core.audit import AuditEntry, record, verify
from core.cli import cli
from core.db import db


def _entries(app) -> list[AuditEntry]:
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            return list(AuditEntry.select().order_by(AuditEntry.id))
        finally:
            db.close()


def _seed(app, rows) -> None:
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            for action, target, actor in rows:
                record(action, target=target, actor_id=actor)
        finally:
            db.close()


def _table_rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def _row_ids(page: str) -> list[int]:
    return [int(re.search(r"<td>(\d+)</td>", row).group(1)) for row in _table_rows(page)]


@pytest.fixture
def admin_client(app, make_user):
    admin = make_user("admin", email="keeper@example.org")
    client = app.test_client()
    sign_in(client, admin)
    client.admin = admin
    return client


# -- who may read it -------------------------------------------------------------------------


def test_only_administrators_read_the_audit_log(app, client, make_user):
    anonymous = client.get("/admin/audit/")
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    for role in ("member", "partner", "moderator", "caseworker", "trainer", "learner"):
        other = app.test_client()
        sign_in(other, make_user(role))
        assert other.get("/admin/audit/").status_code == 403, role
    assert not any(entry.action == "audit.viewed" for entry in _entries(app))


# -- the page ----------------------------------------------------------------------------------


def test_reading_the_log_is_recorded_and_shows_no_personal_data(app, admin_client, make_user):
    person = make_user("member", email="someone.private@example.org")
    with app.app_context():
        db.connect(reuse_if_open=True)
        person.working_name = "Velvet Moonbeam"
        person.save()
        record("report.viewed", target="report:R-7KQ2", actor_id=admin_client.admin.id)
        db.close()

    response = admin_client.get("/admin/audit/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for private in ("someone.private@example.org", "keeper@example.org", "Velvet Moonbeam"):
        assert private not in page
    assert "report:R-7KQ2" in page and f"#{admin_client.admin.id}" in page

    viewed = [e for e in _entries(app) if e.action == "audit.viewed"]
    assert len(viewed) == 1 and viewed[0].actor_id == admin_client.admin.id and viewed[0].target == "audit"
    # The page shows its own reading, newest first.
    assert _row_ids(page)[0] == viewed[0].id

    admin_client.get("/admin/audit/?target=anything+typed+here")
    viewed = [e for e in _entries(app) if e.action == "audit.viewed"]
    assert len(viewed) == 2
    assert all("typed" not in e.target for e in _entries(app)), "filter text must not reach the log"


def test_filters_by_action_account_record_and_date(app, admin_client):
    _seed(
        app,
        [
            ("plugin.enabled", "plugin:reporting", 7),
            ("plugin.disabled", "plugin:reporting", 7),
            ("plugin.enabled", "plugin:alerts", 8),
            ("report.viewed", "report:R-1", 8),
            ("report.viewed", "report:R-12", None),
        ],
    )
    by_id = {(e.action, e.target): e.id for e in _entries(app)}

    def shown(query: str) -> set[int]:
        response = admin_client.get(f"/admin/audit/?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return {i for i in _row_ids(response.get_data(as_text=True))}

    seeded = set(by_id.values())
    assert shown("action=plugin.enabled") == {by_id[("plugin.enabled", "plugin:reporting")],
                                              by_id[("plugin.enabled", "plugin:alerts")]}
    assert shown("actor=8") == {by_id[("plugin.enabled", "plugin:alerts")], by_id[("report.viewed", "report:R-1")]}
    # An exact record, not every record whose reference starts the same way.
    assert shown("target=report:R-1") == {by_id[("report.viewed", "report:R-1")]}
    # A reference ending in a colon is a kind: every record of that kind.
    assert shown("target=plugin:") == {by_id[k] for k in by_id if k[1].startswith("plugin:")}
    assert shown("action=plugin.enabled&actor=7") == {by_id[("plugin.enabled", "plugin:reporting")]}
    # LIKE wildcards typed into the filter are plain characters.
    assert shown("target=%25:") & seeded == set()

    days = sorted({e.created_at.date() for e in _entries(app) if e.id in seeded})  # one day, or two at midnight
    before, after = days[0] - datetime.timedelta(days=1), days[-1] + datetime.timedelta(days=1)
    assert seeded <= shown(f"date_from={days[0]}&date_to={days[-1]}")
    assert shown(f"date_to={before}") == set()
    assert shown(f"date_from={after}") == set()


def test_pages_of_fifty_newest_first_keep_the_filter(app, admin_client):
    _seed(app, [("test.bulk", f"thing:{n}", 3) for n in range(120)] + [("test.other", "thing:x", 3)])
    first = admin_client.get("/admin/audit/?action=test.bulk").get_data(as_text=True)
    ids = _row_ids(first)
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    assert "Page 1 of 3" in first
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "action=test.bulk" in older and "page=2" in older
    second = _row_ids(admin_client.get(older).get_data(as_text=True))
    third_page = admin_client.get("/admin/audit/?action=test.bulk&page=3").get_data(as_text=True)
    third = _row_ids(third_page)
    assert len(second) == 50 and len(third) == 20 and max(second) < min(ids) and max(third) < min(second)
    assert 'rel="next"' not in third_page and 'rel="prev"' in third_page
    # A page past the end shows the last page rather than nothing; a page that is not a number, the first.
    assert _row_ids(admin_client.get("/admin/audit/?action=test.bulk&page=99").get_data(as_text=True)) == third
    assert _row_ids(admin_client.get("/admin/audit/?action=test.bulk&page=zero").get_data(as_text=True)) == ids
    assert _row_ids(admin_client.get("/admin/audit/?action=test.bulk&page=-3").get_data(as_text=True)) == ids


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("actor=abc", "Please enter an account number"),
        ("actor=-4", "Please enter an account number"),
        ("date_from=31/12/2026", "Please enter a date"),
        ("date_from=2026-05-02&date_to=2026-05-01", "The end date must be on or after the start date."),
        ("action=no.such.action", "Not a valid choice"),
        ("target=" + "x" * 200, "Please use at most 128 characters."),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error(admin_client, query, message):
    response = admin_client.get(f"/admin/audit/?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page and "aria-describedby" in page


def test_actions_are_shown_in_words_and_staff_by_working_name(app, admin_client, make_user):
    from core.views.audit import CORE_ACTIONS

    member = make_user("member", email="member.private@example.org")
    moderator = make_user("moderator", email="moderator@example.org")
    with app.app_context():
        db.connect(reuse_if_open=True)
        member.working_name = "Velvet Moonbeam"
        member.save()
        moderator.working_name = "Desk Kestrel"
        moderator.save()
        db.close()
    _seed(app, [("auth.signed_in", "user:1", moderator.id), ("profile.updated", "user:2", member.id),
                ("plugin.enabled", "plugin:reporting", None), ("test.unknown_code", "x:1", None)])
    page = admin_client.get("/admin/audit/").get_data(as_text=True)
    rows = "".join(_table_rows(page))
    # Codes become words; a code nobody labels is shown as it is.
    assert ">Signed in</a>" in rows and ">Module turned on</a>" in rows and ">Own account details changed</a>" in rows
    assert "auth.signed_in</a>" not in rows and ">test.unknown_code</a>" in rows
    # The filter offers the same words, keeping the codes as values.
    assert '<option value="auth.signed_in">Signed in</option>' in page
    # Staff by their working name (and number); members stay numbers, as the log keeps them.
    assert f">Desk Kestrel (#{moderator.id})</a>" in rows
    assert "Velvet Moonbeam" not in page and f">#{member.id}</a>" in rows
    # Every code core records has words.
    assert all(str(label) and str(label) != code for code, label in CORE_ACTIONS.items())


def test_staff_name_gives_staff_by_working_name_and_members_by_number(app, make_user):
    """The template global other staff pages use for "by whom" (an alert's history, a report's notes)."""
    from flask import render_template_string

    moderator = make_user("moderator")
    member = make_user("member")
    with app.test_request_context("/"):
        db.connect(reuse_if_open=True)
        try:
            moderator.working_name = "Desk Kestrel"
            moderator.save()
            member.working_name = "Velvet Moonbeam"
            member.save()
            text = render_template_string("{{ staff_name(a) }}|{{ staff_name(b) }}|{{ staff_name(None) }}",
                                          a=moderator.id, b=member.id)
        finally:
            db.close()
    assert text == f"Desk Kestrel (#{moderator.id})|#{member.id}|"


def test_every_code_core_records_has_words():
    """A literal code passed to record() anywhere in core has words in core's audit_actions hook
    (CORE_ACTIONS, with the labels of core's webhooks and federation packages; plugins label theirs)."""
    from pathlib import Path

    from core.builtin import audit_actions

    labelled = audit_actions(None)

    root = Path(__file__).resolve().parent.parent / "core"
    found = set()
    for path in root.rglob("*.py"):
        found |= set(re.findall(r'record\(\s*"([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    found |= {"plugin.disabled", "auth.two_factor_enabled"}  # recorded through a conditional expression
    assert len(found) > 30
    assert sorted(found - set(labelled)) == []


def test_the_modules_label_their_actions(app, admin_client):
    from helpers import enable

    enable(app, "reporting", "alerts", "casework", "training")
    _seed(app, [("report.submitted", "report:R-1", None), ("alerts.published", "alert:1", None),
                ("case.opened", "case:C-1", None), ("training.course_created", "course:1", None)])
    rows = "".join(_table_rows(admin_client.get("/admin/audit/").get_data(as_text=True)))
    for words in ("Report sent", "Alert published", "Case opened", "Course created"):
        assert f">{words}</a>" in rows, words


def test_plugins_label_their_own_actions_even_while_off(make_app):
    from fixtures import sample_plugin

    from core.views.audit import action_label

    built = make_app(extra_plugins=[sample_plugin])
    with built.test_request_context("/"):
        assert action_label("sample.note_added") == "Sample note added"  # the sample plugin is off
        assert action_label("auth.signed_in") == "Signed in"
        assert action_label("nobody.labels_this") == "nobody.labels_this"


def test_the_page_is_translated(admin_client):
    response = admin_client.get("/admin/audit/", headers={"Accept-Language": "es"})
    assert response.status_code == 200
    assert '<html lang="es" dir="ltr">' in response.get_data(as_text=True)


# -- tampering --------------------------------------------------------------------------------


def _tamper(app, sql: str, params=()) -> None:
    """Change the table behind the application's back, as someone with database access could.

    The append-only triggers are switched off the way such a person would: on SQLite by dropping
    them (this test's own database file), on PostgreSQL for one transaction only.
    """
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            if using_postgres():
                with db.atomic():
                    db.execute_sql("SET LOCAL session_replication_role = replica")
                    db.execute_sql(sql, params)
            else:
                db.execute_sql("DROP TRIGGER IF EXISTS audit_entry_no_update")
                db.execute_sql("DROP TRIGGER IF EXISTS audit_entry_no_delete")
                db.execute_sql(sql, params)
        finally:
            db.close()


def _verify_command(app):
    return app.test_cli_runner().invoke(cli, ["audit", "verify"])


@pytest.fixture
def chain(app):
    _seed(app, [(f"test.step{n}", f"thing:{n}", n) for n in range(1, 6)])
    entries = _entries(app)
    assert len(entries) >= 5
    result = _verify_command(app)
    assert result.exit_code == 0, result.output
    assert f"audit log intact: {len(entries)} entries" in result.output
    return entries


def test_the_database_refuses_to_change_or_remove_entries(app, chain):
    param = "%s" if using_postgres() else "?"
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            for sql in (f"UPDATE audit_entry SET target = 'thing:99' WHERE id = {param}",
                        f"DELETE FROM audit_entry WHERE id = {param}"):
                with pytest.raises(Exception, match="append-only"), db.atomic():  # noqa: B017 - driver's class
                    db.execute_sql(sql, (chain[2].id,))
            assert [e.target for e in AuditEntry.select().order_by(AuditEntry.id)] == [e.target for e in chain]
        finally:
            db.close()


def test_changing_one_target_is_detected(app, chain):
    param = "%s" if using_postgres() else "?"
    _tamper(app, f"UPDATE audit_entry SET target = {param} WHERE id = {param}", ("thing:999", chain[2].id))
    result = _verify_command(app)
    assert result.exit_code == 1
    assert f"the audit chain breaks at entry {chain[2].id}" in result.output


def test_changing_one_row_and_its_hash_is_detected_at_the_next_row(app, chain):
    """Recomputing the edited row's own hash, even with the key, does not help: the next row points
    at the old one."""
    from core.crypto import keyring

    victim = chain[1]
    victim.target = "thing:forged"
    with app.app_context():
        forged_hash = victim.compute_hash(keyring().audit_keys[victim.key_id])
    param = "%s" if using_postgres() else "?"
    _tamper(
        app,
        f"UPDATE audit_entry SET target = {param}, entry_hash = {param} WHERE id = {param}",
        ("thing:forged", forged_hash, victim.id),
    )
    result = _verify_command(app)
    assert result.exit_code == 1
    assert f"the audit chain breaks at entry {chain[2].id}" in result.output


def test_deleting_a_middle_row_is_detected(app, chain):
    param = "%s" if using_postgres() else "?"
    _tamper(app, f"DELETE FROM audit_entry WHERE id = {param}", (chain[2].id,))
    result = _verify_command(app)
    assert result.exit_code == 1
    assert f"the audit chain breaks at entry {chain[3].id}" in result.output
    with app.app_context():
        db.connect(reuse_if_open=True)
        assert verify() == chain[3].id
        db.close()


def test_entries_keep_chaining_after_the_page_is_read(app, admin_client, chain):
    for _ in range(3):
        assert admin_client.get("/admin/audit/").status_code == 200
    result = _verify_command(app)
    assert result.exit_code == 0 and "audit log intact" in result.output


# -- the keyed chain (issue 9, item 4) ------------------------------------------------------------


def _plain_sha256(entry) -> tuple[str, str]:
    """What the chain was before it was keyed: anyone could compute it."""
    body = json.dumps([entry.created_at.isoformat(timespec="microseconds"), entry.actor_id, entry.action,
                       entry.target, entry.previous_hash], separators=(",", ":"))
    return "", hashlib.sha256(body.encode()).hexdigest()


def _guessed_key(entry) -> tuple[str, str]:
    """The new scheme, key id kept, but under a key the attacker made up."""
    body = json.dumps([entry.created_at.isoformat(timespec="microseconds"), entry.actor_id, entry.action,
                       entry.target, entry.previous_hash, entry.key_id], separators=(",", ":"))
    return entry.key_id, hmac.new(b"a key the attacker made up, 32+ chars", body.encode(), hashlib.sha256).hexdigest()


def _edit_and_rechain(app, victim_id: int, hasher) -> None:
    """Edit one entry, then recompute every hash from it to the end, as someone with write access
    to the database but not the audit key would, with the append-only triggers out of the way."""
    entries = _entries(app)
    param = "%s" if using_postgres() else "?"
    statements = []
    previous = None
    for entry in entries:
        if entry.id < victim_id:
            previous = entry.entry_hash
            continue
        if entry.id == victim_id:
            entry.target = "thing:forged"
        entry.previous_hash = previous or "0" * 64
        entry.key_id, entry.entry_hash = hasher(entry)
        previous = entry.entry_hash
        statements.append((f"UPDATE audit_entry SET target = {param}, previous_hash = {param}, key_id = {param}, "
                           f"entry_hash = {param} WHERE id = {param}",
                           (entry.target, entry.previous_hash, entry.key_id, entry.entry_hash, entry.id)))
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            with db.atomic():
                if using_postgres():
                    db.execute_sql("SET LOCAL session_replication_role = replica")
                else:
                    db.execute_sql("DROP TRIGGER IF EXISTS audit_entry_no_update")
                # entry_hash is unique: move the rows out of the way first, then write the new chain.
                for _sql, params in statements:
                    db.execute_sql(f"UPDATE audit_entry SET entry_hash = {param} WHERE id = {param}",
                                   (f"x{params[-1]}", params[-1]))
                for sql, params in statements:
                    db.execute_sql(sql, params)
        finally:
            db.close()


@pytest.mark.parametrize("hasher", [_plain_sha256, _guessed_key], ids=["plain-sha256", "guessed-key"])
def test_an_edit_rechained_without_the_key_is_caught(app, chain, hasher):
    """Before the chain was keyed, recomputing plain SHA-256 from the edited row on gave "intact"."""
    victim = chain[0]
    _edit_and_rechain(app, victim.id, hasher)
    assert [e.target for e in _entries(app)][0] == "thing:forged"
    result = _verify_command(app)
    assert result.exit_code == 1, result.output
    if hasher is _guessed_key:
        assert f"the audit chain breaks at entry {victim.id}" in result.output
    else:  # unkeyed rows are accepted only when keyed ones follow; here every row was rewritten
        assert "no keyed entry" in result.output


def test_an_edit_rechained_as_unkeyed_in_the_middle_is_caught(app, chain):
    """Rows rewritten in the old unkeyed form after keyed ones do not pass as an old prefix."""
    _edit_and_rechain(app, chain[3].id, _plain_sha256)
    result = _verify_command(app)
    assert result.exit_code == 1
    assert f"the audit chain breaks at entry {chain[3].id} (an unkeyed entry after keyed ones)" in result.output


def test_verify_prints_the_head_and_checks_a_saved_one(app, chain, tmp_path):
    entries = _entries(app)
    result = _verify_command(app)
    head = f"{len(entries)}:{entries[-1].entry_hash}"
    assert result.exit_code == 0
    assert f"audit log intact: {len(entries)} entries, head {head}" in result.output

    runner = app.test_cli_runner()
    # The head saved now, and an older point on the chain, are both found after more entries.
    _seed(app, [("test.later", "thing:later", 1)])
    older = f"{len(entries) - 2}:{entries[-3].entry_hash}"
    for saved in (head, older):
        later = runner.invoke(cli, ["audit", "verify", "--expect-head", saved])
        assert later.exit_code == 0, later.output
        assert f"audit log intact: {len(entries) + 1} entries" in later.output
    # The whole saved output of an earlier run, from a file, works as well.
    saved_file = tmp_path / "audit-head.txt"
    saved_file.write_text(result.output)
    assert runner.invoke(cli, ["audit", "verify", "--expect-head", str(saved_file)]).exit_code == 0
    # A head that was never on the chain: rewritten.
    wrong = runner.invoke(cli, ["audit", "verify", "--expect-head", f"{len(entries)}:{'a' * 64}"])
    assert wrong.exit_code == 1 and "the log was rewritten" in wrong.output
    bad = runner.invoke(cli, ["audit", "verify", "--expect-head", "yesterday"])
    assert bad.exit_code == 2 and "COUNT:HASH" in bad.output


def test_entries_removed_from_the_end_are_caught_by_the_saved_head(app, chain):
    entries = _entries(app)
    saved = f"{len(entries)}:{entries[-1].entry_hash}"
    param = "%s" if using_postgres() else "?"
    _tamper(app, f"DELETE FROM audit_entry WHERE id >= {param}", (entries[-2].id,))
    # The shorter chain is still a valid chain (the documented limit) ...
    assert _verify_command(app).exit_code == 0
    # ... but not the one whose head was kept elsewhere.
    result = app.test_cli_runner().invoke(cli, ["audit", "verify", "--expect-head", saved])
    assert result.exit_code == 1
    assert f"the saved head has {len(entries)} entries but the log has {len(entries) - 2}" in result.output


def test_a_rewritten_history_that_keeps_the_count_is_caught_by_the_saved_head(app, chain):
    """Even someone holding the key, who rewrote and re-signed the chain, cannot match a saved head."""
    from core.crypto import keyring

    entries = _entries(app)
    saved = f"{len(entries)}:{entries[-1].entry_hash}"
    with app.app_context():
        ring = keyring()
        _edit_and_rechain(app, entries[1].id,
                          lambda e: (e.key_id, e.compute_hash(ring.audit_keys[e.key_id])))
    assert _verify_command(app).exit_code == 0, "re-signed with the real key: only the saved head can tell"
    result = app.test_cli_runner().invoke(cli, ["audit", "verify", "--expect-head", saved])
    assert result.exit_code == 1 and f"entry number {len(entries)} is not the one in the saved head" in result.output


def test_entries_signed_with_a_key_this_instance_lacks_are_reported(app, chain, make_app):
    other = make_app({"AUDIT_KEYS": "another-instance-audit-key-0123456789"})
    result = other.test_cli_runner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"entry {chain[0].id} was signed with an audit key this instance does not have" in result.output


def test_the_audit_key_is_made_on_first_start_and_can_be_rotated(app, chain, make_app):
    from pathlib import Path

    from core.crypto import AUDIT_KEYS_FILE, KEY_DIR_NAME

    key_file = Path(app.instance_path) / KEY_DIR_NAME / AUDIT_KEYS_FILE
    assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0
    first_id = chain[0].key_id
    assert first_id and all(entry.key_id == first_id for entry in chain)

    result = app.test_cli_runner().invoke(cli, ["keys", "rotate-audit"])
    assert result.exit_code == 0, result.output
    assert len(key_file.read_text().split()) == 2
    _seed(app, [("test.after", "thing:after", 1)])
    entries = _entries(app)
    assert entries[-1].key_id not in ("", first_id) and entries[-2].action == "keys.rotated"
    assert _verify_command(app).exit_code == 0

    key_file.write_text(key_file.read_text().split()[0] + "\n")  # the old key lost
    result = _verify_command(make_app())
    assert result.exit_code == 1 and "does not have" in result.output


def test_audit_keys_must_be_long(make_app):
    from core.config import ConfigError

    with pytest.raises(ConfigError, match="AUDIT_KEYS must be keys of at least 32 characters"):
        make_app({"AUDIT_KEYS": "short"})
