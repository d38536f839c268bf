"""Certificates in the JSON API, under /api/v1 (described in /api/v1/openapi.json). Both are public.

GET /certificates/public-key  the instance's Ed25519 public key (PEM and raw base64) and its key id
GET /certificates/{code}      every signed field of a certificate and whether it is valid, expired
                              or revoked; an unknown, malformed or not yet named code is the same 404;
                              lookups are throttled per address (429 with Retry-After)
"""

from __future__ import annotations

import base64

from flask import Blueprint, jsonify
from marshmallow import Schema, fields

from core.api import error_responses
from core.permissions import PUBLIC, requires
from plugins.training import _, certificates
from plugins.training.certificate_views import lookup

bp = Blueprint("training_certificate_api", __name__, url_prefix="/api/v1")


def _error(status: int, message: str):
    return jsonify({"error": {"status": status, "message": message}}), status


@bp.route("/certificates/public-key")
@requires(PUBLIC)
def public_key():
    raw = certificates.public_key_raw()
    return jsonify({"algorithm": "Ed25519", "key_id": certificates.key_id(raw),
                    "pem": certificates.public_key_pem(), "raw_base64": base64.b64encode(raw).decode("ascii")})


@bp.route("/certificates/<path:code>")
@requires(PUBLIC)
def certificate(code: str):
    try:
        cert = lookup(code)
    except certificates.Throttled:
        response, status = _error(429, _("Too many checks from your connection in the last minute. Please wait "
                                         "a minute and try again."))
        response.headers["Retry-After"] = "60"
        return response, status
    if cert is None:
        return _error(404, _("No certificate has this code."))
    return jsonify(certificates.public_view(cert))


# -- the OpenAPI description ---------------------------------------------------------------------------


class CertificateFieldsSchema(Schema):
    format = fields.String(metadata={"example": certificates.FORMAT})
    code = fields.String(metadata={"example": "ABCD-EFGH-JKLM-NPQR-STUV"})
    learner_name = fields.String(metadata={"description": "The name as the learner entered it."})
    course = fields.String()
    course_id = fields.Integer(allow_none=True)
    issued_on = fields.Date(metadata={"description": "The day the course was completed."})
    hours = fields.Integer()
    trainers = fields.List(fields.String())
    expires_on = fields.Date(allow_none=True, metadata={"description": "Null: it does not expire."})
    issuer = fields.String(metadata={"description": "The instance's name."})
    verify_url = fields.String(metadata={"description": "The certificate's public page."})
    key_id = fields.String(metadata={"description": "Which public key signed it (see /certificates/public-key)."})


class CertificateOutSchema(Schema):
    status = fields.String(metadata={"enum": [certificates.VALID, certificates.EXPIRED, certificates.REVOKED]})
    revoked_on = fields.Date(allow_none=True)
    certificate = fields.Nested(CertificateFieldsSchema, metadata={
        "description": "Exactly what was signed: canonical JSON of this object (keys sorted, no spaces, "
                       "UTF-8) is the signed message."})
    signature = fields.String(metadata={"description": "Ed25519 signature, base64."})


class PublicKeySchema(Schema):
    algorithm = fields.String(metadata={"example": "Ed25519"})
    key_id = fields.String(metadata={"description": "First 16 hex characters of the SHA-256 of the raw key."})
    pem = fields.String(metadata={"description": "SubjectPublicKeyInfo, PEM."})
    raw_base64 = fields.String(metadata={"description": "The 32 raw bytes of the key, base64."})


def describe(spec) -> None:
    """Add the certificates' schemas and paths to the instance's OpenAPI document."""
    spec.components.schema("TrainingCertificateFields", schema=CertificateFieldsSchema)
    spec.components.schema("TrainingCertificate", schema=CertificateOutSchema)
    spec.components.schema("TrainingPublicKey", schema=PublicKeySchema)
    tag = ["training"]
    spec.path(path="/certificates/public-key", operations={"get": {
        "tags": tag, "summary": "The public key that signs this instance's training certificates.",
        "description": "Check a downloaded certificate file ({payload, signature}) offline: verify the "
                       "signature over the canonical JSON of `payload` with this key.",
        "responses": {"200": {"description": "The key.",
                              "content": {"application/json": {"schema": PublicKeySchema}}},
                      **error_responses(404)},
    }})
    spec.path(path="/certificates/{code}", operations={"get": {
        "tags": tag, "summary": "Check a training certificate by its code (no sign-in needed).",
        "description": "Every field on the certificate and whether it is valid, expired or revoked. Unknown "
                       "and malformed codes get the same 404. Lookups are limited per internet address and "
                       "minute (429 with Retry-After).",
        "parameters": [{"in": "path", "name": "code", "required": True, "schema": {"type": "string"},
                        "example": "ABCD-EFGH-JKLM-NPQR-STUV",
                        "description": "20 letters and digits, any case, dashes and spaces ignored."}],
        "responses": {"200": {"description": "The certificate and its status.",
                              "content": {"application/json": {"schema": CertificateOutSchema}}},
                      **error_responses(404, 429)},
    }})
