"""`redumbrella users ...`: accounts from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from core.db import connection


def read_password(confirm: bool = True) -> str:
    """From a prompt on a terminal (typed twice), else the first line of standard input (once)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise click.ClickException(
            "no password on standard input. Without a terminal the password is read once, from the first "
            "line of standard input, e.g.  printf '%s\\n' 'a long passphrase' | redumbrella users create ..."
        )
    return password


@click.group()
def users():
    """Create, list and disable accounts; make access tokens; reset two-factor sign-in."""


@users.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              help="Repeatable. One of the roles of core and the enabled modules (see `users roles`).")
@click.option("--name", "working_name", default=None, help="Working name shown to staff (optional).")
@with_appcontext
def create(email, roles, working_name):
    """Create an account. The password is asked twice on a terminal, else read once from the first
    line of standard input."""
    from flask import current_app

    from core.accounts.service import AccountError, create_account
    from core.permissions import roles_offered

    with connection():
        offered = [role.name for role in roles_offered(current_app)]
        if set(roles) - set(offered):
            unknown = ", ".join(sorted(set(roles) - set(offered)))
            raise click.ClickException(f"no such role here: {unknown} (roles: {', '.join(offered)}; "
                                       "a module's roles come with it once it is enabled)")
    password = read_password()
    with connection():
        try:
            user = create_account(email, password, roles, working_name=working_name)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"created account #{user.id} with role(s) {', '.join(sorted(roles))}")


@users.command("roles")
@with_appcontext
def list_roles():
    """The roles that can be given here: core's and those of the enabled modules."""
    from flask import current_app

    from core.permissions import roles_offered

    with connection():
        for role in roles_offered(current_app):
            click.echo(f"{role.name:<22} {'staff (two-factor sign-in)' if role.staff else '':<27} {role.label}")


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
        from core.accounts.sessions import end_all_sessions

        user.active = False
        user.save(only=[User.active])
        end_all_sessions(user)
        record("account.disabled", target=f"user:{user.id}")
    click.echo(f"account #{user.id} disabled")


@users.command("token")
@click.argument("email")
@click.option("--label", default=None, help="A few words saying what the token is for.")
@with_appcontext
def token(email, label):
    """Create a personal access token for the account and print it once (it is stored hashed)."""
    from core.accounts import tokens, totp
    from core.accounts.models import User
    from core.audit import record

    with connection():
        user = User.by_email(email)
        if user is None:
            raise click.ClickException("no account has that email")
        if not user.active:
            raise click.ClickException("that account is disabled")
        token_record, secret = tokens.create_token(user, label)
        record("auth.token_created", target=f"token:{token_record.id}")
        unenrolled_staff = totp.needs_enrolment(user)
    click.echo(secret)
    click.echo(
        "This token is shown once; it acts as the account, with its permissions. "
        "Send it as `Authorization: Bearer <token>` to /api/ addresses.",
        err=True,
    )
    if unenrolled_staff:
        click.echo(
            "warning: this account's role needs two-factor sign-in, which it has not set up; "
            "the token is refused until it has.",
            err=True,
        )


@users.command("reset-2fa")
@click.argument("email")
@with_appcontext
def reset_two_factor(email):
    """Remove an account's two-factor sign-in (a lost phone and codes) and end its sessions.

    Staff accounts must set it up again at their next sign-in.
    """
    from core.accounts import totp
    from core.accounts.models import User
    from core.accounts.sessions import end_all_sessions
    from core.audit import record

    with connection():
        user = User.by_email(email)
        if user is None:
            raise click.ClickException("no account has that email")
        totp.remove(user)
        end_all_sessions(user)
        record("auth.two_factor_reset", target=f"user:{user.id}")
    click.echo(f"two-factor sign-in removed from account #{user.id}; its sessions are ended")


