"""`redumbrella audit`, `keys` and `demo`."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import with_appcontext

from core.db import connection, db


@click.group()
def audit():
    """The hash-chained audit log."""


@audit.command("verify")
@click.option("--expect-head", "expect", default=None, metavar="COUNT:HASH|FILE",
              help="A head printed by an earlier run (or a file holding that output): fail unless it is "
                   "still a point on the chain.")
@with_appcontext
def audit_verify(expect):
    """Check that no audit entry was changed or removed, and print the head; exit 1 if not intact.

    Keep the printed head (the entry count and the newest hash) somewhere the server cannot write,
    and pass it back with --expect-head next time: entries removed from the end are then caught.
    """
    from pathlib import Path

    from core.audit import Head, check

    saved = None
    if expect is not None:
        text = Path(expect).read_text(encoding="utf-8") if Path(expect).is_file() else expect
        try:
            saved = Head.parse(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--expect-head") from None
    with connection():
        result = check(saved)
    if not result.intact:
        raise click.ClickException(result.problem)
    click.echo(f"audit log intact: {result.head.count} entries, head {result.head}")
    if saved is not None:
        click.echo(f"the saved head {saved.count}:{saved.hash[:12]}... is on the chain")


@click.group()
def keys():
    """Encryption keys kept in the instance folder."""


@keys.command("rotate")
@with_appcontext
def keys_rotate():
    """Add a new encryption key and re-encrypt every encrypted value under it."""
    from core.crypto import add_encryption_key, keyring, load_keys

    if current_app.config["ENCRYPTION_KEYS"]:
        raise click.ClickException(
            "keys come from REDUMBRELLA_ENCRYPTION_KEYS: put a new key first in that list, then run "
            "`redumbrella keys reencrypt`"
        )
    from core.audit import record

    add_encryption_key(current_app)
    load_keys(current_app)
    count = _reencrypt(keyring())
    with connection():
        record("keys.rotated", target="keys:encryption")
    click.echo(f"new key in use; {count} value(s) re-encrypted")
    click.echo("Running web and queue workers read values under the new key by themselves, but may go on "
               "writing with the old one until restarted: restart them, then run `redumbrella keys reencrypt`. "
               "Keep a backup of the key file.")


@keys.command("reencrypt")
@with_appcontext
def keys_reencrypt():
    """Re-encrypt every encrypted value under the first configured key."""
    from core.crypto import keyring

    click.echo(f"{_reencrypt(keyring())} value(s) re-encrypted")


@keys.command("rotate-audit")
@with_appcontext
def keys_rotate_audit():
    """Add a new audit key: new entries are signed with it, older keys stay to verify older entries."""
    from core.crypto import add_audit_key, keyring, load_keys

    if current_app.config["AUDIT_KEYS"]:
        raise click.ClickException("audit keys come from REDUMBRELLA_AUDIT_KEYS: put a new key first in that list")
    from core.audit import record

    add_audit_key(current_app)
    load_keys(current_app)
    with connection():
        record("keys.rotated", target="keys:audit")
    click.echo(f"new audit key in use (key id {keyring().audit_signing_id}); keep the old ones to verify old entries")
    click.echo("Restart the web and queue workers so they sign with it; back the key file up again.")


@keys.command("forget-file")
@click.argument("name")
@with_appcontext
def keys_forget_file(name):
    """Stop expecting a key file of keys/ that was removed on purpose: the module it belongs to makes a
    new key when it next needs one, and nothing the old key signed verifies with it."""
    from core.audit import record
    from core.key_check import forget_key_file

    with connection():
        if not forget_key_file(name):
            raise click.ClickException(f"{name} is not among the key files this instance expects")
        record("keys.file_forgotten", target=f"keys:{name}"[:128])
    click.echo(f"{name} is no longer expected; keep a backup of the keys/ folder again once a new key is made")


def _reencrypt(ring) -> int:
    """Rewrite each token under the newest key, in raw SQL so the field does not encrypt twice."""
    from core.crypto import encrypted_columns

    count = 0
    param = db.param
    with connection(), db.atomic():
        for model, field in encrypted_columns():
            if not model.table_exists():
                continue
            table, column = model._meta.table_name, field.column_name
            pk = model._meta.primary_key.column_name
            rows = db.execute_sql(
                f'SELECT "{pk}", "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608  # nosec B608  # names from model metadata
            ).fetchall()
            for key, token in rows:
                db.execute_sql(
                    f'UPDATE "{table}" SET "{column}" = {param} WHERE "{pk}" = {param}',  # noqa: S608  # nosec B608
                    (ring.rotate(token), key),
                )
                count += 1
    return count


@click.command()
@click.option("--password", default=None, help="Password for every demo account (default: a random one).")
@with_appcontext
def demo(password):
    """Fill this instance with clearly fake sample data and one account per role."""
    from core.demo import fill

    with connection():
        accounts, password = fill(current_app, password or secrets.token_urlsafe(9))
    click.echo("Demo data created. Everything in it is made up.")
    base = current_app.config["BASE_URL"]
    if base:
        click.echo(f"Sign in at {base.rstrip('/')}/account/login with password: {password}")
    else:
        # Where the site runs is not known here: `serve --port` chooses it and BASE_URL is unset.
        click.echo(f"Sign in at /account/login on the address `redumbrella serve` prints when it starts, "
                   f"with password: {password}")
        click.echo("Set BASE_URL (or run `redumbrella init --base-url ...`) to have the full address here.")
    click.echo("Staff accounts (moderator, caseworker, trainer, admin) set up two-factor at first sign-in.")
    for role, user in accounts.items():
        click.echo(f"  {role:<11} {user.email}")


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--include-keys", is_flag=True,
              help="Also put the keys in the archive. Only for a copy you keep apart from the data backups: "
                   "anyone with both can read everything.")
@with_appcontext
def backup(path, include_keys):
    """Write a consistent copy of the database (and the SQLite queue) to one archive, while the site runs."""
    from pathlib import Path

    from core.backup import BackupError, create

    try:
        manifest = create(current_app, Path(path), include_keys=include_keys)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(manifest["tables"].values())
    click.echo(f"backup written to {path}: {manifest['database']} database, {len(manifest['tables'])} tables, "
               f"{rows} rows, audit head {manifest['audit_head']}")
    if manifest["queue"]["included"]:
        click.echo(f"queue: {manifest['queue']['tasks']} waiting task(s) included")
    elif manifest["queue"]["kind"] == "redis":
        click.echo("queue: Redis is not included (the outbox tables in the database keep what must be sent)")
    if include_keys:
        click.echo("The archive holds the keys: keep it apart from the data backups, encrypted, offline.")
    else:
        # Every key file the instance has (modules keep theirs in keys/ too), and the keys set in the configuration.
        needed = [f"keys/{name}" for name in manifest["key_files"]]
        needed += [f"REDUMBRELLA_{setting}" for setting in ("ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_KEYS")
                   if current_app.config[setting]]
        click.echo(f"The archive holds no keys: restoring it needs these, kept elsewhere: {', '.join(needed)}.")


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace the data of an instance that is not empty.")
@with_appcontext
def restore(path, force):
    """Restore a backup made by `redumbrella backup`, then check its keys and its audit log."""
    from pathlib import Path

    from core.backup import BackupError
    from core.backup import restore as run_restore

    try:
        result = run_restore(current_app, Path(path), force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    manifest = result.manifest
    click.echo(f"restored the backup of {manifest['created_at']} ({manifest['database']}, release "
               f"{manifest['version']}): {sum(manifest['tables'].values())} rows")
    click.echo(f"keys: {result.decrypted} encrypted value(s) sampled, every one decrypted")
    click.echo(f"audit log intact up to the backup's head {manifest['audit_head']}")
    for note in result.notes:
        click.echo(f"note: {note}")


@click.command("new-plugin")
@click.argument("name")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Where to write the package's folder, redumbrella-NAME.")
@click.option("--label", default=None, help="The module's name as people read it (default: NAME, capitalised).")
@click.pass_context
def new_plugin(ctx, name, directory, label):
    """Write a new plugin's package: installable, translated, with a page, a table and its tests.

    Needs no instance: it only writes files.
    """
    from pathlib import Path

    from core.scaffold import ScaffoldError, write

    try:
        core_commands = frozenset(getattr(ctx.find_root().command, "commands", {}))  # without loading an app
        made = write(name, Path(directory), label, taken=core_commands)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Plugin {made.name} written to {made.root} ({len(made.files)} files). Next:")
    click.echo(f"  cd {made.root}")
    click.echo("  pip install .            # into the environment that has Red Umbrella (-e while you work on it)")
    click.echo("  python -m pytest tests   # its own tests")
    click.echo(f"  redumbrella db upgrade && redumbrella plugins enable {made.name}")
    click.echo("docs/writing-a-plugin.md explains every file.")
