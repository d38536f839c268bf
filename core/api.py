"""The JSON API under /api/v1: shared request handling and the OpenAPI document.

Each plugin serves its own API routes from its own blueprint (url_prefix="/api/v1", name starting
with the plugin's name), so a disabled plugin's API answers 404 like its pages. What core adds:

- GET /api/v1/openapi.json: an OpenAPI 3 document built with apispec on each request, from the
  register_api(app, spec) hook of every *enabled* plugin (the registry skips disabled ones), so
  the document always describes exactly what this instance serves.
- ApiSchema: a marshmallow Schema that rejects unknown fields and speaks in translated messages.
- load_json(schema): read a JSON request body with a schema, or answer 415 / 422 with per-field
  messages: {"error": {"status": 422, "message": "...", "fields": {"region": ["..."]}}}.

Authentication is core's: a session cookie (CSRF-checked) or `Authorization: Bearer <token>`;
views declare their permission with @requires like every page.
"""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, ValidationError, fields

from core.permissions import PUBLIC, requires

PREFIX = "/api/v1"
API_VERSION = "1.0.0"
OPENAPI_VERSION = "3.0.3"

bp = Blueprint("api", __name__, url_prefix=PREFIX)


# -- validation --------------------------------------------------------------------------------


class ApiValidationError(Exception):
    """Bad input: answered 422 with the per-field messages."""

    def __init__(self, messages: dict | list | str):
        super().__init__("invalid input")
        self.messages = messages if isinstance(messages, dict) else {"_schema": _as_list(messages)}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _field_messages() -> dict[str, str]:
    """marshmallow's built-in messages, translated (in the language of the current request)."""
    return {
        "required": _("This is required."),
        "null": _("This cannot be empty."),
        "validator_failed": _("This value is not accepted."),
        "invalid": _("This is not the right kind of value."),
        "invalid_utf8": _("This text could not be read."),
        "too_large": _("This number is too large."),
        "type": _("This is not the right kind of value."),
        "format": _("This could not be read."),
        "special": _("This number is not accepted."),
        "invalid_awareness": _("This is not the right kind of value."),
    }


def _schema_messages() -> dict[str, str]:
    return {
        "unknown": _("This field is not known. Please check its name."),
        "type": _("Please send a JSON object."),
    }


def translate_field(field: fields.Field, messages: dict[str, str]) -> None:
    """Replace a field's default (English) messages with translated ones; keep custom ones."""
    defaults = {}
    for klass in reversed(type(field).__mro__):
        defaults.update(getattr(klass, "default_error_messages", {}))
    for key, value in list(field.error_messages.items()):
        if key in messages and value == defaults.get(key):
            field.error_messages[key] = messages[key]
    inner = getattr(field, "inner", None)
    if inner is not None:
        translate_field(inner, messages)


class ApiSchema(Schema):
    """Base for API input: unknown fields are refused, and every message is translated.

    Instantiate it per request (in a request or app context), so messages are in the
    requester's language.
    """

    class Meta:
        unknown = RAISE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_messages = {**self.error_messages, **_schema_messages()}
        messages = _field_messages()
        for field in self.fields.values():
            translate_field(field, messages)


def load_json(schema: Schema) -> dict:
    """The request's JSON body loaded with schema; raises ApiValidationError (422) on bad input."""
    if not request.is_json:
        from werkzeug.exceptions import UnsupportedMediaType

        raise UnsupportedMediaType()
    body = request.get_json(silent=True)
    if body is None:
        raise ApiValidationError(_("The request body is not valid JSON."))
    if not isinstance(body, dict):
        raise ApiValidationError(_("Please send a JSON object."))
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise ApiValidationError(exc.messages) from None


def validation_response(messages: dict):
    body = {
        "error": {
            "status": 422,
            "message": _("Some of what was sent is not valid."),
            "fields": _stringify_keys(messages),
        }
    }
    return jsonify(body), 422


def _stringify_keys(value):
    """marshmallow keys list positions by int; JSON object keys are strings."""
    if isinstance(value, dict):
        return {str(key): _stringify_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_stringify_keys(item) for item in value]
    return str(value)


# -- the OpenAPI document -------------------------------------------------------------------------


class ErrorBody(Schema):
    status = fields.Integer(required=True)
    message = fields.String(required=True, metadata={"description": "A translated message for people."})
    field_messages = fields.Dict(
        keys=fields.String(),
        data_key="fields",
        metadata={"description": "422 only: messages per field; nested objects and list positions nest."},
    )


class ErrorResponse(Schema):
    error = fields.Nested(ErrorBody, required=True)


def error_responses(*statuses: int) -> dict:
    """OpenAPI response objects for the given error statuses, for a plugin's path operations."""
    descriptions = {
        400: "Malformed request.",
        401: "Sign-in or a bearer token is needed.",
        403: "The token's account may not do this.",
        404: "No such record (or the module is off).",
        409: "The change conflicts with the record's state.",
        413: "The request is too large.",
        415: "The body must be JSON (Content-Type: application/json).",
        422: "Invalid input; `error.fields` holds a message per field.",
        429: "Too many attempts; wait and try again.",
    }
    return {
        str(status): {
            "description": descriptions.get(status, "Error."),
            "content": {"application/json": {"schema": ErrorResponse}},
        }
        for status in statuses
    }


def build_spec(app) -> APISpec:
    """A fresh document with core's parts, then each enabled plugin's paths and schemas."""
    from core.plugins import get_registry

    spec = APISpec(
        title=f"{app.config['SITE_NAME']} API",
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "JSON API of this instance. Only the modules switched on here are described. "
                "Errors are JSON: {\"error\": {\"status\", \"message\", \"fields\"}}."
            )
        },
        servers=[{"url": PREFIX}],
    )
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "A personal access token (`redumbrella users token`)."},
    )
    spec.components.schema("Error", schema=ErrorResponse)
    spec.path(
        path="/openapi.json",
        operations={
            "get": {
                "summary": "This document.",
                "tags": ["core"],
                "responses": {"200": {"description": "The OpenAPI document."}},
            }
        },
    )
    get_registry(app).call("register_api", app=app, spec=spec)
    return spec


@bp.route("/openapi.json")
@requires(PUBLIC)
def openapi():
    return jsonify(build_spec(current_app).to_dict())


def init_app(app) -> None:
    app.register_blueprint(bp)

    @app.errorhandler(ApiValidationError)
    def _invalid(error: ApiValidationError):
        return validation_response(error.messages)
