"""Structured logs (one JSON object a line) that never carry personal data.

Only whitelisted fields reach the output: a request is logged by method, endpoint name, status and
duration; never its path, query string, form, headers or address, since any of those can hold a
phone number, a receipt or a name.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from flask import g, request

SAFE_FIELDS = ("event", "method", "endpoint", "status", "duration_ms", "plugin", "task", "count", "reason", "channel")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage() if record.name.startswith("redumbrella") else record.msg,
        }
        for name in SAFE_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            # The exception type only: tracebacks can quote local variables' values.
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(entry, default=str)


def init_app(app) -> None:
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
        started = g.get("request_started")
        request_log.info(
            "request",
            extra={
                "event": "request",
                "method": request.method,
                "endpoint": request.endpoint or "-",
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            },
        )
        return response
