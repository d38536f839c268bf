"""GET /.well-known/redumbrella and the peer endpoints under /federation/v1/.

Who this instance is (public, unsigned: it holds nothing secret) and what peers may ask, each
endpoint behind @peer_endpoint (core.federation.peers): only an active peer, with a signed, fresh,
unreplayed request; every answer is signed.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from core.federation import API_PREFIX, API_VERSION, identity
from core.permissions import PUBLIC, requires

bp = Blueprint("federation_api", __name__)

# Endpoints peers may call, relative to API_PREFIX, as /.well-known/redumbrella lists them.
# Other federation modules add theirs with offer().
OFFERED: dict[str, str] = {}


def offer(name: str, path: str) -> None:
    OFFERED[name] = path


def software_version() -> str:
    from core import __version__

    return __version__


@bp.get("/.well-known/redumbrella")
@requires(PUBLIC)
def well_known():
    response = jsonify({
        "software": "Red Umbrella",
        "version": software_version(),
        "name": current_app.config["SITE_NAME"],
        "public_key": identity.public_key_b64(),
        "fingerprint": identity.fingerprint(),
        "api": {"federation": {"version": API_VERSION, "base": API_PREFIX, "endpoints": dict(sorted(OFFERED.items()))}},
    })
    return response
