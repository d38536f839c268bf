"""Shared fixtures: a real database (SQLite, or PostgreSQL when REDUMBRELLA_TEST_DATABASE_URL says
so), migrated once per session and emptied between tests, an app per test, and signed-in clients.

Nothing of our own is mocked: tests drive the real app through Flask's test client, real
subprocesses, real SMTP/Redis/PostgreSQL servers and a real browser.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from helpers import TEST_PASSWORD
from wtforms.fields.choices import SelectField, SelectFieldBase

from core.app import create_app
from core.db import db

# The alerts tests' on, moderator, mod_client, member and member_client.
pytest_plugins = ["alerts_fixtures"]

TEST_DATABASE_URL = os.environ.get("REDUMBRELLA_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("REDUMBRELLA_TEST_REDIS_URL", "")

# wtforms 3.3 warns about (value, label) tuples as choices only where a field is declared with them,
# not where a view sets field.choices; check those too, so pyproject.toml's filter (an error)
# catches both before wtforms 3.4 refuses tuples. Without that check (wtforms 3.4 on), nothing to do.
_legacy_choices_check = getattr(SelectFieldBase, "_warn_legacy_choices", None)
if _legacy_choices_check is not None:
    _choices = SelectField.choices

    def _set_choices(field, value):
        if isinstance(value, list | tuple | dict):
            _legacy_choices_check(value)
        _choices.fset(field, value)

    SelectField.choices = _choices.setter(_set_choices)

# Cheap Argon2 in tests: the cost parameters are configuration, the code path is the same.
FAST_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}


def base_overrides(instance: Path, database_url: str) -> dict:
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "TESTING": True,
        "QUEUE_IMMEDIATE": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "ENCRYPTION_KEYS": "3i57ymqIUcAp2xEzz6kSdNKVhQm6kgSeCp9OyF8RHSk=",
        "BLIND_INDEX_KEY": "test-blind-index-key",
        **FAST_HASHING,
    }


def using_postgres() -> bool:
    return TEST_DATABASE_URL.startswith("postgres")


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Migrate once per session. SQLite: a template file copied per test; PostgreSQL: the test DB."""
    root = tmp_path_factory.mktemp("template")
    url = TEST_DATABASE_URL if using_postgres() else f"sqlite:///{root / 'template.sqlite3'}"
    app = create_app(base_overrides(root / "instance", url))
    from core.schema import upgrade

    with app.app_context():
        db.connect(reuse_if_open=True)
        if using_postgres():
            db.execute_sql("DROP SCHEMA public CASCADE")
            db.execute_sql("CREATE SCHEMA public")
        upgrade(app)
        db.close()
    db.obj.close_all()
    if not using_postgres():
        with sqlite3.connect(root / "template.sqlite3") as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return url


def _empty_postgres(url: str) -> None:
    """Every table but the migration history, emptied before each test that uses the database."""
    from playhouse.db_url import connect

    database = connect(url)
    try:
        tables = [t for t in database.get_tables() if t != "schema_migration"]
        with database.atomic():
            # DELETE with triggers and foreign keys paused is ~20x faster than TRUNCATE on small tables
            # (no file swaps); it also passes the audit log's append-only triggers. Needs a superuser.
            database.execute_sql("SET LOCAL session_replication_role = replica")
            database.execute_sql("; ".join(f'DELETE FROM "{table}"' for table in tables))
            database.execute_sql(  # ids start at 1 again, as on SQLite's fresh copy; history keeps its own
                "SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
                "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' AND t.relname <> 'schema_migration'"
            )
    finally:
        database.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def queue_settings(request) -> dict:
    """App overrides for each queue a worker process is tested on: the SQLite file, then Redis."""
    if request.param == "sqlite":
        return {}
    assert TEST_REDIS_URL, "set REDUMBRELLA_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/7) to run Redis tests"
    return {"REDIS_URL": TEST_REDIS_URL}


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    if using_postgres():
        _empty_postgres(database_template)
        return database_template
    template = Path(database_template.removeprefix("sqlite:///"))
    copy = tmp_path / "redumbrella.sqlite3"
    shutil.copyfile(template, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(scope="session")
def template_cache(tmp_path_factory):
    """Compiled templates shared by the session's apps: each test builds a new app, and compiling
    the same templates again for each one was a good part of the suite's time."""
    from jinja2 import FileSystemBytecodeCache

    return FileSystemBytecodeCache(str(tmp_path_factory.mktemp("jinja")))


@pytest.fixture
def make_app(database_url, tmp_path, template_cache):
    """Build apps on this test's database; extra overrides and plugins per call."""
    built = []

    def build(overrides: dict | None = None, extra_plugins=()):
        app = create_app({**base_overrides(tmp_path / "instance", database_url), **(overrides or {})},
                         extra_plugins=tuple(extra_plugins))
        app.jinja_env.bytecode_cache = template_cache
        built.append(app)
        return app

    yield build
    for _app in built:
        if not db.is_closed():
            db.close()
    if db.obj is not None:
        db.obj.close_all()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def ctx(app):
    """An app context with an open connection, for tests that use models directly."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        yield app
        if not db.is_closed():
            db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create an account with roles; returns the user (password TEST_PASSWORD)."""
    from core.accounts.service import create_account

    counter = iter(range(1, 10_000))

    def make(*roles: str, email: str | None = None):
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                return create_account(email or f"person{next(counter)}@example.org", TEST_PASSWORD, roles)
            finally:
                db.close()

    return make
