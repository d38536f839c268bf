"""Retention: rules declared by plugins through the retention_rules hook; the daily task and
`redumbrella retention run` delete expired rows (and the rows that depend on them) for real.

A small fixture plugin ("retfix") declares the rules, so the tests drive the real hook, registry,
queue and command. On SQLite the raw database file is read to prove that an expired row's text is
gone from the disk, not just hidden; on PostgreSQL the rows are checked through SQL.
"""

from __future__ import annotations

import datetime
import types
import uuid
from pathlib import Path

import pytest
from conftest import using_postgres
from marshmallow import Schema, fields
from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from core.audit import AuditEntry
from core.cli import cli
from core.db import BaseModel, db, utcnow
from core.hookspecs import hookimpl
from core.plugins import PluginInfo, get_registry
from core.queue import current_queue
from core.retention import RetentionRule, config_days, days_setting, rules, sweep

NOW = utcnow()
OLD = NOW - datetime.timedelta(days=40)
RECENT = NOW - datetime.timedelta(days=2)


class Note(BaseModel):
    created_at = DateTimeField()
    state = CharField(max_length=16, default="closed")
    body = TextField()

    class Meta:
        table_name = "retfix_note"


class NoteLine(BaseModel):
    """Depends on a note (not null): goes with it."""

    note = ForeignKeyField(Note, on_delete="RESTRICT")
    text = TextField()

    class Meta:
        table_name = "retfix_note_line"


class NoteMention(BaseModel):
    """Points at a note if there is one (nullable): kept, with the reference cleared."""

    note = ForeignKeyField(Note, null=True, on_delete="RESTRICT")
    text = TextField()

    class Meta:
        table_name = "retfix_mention"


FIXTURE_TABLES = [Note, NoteLine, NoteMention]


class RetfixSettings(Schema):
    keep_days = fields.Integer(load_default=90)


def make_plugin(rule_factory) -> types.ModuleType:
    module = types.ModuleType("retfix_hooks")
    module.plugin_info = PluginInfo(name="retfix", label="Retention fixture")

    @hookimpl
    def retention_rules(app):
        return rule_factory()

    @hookimpl
    def settings_schema(app):
        return RetfixSettings

    module.retention_rules = retention_rules
    module.settings_schema = settings_schema
    return module


def thirty_days_closed():
    return [
        RetentionRule(
            model=Note,
            age_field=Note.created_at,
            max_age=datetime.timedelta(days=30),
            condition=lambda: Note.state == "closed",
            label="closed notes",
        )
    ]


@pytest.fixture
def fixture_app(app, make_app):
    """An app with the fixture plugin installed and enabled, and its tables created.

    Depends on `app` so that a PostgreSQL test database is emptied first."""

    def build(rule_factory=thirty_days_closed, enabled=True, overrides=None):
        app = make_app(overrides, extra_plugins=[make_plugin(rule_factory)])
        with app.app_context():
            db.connect(reuse_if_open=True)
            if not built:  # a second app in one test shares the first one's database
                db.drop_tables(FIXTURE_TABLES, safe=True)
                db.create_tables(FIXTURE_TABLES)
            if enabled:
                get_registry(app).set_enabled("retfix", True)
            db.close()
        built.append(app)
        return app

    built = []
    yield build
    for app in built[:1]:
        with app.app_context():
            db.connect(reuse_if_open=True)
            db.drop_tables(FIXTURE_TABLES, safe=True)
            db.close()


def canary(kind: str) -> str:
    return f"CANARY-{kind}-{uuid.uuid4().hex}"


def long_text(marker: str) -> str:
    """Long enough to spill into SQLite overflow pages, with the marker in the middle."""
    return "x" * 3000 + marker + "y" * 3000


def seed(app) -> dict:
    marks = {name: canary(name) for name in ("expired", "expired_line", "kept_recent", "kept_open", "mention")}
    with app.app_context():
        db.connect(reuse_if_open=True)
        expired = Note.create(created_at=OLD, body=long_text(marks["expired"]))
        NoteLine.create(note=expired, text=marks["expired_line"])
        NoteLine.create(note=expired, text="another line")
        mention = NoteMention.create(note=expired, text=marks["mention"])
        recent = Note.create(created_at=RECENT, body=long_text(marks["kept_recent"]))
        NoteLine.create(note=recent, text="line of a kept note")
        still_open = Note.create(created_at=OLD, state="open", body=long_text(marks["kept_open"]))
        db.close()
    return {"marks": marks, "expired": expired.id, "recent": recent.id, "open": still_open.id, "mention": mention.id}


def database_bytes(app) -> bytes:
    """The SQLite database file and its WAL/shm companions, as they are on disk."""
    path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def checkpoint(app) -> None:
    with app.app_context():
        db.connect(reuse_if_open=True)
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()


def remaining(app) -> dict:
    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            return {
                "notes": sorted(n.id for n in Note.select()),
                "lines": sorted(line.text for line in NoteLine.select()),
                "mentions": [(m.id, m.note_id) for m in NoteMention.select()],
            }
        finally:
            db.close()


def test_the_daily_task_deletes_expired_rows_for_real(fixture_app):
    app = fixture_app()
    seeded = seed(app)
    marks = seeded["marks"]
    if not using_postgres():
        checkpoint(app)
        on_disk = database_bytes(app)
        # The check below could fail: before the sweep every canary is in the file.
        assert all(mark.encode() in on_disk for mark in marks.values())

    with app.app_context():
        db.connect(reuse_if_open=True)
        if not using_postgres():
            assert db.execute_sql("PRAGMA secure_delete").fetchone()[0] == 1
        from core.retention import purge_expired

        # Through the queue, as the worker runs it (at once in tests: immediate mode). huey keeps
        # no result for periodic tasks, so the effect is checked below.
        current_queue().enqueue(purge_expired)
        db.close()

    left = remaining(app)
    assert left["notes"] == sorted([seeded["recent"], seeded["open"]])
    assert left["lines"] == ["line of a kept note"]
    assert left["mentions"] == [(seeded["mention"], None)]  # nullable reference cleared, row kept

    if not using_postgres():
        on_disk = database_bytes(app)
        assert marks["expired"].encode() not in on_disk
        assert marks["expired_line"].encode() not in on_disk
        assert marks["kept_recent"].encode() in on_disk and marks["kept_open"].encode() in on_disk
        assert marks["mention"].encode() in on_disk

    with app.app_context():
        db.connect(reuse_if_open=True)
        entry = AuditEntry.get(AuditEntry.action == "retention.deleted")
        db.close()
    assert entry.target == "table:retfix_note rows:1" and entry.actor_id is None


def test_the_command_reports_what_it_deleted_and_deletes_nullable_dependents_when_asked(fixture_app):
    def rules_with_nullable():
        return [RetentionRule(Note, Note.created_at, datetime.timedelta(days=30), delete_nullable=True)]

    app = fixture_app(rules_with_nullable)
    seeded = seed(app)
    result = app.test_cli_runner().invoke(cli, ["retention", "run"])
    assert result.exit_code == 0, result.output
    # The open note is old too, and this rule has no condition; 4 lines/mentions depended on the two.
    assert "retfix: retfix_note: 2 row(s) deleted (and 3 dependent row(s))" in result.output
    left = remaining(app)
    assert left == {"notes": [seeded["recent"]], "lines": ["line of a kept note"], "mentions": []}
    if not using_postgres():
        on_disk = database_bytes(app)
        assert seeded["marks"]["mention"].encode() not in on_disk
        assert seeded["marks"]["kept_open"].encode() not in on_disk

    again = app.test_cli_runner().invoke(cli, ["retention", "run"])
    assert "retfix: retfix_note: 0 row(s) deleted" in again.output


def test_max_age_from_a_setting_and_keep_for_ever(fixture_app):
    def from_config():
        return [RetentionRule(Note, Note.created_at, config_days("RETFIX_KEEP_DAYS"))]

    keep_forever = fixture_app(from_config, overrides={"RETFIX_KEEP_DAYS": 0})
    seeded = seed(keep_forever)
    with keep_forever.app_context():
        db.connect(reuse_if_open=True)
        results = sweep(keep_forever)
        db.close()
    assert [r.deleted for r in results if r.owner == "retfix"] == [0]  # core declares rules of its own
    assert len(remaining(keep_forever)["notes"]) == 3

    listing = keep_forever.test_cli_runner().invoke(cli, ["retention", "list"])
    assert "retfix: retfix_note: kept for ever after created_at" in listing.output

    one_day = fixture_app(from_config, overrides={"RETFIX_KEEP_DAYS": "1"})
    with one_day.app_context():
        db.connect(reuse_if_open=True)
        results = sweep(one_day)
        db.close()
    assert [r.deleted for r in results if r.owner == "retfix"] == [3]
    assert remaining(one_day)["notes"] == []
    assert seeded  # all three were old enough for a one-day rule


def retfix_deleted(results) -> int:
    """Rows the fixture plugin's rule deleted (core declares rules of its own)."""
    return next(result.deleted for result in results if result.owner == "retfix")


def test_days_setting_reads_a_plugin_setting_each_sweep(fixture_app):
    from core.settings import save_settings

    app = fixture_app(lambda: [RetentionRule(Note, Note.created_at, days_setting("retfix", "keep_days"))])
    seed(app)
    with app.app_context():
        db.connect(reuse_if_open=True)
        assert retfix_deleted(sweep(app)) == 0  # 40 days old; the default keeps them 90
        save_settings("retfix", {"keep_days": 60})
        assert retfix_deleted(sweep(app)) == 0
        save_settings("retfix", {"keep_days": 10})
        assert retfix_deleted(sweep(app)) == 2  # now 40 > 10: both old notes go
        db.close()
    assert len(remaining(app)["notes"]) == 1


def test_a_disabled_plugin_deletes_nothing(fixture_app):
    app = fixture_app(enabled=False)
    seed(app)
    with app.app_context():
        db.connect(reuse_if_open=True)
        assert [owner for owner, _rule in rules(app)].count("retfix") == 0
        sweep(app)
        db.close()
    assert len(remaining(app)["notes"]) == 3


def test_a_hook_returning_something_else_fails_loudly(fixture_app):
    app = fixture_app(lambda: ["not a rule"])
    with app.app_context():
        db.connect(reuse_if_open=True)
        with pytest.raises(TypeError, match="retfix returned 'not a rule'"):
            sweep(app)
        db.close()


def test_every_installed_plugins_rules_run_on_this_database(app):
    """Each declared rule builds a valid query and deletes on SQLite and PostgreSQL alike."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        registry = get_registry(app)
        waiting = list(registry.names)
        while waiting:  # requirements first
            ready = [n for n in waiting if set(registry.infos[n].requires) <= registry.enabled()]
            assert ready, f"cannot enable {waiting}"
            for name in ready:
                registry.set_enabled(name, True)
                waiting.remove(name)
        declared = rules(app)
        for owner, rule in declared:
            assert isinstance(rule, RetentionRule), owner
            assert rule.age_field.model is rule.model, f"{owner}: {rule.name} measures age on another table"
            assert isinstance(rule.age_field, DateTimeField), f"{owner}: {rule.name} ages by a non-date column"
        results = sweep(app, now=utcnow() + datetime.timedelta(days=3650))
        db.close()
    assert len(results) == len(declared)


def test_the_sweep_is_a_daily_periodic_task(app):
    from core.retention import purge_expired

    queue = app.extensions["redumbrella.queue"]
    assert queue.names["core.purge_expired"] == "core"
    task = queue.bound(purge_expired).task_class()
    start = datetime.datetime(2026, 3, 1)
    minutes = [start + datetime.timedelta(minutes=m) for m in range(2 * 24 * 60)]
    runs = [m for m in minutes if task.validate_datetime(m)]
    assert len(runs) == 2 and runs[1] - runs[0] == datetime.timedelta(days=1)
