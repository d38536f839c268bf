"""Installing (issue 13): the database and queue drivers are extras, and no other distribution may
install Red Umbrella's top-level packages (core.installation).

Each case runs the real `redumbrella` command in a fresh process. A driver that is not installed
is made so the way Python itself knows it: `sys.modules[name] = None` makes every `import name`
fail with ImportError. Another distribution is a real one on the path: a `.dist-info` folder
whose top_level.txt names `plugins`, as pip would leave it.
"""

from __future__ import annotations

import os
import subprocess  # noqa: S404 - our own command, in a fresh interpreter
import sys
from configparser import ConfigParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # fresh processes on their own SQLite instance: the same on any database

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "REDUMBRELLA_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "REDUMBRELLA_ENCRYPTION_KEYS": "3i57ymqIUcAp2xEzz6kSdNKVhQm6kgSeCp9OyF8RHSk=",
    "REDUMBRELLA_BLIND_INDEX_KEY": "test-blind-index-key",
}


def redumbrella(tmp_path: Path, *args: str, without: tuple[str, ...] = (), env: dict | None = None,
                path: Path | None = None) -> subprocess.CompletedProcess:
    """`redumbrella ARGS` in a new interpreter where the modules in `without` cannot be imported."""
    code = (
        "import sys\n"
        f"for name in {list(without)!r}:\n"
        "    sys.modules[name] = None\n"
        f"sys.argv = ['redumbrella', *{list(args)!r}]\n"
        "from core.cli import main\n"
        "main()\n"
    )
    clean = {key: value for key, value in os.environ.items() if not key.startswith("REDUMBRELLA_")}
    clean.update(KEYS, REDUMBRELLA_INSTANCE_PATH=str(tmp_path / "instance"), **(env or {}))
    clean["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path, ROOT) if p)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, cwd=tmp_path,
                          timeout=300, check=False)


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_postgresql_without_its_driver_stops_start_up_naming_the_extra(tmp_path):
    result = redumbrella(tmp_path, "db", "status", without=("psycopg2",),
                        env={"REDUMBRELLA_DATABASE_URL": "postgresql://127.0.0.1:5432/redumbrella_nowhere"})
    assert result.returncode == 2
    assert one_line(result) == (
        "redumbrella: configuration error: REDUMBRELLA_DATABASE_URL asks for a PostgreSQL database, but its "
        "driver (psycopg2) is not installed: pip install 'redumbrella[postgres]'")
    assert not (tmp_path / "instance").exists(), "nothing is written before the configuration is whole"


def test_a_redis_queue_without_its_driver_stops_start_up_naming_the_extra(tmp_path):
    result = redumbrella(tmp_path, "db", "status", without=("redis",),
                        env={"REDUMBRELLA_REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert result.returncode == 2
    assert one_line(result).endswith("REDUMBRELLA_REDIS_URL asks for a Redis queue, but its driver (redis) is not "
                                     "installed: pip install 'redumbrella[redis]'")


@pytest.mark.slow
def test_sqlite_needs_neither_driver(tmp_path):
    made = redumbrella(tmp_path, "init", "--base-url", "http://127.0.0.1:8000", without=("psycopg2", "redis"))
    assert made.returncode == 0, made.stderr
    status = redumbrella(tmp_path, "db", "status", without=("psycopg2", "redis"))
    assert status.returncode == 0, status.stderr


def test_another_distribution_with_a_package_of_ours_stops_start_up(tmp_path):
    site = tmp_path / "site"
    info = site / "other_tools-2.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: other-tools\nVersion: 2.0\n")
    (info / "top_level.txt").write_text("plugins\n")
    (info / "RECORD").write_text("plugins/__init__.py,,\nplugins/helpers.py,,\n")
    result = redumbrella(tmp_path, "db", "status", path=site)
    assert result.returncode == 2
    assert one_line(result) == (
        "redumbrella: configuration error: the Python package 'plugins' belongs to Red Umbrella, but other-tools "
        "installs one of the same name in this environment: install Red Umbrella in a virtual environment of its "
        "own (docs/deployment.md), or remove other-tools")


def test_this_environment_gives_our_package_names_to_no_one_else():
    from core.installation import foreign_owners

    assert foreign_owners() == {}


def test_the_drivers_are_extras_and_the_commands_install_what_they_use():
    config = ConfigParser()
    config.read(ROOT / "setup.cfg")
    required = config["options"]["install_requires"]
    extras = config["options.extras_require"]
    assert "psycopg2" not in required and "redis" not in required
    assert extras["postgres"].split() == ["psycopg2-binary>=2.9,<3"]
    assert extras["redis"].split() == ["redis>=5,<9"]
    dev = (ROOT / "scripts" / "dev.py").read_text()
    assert 'ensure_venv("[test,postgres,redis]")' in dev and "ensure_venv(extras_for_run())" in dev
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    assert "'/opt/redumbrella/src[postgres,redis]'" in deployment


def test_the_run_command_installs_a_driver_only_when_the_configuration_asks(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    for name in ("REDUMBRELLA_DATABASE_URL", "REDUMBRELLA_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDUMBRELLA_INSTANCE_PATH", str(tmp_path))
    assert dev.extras_for_run() == ""
    (tmp_path / "config.toml").write_text('DATABASE_URL = "postgresql://db.example.org/ru"\n')
    assert dev.extras_for_run() == "[postgres]"
    monkeypatch.setenv("REDUMBRELLA_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert dev.extras_for_run() == "[postgres,redis]"
    monkeypatch.setenv("REDUMBRELLA_DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    assert dev.extras_for_run() == "[redis]"


def test_the_test_command_gives_the_postgresql_pass_its_own_redis_database():
    """The two passes run at once (scripts/dev.py test): their queues must not meet."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    assert dev.other_redis_database("redis://127.0.0.1:6379/15") == "redis://127.0.0.1:6379/14"
    assert dev.other_redis_database("redis://cache.example.org:6380/0") == "redis://cache.example.org:6380/1"
    assert dev.other_redis_database("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379/1"


def test_the_readme_says_how_to_choose_the_address_the_way_dev_py_reads_it(monkeypatch):
    import importlib.util
    import re

    readme = (ROOT / "README.md").read_text()
    assert readme.startswith(
        "# Red Umbrella\n\n```sh\n"
        "python3 scripts/dev.py run     # set up and run the platform on http://127.0.0.1:8000\n"
        "python3 scripts/dev.py test    # set up and run the whole test suite\n```\n")
    example = re.search(r"`((?:[A-Z]+=\S+ )+)python3 scripts/dev\.py run`", readme)
    assert example, "the README shows how to serve on another address or port"
    settings = dict(pair.split("=", 1) for pair in example.group(1).split())
    assert set(settings) == {"HOST", "PORT"}

    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    assert f"HOST={settings['HOST']} PORT={settings['PORT']}" in dev.__doc__
    called = []
    monkeypatch.setattr(dev, "ensure_venv", lambda extras: None)
    monkeypatch.setattr(dev, "extras_for_run", lambda: "")
    monkeypatch.setattr(dev, "sh", lambda *args, **kwargs: called.append([str(a) for a in args]) or 0)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert dev.run() == 0
    init, serve = called
    assert init[1:] == ["init", "--base-url", f"http://127.0.0.1:{settings['PORT']}"]
    assert serve[1:] == ["serve", "--host", settings["HOST"], "--port", settings["PORT"]]
