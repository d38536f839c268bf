"""core.db's hot-path helpers: run_sql gives the same rows as peewee on either database and, on
PostgreSQL, prepares each statement once per connection; the PostgreSQL pool hands back a
connection returned moments ago without pinging it, and still checks one that sat idle."""

from __future__ import annotations

from conftest import TEST_DATABASE_URL, using_postgres
from playhouse.pool import PooledSqliteDatabase

from core.db import connection, db, open_database, prepared_statement, run_sql
from core.models import PluginState

SQL = "SELECT name, enabled FROM plugin_state WHERE name = %s"


def test_run_sql_answers_like_peewee_and_prepares_once_per_connection(app):
    with app.app_context(), connection():
        PluginState.insert(name="reporting", enabled=True).on_conflict(
            conflict_target=[PluginState.name], update={PluginState.enabled: True}).execute()
        first = run_sql(SQL, ("reporting",)).fetchall()
        again = run_sql(SQL, ("reporting",)).fetchall()
        expected = [(row.name, row.enabled) for row in PluginState.select().where(PluginState.name == "reporting")]
        assert first == again == expected == [("reporting", True)]  # SQLite's 1 equals True
        name, prepare = prepared_statement(SQL)
        assert prepare == f"PREPARE {name} AS SELECT name, enabled FROM plugin_state WHERE name = $1"
        if using_postgres():
            prepared = db.execute_sql("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", (name,))
            assert prepared.fetchone()[0] == 1


def test_the_postgresql_pool_pings_only_connections_that_sat_idle(tmp_path):
    if not using_postgres():
        # SQLite needs no ping: peewee's own pool, whose writers queue (tests/test_write_queue.py).
        database = open_database(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
        assert isinstance(database, PooledSqliteDatabase)
        assert database.write_queue.path == f"{tmp_path / 'pool.sqlite3'}-writer.lock"
        return
    pool = open_database(TEST_DATABASE_URL)
    killer = open_database(TEST_DATABASE_URL)
    try:
        pool.connect()
        first = pool.connection()
        backend = first.get_backend_pid()
        pool.close()
        killer.connect()
        killer.execute_sql("SELECT pg_terminate_backend(%s)", (backend,))
        # Handed back a moment ago: given out again at once, without a round trip to check it.
        pool.connect()
        assert pool.connection() is first
        pool.close()
        # Idle for longer: checked, found closed and replaced.
        pool.FRESH_SECONDS = 0
        pool.connect()
        replacement = pool.connection()
        assert replacement is not first and replacement.get_backend_pid() != backend
        assert pool.execute_sql("SELECT 1").fetchone() == (1,)
        pool.close()
    finally:
        pool.close_all()
        killer.close_all()
