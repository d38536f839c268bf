"""Shared steps for the casework intake and case tests (no tests here)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import using_postgres
from helpers import enable, enrol_two_factor

from core.db import connection, db


@contextmanager
def in_db(app):
    with app.app_context(), connection():
        yield


def token_for(app, user) -> str:
    from core.accounts.tokens import create_token
    from core.permissions import staff_roles

    if staff_roles(app) & set(user.role_names):  # staff tokens work once two-factor sign-in is set up
        enrol_two_factor(app, user)
    with in_db(app):
        _record, token = create_token(user, "tests")
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def casework_values(app) -> list[str]:
    """Every value of every casework row, decrypted (as the application reads them), as text."""
    from plugins.casework.models import MODELS

    found = []
    with in_db(app):
        for model in MODELS:
            for row in model.select().dicts():
                found.extend(str(value) for value in row.values() if value is not None)
    return found


def raw_database_text(app) -> str:
    """What is stored, as stored: the SQLite files on disk, or every value on PostgreSQL."""
    if using_postgres():
        with in_db(app):
            parts = []
            for table in db.get_tables():
                cursor = db.execute_sql(f'SELECT * FROM "{table}"')  # noqa: S608  # table names from the catalog
                parts.extend(str(value) for row in cursor.fetchall() for value in row)
            return "\n".join(parts)
    url = app.config["DATABASE_URL"]
    path = Path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    text = b""
    for candidate in (path, Path(str(path) + "-wal")):
        if candidate.exists():
            text += candidate.read_bytes()
    return text.decode("latin-1")


def make_case(app, worker, **contact):
    """A case opened from a self-referral, accepted by `worker` (the service, as the page does)."""
    from plugins.casework import service
    from plugins.casework.models import Referral

    with app.test_request_context(), connection():
        referral = Referral.create(source="self", working_name="Test Sky", contact="07700 900001",
                                   contact_method="text", **contact)
        return service.accept_referral(referral, worker).reference


@pytest.fixture
def with_casework(app):
    """The app with the casework module on; a test file takes it as ``app = with_casework``."""
    enable(app, "casework")
    return app


def referral_count(app) -> int:
    """How many referrals (requests for support, a partner's referrals) there are."""
    from plugins.casework.models import Referral

    with in_db(app):
        return Referral.select().count()
