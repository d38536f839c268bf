#!/usr/bin/env python3
"""The README's two commands, in plain Python so they work on any machine with Python 3.11.

    python3 scripts/dev.py run    set up .venv, create the instance, serve on http://127.0.0.1:8000
                                  (installing the PostgreSQL or Redis driver only when the
                                  configuration asks for them: nothing extra for SQLite);
                                  HOST and PORT in the environment choose another address, as in
                                  HOST=0.0.0.0 PORT=8080 python3 scripts/dev.py run
    python3 scripts/dev.py test   set up .venv with test tools and both drivers, lint, then run the
                                  whole suite on SQLite and on PostgreSQL, both at once (and
                                  Redis, and a real browser); REDUMBRELLA_TEST_SERIAL=1 runs the
                                  PostgreSQL pass after the SQLite one instead

Services that are not on the machine are reported as NOT RUN, never as passed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
# The versions the suite passed with; setup.cfg only bounds them (docs/deployment.md).
CONSTRAINTS = ROOT / "constraints.txt"

POSTGRES_URL = os.environ.get("REDUMBRELLA_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/redumbrella_test")
REDIS_URL = os.environ.get("REDUMBRELLA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("REDUMBRELLA_CHROMIUM", "/usr/bin/chromium")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def sh(*args, **kwargs) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, **kwargs)  # noqa: S603


def libsodium_ready() -> bool:
    """The system's libsodium, which pysodium loads for the federation's blinded check
    (core/federation/oprf.py): Debian's libsodium23, installed here when missing, like chromium."""
    import ctypes.util

    if ctypes.util.find_library("sodium"):
        return True
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing Debian's libsodium for the federation's blinded check")
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "libsodium23", stdout=subprocess.DEVNULL)
    return bool(ctypes.util.find_library("sodium"))


def ensure_venv(extras: str = "") -> None:
    if sys.version_info < (3, 11):
        sys.exit("Red Umbrella needs Python 3.11 or newer.")
    if not libsodium_ready():
        sys.exit("Red Umbrella needs the libsodium library (Debian: apt-get install libsodium23; "
                 "macOS: brew install libsodium).")
    if not PYTHON.exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("installing Red Umbrella and its dependencies (this compiles the translation catalogs)")
    target = f".{extras}" if extras else "."
    quiet = ["-q"] if os.environ.get("CI") else []
    pinned = ["-c", CONSTRAINTS]
    if sh(PYTHON, "-m", "pip", "install", *quiet, *pinned, "--upgrade", "pip", "setuptools>=68", "wheel", "babel"):
        sys.exit("pip could not install its own tools")
    if sh(PYTHON, "-m", "pip", "install", *quiet, *pinned, "-e", target):
        sys.exit("pip install failed")


def extras_for_run() -> str:
    """The extras the instance's configuration needs: `[postgres]` for a PostgreSQL database,
    `[redis]` for a Redis queue, read from REDUMBRELLA_* variables, then the instance's config.toml
    (as Red Umbrella reads them). None for SQLite."""
    import tomllib

    instance = Path(os.environ.get("REDUMBRELLA_INSTANCE_PATH") or ROOT / "instance")
    try:
        configured = tomllib.loads((instance / "config.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        configured = {}  # none yet, or broken: `redumbrella init` will say what is wrong

    def setting(name: str) -> str:
        return str(os.environ.get(f"REDUMBRELLA_{name}") or configured.get(name) or "")

    extras = []
    if setting("DATABASE_URL").startswith("postgres"):
        extras.append("postgres")
    if setting("REDIS_URL"):
        extras.append("redis")
    return f"[{','.join(extras)}]" if extras else ""


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def base_url(host: str, port: str) -> str:
    """Where links in e-mails should point: this machine, as the browser on it reaches the server."""
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104  # listening everywhere: this machine reaches it here
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def run() -> int:
    ensure_venv(extras_for_run())
    redumbrella = BIN / "redumbrella"
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    if sh(redumbrella, "init", "--base-url", base_url(host, port)):
        return 1
    say("starting the web server and a queue worker; stop with Ctrl+C")
    try:
        return sh(redumbrella, "serve", "--host", host, "--port", port)
    except KeyboardInterrupt:  # Ctrl+C reached the server too, which stops itself
        say("stopped")
        return 0


def postgres_ready() -> bool:
    if not reachable("127.0.0.1", 5432):
        return False
    code = (
        "import psycopg2, sys\n"
        "from urllib.parse import urlparse\n"
        f"u = urlparse({POSTGRES_URL!r})\n"
        "c = psycopg2.connect(host=u.hostname, port=u.port or 5432, user=u.username, password=u.password, "
        "dbname='postgres')\n"
        "c.autocommit = True\n"
        "cur = c.cursor()\n"
        "name = u.path.lstrip('/')\n"
        "cur.execute('SELECT 1 FROM pg_database WHERE datname=%s', (name,))\n"
        "cur.fetchone() or cur.execute('CREATE DATABASE \"%s\"' % name)\n"
    )
    return sh(PYTHON, "-c", code) == 0


def chromium_ready() -> bool:
    if Path(CHROMIUM).exists():
        return True
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing Debian's chromium for the browser tests")
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "chromium", stdout=subprocess.DEVNULL)
    return Path(CHROMIUM).exists()


FONTS = ("/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
         "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def fonts_ready() -> bool:
    """The fonts a certificate PDF in Arabic, Thai or Chinese needs (plugins/training/certificate_pdf.py)."""
    if all(Path(font).exists() for font in FONTS):
        return True
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing Debian's Noto fonts for certificates in every script")
        sh("apt-get", "install", "-y", "-qq", "fonts-dejavu-core", "fonts-noto-core", "fonts-noto-cjk",
           stdout=subprocess.DEVNULL)
    return all(Path(font).exists() for font in FONTS)


def other_redis_database(url: str) -> str:
    """The same Redis server, another database number: the PostgreSQL pass's queues apart from
    the SQLite pass's when both run at once (redis://host:port/15 -> /14)."""
    base, _sep, number = url.rpartition("/")
    if not number.isdigit():  # no number: database 0
        return url.rstrip("/") + "/1"
    return f"{base}/{int(number) - 1 if int(number) > 0 else 1}"


def test(pytest_args: list[str]) -> int:
    ensure_venv("[test,postgres,redis]")
    say("lint: ruff")
    if sh(BIN / "ruff", "check", "."):
        return 1
    say("security lint: bandit (findings explained in docs/security.md)")
    if sh(BIN / "bandit", "-q", "-c", "pyproject.toml", "-r", "core", "plugins"):
        return 1

    have_redis = reachable("127.0.0.1", 6379)
    have_browser = chromium_ready()
    have_postgres = postgres_ready()
    have_fonts = fonts_ready()
    deselect = []
    if not have_redis:
        deselect.append("not redis")
    if not have_browser:
        deselect.append("not browser")
    if not have_fonts:
        deselect.append("not fonts")
    marker = ["-m", " and ".join(deselect)] if deselect else []
    env = {**os.environ, "REDUMBRELLA_CHROMIUM": CHROMIUM}
    if have_redis:
        env["REDUMBRELLA_TEST_REDIS_URL"] = REDIS_URL
    env.pop("REDUMBRELLA_TEST_DATABASE_URL", None)

    # Tests marked `once` test what does not depend on the suite's database (they make their own
    # SQLite instance, or check pages' markup, layout and contrast): the SQLite pass runs them.
    pg_env = {**env, "REDUMBRELLA_TEST_DATABASE_URL": POSTGRES_URL}
    if have_redis:  # its own Redis database, so that the two passes can run at once
        pg_env["REDUMBRELLA_TEST_REDIS_URL"] = other_redis_database(REDIS_URL)
    pg_command = [str(a) for a in (PYTHON, "-m", "pytest", "-m", " and ".join([*deselect, "not once"]), *pytest_args)]
    results = {}
    alongside = None
    if have_postgres and not os.environ.get("REDUMBRELLA_TEST_SERIAL"):
        # Both passes at once: each keeps about one core busy, and CI machines have two or more.
        say("test suite on PostgreSQL, alongside the SQLite pass (its output follows that pass's)")
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed once printed
        alongside = subprocess.Popen(pg_command, cwd=ROOT, env=pg_env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    say("test suite on SQLite")
    results["SQLite"] = sh(PYTHON, "-m", "pytest", *marker, *pytest_args, env=env)
    if alongside:
        results["PostgreSQL"] = alongside.wait()
        say("test suite on PostgreSQL (ran alongside the SQLite pass)")
        sys.stdout.flush()
        log.seek(0)
        shutil.copyfileobj(log, sys.stdout.buffer)
        sys.stdout.flush()
        log.close()
    elif have_postgres:
        say("test suite on PostgreSQL")
        results["PostgreSQL"] = sh(*pg_command, env=pg_env)

    print()
    say("summary")
    for name, code in results.items():
        print(f"    {name:<11} {'passed' if code == 0 else f'FAILED (pytest exit {code})'}")
    if not have_postgres:
        print("    PostgreSQL  NOT RUN: no server at 127.0.0.1:5432")
    if not have_redis:
        print("    Redis tests NOT RUN: no server at 127.0.0.1:6379")
    if not have_browser:
        print(f"    Browser tests NOT RUN: no chromium at {CHROMIUM}")
    if not have_fonts:
        print("    Font tests NOT RUN: no Noto fonts (apt-get install fonts-noto-core fonts-noto-cjk)")
    return 0 if all(code == 0 for code in results.values()) else 1


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    if sys.argv[1] == "run":
        return run()
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
