"""A request reads the enabled plugins, every plugin's settings and every language's local wording
version in one statement (core.stored_state, issue #14), kept for that request only. On SQLite and
PostgreSQL: one statement serves all three; a change the request makes itself is what it reads
next; a change made through another app shows at that app's next request, not before it is made."""

from __future__ import annotations

import pytest
from helpers import enable

from core import stored_state
from core.db import connection, db, prepared_statement
from core.plugins import get_registry
from core.settings import plugin_settings, save_settings
from core.wording import overlay


@pytest.fixture
def statements():
    """Every statement the database runs while the fixture is in use (PostgreSQL's by name)."""
    ran: list[str] = []
    original = db.obj.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        ran.append(sql)
        return original(sql, params, *args, **kwargs)

    db.obj.execute_sql = counting
    yield ran
    db.obj.execute_sql = original


def _ran(statements: list[str], sql: str) -> int:
    names = (sql, sql.replace("%s", "?"), prepared_statement(sql)[0])
    return len([statement for statement in statements if any(name in statement for name in names)])


def test_one_statement_gives_a_request_its_plugins_settings_and_wording(on, statements):
    with on.test_request_context(), connection():
        statements.clear()
        assert {"core", "reporting", "alerts"} <= get_registry().enabled()
        assert plugin_settings("alerts")["similar_warning"] == 8
        assert "allow_anonymous" in plugin_settings("reporting")
        assert overlay.version("es") == 0 and overlay.version("en") == 0
        assert get_registry().is_enabled("alerts") and plugin_settings("alerts")["check_limit_account"] == 30
    executed = [sql for sql in statements if not sql.startswith("PREPARE ")]
    assert len(executed) == 1 and _ran(executed, stored_state.STATE_SQL) == 1, statements


def test_a_request_reads_its_own_changes(on):
    enable(on, "training")
    with on.test_request_context(), connection():
        registry = get_registry()
        assert plugin_settings("alerts")["similar_warning"] == 8 and registry.is_enabled("training")
        save_settings("alerts", {"similar_warning": 3})
        assert plugin_settings("alerts")["similar_warning"] == 3
        registry.set_enabled("training", False)
        assert not registry.is_enabled("training")
        state = stored_state.current()  # read again after the changes: what is stored now
        assert "training" not in state.enabled and '"similar_warning": 3' in state.settings["alerts"]


def test_a_change_made_through_another_app_shows_at_the_next_request_only(on, make_app):
    other = make_app()
    with on.test_request_context(), connection():
        assert plugin_settings("alerts")["similar_warning"] == 8
        with other.test_request_context():
            save_settings("alerts", {"similar_warning": 5})
            get_registry(other).set_enabled("alerts", False)
        # This request read its state before the change: it keeps one consistent view.
        assert plugin_settings("alerts")["similar_warning"] == 8 and get_registry().is_enabled("alerts")
    with on.test_request_context(), connection():
        assert plugin_settings("alerts")["similar_warning"] == 5
        assert not get_registry().is_enabled("alerts")


def test_outside_a_request_each_reader_reads_alone(on, statements):
    with on.app_context(), connection():
        assert stored_state.current() is None
        statements.clear()
        assert get_registry().is_enabled("alerts") and plugin_settings("alerts")["similar_warning"] == 8
    assert _ran(statements, stored_state.STATE_SQL) == 0 and len(statements) >= 2
