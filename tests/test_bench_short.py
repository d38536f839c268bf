"""Every bench script still runs, in seconds on tiny data (issue #14): `bench/speed.py --short`
prints every row of the speed table, and each other script finishes with its result lines.

Nothing about timings is asserted (a shared CI machine cannot): only that every row was measured,
that no load came back with errors, and that the summary names each row's target. A bench that
breaks when a form or an endpoint changes is found here, not at the next measurement.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The bench scripts make their own SQLite instance whatever the suite's database is.
pytestmark = pytest.mark.once
ROWS = ("check", "subscriptions", "healthz", "home", "regions", "report", "memory", "delivery")


@pytest.mark.slow
def test_speed_bench_short_run_prints_every_row(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDUMBRELLA_")}
    env["TMPDIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "speed.py"), "--short"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    summary = out.stdout.split("\nSummary", 1)[1]
    for row in ROWS:
        line = re.search(rf"^{row}\s+.*$", summary, re.M)
        assert line, f"no summary line for {row}:\n{summary}"
        # Every row has a value and a verdict (yes or NO), none failed or was skipped.
        assert re.search(r"\s(yes|NO)\s", line.group(0)), line.group(0)
    assert "ERRORS" not in out.stdout, out.stdout
    # The check row and each GET row measure their stack's floor in the same rounds.
    assert out.stdout.count("the stack's floor:") >= 5, out.stdout
    assert "Load:" in out.stdout and "load average" in out.stdout


# Each script with the smallest data that still exercises every measurement, and a line it prints last.
OTHER_BENCHES = {
    "bench_check": (["--identifiers", "1000", "--seconds", "1"], "Checks run at"),
    "bench_reporting": (["--databases", "sqlite", "--reports", "30", "--submits", "2", "--lists", "2"],
                        "one report, audited"),
    "bench_casework": (["--cases", "30", "--requests", "3"], "case page, 4 clients"),
    "bench_training": (["--certificates", "30", "--seconds", "1"], "30 certificates on sqlite"),
    "bench_federation": (["--alerts", "2", "--checks", "2", "--urgent", "1"], "Urgent alert to a peer's subscribers"),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(OTHER_BENCHES))
def test_each_bench_script_runs_in_a_short_mode(script, tmp_path):
    arguments, last_line = OTHER_BENCHES[script]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDUMBRELLA_")}
    env["TMPDIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / f"{script}.py"), *arguments], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert last_line in out.stdout, out.stdout[-3000:]


def test_the_statements_floor_runs_what_the_platform_runs(app, make_user):
    """bench/yardsticks.py's floor for each GET row runs the platform's statements for it: traced
    here, on a warm app with every module on (as bench/speed.py runs it), in the same order."""
    import peewee
    from helpers import enable

    from core.accounts import tokens
    from core.accounts.models import User
    from core.db import connection, prepared_statement
    from core.plugins import get_registry

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from yardsticks import STATEMENTS
    finally:
        sys.path.remove(str(ROOT / "bench"))
    registry = get_registry(app)
    enable(app, *sorted(registry.names, key=lambda name: len(registry.infos[name].requires)))
    member = make_user("member", email="floor@example.org")
    with app.test_request_context(), connection():
        token = tokens.create_token(User.get_by_id(member.id), "bench")[1]
    named = {prepared_statement(sql)[0]: sql for sql, _params in
             (statement for statements in STATEMENTS.values() for statement in statements)}
    ran: list[str] = []
    execute = peewee.Database.execute_sql

    def traced(database, sql, params=None, *args, **kwargs):
        # PostgreSQL runs a prepared statement by name: map it back to its text.
        ran.append(named.get(sql.split()[1], sql) if sql.startswith("EXECUTE ") else sql.replace("?", "%s"))
        return execute(database, sql, params, *args, **kwargs)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for path, statements in STATEMENTS.items():
        signed = headers if any("token" in params for _sql, params in statements) else {}
        for _warm in range(2):
            assert client.get(path, headers=signed).status_code == 200
        peewee.Database.execute_sql = traced
        try:
            client.get(path, headers=signed)
        finally:
            peewee.Database.execute_sql = execute
        assert [sql for sql in ran if not sql.startswith("PREPARE ")] == \
            [sql for sql, _params in statements if sql != "queue"], path
        ran.clear()
