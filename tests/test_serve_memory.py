"""What keeps `redumbrella serve` small (issue #14, docs/speed.md): one web process of four threads
by default, two malloc arenas, and libraries only some pages need left unloaded until those pages."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fixtures.processes import PYTHON, ROOT, free_port, http_get, instance_env, run, run_cli, wait_for

# Each is a megabyte or more per process, wanted only by uploads, lessons or certificates.
PAGE_SPECIFIC = {"PIL", "segno", "markdown_it", "nh3", "fpdf"}


def test_the_app_and_its_home_page_load_no_page_specific_library(database_url, tmp_path):
    env = instance_env(tmp_path / "instance", database_url)
    assert run_cli(["init"], env).returncode == 0
    assert run_cli(["plugins", "enable", "reporting"], env).returncode == 0
    assert run_cli(["plugins", "enable", "training"], env).returncode == 0
    script = textwrap.dedent(f"""
        import sys
        from core.app import create_app
        app = create_app()
        assert app.test_client().get("/").status_code == 200
        print(sorted({{name.split(".")[0] for name in sys.modules}} & set({sorted(PAGE_SPECIFIC)!r})))
    """)
    result = run([PYTHON, "-c", script], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_gunicorns_master_loads_only_its_logger_not_the_platform():
    """serve's gunicorn master imports core.gunicorn_log for its logger class; importing core with
    it used to load the whole platform into the master too (25 to 52 MiB RSS)."""
    script = textwrap.dedent("""
        import sys
        import core.gunicorn_log
        print(sorted({name.split(".")[0] for name in sys.modules} & {"flask", "werkzeug", "jinja2", "peewee",
                                                                       "huey", "babel", "cryptography",
                                                                       "phonenumbers", "marshmallow", "pluggy"}))
    """)
    result = run([PYTHON, "-c", script], dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _command(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_serve_runs_one_web_process_of_four_threads_with_two_arenas(database_url, tmp_path):
    env = instance_env(tmp_path / "instance", database_url)
    env.pop("MALLOC_ARENA_MAX", None)
    assert run_cli(["init"], env).returncode == 0
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    serve = subprocess.Popen([PYTHON, "-m", "core.cli", "serve", "--port", str(port)],  # noqa: S603
                             env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: http_get(port, "/healthz")[0] == 200, 60, "the web server")
        # Eight requests at once are all answered by the one process's threads.
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert [status for status, _body in pool.map(lambda _n: http_get(port, "/healthz"), range(8))] == [200] * 8
        launched = _children(serve.pid)  # the launcher's children: gunicorn's master and the queue worker
        master = next(pid for pid in launched if "gunicorn" in _command(pid))
        assert any("worker" in _command(pid) for pid in launched)
        command = _command(master)
        assert command[command.index("--threads") + 1] == "4"
        assert command[command.index("--worker-class") + 1] == "gthread"
        web_workers = _children(master)
        assert len(web_workers) == 1
        environ = Path(f"/proc/{web_workers[0]}/environ").read_bytes().split(b"\0")
        assert b"MALLOC_ARENA_MAX=2" in environ
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        finally:
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
            log.close()
