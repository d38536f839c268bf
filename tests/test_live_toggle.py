"""Enable and disable without a restart (issue 2, item 4), across real processes.

Two separate gunicorn web processes and one queue worker run on the same instance and database.
`redumbrella plugins disable training`, run as its own process, is followed by both web processes
on their very next request (404) and by the worker (training's task is skipped); enabling it again
brings the page (200) and the task back. Runs on SQLite (a copy of the migrated database) and on
PostgreSQL (the test database).
"""

from __future__ import annotations

import pytest
from fixtures.processes import (
    http_get,
    instance_env,
    json_lines,
    run_cli,
    start_web,
    start_worker,
    wait_for,
    wait_web,
)

from core.db import connection
from core.plugins import get_registry

pytestmark = pytest.mark.slow


def _skipped_training_tasks(worker) -> int:
    return sum(
        1
        for line in json_lines(worker.output())
        if line.get("event") == "task_skipped" and line.get("plugin") == "training"
    )


def test_web_processes_and_worker_follow_the_cli(app, make_app, database_url, tmp_path):
    from plugins.training.models import Course
    from plugins.training.tasks import count_courses

    with app.app_context(), connection():
        get_registry(app).set_enabled("training", True)
        Course.create(title="Working safely together")
        Course.create(title="Listening without judgement")
    # The test's own app enqueues onto the worker's queue (same instance folder, not immediate).
    producer = make_app({"QUEUE_IMMEDIATE": False})
    producer.extensions["redumbrella.queue"].huey.flush()

    env = instance_env(tmp_path / "instance", database_url)
    processes = []
    try:
        worker = start_worker(env, tmp_path / "worker.log")
        processes.append(worker)
        web_a, port_a = start_web(env, tmp_path / "web-a.log")
        processes.append(web_a)
        web_b, port_b = start_web(env, tmp_path / "web-b.log")
        processes.append(web_b)
        ports = (port_a, port_b)
        wait_web(web_a, port_a)
        wait_web(web_b, port_b)

        def pages():
            return [http_get(port, "/training/")[0] for port in ports]

        def nav_links():
            return ['href="/training/"' in http_get(port, "/")[1] for port in ports]

        def run_count():
            with producer.app_context():
                result = count_courses()
            return wait_for(lambda: result.get(), 30, "training's task in the worker", worker)

        assert pages() == [200, 200] and nav_links() == [True, True]
        assert run_count() == 2

        disabled = run_cli(["plugins", "disable", "training"], env)
        assert disabled.returncode == 0, disabled.stderr
        assert "training disabled" in disabled.stdout
        # No waiting: each web process follows on its next request.
        assert pages() == [404, 404]
        assert nav_links() == [False, False]
        assert pages() == [404, 404]

        with producer.app_context():
            skipped = count_courses()
        wait_for(lambda: _skipped_training_tasks(worker) == 1, 30, "the worker to skip training's task", worker)
        assert skipped.get() is None, "a skipped task returns nothing"

        enabled = run_cli(["plugins", "enable", "training"], env)
        assert enabled.returncode == 0, enabled.stderr
        assert pages() == [200, 200] and nav_links() == [True, True]
        assert run_count() == 2, "the task runs again, on the data that was kept"
        assert _skipped_training_tasks(worker) == 1
        for proc in processes:
            assert proc.alive(), proc.output()[-2000:]
    finally:
        for proc in processes:
            proc.stop()
        producer.extensions["redumbrella.queue"].huey.flush()
