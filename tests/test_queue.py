"""The task queue (issue 2, item 6) through a real consumer: `python -m core.cli worker` in a
subprocess, on the default SQLite huey storage and on Redis.

The worker loads the sample fixture plugin through an entry point, exactly as it would load a
third-party plugin. The test process enqueues sample's add_note task; the worker runs it inside an
app context (the note it writes carries current_app.name) with a database connection (the row is
there afterwards, and the task returns the count it read). sample's periodic task and core's
heartbeat run too, and /healthz then reports the worker as ok.
"""

from __future__ import annotations

import os

import pytest
from fixtures import sample_plugin
from fixtures.processes import instance_env, json_lines, start_worker, wait_for, with_sample_plugin
from fixtures.sample_plugin import Note

from core.db import connection
from core.plugins import get_registry
from core.schema import upgrade

REDIS_URL = os.environ.get("REDUMBRELLA_TEST_REDIS_URL", "")


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request) -> dict:
    """Settings shared by the test's app and its worker: which queue storage to use."""
    if request.param == "sqlite":
        return {}
    assert REDIS_URL, "set REDUMBRELLA_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run Redis tests"
    return {"REDIS_URL": REDIS_URL}


@pytest.fixture
def queue_app(app, make_app, backend):
    """An app with the sample plugin that enqueues for a real worker (not immediate)."""
    built = make_app({"QUEUE_IMMEDIATE": False, **backend}, extra_plugins=[sample_plugin])
    with built.app_context(), connection():
        upgrade(built)
        get_registry(built).set_enabled("sample", True)
    huey = built.extensions["redumbrella.queue"].huey
    huey.flush()  # this instance's queue, schedule and results only (one huey name, one Redis db)
    yield built
    huey.flush()


def _notes(app) -> list[str]:
    with app.app_context(), connection():
        return [note.text for note in Note.select().order_by(Note.id)]


def test_task_runs_through_a_real_consumer_and_heartbeat_reaches_healthz(queue_app, backend, database_url, tmp_path):
    client = queue_app.test_client()
    assert client.get("/healthz").get_json()["worker"] == "unknown", "no worker has run yet"

    huey = queue_app.extensions["redumbrella.queue"].huey
    with queue_app.app_context():
        result = sample_plugin.add_note("from the queue")
    assert huey.pending_count() == 1, "the task waits in the queue storage until a worker takes it"
    assert _notes(queue_app) == []

    env = with_sample_plugin(instance_env(tmp_path / "instance", database_url, **backend), tmp_path / "site")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        count = wait_for(lambda: result.get(), 30, "the task's result", worker)
        notes = _notes(queue_app)
        assert "from the queue (core)" in notes, "the task ran in the worker, inside the app's context"
        assert notes.index("from the queue (core)") + 1 <= count <= len(notes), "it read the table it wrote"

        # The plugin's periodic task and core's heartbeat ran in the worker's scheduler.
        wait_for(lambda: "tick" in _notes(queue_app), 30, "sample's periodic task", worker)
        wait_for(lambda: client.get("/healthz").get_json()["worker"] == "ok", 30, "the heartbeat", worker)
        report = client.get("/healthz")
        assert report.status_code == 200 and report.get_json()["queue"] == "ok"

        # A task enqueued while the worker is running is picked up too.
        with queue_app.app_context():
            second = sample_plugin.add_note("second")
        assert wait_for(lambda: second.get(), 30, "the second result", worker) == len(_notes(queue_app))
        assert "second (core)" in _notes(queue_app)
    finally:
        worker.stop()
    lines = json_lines(worker.output())
    assert not any(line.get("level") == "ERROR" for line in lines), worker.output()[-2000:]


def test_healthz_answers_503_when_the_queue_cannot_be_reached(app, make_app):
    from fixtures.processes import free_port

    unreachable = make_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "QUEUE_IMMEDIATE": False})
    health = unreachable.test_client().get("/healthz")
    assert health.status_code == 503
    body = health.get_json()
    assert body["queue"] == "unavailable" and body["database"] == "ok" and body["status"] == "unavailable"
