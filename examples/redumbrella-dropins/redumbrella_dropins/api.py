"""The JSON API under /api/v1/dropins, and its description in the OpenAPI document."""

from core.api import error_responses, load_json
from core.audit import record
from core.permissions import PUBLIC, requires
from flask import Blueprint, jsonify

from redumbrella_dropins.models import DropIn
from redumbrella_dropins.schemas import DropInIn, DropInList, DropInOut
from redumbrella_dropins.tasks import dropin_listed
from redumbrella_dropins.views import listed

api = Blueprint("dropins_api", __name__, url_prefix="/api/v1/dropins")


@api.route("")
@requires(PUBLIC)
def api_list():
    return jsonify(DropInList().dump({"dropins": list(listed())}))


@api.route("", methods=["POST"])
@requires("dropins.manage")
def api_create():
    data = load_json(DropInIn())  # 415 if not JSON, 422 with a message per field if invalid
    dropin = DropIn.create(**data)
    record("dropins.created", target=f"dropin:{dropin.id}")
    dropin_listed(dropin.id)
    return jsonify(DropInOut().dump(dropin)), 201


def describe(spec):
    """Add the paths above to the instance's OpenAPI document (the register_api hook)."""
    # Component names are shared by every plugin in one document: prefix them with yours.
    spec.components.schema("DropinsDropIn", schema=DropInOut)  # before the list that nests it
    spec.components.schema("DropinsList", schema=DropInList)
    spec.components.schema("DropinsNewDropIn", schema=DropInIn)
    spec.path(
        path="/dropins",  # relative to the document's server, /api/v1
        operations={
            "get": {
                "summary": "Drop-in services, by area.",
                "tags": ["dropins"],
                "responses": {
                    "200": {"description": "The list.", "content": {"application/json": {"schema": "DropinsList"}}}
                },
            },
            "post": {
                "summary": "List a drop-in.",
                "tags": ["dropins"],
                "security": [{"bearerAuth": []}],
                "requestBody": {"content": {"application/json": {"schema": "DropinsNewDropIn"}}},
                "responses": {
                    "201": {"description": "Listed.", "content": {"application/json": {"schema": "DropinsDropIn"}}},
                    **error_responses(401, 403, 415, 422),
                },
            },
        },
    )
