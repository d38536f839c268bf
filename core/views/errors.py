"""Error pages and JSON errors: a clear, translated message and the right 4xx, never a traceback."""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("redumbrella.errors")


def messages() -> dict[int, str]:
    return {
        400: _("Something in that request was not right. Please go back and try again."),
        401: _("Please sign in to continue."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("That action is not possible here."),
        409: _("That change was not made."),
        413: _("That upload is too large."),
        415: _("That kind of file or data is not accepted here."),
        422: _("Some of what was sent is not valid."),
        429: _("Too many attempts. Please wait a while and try again."),
        500: _("Something went wrong on our side. Nothing you sent has been lost; please try again."),
        503: _("The service is not available right now. Please try again soon."),
    }


def render_error(status: int, message: str | None = None):
    text = message or messages().get(status) or messages()[500]
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": {"status": status, "message": text}}), status
    return render_template("errors/error.html", status=status, message=text), status


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, _("This form has expired. Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        if app.testing:
            raise error  # tests see the real exception, not a polite page
        log.error("unhandled error", extra={"event": "error", "reason": type(error).__name__})
        return render_error(InternalServerError.code)
