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


# -- the feed ---------------------------------------------------------------------------------------

from flask import request  # noqa: E402

from core.federation import feed  # noqa: E402
from core.federation.peers import current_peer, peer_endpoint  # noqa: E402

MAX_PUSH_ITEMS = 100


def _json_body() -> dict:
    from werkzeug.exceptions import BadRequest

    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest()
    return data


@bp.get(f"{API_PREFIX}/manifest")
@peer_endpoint
def manifest():
    """[[origin fingerprint, uid, version], ...] of everything shared with the calling peer."""
    return jsonify({"items": feed.manifest_for(current_peer())})


@bp.post(f"{API_PREFIX}/items")
@peer_endpoint
def items():
    """The signed items asked for ({"items": [[origin fingerprint, uid], ...]}), those the caller may have."""
    wanted = _json_body().get("items")
    if not isinstance(wanted, list):
        from werkzeug.exceptions import UnprocessableEntity

        raise UnprocessableEntity()
    return jsonify({"items": feed.items_for(current_peer(), wanted)})


@bp.post(f"{API_PREFIX}/push")
@peer_endpoint
def push():
    """Urgent items and withdrawals pushed by a peer: each is checked like a pulled one; the answer
    says, for each, "accepted" or why it was refused."""
    from werkzeug.exceptions import UnprocessableEntity

    pushed = _json_body().get("items")
    if not isinstance(pushed, list) or len(pushed) > MAX_PUSH_ITEMS:
        raise UnprocessableEntity()
    peer = current_peer()
    results = []
    for item in pushed:
        if not isinstance(item, dict):
            results.append("malformed")
            continue
        results.append(feed.receive(peer, item.get("body"), item.get("signature")))
    if "accepted" in results:
        from core.federation.push import kick

        kick()  # something passed on may need pushing on
    return jsonify({"results": results})


offer("manifest", f"{API_PREFIX}/manifest")
offer("items", f"{API_PREFIX}/items")
offer("push", f"{API_PREFIX}/push")
