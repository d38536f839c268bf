"""`redumbrella serve` stops on Ctrl+C (SIGINT), also when it was started with SIGINT ignored."""

from __future__ import annotations

import os
import signal
import subprocess

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
