"""The `redumbrella` command: set up, run and look after an instance."""

from __future__ import annotations

import json
import os
import secrets
import sys
import traceback

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from core.config import ConfigError

# Commands that run with keys that may not fit the data: to put things right (forget-file, restore)
# or to read without writing, when the instance has just been found with the wrong keys.
KEYS_MAY_NOT_FIT = frozenset({"keys forget-file", "restore", "backup", "db status", "audit verify"})


def _create_app():
    """The app a command runs on. Before any command but KEYS_MAY_NOT_FIT runs, the keys must fit the
    data already stored (core.key_check): a key file made at this start, or keys from another instance,
    stop it with one line before it writes anything under them."""
    app = __import__("core.app", fromlist=["create_app"]).create_app()
    context = click.get_current_context(silent=True)
    command = " ".join(context.command_path.split()[1:]) if context is not None else ""
    if command not in KEYS_MAY_NOT_FIT:
        from core.key_check import keys_fit_or_unknown

        keys_fit_or_unknown(app)
    return app


def _create_app_for_reading():
    """The app as configured, built without writing anything: no instance folder, secret key, key
    files or queue file are created. Only for knowing which commands plugins add (`--help`); a
    command that runs gets the real app (_create_app)."""
    from cryptography.fernet import Fernet

    from core.app import create_app

    throwaway = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BLIND_INDEX_KEY": secrets.token_hex(32),
        "AUDIT_KEYS": secrets.token_hex(32),
        "QUEUE_IMMEDIATE": True,  # huey keeps an immediate queue in memory
    }
    return create_app(throwaway)


class Cli(FlaskGroup):
    """Flask's group without its default commands (run, shell, routes): ours are below.

    Finding a command (for `--help`, or to dispatch `redumbrella <plugin> ...`) builds the app
    without writing anything; only a command that runs builds the real one, through
    with_appcontext. So `redumbrella --help` on a new machine creates no instance folder or keys.
    """

    def __init__(self, **kwargs):
        super().__init__(
            create_app=_create_app,
            add_default_commands=False,
            add_version_option=False,
            load_dotenv=False,
            **kwargs,
        )
        # Flask's --app, --env-file and --debug make no sense here: there is one app.
        self.params = [param for param in self.params if param.name not in {"app", "env_file", "debug"}]

    @staticmethod
    def _app_for_commands(ctx):
        info = ctx.ensure_object(ScriptInfo)
        if info._loaded_app is not None or info.create_app is not _create_app:
            return info.load_app()  # already built, or a test's app (FlaskCliRunner)
        meta = ctx.find_root().meta
        if "redumbrella.app_for_commands" not in meta:
            meta["redumbrella.app_for_commands"] = _create_app_for_reading()
        return meta["redumbrella.app_for_commands"]

    def list_commands(self, ctx):
        names = set(click.Group.list_commands(self, ctx))
        try:
            names.update(self._app_for_commands(ctx).cli.list_commands(ctx))
        except ConfigError:
            raise  # a bad setting or plugin: main()'s one clear line, not a traceback
        except Exception:  # noqa: BLE001 - any other failure: say it, and still list core's commands
            click.secho(traceback.format_exc(), err=True, fg="red")
        return sorted(names)

    def get_command(self, ctx, name):
        found = click.Group.get_command(self, ctx, name)
        if found is not None:
            return found
        return self._app_for_commands(ctx).cli.get_command(ctx, name)


class PluginCommands(click.Group):
    """A plugin's commands: `redumbrella <plugin> ...`, refused while that plugin is disabled.

    Runs them on the real app (the one that found them may have been built only for reading)."""

    def invoke(self, ctx):
        from core.plugins import get_registry

        if "--help" in ctx.args:  # `redumbrella training add-course --help`: only the help, nothing built
            return super().invoke(ctx)
        app = ctx.ensure_object(ScriptInfo).load_app()
        ctx.with_resource(app.app_context())
        with _Db():
            if not get_registry(app).is_enabled(self.name):
                raise click.ClickException(
                    f"the {self.name} plugin is disabled: `redumbrella plugins enable {self.name}` first"
                )
        return super().invoke(ctx)


@click.group(cls=Cli, help="Red Umbrella: safety tools for sex worker-led organisations.")
def cli():
    pass


class _Db:
    """Open a connection for the length of a command."""

    def __enter__(self):
        from core.db import connection

        self._connection = connection()
        return self._connection.__enter__()

    def __exit__(self, *exc):
        return self._connection.__exit__(*exc)


def _fail_if_behind() -> None:
    from core.schema import pending

    behind = pending(current_app)
    if behind:
        raise click.ClickException(
            f"the database is behind by {len(behind)} migration(s) ({', '.join(behind[:3])}"
            f"{', ...' if len(behind) > 3 else ''}): run `redumbrella db upgrade` first"
        )


def _upgrade() -> list[str]:
    """Migrate, then check and record the keys (core.key_check), now that the table for them exists
    and every value is in its current form. The keys were checked already as the command started
    (_create_app), against the proof, when the database had one."""
    from core.key_check import confirm
    from core.schema import upgrade

    applied = upgrade(current_app)
    confirm(current_app)
    return applied


# -- init, serve, worker ---------------------------------------------------------------------


@cli.command()
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True,
              help="Where people reach the site, for links in e-mails; written to config.toml unless "
                   "BASE_URL is already set.")
@with_appcontext
def init(base_url):
    """Create the instance: folder, keys, secret key, config.toml's BASE_URL and the database."""
    from core.config import ConfigError, add_to_config_file, check_base_url

    try:
        base_url = check_base_url(base_url)
    except ConfigError as exc:
        raise click.BadParameter(str(exc).replace("REDUMBRELLA_BASE_URL", "--base-url")) from None
    with _Db():
        applied = _upgrade()
    click.echo(f"Instance ready in {current_app.instance_path}")
    click.echo(f"Database: {len(applied)} migration(s) applied" if applied else "Database: already up to date")
    if current_app.config["BASE_URL"]:
        click.echo(f"Links in e-mails point to {current_app.config['BASE_URL']} (BASE_URL)")
    elif base_url:
        try:
            path, base_url = add_to_config_file(
                current_app.instance_path, "BASE_URL", base_url,
                "Where people reach the site: links in e-mails start with it (redumbrella init).")
        except OSError as error:
            click.echo(f"BASE_URL could not be written to config.toml ({error.strerror or type(error).__name__}): "
                       "set REDUMBRELLA_BASE_URL to the public address instead.", err=True)
        else:
            current_app.config["BASE_URL"] = base_url
            click.echo(f"Links in e-mails point to {base_url}: BASE_URL in {path}; change it to the public address.")
    click.echo("Next: `redumbrella users create you@example.org --role admin`, or `redumbrella demo`.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Web worker processes.")
@click.option("--threads", default=4, show_default=True, type=int,
              help="Threads in each web worker (1: one request per process at a time).")
@click.option("--with-worker/--no-worker", default=True, show_default=True, help="Also run a queue worker.")
@with_appcontext
def serve(host, port, workers, threads, with_worker):
    """Serve the platform with gunicorn (and a queue worker beside it).

    One web process of four threads by default: the app is about 70 MiB a process, and a thread
    waiting on the database or a slow hash lets the others answer (docs/deployment.md)."""
    with _Db():
        _fail_if_behind()
    # glibc gives each thread that allocates its own malloc arena; Python threads take turns under
    # the GIL anyway, so two arenas cost no speed and save memory (an operator's value wins).
    env = {"MALLOC_ARENA_MAX": "2", **os.environ, "REDUMBRELLA_INSTANCE_PATH": current_app.instance_path}
    gunicorn = [
        sys.executable, "-m", "gunicorn", "core.wsgi:app", "--no-control-socket",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread" if threads > 1 else "sync",
        "--access-logfile", "-", "--access-logformat", '{"event":"access","status":%(s)s,"method":"%(m)s"}',
        "--logger-class", "core.gunicorn_log.PrivateLogger",  # its own lines without addresses or input
    ]
    commands = [gunicorn]
    if with_worker:
        commands.append([sys.executable, "-m", "core.cli", "worker"])
    click.echo(f"Red Umbrella is running on http://{host}:{port}/ (Ctrl+C to stop)")
    # From here on this process only waits on its children: it becomes core/launcher.py, which holds
    # no app (a tenth of the memory), rather than keeping this one alive for as long as they run.
    from pathlib import Path

    from core.db import db

    db.close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    launcher = str(Path(__file__).with_name("launcher.py"))
    os.execve(sys.executable, [sys.executable, "-I", "-S", launcher, json.dumps(commands)], env)  # noqa: S606  # nosec B606


@cli.command()
@click.option("--workers", "-w", default=None, type=int, help="Worker threads (default: QUEUE_WORKERS).")
@with_appcontext
def worker(workers):
    """Run a queue consumer until stopped."""
    from core.queue import run_worker

    if current_app.config["QUEUE_IMMEDIATE"]:
        raise click.ClickException("REDUMBRELLA_QUEUE_IMMEDIATE is on: tasks run in the web process, no worker needed")
    from peewee import InterfaceError, OperationalError

    try:
        with _Db():
            _fail_if_behind()  # tasks would fail on missing tables; say so once instead
            _fail_if_read_only()  # ... or on every write, each with its stack, every minute
    except (OperationalError, InterfaceError) as exc:
        # Typical at boot, when the database starts after the worker, or on a disk turned read-only:
        # one log line, not a traceback, and exit status 1, so the supervisor starts it again
        # (systemd's Restart=on-failure).
        _worker_stops(exc)
    run_worker(current_app, workers or current_app.config["QUEUE_WORKERS"])


def _fail_if_read_only() -> None:
    """SQLite: refuse to start on a database that can be read but not written (a disk turned
    read-only after a crash left the -wal and -shm files: the pragmas pass, every task would fail).
    Asks SQLite itself: takes the write lock, sets user_version to what it is, rolls back, so nothing
    is written. Through the raw connection, not db.atomic(): that would first open the writers' lock
    file, whose own warning is not the one line wanted here. A database busy past the busy timeout is
    not read-only: the worker starts as before."""
    import sqlite3

    from peewee import OperationalError

    from core.db import cannot_write, db, is_sqlite

    if not is_sqlite():
        return
    raw = db.connection()
    try:
        (version,) = raw.execute("PRAGMA user_version").fetchone()
        raw.execute("BEGIN IMMEDIATE")
        try:
            raw.execute(f"PRAGMA user_version = {int(version)}")
        finally:
            if raw.in_transaction:  # SQLite may have rolled back already
                raw.execute("ROLLBACK")
    except sqlite3.Error as exc:
        if cannot_write(exc):
            raise OperationalError(str(exc)) from exc


def _worker_stops(exc: Exception) -> None:
    """One JSON log line saying why the worker cannot start, then exit status 1. The reason is the
    driver's first line and the error's type: never a query's parameters."""
    import logging

    from core.db import cannot_write, db, is_sqlite

    log = logging.getLogger("redumbrella.worker")
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if is_sqlite() and cannot_write(exc):
        from pathlib import Path

        folder = Path(db.obj.database).resolve().parent
        log.error(
            "the database cannot be written (%s): the worker stops. %s must be writable by this user, on a "
            "disk that is neither read-only nor full; /healthz says which (\"disk\")",
            reason, folder, extra={"event": "database_not_writable", "reason": type(exc).__name__},
        )
    else:
        log.error(
            "the database cannot be reached (%s): the worker stops", reason,
            extra={"event": "database_unavailable", "reason": type(exc).__name__},
        )
    sys.exit(1)


# -- db ----------------------------------------------------------------------------------


@cli.group()
def db():
    """The database: its migrations, and moving it from SQLite to PostgreSQL."""


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply all pending migrations (core first, then each plugin)."""
    with _Db():
        applied = _upgrade()
    for name in applied:
        click.echo(f"applied {name}")
    click.echo("Database is up to date.")


@db.command("status")
@with_appcontext
def db_status():
    """List applied and pending migrations; exit 1 when any are pending."""
    from core.schema import status

    with _Db():
        owners = status(current_app)
    behind = 0
    for owner in owners:
        click.echo(f"{owner.owner}: {len(owner.applied)} applied, {len(owner.pending)} pending")
        for name in owner.pending:
            click.echo(f"  pending {name}")
        behind += len(owner.pending)
    if behind:
        raise click.ClickException(f"the database is behind by {behind} migration(s): run `redumbrella db upgrade`")


@db.command("copy-to")
@click.argument("target_url", metavar="POSTGRESQL_URL")
@with_appcontext
def db_copy_to(target_url):
    """Copy this instance's SQLite database into an empty PostgreSQL database, then check the copy.

    Run it with the web server and the queue worker stopped. The SQLite database is only read.
    """
    from core.move import MoveError, copy_to, shown_url

    try:
        result = copy_to(current_app, target_url)
    except MoveError as exc:
        raise click.ClickException(str(exc)) from None
    shown = shown_url(target_url)
    click.echo(f"copied {sum(result.tables.values())} rows in {len(result.tables)} tables to {shown}")
    click.echo("checked: the same row count in every table; "
               f"audit log {'as in SQLite, head ' + result.audit_head if result.audit_head else 'empty'}; "
               f"{result.decrypted} encrypted value(s) sampled, every one decrypted")
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.queued_tasks:
        click.echo(f"queue: {result.queued_tasks} task(s) waiting; they stay in the queue and run against "
                   "PostgreSQL when the worker starts")
    click.echo("The SQLite database was not changed. Keep it, and keep the site on it stopped.")
    click.echo("Next:")
    click.echo(f"  1. set REDUMBRELLA_DATABASE_URL={shown} (with the password) where the services read their "
               "settings (/etc/redumbrella/env), for the web server, the worker and every command;")
    click.echo("  2. `redumbrella db status`, then start the web server and the worker;")
    click.echo("  3. check /healthz says \"database\": \"ok\", and `redumbrella audit verify`.")


# -- plugins -----------------------------------------------------------------------------


@cli.group()
def plugins():
    """List, enable and disable modules; running workers follow within one request."""


def _add_new_plugin() -> None:
    from core.commands import new_plugin

    cli.add_command(new_plugin)  # needs no instance: it only writes a new plugin's files


_add_new_plugin()


@plugins.command("list")
@with_appcontext
def plugins_list():
    """Each installed module with its version and whether it is on."""
    from core import __version__
    from core.plugins import get_registry

    registry = get_registry()
    with _Db():
        _fail_if_behind()
        enabled = registry.enabled()
    click.echo(f"Red Umbrella {__version__}")
    for name in registry.names:
        info = registry.infos[name]
        needs = f" (needs {', '.join(info.requires)})" if info.requires else ""
        click.echo(f"{name:<12} {info.version or '-':<10} {'enabled' if name in enabled else 'disabled':<9}{needs}")


def _switch(name: str, enabled: bool) -> None:
    from core.plugins import PluginError, get_registry

    with _Db():
        _fail_if_behind()
        try:
            get_registry().set_enabled(name, enabled)
        except PluginError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{name} {'enabled' if enabled else 'disabled'}")


@plugins.command("enable")
@click.argument("name")
@with_appcontext
def plugins_enable(name):
    _switch(name, True)


@plugins.command("disable")
@click.argument("name")
@with_appcontext
def plugins_disable(name):
    _switch(name, False)


# -- users, audit, keys and demo live in their own modules -----------------------------------


def _add_subcommands() -> None:
    from core.accounts.commands import users
    from core.commands import audit, backup, demo, keys, restore
    from core.federation.commands import peers
    from core.retention import retention
    from core.wording.commands import wording

    cli.add_command(retention)
    cli.add_command(wording)
    cli.add_command(users)
    cli.add_command(demo)
    cli.add_command(audit)
    cli.add_command(keys)
    cli.add_command(backup)
    cli.add_command(restore)
    cli.add_command(peers)


_add_subcommands()


def main() -> None:
    os.umask(0o077)  # keys, database and mail files are readable by the service account only
    try:
        cli.main(prog_name="redumbrella")
    except ConfigError as exc:
        click.echo(f"redumbrella: configuration error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
