"""gunicorn's own log lines carry no client address and nothing a client sent (core/gunicorn_log.py),
both under `redumbrella serve` and with the configuration file docs/deployment.md gives."""

from __future__ import annotations

import json
import re
import socket

import pytest
from fixtures.processes import PYTHON, ROOT, Process, free_port, http_get, instance_env, run_cli, wait_for

pytestmark = pytest.mark.once  # fresh processes on their own SQLite instance: the same on any database

CANARY = "07700900779"


def _unreadable_request(port: int) -> None:
    """A header line without a colon, as gunicorn quotes back in its error ("Invalid HTTP header name")."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET /?phone={CANARY} HTTP/1.1\r\nHost: x\r\nX-Phone {CANARY}: a\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 400")


def _check_the_log(proc: Process) -> None:
    wait_for(lambda: "invalid_request" in proc.output(), 10, "gunicorn's line about the request", proc)
    output = proc.output()
    assert CANARY not in output and "ip=" not in output
    line = next(line for line in output.splitlines() if "invalid_request" in line)
    assert json.loads(line) | {"time": None} == {"time": None, "level": "WARNING", "logger": "gunicorn.error",
                                                  "message": "refused a request it could not read",
                                                  "event": "invalid_request"}


def _docs_configuration(port: int) -> str:
    """The gunicorn.conf.py of docs/deployment.md, listening on a free port."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    block = re.search(r"```python\n# /etc/redumbrella/gunicorn\.conf\.py\n(.*?)```", text, re.S).group(1)
    assert 'logger_class = "core.gunicorn_log.PrivateLogger"' in block
    return re.sub(r'^bind = .*$', f'bind = "127.0.0.1:{port}"\nworkers = 1', block, flags=re.M)


@pytest.mark.parametrize("how", ["serve", "docs configuration"])
def test_an_unreadable_request_is_logged_without_address_or_content(database_url, tmp_path, how):
    env = instance_env(tmp_path / "instance", database_url)
    assert run_cli(["init"], env).returncode == 0
    port = free_port()
    if how == "serve":
        command = [PYTHON, "-m", "core.cli", "serve", "--port", str(port), "--no-worker"]
    else:
        config = tmp_path / "gunicorn.conf.py"
        config.write_text(_docs_configuration(port))
        command = [PYTHON, "-m", "gunicorn", "--config", str(config), "core.wsgi:app"]
    proc = Process(command, env, tmp_path / "web.log")
    try:
        wait_for(lambda: http_get(port, "/healthz")[0] in {200, 503}, 60, "the web server", proc)
        _unreadable_request(port)
        _check_the_log(proc)
    finally:
        proc.stop()
