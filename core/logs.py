"""Structured logs (one JSON object a line) that never carry personal data.

Only whitelisted fields reach the output: a request is logged by method, endpoint name, status and
duration; never its path, query string, form, headers or address, since any of those can hold a
phone number, a receipt or a name.

An exception is logged by its type and where it happened: each frame of its traceback as
"file:line in function" (`stack`), and the types of the exceptions it was raised from (`causes`).
Never its message, the source lines or any local value, since those can quote what someone sent.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path

SAFE_FIELDS = ("event", "method", "endpoint", "status", "duration_ms", "plugin", "task", "count", "reason", "channel")
MAX_FRAMES = 40  # the innermost frames are kept: that is where it happened
_ROOT = Path(__file__).resolve().parent.parent


def _short_path(filename: str) -> str:
    """A frame's file relative to the project, or from site-packages on: no home folders."""
    path = Path(filename)
    parts = path.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return "/".join(parts[parts.index(marker) + 1:])
    try:
        return path.resolve().relative_to(_ROOT).as_posix()
    except (ValueError, OSError):
        return path.name


def stack_of(error: BaseException) -> list[str]:
    """Where an exception happened, as "file:line in function", outermost first; no values.

    traceback.walk_tb reads only code objects and line numbers: never the frame's local
    variables, and no source line is read or kept.
    """
    frames = [
        f"{_short_path(frame.f_code.co_filename)}:{lineno} in {frame.f_code.co_name}"
        for frame, lineno in traceback.walk_tb(error.__traceback__)
    ]
    return frames[-MAX_FRAMES:]


def causes_of(error: BaseException) -> list[str]:
    """The types of the exceptions this one was raised from (or while handling), innermost last."""
    found, seen, current = [], {id(error)}, error
    while True:
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
        if current is None or id(current) in seen or len(found) >= 10:
            return found
        seen.add(id(current))
        found.append(type(current).__name__)


class JsonFormatter(logging.Formatter):
    _second: tuple[int, str] = (-1, "")  # the last second formatted: every request logs a line

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        last = self._second
        if last[0] != second:
            last = self._second = (second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S"))
        return last[1]

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage() if record.name.startswith("redumbrella") else record.msg,
        }
        fields = record.__dict__
        for name in SAFE_FIELDS:
            if name in fields:
                entry[name] = fields[name]
        if record.exc_info:
            # The type and where it happened; never the message or locals, which can quote input.
            kind, error, _tb = record.exc_info
            entry["exception"] = kind.__name__ if kind else None
            if error is not None:
                entry["stack"] = stack_of(error)
                causes = causes_of(error)
                if causes:
                    entry["causes"] = causes
        return json.dumps(entry, default=str)


def init_app(app) -> None:
    # Flask only here: gunicorn's master imports this module for the formatter
    # (core.gunicorn_log), and should not load Flask for it.
    from flask import g, request

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("redumbrella")
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
    root.propagate = False
    app.logger.handlers[:] = [handler]
    app.logger.propagate = False
    for noisy in ("werkzeug", "huey", "peewee"):
        other = logging.getLogger(noisy)
        other.handlers[:] = [handler]
        other.propagate = False
        other.setLevel(logging.WARNING)
    request_log = logging.getLogger("redumbrella.request")

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        if not request_log.isEnabledFor(logging.INFO):
            return response
        started = g._get_current_object().get("request_started")
        here = request._get_current_object()
        # The record made and handled directly: Logger.info would also walk the stack for the
        # caller's file and line, which this line never shows, on every request.
        request_log.handle(request_log.makeRecord(
            request_log.name, logging.INFO, __file__, 0, "request", None, None,
            extra={
                "event": "request",
                "method": here.method,
                "endpoint": here.endpoint or "-",
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            },
        ))
        return response
