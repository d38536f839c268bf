"""What a request reads of the instance's stored configuration, in one statement (issue #14): the
enabled plugins, every plugin's stored settings and every language's local wording version.

Nearly every request needs all three (the plugin guard, a module's settings, its translated words),
and on PostgreSQL each was a round trip of its own. They are read together on first use and kept
in flask.g for that request only, so a change made through any worker, process or command shows
at the very next request of every other. A request that makes such a change calls forget(), and
reads what it wrote.

Outside a request (a queue task, a command) there is nothing kept: current() gives None and each
reader reads alone, as it always did. So does a request on a database that cannot answer this
statement (one not yet upgraded to the tables it names): current() gives None there too.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context
from peewee import DatabaseError

from core.db import db, run_sql

# Placeholders only; the first column tells the three parts apart.
STATE_SQL = (
    "SELECT 'plugin', name, NULL FROM plugin_state WHERE enabled = %s "
    "UNION ALL SELECT 'settings', plugin, data FROM plugin_setting "
    "UNION ALL SELECT 'wording', locale, CAST(version AS TEXT) FROM wording_version"
)
_KEY = "_stored_state"
_UNREADABLE = "unreadable"  # kept in g instead of a StoredState when the statement failed


@dataclass(frozen=True)
class StoredState:
    enabled: frozenset[str]  # plugin names as stored, installed or not
    settings: dict[str, str]  # plugin -> its stored settings, JSON text
    wording: dict[str, int]  # language -> its local wording version (absent: 0)


def current() -> StoredState | None:
    """This request's stored state, read on first use; None outside a request or when unreadable."""
    if not has_request_context():
        return None
    here = g._get_current_object()
    state = here.get(_KEY)
    if state is None:
        if here.get("database_unavailable"):
            return None
        state = _read()
        if state is None:
            return None  # not connected now; perhaps later in this request
        setattr(here, _KEY, state)
    return None if state is _UNREADABLE else state


def read_again() -> StoredState | None:
    """What is stored now, past this request's memo (which stays as it was): to tell whether
    anything changed while the request worked."""
    state = _read()
    return None if state is _UNREADABLE else state


def forget() -> None:
    """Drop what this request read, after it changed any of it: its next read sees the change."""
    if has_request_context():
        g.pop(_KEY, None)


def _read():
    """A StoredState; _UNREADABLE when a table it names is missing; None without a connection."""
    database = db.obj
    if database is None or database.is_closed():
        return None
    try:
        if database.in_transaction():  # a savepoint, so that a failure cannot spoil the caller's work
            with database.atomic():
                rows = run_sql(STATE_SQL, (True,)).fetchall()
        else:
            rows = run_sql(STATE_SQL, (True,)).fetchall()
    except DatabaseError:  # the readers ask on their own
        return _UNREADABLE
    enabled, settings, wording = set(), {}, {}
    for part, name, value in rows:
        if part == "plugin":
            enabled.add(name)
        elif part == "settings":
            settings[name] = value
        else:
            wording[name] = int(value)
    return StoredState(frozenset(enabled), settings, wording)
