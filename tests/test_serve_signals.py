"""`redumbrella serve` stops on Ctrl+C (SIGINT), also when it was started with SIGINT ignored; it runs whole
or not at all: a process that dies stops the rest with a failure, and killing it stops its children."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

from fixtures.processes import PYTHON, ROOT, free_port, http_get, instance_env, run_cli, wait_for


def test_serve_stops_on_sigint_even_when_started_with_it_ignored(database_url, tmp_path):
    env = instance_env(tmp_path / "instance", database_url)
    assert run_cli(["init"], env).returncode == 0
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    serve = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "core.cli", "serve", "--port", str(port), "--workers", "1"], env=env, cwd=ROOT,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as for a shell's background job
    )
    try:
        wait_for(lambda: http_get(port, "/healthz")[0] in {200, 503}, 60, "the web server")
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=30) == 0
        wait_for(lambda: http_get(port, "/healthz")[0] == 0, 10, "the web server to stop")
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
        log.close()


def _serve(env, tmp_path, port):
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - the caller closes it
    serve = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "core.cli", "serve", "--port", str(port), "--workers", "1"], env=env, cwd=ROOT,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    wait_for(lambda: http_get(port, "/healthz")[0] in {200, 503}, 60, "the web server")
    return serve, log


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_when_the_worker_dies_the_platform_stops_with_a_failure_naming_it(database_url, tmp_path):
    """A clean exit would tell systemd's Restart=on-failure not to start it again."""
    env = instance_env(tmp_path / "instance", database_url)
    assert run_cli(["init"], env).returncode == 0
    port = free_port()
    serve, log = _serve(env, tmp_path, port)
    try:
        worker = next(pid for pid in _children(serve.pid) if "core.cli worker" in _command(pid))
        os.kill(worker, signal.SIGKILL)
        assert serve.wait(timeout=40) == 1
        assert http_get(port, "/healthz")[0] == 0  # the web server went with it
        lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()
                 if '"process_stopped"' in line]
        assert [(line["process"], line["signal"], line["level"]) for line in lines] == [("worker", 9, "ERROR")]
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
        log.close()


def test_when_the_launcher_is_killed_its_children_stop_too(database_url, tmp_path):
    """Nothing keeps serving unsupervised, nor holds the port against the next start."""
    env = instance_env(tmp_path / "instance", database_url)
    assert run_cli(["init"], env).returncode == 0
    port = free_port()
    serve, log = _serve(env, tmp_path, port)
    children = _children(serve.pid)
    try:
        assert len(children) == 2
        os.kill(serve.pid, signal.SIGKILL)  # the launcher: `serve` became it
        serve.wait(timeout=10)
        wait_for(lambda: not any(_alive(pid) for pid in children), 40, "gunicorn and the worker to stop")
        assert http_get(port, "/healthz")[0] == 0
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()
