"""`redumbrella wording export LANG FILE` and `redumbrella wording import LANG FILE`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group()
def wording():
    """Local wording: administrators' changes to the shipped messages (docs/local-wording.md)."""


def _language(code: str) -> str:
    if code not in current_app.config["LOCALES"]:
        known = ", ".join(current_app.config["LOCALES"])
        raise click.BadParameter(f"{code} is not one of this site's languages ({known})", param_hint="LANG")
    return code


@wording.command("export")
@click.argument("lang")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@with_appcontext
def wording_export(lang, file):
    """Write a language's changed messages to FILE as a .po file ("-" for standard output)."""
    from core.cli import _Db, _fail_if_behind
    from core.wording.po_io import export

    locale = _language(lang)
    with _Db():
        _fail_if_behind()
        data = export(current_app, locale)
    if file == "-":
        click.get_binary_stream("stdout").write(data)
        return
    target = Path(file)
    if target.exists():
        raise click.ClickException(f"{file} already exists: choose a new name (an export is never written over)")
    target.write_bytes(data)
    click.echo(f"Wrote the changed messages of {locale} to {file}")


@wording.command("import")
@click.argument("lang")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def wording_import(lang, file):
    """Apply the messages of a .po file FILE to a language; nothing is written if any is refused."""
    from core.cli import _Db, _fail_if_behind
    from core.wording import po_io, service

    locale = _language(lang)
    with open(file, "rb") as handle:
        data = handle.read(po_io.MAX_IMPORT_BYTES + 1)
    with _Db():
        _fail_if_behind()
        try:
            plan = po_io.plan_import(current_app, locale, data)
        except po_io.ImportRefused as exc:
            for problem in exc.problems:
                click.echo(problem, err=True)
            raise click.ClickException(f"nothing was imported ({len(exc.problems)} problem(s))") from None
        tally = service.save_many(locale, plan.items)
    click.echo(f"{locale}: {tally['changed']} message(s) changed, {tally['shipped']} back to the shipped text, "
               f"{tally['unchanged']} already as in the file, {plan.skipped} untranslated or fuzzy entries skipped")
    if plan.unknown:
        click.echo(f"{len(plan.unknown)} message(s) not in this release, left out:")
        for text in plan.unknown:
            click.echo(f"  {text}")
