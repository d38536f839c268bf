"""The `redumbrella` command (issue 2, items 1, 9 and 10), run as the installed console script."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fixtures.processes import instance_env, run, run_many
from helpers import sign_in

from core.cli import cli
from core.db import connection
from core.permissions import role_table
from core.plugins import get_registry

SCRIPT = str(Path(sys.executable).parent / "redumbrella")


def _commands(help_text: str) -> set[str]:
    section = help_text.split("Commands:", 1)[1]
    return {line.split()[0] for line in section.splitlines() if line.startswith("  ") and line.split()}


def test_help_lists_the_commands_and_serve_takes_host_and_port(database_url, tmp_path):
    env = instance_env(tmp_path / "instance", database_url)
    top, serve = run_many([[SCRIPT, "--help"], [SCRIPT, "serve", "--help"]], env)
    assert top.returncode == 0, top.stderr
    assert top.stdout.startswith("Usage: redumbrella")
    assert {"init", "serve", "worker", "db", "plugins", "users", "demo"} <= _commands(top.stdout)
    assert top.stderr == ""

    assert serve.returncode == 0, serve.stderr
    assert re.search(r"--host TEXT", serve.stdout) and re.search(r"--port INTEGER", serve.stdout)


def test_subcommand_groups_list_their_commands(app):
    runner = app.test_cli_runner()
    for group, expected in {"db": {"upgrade", "status"}, "plugins": {"list", "enable", "disable"}}.items():
        sub = runner.invoke(cli, [group, "--help"])
        assert sub.exit_code == 0 and expected <= _commands(sub.output), sub.output


def test_demo_fills_a_fresh_instance_and_says_how_to_sign_in(app, database_url, tmp_path):
    from core.accounts.models import User

    env = instance_env(tmp_path / "instance", database_url)
    result = run([SCRIPT, "demo"], env, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "made up" in out
    # BASE_URL is unset: the address is not known here (serve --port chooses it), so no port is made up.
    match = re.search(r"Sign in at /account/login on the address `redumbrella serve` prints when it starts, "
                      r"with password: (\S+)", out)
    assert match, out
    assert ":8000" not in out and "BASE_URL" in out
    password = match.group(1)
    for role in role_table(app):
        assert re.search(rf"^\s+{role}\s+{role}@demo\.invalid$", out, re.M), f"no {role} account listed"

    with app.app_context(), connection():
        registry = get_registry(app)
        assert set(registry.names) <= registry.enabled(), "every installed module is switched on"
        for role in role_table(app):
            user = User.by_email(f"{role}@demo.invalid")
            assert user is not None and role in user.role_names

    # The printed password really signs in (a member: staff roles may need a second factor).
    client = app.test_client()
    sign_in(client, "member@demo.invalid", password)
    assert "Sign out" in client.get("/").get_data(as_text=True)

    # With BASE_URL set (here another port than 8000), that is the address given, and run again the
    # new password printed is the one that works.
    env["REDUMBRELLA_BASE_URL"] = "http://127.0.0.1:8765"
    again = run([SCRIPT, "demo"], env, timeout=120)
    assert again.returncode == 0, again.stderr
    match = re.search(r"Sign in at http://127\.0\.0\.1:8765/account/login with password: (\S+)", again.stdout)
    assert match and ":8000" not in again.stdout, again.stdout
    again_client = app.test_client()
    sign_in(again_client, "member@demo.invalid", match.group(1))
    assert "Sign out" in again_client.get("/").get_data(as_text=True)


def test_users_create_without_a_terminal_says_where_the_password_comes_from(app):
    runner = app.test_cli_runner()
    empty = runner.invoke(cli, ["users", "create", "someone@example.org", "--role", "member"], input="")
    assert empty.exit_code == 1 and "no password on standard input" in empty.output
    assert "first line of standard input" in empty.output and "at least 10 characters" not in empty.output
    made = runner.invoke(cli, ["users", "create", "someone@example.org", "--role", "member"],
                         input="a long enough passphrase\n")
    assert made.exit_code == 0 and "created account" in made.output
    unknown = runner.invoke(cli, ["users", "create", "other@example.org", "--role", "caseworker"], input="x\n")
    assert unknown.exit_code == 1 and "caseworker" in unknown.output  # casework is not enabled here
