"""Error pages and JSON errors: a clear, translated message and the right 4xx, never a traceback.

A 500 says only what is true. It cannot know whether what was sent was stored, so it never says
"nothing was lost". A form that keeps its answers as they are typed (the reporting form's
draft) calls input_kept(check) once they are stored, with a function that looks whether they
still are; the page says "what you typed is still here" only when that check answers yes (a
check that fails, say because the database is down, counts as no). An API answer never claims it.

An unexpected exception is logged with its type and where it happened (core.logs: file, line
and function of each frame), never its message, locals or anything from the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import g, has_request_context, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("redumbrella.errors")

# Headers of an HTTP error worth keeping on the answer that replaces it: RFC 9110 asks for Allow
# on a 405 and WWW-Authenticate on a 401; Retry-After tells a client when to try again.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


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
        500: _("Something went wrong on our side. Please try again in a little while."),
        503: _("The service is not available right now. Please try again soon."),
    }


def input_kept(check: Callable[[], bool] | None) -> None:
    """Say that what this request's form sent is stored, with a function that confirms it still
    is (None: it is not, or no longer)."""
    if has_request_context():
        g.input_kept = check


def _input_still_kept() -> bool:
    check = g.get("input_kept")
    if check is None:
        return False
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - the database may be why we are here: then claim nothing
        return False


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str | None = None, headers: dict | None = None,
                 link: str | None = None, link_label: str | None = None):
    """The error page or JSON error; `link` (with its label) is a way forward, such as where to
    renew what a paused permission needs."""
    text = message or messages().get(status) or messages()[500]
    if _wants_json():
        body = {"status": status, "message": text}
        if link:
            body["link"] = link
        response = jsonify({"error": body})
    else:
        response = make_response(render_template("errors/error.html", status=status, message=text,
                                                 link=link, link_label=link_label))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _kept_headers(error: HTTPException) -> dict:
    kept = {}
    for name, value in error.get_headers():
        if name in KEPT_HEADERS:
            kept[name] = value
    response = getattr(error, "response", None)
    for name in KEPT_HEADERS:
        if response is not None and name in response.headers:
            kept[name] = response.headers[name]
    return kept


def server_error_message() -> str:
    """The 500 message for this request: a web form whose input is stored may say so."""
    if not _wants_json() and _input_still_kept():
        return _("Something went wrong on our side. What you typed is still here: please go back and "
                 "try again in a little while.")
    return messages()[500]


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, _("This form has expired. Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        message = server_error_message() if status == 500 else None
        return render_error(status, message, _kept_headers(error))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        if app.testing:
            raise error  # tests see the real exception, not a polite page
        log.error("unhandled error", exc_info=error,
                  extra={"event": "error", "reason": type(error).__name__, "endpoint": request.endpoint or "-"})
        return render_error(InternalServerError.code, server_error_message())
