"""`redumbrella users ...`: accounts from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from core.db import connection
from core.permissions import ROLES


def read_password(confirm: bool = True) -> str:
    """From a prompt on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return sys.stdin.readline().rstrip("\n")


@click.group()
def users():
    """Create, list and disable accounts."""


@users.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeatable.")
@click.option("--name", "working_name", default=None, help="Working name shown to staff (optional).")
@with_appcontext
def create(email, roles, working_name):
    """Create an account; the password is read from a prompt or standard input."""
    from core.accounts.service import AccountError, create_account

    password = read_password()
    with connection():
        try:
            user = create_account(email, password, roles, working_name=working_name)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"created account #{user.id} with role(s) {', '.join(sorted(roles))}")


@users.command("list")
@with_appcontext
def list_users():
    """One line per account: id, email, roles, state."""
    from core.accounts.models import User

    with connection():
        for user in User.select().order_by(User.id):
            state = "active" if user.active else "disabled"
            click.echo(f"#{user.id:<5} {user.email or '-':<32} {','.join(sorted(user.role_names)):<28} {state}")


@users.command("disable")
@click.argument("email")
@with_appcontext
def disable(email):
    """Disable an account and end all of its sessions."""
    from core.accounts.models import User
    from core.audit import record

    with connection():
        user = User.by_email(email)
        if user is None:
            raise click.ClickException("no account has that email")
        user.active = False
        user.session_version += 1
        user.save()
        record("account.disabled", target=f"user:{user.id}")
    click.echo(f"account #{user.id} disabled")


