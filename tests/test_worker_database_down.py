"""A queue worker started while its database cannot be reached (PostgreSQL starting later than the
worker at boot) says so in one JSON log line and exits with status 1, so its supervisor starts it
again: no traceback in a log that promises one JSON object a line."""

from __future__ import annotations

import json

from fixtures.processes import free_port, instance_env, run_cli


def test_worker_without_its_database_logs_one_line_and_exits_1(tmp_path):
    nothing_there = f"postgresql://redumbrella@127.0.0.1:{free_port()}/redumbrella"  # a port nobody listens on
    done = run_cli(["worker"], instance_env(tmp_path / "instance", nothing_there))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    entry = json.loads(lines[0])
    assert entry["event"] == "database_unavailable" and entry["level"] == "ERROR"
    assert entry["reason"] == "OperationalError" and "the worker stops" in entry["message"]
    assert "Traceback" not in done.stderr + done.stdout
