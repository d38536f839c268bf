"""The bare Flask app every platform row of bench/speed.py is measured against.

`gunicorn yardsticks:make_app()` (run from bench/) serves, with nothing of the platform around
it (no guard, no translation, no database, no log), the same answers the platform gave for each
measured address, captured once by speed.py in the file named by BENCH_CAPTURE:

- POST /api/v1/check: reads the JSON body and answers like a miss (bench_check's plain endpoint);
- GET /healthz, /api/v1/regions, /api/v1/me/subscriptions: `jsonify` of the captured answer;
- GET /: a Jinja template rendered by Flask (autoescaped, with two variables) whose output is the
  platform's anonymous home page, byte for byte.

`yardsticks:make_app(statements=True)` is each GET row's floor: the same answers, after running
through the database driver alone the statements the platform runs for that address (STATEMENTS,
traced with peewee's execute_sql wrapped; prepared once per connection on PostgreSQL, as core does).
Beside bare Flask it shows what those statements alone cost: on PostgreSQL each is a round trip to
a server process that shares the machine's cores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# What the platform runs for each address, in its order. "token" stands for the bearer token's
# hash, "holder" for the account id the first statement found; "queue" is the count of waiting
# tasks /healthz asks of the queue's storage (huey's SQLite file, as the benches run it).
_HOLDER = ("SELECT t.id, t.last_used_at, u.id, u.email_index, u.email, u.working_name, u.password_hash, u.locale, "
           'u.active, u.session_version, u.created_at, r.role FROM access_token t JOIN "user" u ON u.id = t.user_id '
           "LEFT JOIN user_role r ON r.user_id = u.id WHERE t.token_hash = %s AND t.revoked_at IS NULL")
_STORED_STATE = ("SELECT 'plugin', name, NULL FROM plugin_state WHERE enabled = %s "
                 "UNION ALL SELECT 'settings', plugin, data FROM plugin_setting "
                 "UNION ALL SELECT 'wording', locale, CAST(version AS TEXT) FROM wording_version", (True,))
STATEMENTS = {
    "/healthz": [("SELECT (SELECT COUNT(*) FROM schema_migration), (SELECT MAX(applied) FROM schema_migration), "
                  "(SELECT seen_at FROM heartbeat WHERE name = %s)", ("worker",)),
                 ("queue", ())],
    "/": [_STORED_STATE],
    "/api/v1/regions": [_STORED_STATE],
    "/api/v1/me/subscriptions": [(_HOLDER, ("token",)), _STORED_STATE,
                                 ("SELECT id, channels, all_regions, frequency, sms_number, created_at, changed_at "
                                  "FROM alerts_subscription WHERE user_id = %s", ("holder",))],
}


def statement_runner():
    """run(path, token): the path's statements through the driver, on one connection per process;
    holder_of(token): the bearer token's holder (the first statement alone), or None. run(path,
    token, holder=callable) asks the callable for the holder instead of running that statement
    (the stack's floor: Flask-Login's request loader runs it)."""
    import hashlib

    from core.db import prepared_statement

    url = os.environ["REDUMBRELLA_DATABASE_URL"]
    sqlite = url.startswith("sqlite")
    state: dict = {}

    def cursor():
        if "connection" not in state:
            if sqlite:
                import sqlite3

                state["connection"] = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            else:
                import psycopg2

                state["connection"] = psycopg2.connect(url)
                state["connection"].autocommit = True
                state["prepared"] = set()
        return state["connection"].cursor()

    def execute(cur, sql: str, params: tuple):
        if sqlite:
            return cur.execute(sql.replace("%s", "?"), params)
        name, prepare = prepared_statement(sql)
        if name not in state["prepared"]:
            cur.execute(prepare)
            state["prepared"].add(name)
        return cur.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}",
                           params)

    def queue_count() -> None:
        if "queue" not in state:
            import sqlite3

            state["queue"] = sqlite3.connect(Path(os.environ["REDUMBRELLA_INSTANCE_PATH"]) / "queue.sqlite3")
        state["queue"].execute("SELECT COUNT(id) FROM task WHERE queue = ?", ("redumbrella",)).fetchone()

    def holder_of(token: str) -> int | None:
        cur = cursor()
        execute(cur, _HOLDER, (hashlib.sha256(token.encode()).hexdigest(),))
        rows = cur.fetchall()
        return rows[0][2] if rows else None

    def run(path: str, token: str, ask_holder=None) -> None:
        cur = cursor()
        holder = None
        for sql, params in STATEMENTS[path]:
            if sql == "queue":
                queue_count()
                continue
            if sql == _HOLDER and ask_holder is not None:
                holder = ask_holder() or 0
                continue
            values = tuple(hashlib.sha256(token.encode()).hexdigest() if value == "token"
                           else holder if value == "holder" else value for value in params)
            execute(cur, sql, values)
            rows = cur.fetchall()
            if holder is None and sql == _HOLDER:
                holder = rows[0][2] if rows else 0

    return run, holder_of


def make_app(statements: bool = False, stack: bool = False):
    """Bare Flask; with statements, each GET row's floor (above); with stack too, the stack's floor
    for the row: the same plus common.install_stack (Flask-Login's request loader running the
    token's statement, the language, the log line, the security headers) and, for the home page,
    the CSRF token its forms carry (Flask-WTF's, made for each new visitor and kept in the session
    cookie it sets, as the platform's page does)."""
    from flask import Flask, jsonify, render_template, request

    capture = Path(os.environ["BENCH_CAPTURE"])
    answers = json.loads(capture.read_text())
    bare = Flask("yardsticks", template_folder=str(capture.parent / "templates"))
    if statements or stack:
        run, holder_of = statement_runner()
        holder = None
        if stack:
            from common import install_stack  # bench/common.py: run from bench/, on sys.path
            from flask_login import current_user

            install_stack(bare, holder_of)

            def holder():
                return current_user.id if current_user.is_authenticated else None

        @bare.before_request
        def _statements():
            if request.path in STATEMENTS:
                run(request.path, request.headers.get("Authorization", "").removeprefix("Bearer "), holder)

    @bare.post("/api/v1/check")
    def check():
        body = request.get_json()
        return jsonify({"result": "no_record", "length": len(body["identifier"])})

    @bare.get("/healthz")
    def healthz():
        return jsonify(answers["healthz"])

    @bare.get("/api/v1/regions")
    def regions():
        return jsonify(answers["regions"])

    @bare.get("/api/v1/me/subscriptions")
    def subscriptions():
        return jsonify(answers["subscriptions"])

    @bare.get("/")
    def home():
        if stack:
            from flask_wtf.csrf import generate_csrf

            generate_csrf()
        return render_template("home.html", lang=answers["home_lang"], title=answers["home_title"])

    return bare


def write_home_template(folder: Path, html: str) -> tuple[str, str]:
    """Turn the captured home page into a template whose rendering gives it back exactly:
    the page's language and title become variables, the rest is kept raw. Returns (lang, title)."""
    import re

    lang = re.search(r'<html lang="([^"]*)"', html)
    title = re.search(r"<title>([^<]*)</title>", html)
    pieces, values, last = [], [], 0
    for match, name in ((lang, "lang"), (title, "title")):
        if match is None:
            values.append("")
            continue
        pieces.append("{% raw %}" + html[last:match.start(1)] + "{% endraw %}{{ " + name + " }}")
        values.append(match.group(1))
        last = match.end(1)
    pieces.append("{% raw %}" + html[last:] + "{% endraw %}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "home.html").write_text("".join(pieces))
    import html as html_module

    # The title was escaped in the page; the template escapes it again when rendering.
    return values[0], html_module.unescape(values[1])
