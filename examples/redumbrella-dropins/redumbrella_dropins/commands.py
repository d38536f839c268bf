"""`redumbrella dropins ...` commands."""

import click
from core.db import connection
from flask.cli import with_appcontext


@click.command("add")
@click.argument("name")
@click.option("--area", required=True, help="Town or district.")
@with_appcontext
def add(name, area):
    """List a drop-in."""
    from redumbrella_dropins.models import DropIn

    with connection():
        dropin = DropIn.create(name=name[:120], area=area[:80])
    click.echo(f"drop-in #{dropin.id} listed")
