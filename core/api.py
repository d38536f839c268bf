"""The JSON API under /api/v1: shared request handling and the OpenAPI document.

Each plugin serves its own API routes from its own blueprint (url_prefix="/api/v1", name starting
with the plugin's name), so a disabled plugin's API answers 404 like its pages. What core adds:

- GET /api/v1/openapi.json: an OpenAPI 3 document built with apispec on each request, from the
  register_api(app, spec) hook of every *enabled* plugin (the registry skips disabled ones), so
  the document always describes exactly what this instance serves.
- ApiSchema: a marshmallow Schema that rejects unknown fields and speaks in translated messages.
- load_json(schema): read a JSON request body with a schema, or answer 415 / 422 with per-field
  messages: {"error": {"status": 422, "message": "...", "fields": {"region": ["..."]}}}.
- One JSON reader and writer for the app (JsonProvider): bodies nested deeper than MAX_JSON_DEPTH,
  or using NaN/Infinity, are a 400, never a RecursionError; datetimes are written in ISO 8601 with
  their time zone (naive ones are UTC, as core.db stores them).
- The `int` URL converter is bounded to 63 bits (install_converters), so an id no database
  column can hold is a 404, not an OverflowError.

Authentication is core's: a session cookie (CSRF-checked) or `Authorization: Bearer <token>`;
views declare their permission with @requires like every page.
"""

from __future__ import annotations

import copy
import datetime
import json

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from core import text
from core.permissions import PUBLIC, requires

PREFIX = "/api/v1"
API_VERSION = "1.0.0"
OPENAPI_VERSION = "3.0.3"
MAX_ID = 2**63 - 1  # the largest value of a 64-bit signed integer column (SQLite and PostgreSQL)
MAX_JSON_DEPTH = 32  # every API body is a few levels deep; 32 leaves room and stops recursion

bp = Blueprint("api", __name__, url_prefix=PREFIX)


# -- ids in addresses and JSON in bodies -------------------------------------------------------


def digits_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0 to limit (no sign), without leading zeros
    beyond limit's length."""
    text = str(limit)
    choices = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for index, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - index - 1
            choices.append(text[:index] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    choices.append(text)
    return "(?:" + "|".join(choices) + ")"


class BoundedIntConverter(IntegerConverter):
    """Flask's `int` converter, limited to what a database id column can hold (up to 2**63 - 1).

    The bound is in the regular expression, not only in to_python: Werkzeug counts a path that
    matches a rule's expression as served by that rule's methods, so with the bound only in
    to_python, PATCH /alerts/<too large> answered 405 (GET matched) instead of 404.
    """

    regex = digits_at_most(MAX_ID)

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install_converters(app) -> None:
    """Make `<int:...>` bounded everywhere; call before any blueprint is registered."""
    app.url_map.converters["int"] = BoundedIntConverter


class JsonTooDeep(BadRequest):
    """A JSON body nested deeper than MAX_JSON_DEPTH, or holding NaN/Infinity: answered 400."""


def _refuse_constant(name: str):
    raise JsonTooDeep()


def json_depth(value) -> int:
    """How deeply decoded JSON nests (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((sub, depth + 1) for sub in item.values())
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_JSON_DEPTH:
            break
    return deepest


def utc_iso(value: datetime.datetime) -> str:
    """ISO 8601 with the time zone: naive datetimes are UTC (core.db.utcnow), written with Z."""
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    return value.isoformat()


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


class JsonProvider(DefaultJSONProvider):
    """The app's JSON: bounded reading (request.get_json) and datetimes with their time zone."""

    @staticmethod
    def default(o):
        if isinstance(o, datetime.datetime):
            return utc_iso(o)
        if isinstance(o, datetime.date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)

    def loads(self, s, **kwargs):
        try:
            if kwargs:
                value = json.loads(s, **{"parse_constant": _refuse_constant, **kwargs})
            else:  # every request body: one decoder made once, not one per call as json.loads makes
                if isinstance(s, (bytes, bytearray)):
                    s = s.decode(json.detect_encoding(s), "surrogatepass")
                value = _DECODER.decode(s)
        except RecursionError:
            raise JsonTooDeep() from None
        if json_depth(value) > MAX_JSON_DEPTH:
            raise JsonTooDeep()
        return value


class UtcDateTime(fields.DateTime):
    """A datetime written in ISO 8601 with its time zone (naive values are UTC), for API output."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            return value
        return utc_iso(value)


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
    """Replace a field's default (English) messages with translated ones; keep custom ones.

    A schema instance's fields are shallow copies of the class's (marshmallow's Field.__deepcopy__),
    so their error_messages dict, and a list's inner field, are shared by every instance: they are
    replaced here, never changed in place, or the first request's language would stick for all."""
    defaults = {}
    for klass in reversed(type(field).__mro__):
        defaults.update(getattr(klass, "default_error_messages", {}))
    field.error_messages = {key: messages[key] if key in messages and value == defaults.get(key) else value
                            for key, value in field.error_messages.items()}
    field.validators = [_translated(validator, is_list=isinstance(field, fields.List))
                        for validator in field.validators]
    inner = getattr(field, "inner", None)
    if inner is not None:
        field.inner = copy.copy(inner)
        translate_field(field.inner, messages)


def _translated(validator, is_list: bool = False):
    """A copy of one of marshmallow's validators saying its default (English) message in the
    request's language; a validator with its own message, or another kind, is kept as it is.
    marshmallow formats the message with str.format: the translations hold no braces."""
    if isinstance(validator, validate.OneOf) and validator.error == validate.OneOf.default_message:
        return validate.OneOf(validator.choices, validator.labels, error=_("Please choose one of the listed answers."))
    if isinstance(validator, validate.Range) and validator.error is None \
            and validator.min_inclusive and validator.max_inclusive:
        low, high = validator.min, validator.max
        if low is not None and high is not None:
            error = _("Please give a number from %(min)s to %(max)s.", min=low, max=high)
        elif low is not None:
            error = _("Please give a number of at least %(min)s.", min=low)
        else:
            error = _("Please give a number of at most %(max)s.", max=high)
        return validate.Range(low, high, error=error)
    if isinstance(validator, validate.Length) and validator.error is None and validator.equal is None:
        low, high = validator.min, validator.max
        if is_list:
            error = (_("Please give at most %(max)d.", max=high) if low is None
                     else _("Please give at least %(min)d.", min=low) if high is None
                     else _("Please give from %(min)d to %(max)d.", min=low, max=high))
        else:
            error = (_("Please keep this to %(max)d characters or fewer.", max=high) if low is None
                     else _("Please write at least %(min)d characters.", min=low) if high is None
                     else _("Please write from %(min)d to %(max)d characters.", min=low, max=high))
        return validate.Length(low, high, error=error)
    return validator


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
        translate_fields(self)


def translate_fields(schema: Schema) -> None:
    """Every field's built-in messages and validators' messages in the request's language (for a
    schema that is not an ApiSchema, such as a settings page's)."""
    messages = _field_messages()
    for field in schema.fields.values():
        translate_field(field, messages)


def load_json(schema: Schema) -> dict:
    """The request's JSON body loaded with schema; raises ApiValidationError (422) on bad input."""
    here = request._get_current_object()
    if not here.is_json:
        raise UnsupportedMediaType()
    body = here.get_json(silent=True)  # too deep: JsonTooDeep (400), not None
    if body is None:
        raise ApiValidationError(_("The request body is not valid JSON."))
    if not isinstance(body, dict):
        raise ApiValidationError(_("Please send a JSON object."))
    broken = list(text.surrogate_paths(body))
    if broken:
        raise ApiValidationError(_nest(broken, text.message(text.SURROGATE)))
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise ApiValidationError(exc.messages) from None


def _nest(paths: list[tuple], message: str) -> dict:
    """{"a": {"0": {"b": [message]}}} for the path ("a", 0, "b"), as marshmallow nests its errors."""
    found: dict = {}
    for path in paths:
        node = found
        for key in path[:-1] or ():
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node[path[-1] if path else "_schema"] = [message]
    return found


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
    link = fields.String(metadata={"description": "403 only, when access is paused (the access_paused hook): "
                                                  "where to restore it, such as a course to renew."})


class ErrorResponse(Schema):
    error = fields.Nested(ErrorBody, required=True)


ERROR_DESCRIPTIONS = {
    400: "Malformed request: a JSON body nested too deeply, or a form's CSRF check failed.",
    401: "Sign-in or a bearer token is needed.",
    403: "The token's account may not do this, or its access is paused for now (`error.link` says where to "
         "restore it).",
    404: "No such record (or the module is off).",
    405: "This method is not served here; `Allow` lists those that are.",
    409: "The change conflicts with the record's state.",
    413: "The request is too large.",
    415: "The body must be JSON (Content-Type: application/json).",
    422: "Invalid input; `error.fields` holds a message per field.",
    429: "Too many attempts; wait and try again.",
}


def error_responses(*statuses: int) -> dict:
    """OpenAPI response objects for the given error statuses, for a plugin's path operations."""
    return {
        str(status): {
            "description": ERROR_DESCRIPTIONS.get(status, "Error."),
            "content": {"application/json": {"schema": ErrorResponse}},
        }
        for status in statuses
    }


def _complete_operations(spec: APISpec) -> None:
    """Add the answers core itself gives to every operation, so none is left undocumented:
    400/413/415/422 where a body is read (bounded JSON, size, media type, validation), 400 for a
    non-GET call that carries cookies without a CSRF token, and 401/403 wherever a token or a
    sign-in is needed (the permission guard)."""
    for operations in spec._paths.values():
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            wanted = []
            if "requestBody" in operation:
                wanted += [400, 413, 415, 422]
            if method != "get":
                wanted.append(400)
            if operation.get("security"):
                wanted += [401, 403]
            for status in wanted:
                responses.setdefault(str(status), {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                })


class AccountOut(Schema):
    id = fields.Integer(required=True)
    roles = fields.List(fields.String(), required=True)
    two_factor = fields.Boolean(required=True, metadata={"description": "Two-factor sign-in is set up."})
    via_token = fields.Boolean(required=True, metadata={"description": "The call used a bearer token."})


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
                "Errors are JSON: {\"error\": {\"status\", \"message\", \"fields\"}}. "
                "Datetimes are ISO 8601 with their time zone (UTC, `Z`)."
            )
        },
        servers=[{"url": PREFIX}],
    )
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "A personal access token (`redumbrella users token`)."},
    )
    spec.components.schema("Error", schema=ErrorResponse)
    spec.components.schema("Account", schema=AccountOut)
    spec.path(
        path="/openapi.json",
        operations={
            "get": {
                "summary": "This document.",
                "tags": ["core"],
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
    )
    spec.path(
        path="/account",
        operations={
            "get": {
                "summary": "Who the token (or session) acts as: for partner systems to check their token.",
                "tags": ["core"],
                "security": [{"bearerAuth": []}],
                "responses": {"200": {"description": "The account.",
                                      "content": {"application/json": {"schema": "Account"}}}},
            }
        },
    )
    from core.accounts.profile import describe_api as describe_account_erasure

    describe_account_erasure(spec)  # DELETE /me
    get_registry(app).call("register_api", app=app, spec=spec)
    _complete_operations(spec)
    return spec


def undocumented_routes(app, spec: APISpec) -> list[str]:
    """"METHOD /path" of every route under /api/v1 this instance serves that the document lacks
    (a disabled plugin's routes are left out, as the document leaves them out)."""
    import re

    from core.plugins import get_registry

    registry = get_registry(app)
    documented = {(re.sub(r"\{[^}]*\}", "{}", path), method.upper())
                  for path, operations in spec._paths.items() for method in operations}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        blueprint = rule.endpoint.rpartition(".")[0]
        owner = registry.blueprint_owners.get(blueprint)
        if owner and not registry.is_enabled(owner):
            continue
        path = re.sub(r"<[^>]*>", "{}", rule.rule[len(PREFIX):])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (path, method) not in documented:
                missing.append(f"{method} {PREFIX}{path}")
    return missing


@bp.route("/openapi.json")
@requires(PUBLIC)
def openapi():
    return jsonify(build_spec(current_app).to_dict())


def init_app(app) -> None:
    app.json = JsonProvider(app)
    app.register_blueprint(bp)

    @app.errorhandler(ApiValidationError)
    def _invalid(error: ApiValidationError):
        return validation_response(error.messages)

    @app.errorhandler(JsonTooDeep)
    def _too_deep(error: JsonTooDeep):
        from core.views.errors import render_error

        return render_error(400, _("The request body is nested too deeply, or holds a number JSON cannot carry."))
