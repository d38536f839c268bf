"""gunicorn's own log, held to the rule of the app's (core/logs.py): no address, nothing a client sent.

gunicorn writes a request it could not read as "Invalid request from ip=ADDRESS: ERROR", where
the error quotes what was sent (a header line, a request line: a phone number can be in either),
and an error outside the app with the request's whole address, query string included. Both lines
are made before they reach a handler, so a formatter cannot take the values out again: this
logger says what happened in its own words instead, and writes JSON lines with core.logs'
formatter (an exception by type and place, never its message).

`redumbrella serve` uses it; a gunicorn configuration file names it with
`logger_class = "core.gunicorn_log.PrivateLogger"` (docs/deployment.md).
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from core.logs import JsonFormatter

_UNREADABLE = "Invalid request from ip="
_FAILED = "Error handling request"


class PrivateLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def warning(self, msg, *args, **kwargs):
        if str(msg).startswith(_UNREADABLE):
            msg, args = "refused a request it could not read", ()
            kwargs["extra"] = {"event": "invalid_request"}
        super().warning(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        if str(msg).startswith(_FAILED):
            msg, args = _FAILED, ()  # not the method and address it was given
        super().exception(msg, *args, **kwargs)
