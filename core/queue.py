"""The task queue: one huey instance per app, SQLite by default, Redis when REDIS_URL is set.

Plugins declare tasks with @task or @periodic_task in their tasks.py, unbound to any queue, and
return them from the register_tasks hook. Core binds them to the app's huey under the name
"<plugin>.<function>", runs each inside an app context with a database connection, and skips a
task whose plugin is disabled at the moment it would run.

The SQLite queue file is opened (and made) on first use, not when the app is built: a command that
never enqueues (`backup` of an instance whose disk turned read-only) runs without it. The worker
opens it before it starts; a file that cannot be opened is one clear line (QueueStorageError).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from huey import RedisHuey, SqliteHuey, crontab

from core import db as database
from core.config import ConfigError

log = logging.getLogger("redumbrella.queue")
EXTENSION = "redumbrella.queue"


@dataclass
class TaskSpec:
    """A plugin task before it is bound to a queue. Calling it enqueues it on the current app."""

    function: Callable
    options: dict = field(default_factory=dict)
    schedule: Any = None  # a huey crontab for periodic tasks

    @property
    def function_name(self) -> str:
        return self.function.__name__

    def __call__(self, *args, **kwargs):
        return current_queue().enqueue(self, *args, **kwargs)

    def schedule_in(self, delay: int, *args, **kwargs):
        """Enqueue to run after `delay` seconds."""
        bound = current_queue().bound(self)
        return bound.schedule(args=args, kwargs=kwargs, delay=delay)

    def run_now(self, *args, **kwargs):
        """Run in this process, for CLI commands and tests of the task's own logic."""
        return self.function(*args, **kwargs)


def task(**options) -> Callable[[Callable], TaskSpec]:
    """Declare a task; options are huey's (retries, retry_delay, priority, expires)."""

    def wrap(function: Callable) -> TaskSpec:
        return TaskSpec(function, options)

    return wrap


def periodic_task(schedule, **options) -> Callable[[Callable], TaskSpec]:
    """Declare a periodic task; schedule is a huey crontab, e.g. crontab(minute="*/5")."""

    def wrap(function: Callable) -> TaskSpec:
        return TaskSpec(function, options, schedule)

    return wrap


class Queue:
    """The app's huey instance with its bound tasks."""

    def __init__(self, app):
        self.app = app
        self.huey = make_huey(app)
        self._name_of: dict[int, str] = {}  # id of a TaskSpec -> its queue name
        self._by_name: dict[str, Any] = {}  # queue name -> the task bound to huey
        self.names: dict[str, str] = {}  # queue name -> owning plugin

    def bind(self, owner: str, spec: TaskSpec) -> None:
        name = f"{owner}.{spec.function_name}"
        runner = _runner(self.app, owner, spec.function, periodic=spec.schedule is not None)
        runner.__name__ = spec.function_name
        if spec.schedule is not None:
            bound = self.huey.periodic_task(spec.schedule, name=name, **spec.options)(runner)
        else:
            bound = self.huey.task(name=name, **spec.options)(runner)
        self._name_of[id(spec)] = name
        self._by_name[name] = bound
        self.names[name] = owner

    def name_of(self, spec: TaskSpec) -> str:
        """The task's queue name, "<plugin>.<function>", under which enqueue_named finds it again."""
        try:
            return self._name_of[id(spec)]
        except KeyError:
            raise LookupError(f"task {spec.function_name} is not returned by its plugin's register_tasks") from None

    def bound(self, spec: TaskSpec):
        return self._by_name[self.name_of(spec)]

    def enqueue(self, spec: TaskSpec, *args, **kwargs):
        return self.bound(spec)(*args, **kwargs)

    def enqueue_named(self, name: str, *args, **kwargs) -> bool:
        """Enqueue a task by its queue name; False when no task has that name (its plugin is gone)."""
        bound = self._by_name.get(name)
        if bound is None:
            return False
        bound(*args, **kwargs)
        return True


def _runner(app, owner: str, function: Callable, periodic: bool = False) -> Callable:
    """Wrap a task so it runs in an app context, with a connection, only while its plugin is on."""

    def run(*args, **kwargs):
        with app.app_context(), database.connection():
            from core.plugins import get_registry

            if not get_registry(app).is_enabled(owner):
                level = logging.DEBUG if periodic else logging.INFO
                log.log(level, "task skipped", extra={"event": "task_skipped", "plugin": owner})
                return None
            return function(*args, **kwargs)

    return run


class QueueStorageError(ConfigError):
    """The SQLite queue file cannot be opened for writing (a read-only or full disk, a folder the
    service's user cannot write): printed as one line, like a bad setting."""


class _LazyStorage:
    """huey's SQLite storage, opened on first use (huey opens it, and writes its pragmas and tables,
    as soon as it is made)."""

    def __init__(self, make: Callable, path: Path):
        self._make, self._path = make, path
        self._storage = None
        self._lock = threading.Lock()

    def open(self):
        if self._storage is None:
            with self._lock:
                if self._storage is None:
                    try:
                        self._path.parent.mkdir(parents=True, exist_ok=True)
                        self._storage = self._make()
                    except (OSError, sqlite3.Error) as exc:
                        raise QueueStorageError(
                            f"the task queue {self._path} cannot be opened for writing ({exc}): "
                            f"{self._path.parent} must be writable by this user, on a disk that is "
                            "neither read-only nor full"
                        ) from None
        return self._storage

    def __getattr__(self, name):
        return getattr(self.open(), name)


class _LazySqliteHuey(SqliteHuey):
    def create_storage(self):
        if self.immediate:  # in memory: nothing to open (`redumbrella --help`)
            return super().create_storage()
        return _LazyStorage(super().create_storage, Path(self.storage_kwargs["filename"]))


def make_huey(app):
    config = app.config
    immediate = config["QUEUE_IMMEDIATE"]
    if config["REDIS_URL"]:
        return RedisHuey("redumbrella", url=config["REDIS_URL"], immediate=immediate, utc=True)
    path = Path(app.instance_path) / "queue.sqlite3"
    # The same 10 s wait for a busy queue file as the database has (huey's default is 5 s).
    return _LazySqliteHuey("redumbrella", filename=str(path), immediate=immediate, utc=True, timeout=10)


def open_storage(huey) -> None:
    """Open the queue's storage now (the SQLite file is otherwise opened on first use)."""
    storage = huey.storage
    if isinstance(storage, _LazyStorage):
        storage.open()


def init_app(app) -> Queue:
    from core.plugins import get_registry

    queue = Queue(app)
    for owner, spec in get_registry(app).call_each("register_tasks", app=app):
        queue.bind(owner, spec)
    app.extensions[EXTENSION] = queue
    return queue


def current_queue() -> Queue:
    return current_app.extensions[EXTENSION]


def run_worker(app, workers: int, worker_type: str = "thread") -> None:
    """Run a huey consumer in the foreground until it is stopped (SIGINT/SIGTERM)."""
    queue = app.extensions[EXTENSION]
    open_storage(queue.huey)  # a queue file that cannot be written: one line, before any thread starts
    consumer = queue.huey.create_consumer(
        workers=workers,
        worker_type=worker_type,
        periodic=True,
        initial_delay=0.1,
        backoff=1.15,
        max_delay=2.0,
        check_worker_health=True,
    )
    consumer.run()


__all__ = ["TaskSpec", "crontab", "periodic_task", "task", "Queue", "init_app", "current_queue", "run_worker"]
