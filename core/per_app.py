"""What a process keeps for one app (a store of made answers, the migration files it found): made
on first use, then shared by that app's requests, threads and tasks.

It lives in `app.extensions` under a name, so two apps in one process (tests, the CLI's checks)
never share one. Two threads may both make it on a first request; one of the two is kept, which
is harmless for what is kept this way (each is worked out again from the stored state)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")


def per_app(name: str, make: Callable[[], T], app=None) -> T:
    app = app or current_app
    found = app.extensions.get(name)
    if found is None:
        found = app.extensions[name] = make()
    return found
