"""What every bench script shares: an empty PostgreSQL database to measure on."""

from __future__ import annotations

from urllib.parse import urlparse


def prepare_postgres(url: str) -> None:
    """Create the database if it is missing, then empty its public schema (it is the bench's own)."""
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username, dbname=name)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    conn.close()


# A throwaway key for the throwaway instances the benches build.
ENCRYPTION_KEY = "3i57ymqIUcAp2xEzz6kSdNKVhQm6kgSeCp9OyF8RHSk="


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def instance_env(instance, database_url: str, **settings: str) -> dict:
    """The environment of a bench instance: this process's, without any REDUMBRELLA_* it had, plus
    the instance's own keys and the given settings (LOG_LEVEL="INFO" becomes REDUMBRELLA_LOG_LEVEL)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("REDUMBRELLA_")}
    env.update({
        "REDUMBRELLA_INSTANCE_PATH": str(instance),
        "REDUMBRELLA_DATABASE_URL": database_url,
        "REDUMBRELLA_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "REDUMBRELLA_BLIND_INDEX_KEY": "bench-blind-index-key",
        "REDUMBRELLA_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
    })
    env.update({f"REDUMBRELLA_{name}": value for name, value in settings.items()})
    return env


def default_install_python(database: str):
    """The Python of Red Umbrella installed as the README's first command installs it: no extras on
    SQLite (so neither psycopg2 nor the Redis client is there for peewee and huey to import, about
    15 MiB a process), `[postgres]` on PostgreSQL. Made once in the user's cache folder
    (~/.cache/redumbrella-bench/default-venv-<database>), outside the checkout so that nothing
    walking the source tree meets its site-packages; an editable install of this checkout, so it
    always runs the current code."""
    import os
    import subprocess  # nosec B404  # fixed argument lists
    import venv
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "redumbrella-bench" / f"default-venv-{database}"
    python = folder / "bin" / "python"
    if not python.exists():
        print(f"  making {folder} (once): the install the README's first command makes", flush=True)
        venv.EnvBuilder(with_pip=True).create(folder)
        pinned = ["-c", str(root / "constraints.txt")]
        target = str(root) + ("[postgres]" if database == "postgres" else "")
        for packages in (["--upgrade", "pip", "setuptools>=68", "wheel", "babel"], ["-e", target]):
            subprocess.run([str(python), "-m", "pip", "install", "-q", *pinned, *packages],  # noqa: S603  # nosec B603
                           check=True, stdout=subprocess.DEVNULL)
    return str(python)


def install_stack(app, person_of) -> None:
    """What the fixed stack and the platform's standing rules cost on every request, and nothing of
    the platform's own code, installed on a bare Flask app (the stack's floors: bench_check's
    make_stack_floor_app, yardsticks' make_app(stack=True)):

    - Flask-Login: the person comes from the bearer token through a request loader, person_of(token)
      -> account id or None (the token's statement, through the driver);
    - flask-babel: each request's language is chosen (Accept-Language, before the view);
    - one JSON log line a request (core.logs.JsonFormatter, to standard error as the platform's);
    - the platform's security headers (core.security's values), and no-store on every answer.

    Not here: guards, the plugin registry, the two-factor rule, the wording overlay, per-app caches,
    the audit model. What a platform row loses beyond its stack's floor is what they cost."""
    import logging
    import sys
    import time

    from flask import g, request
    from flask_babel import Babel, get_locale
    from flask_login import LoginManager, UserMixin

    from core.logs import JsonFormatter
    from core.security import ALWAYS, CONTENT_SECURITY_POLICY, NOT_KEPT

    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or "the stack's floor"
    Babel(app, locale_selector=lambda: request.accept_languages.best_match(["en", "fr", "es", "ar"]) or "en")
    logins = LoginManager(app)

    class Person(UserMixin):
        def __init__(self, number: int):
            self.id = number

    @logins.request_loader
    def _person(here):
        token = here.headers.get("Authorization", "")
        account = person_of(token.removeprefix("Bearer ")) if token.startswith("Bearer ") else None
        return Person(account) if account else None

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("bench.stack.request")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False

    @app.before_request
    def _begin():
        g.started = time.perf_counter()
        str(get_locale())

    @app.after_request
    def _end(response):
        headers = response.headers
        headers.add("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        for key, value in (*ALWAYS, *NOT_KEPT):
            headers.add(key, value)
        log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", None, None, extra={
            "event": "request", "method": request.method, "endpoint": request.endpoint or "-",
            "status": response.status_code, "duration_ms": round((time.perf_counter() - g.started) * 1000, 1)}))
        return response
