"""The bare Flask app every platform row of bench/speed.py is measured against.

`gunicorn yardsticks:make_app()` (run from bench/) serves, with nothing of the platform around
it (no guard, no translation, no database, no log), the same answers the platform gave for each
measured address, captured once by speed.py in the file named by BENCH_CAPTURE:

- POST /api/v1/check: reads the JSON body and answers like a miss (bench_check's plain endpoint);
- GET /healthz, /api/v1/regions, /api/v1/me/subscriptions: `jsonify` of the captured answer;
- GET /: a Jinja template rendered by Flask (autoescaped, with two variables) whose output is the
  platform's anonymous home page, byte for byte.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def make_app():
    from flask import Flask, jsonify, render_template, request

    capture = Path(os.environ["BENCH_CAPTURE"])
    answers = json.loads(capture.read_text())
    bare = Flask("yardsticks", template_folder=str(capture.parent / "templates"))

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
