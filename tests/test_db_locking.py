"""The concurrency rule of core.db: a transaction that reads and then writes from what it read
neither fails (SQLite's "database is locked") nor loses another's update (PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest

from core.db import db, lock_row


def read_then_write(app, user_id: int, started: threading.Barrier, errors: list) -> None:
    """Read a number, wait while the other thread does the same, then write the number plus one."""
    from core.accounts.models import User

    with app.app_context():
        db.connect(reuse_if_open=True)
        try:
            started.wait(timeout=10)
            with db.atomic():
                lock_row(User, user_id)
                seen = User.select(User.session_version).where(User.id == user_id).scalar()
                time.sleep(0.3)  # the other writer is in its transaction by now
                User.update(session_version=seen + 1).where(User.id == user_id).execute()
        except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
            errors.append(repr(exc))
        finally:
            db.close()


def test_two_read_then_write_transactions_both_land(app, make_user):
    from core.accounts.models import User

    user = make_user("member")
    with app.app_context():
        db.connect(reuse_if_open=True)
        before = User.get_by_id(user.id).session_version
        db.close()
    errors: list = []
    started = threading.Barrier(2)
    threads = [threading.Thread(target=read_then_write, args=(app, user.id, started, errors)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    with app.app_context():
        db.connect(reuse_if_open=True)
        assert User.get_by_id(user.id).session_version == before + 2
        db.close()


def test_lock_row_outside_a_transaction_is_a_mistake(ctx, make_user):
    from core.accounts.models import User

    user = make_user("member")
    with pytest.raises(RuntimeError, match="needs a transaction"):
        lock_row(User, user.id)
