"""Request guards and response headers that every page and API call passes through.

Before a request: a disabled plugin's routes answer 404; the view's declared permission is checked
(undeclared means denied); CSRF is checked for every state-changing request made with a session.
After it: a strict Content-Security-Policy and the other security headers, and no-store caching on
anything that is not a public static file.
"""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from core.permissions import PUBLIC, access_paused, user_has
from core.plugins import get_registry

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

# Set on every response (replacing a view's own), and on all but static files.
ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
NOT_KEPT = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def init_app(app) -> None:
    # CSRF is checked by our own guard, so bearer-token API calls (no cookie) can skip it.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # Flask-WTF's "SSL strict" mode wants a Referer on every HTTPS POST, but our pages say
    # Referrer-Policy: no-referrer, so browsers send none and every form would fail over HTTPS.
    # The token stays the defence; Sec-Fetch-Site (below) refuses what a browser calls cross-site.
    app.config["WTF_CSRF_SSL_STRICT"] = False
    csrf.init_app(app)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        here = request._get_current_object()
        present = {key.lower() for key, _value in headers.items()}
        if "content-security-policy" not in present:  # a view may set its own
            headers.add("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        chosen = [*ALWAYS]
        if here.is_secure:
            chosen.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
        if not (here.endpoint or "").endswith("static"):
            chosen += NOT_KEPT
        for key, value in chosen:
            # One header each: a view's own value is replaced; a new one is added without
            # searching the list again (Headers.__setitem__ searches it on every call).
            if key.lower() in present:
                headers[key] = value
            else:
                headers.add(key, value)
        return response


def is_cross_site() -> bool:
    """The browser says this request was started by another site (Fetch Metadata).

    Browsers send Sec-Fetch-Site whatever the referrer policy; "same-origin" is our own pages and
    "none" a bookmark or typed address. Older browsers send nothing and rely on the token alone.
    """
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in {"same-origin", "none"}


# These run several times a request. Flask's request proxy makes an AttributeError before it
# forwards any attribute it is asked for; the request itself is taken once instead.


def is_api_request() -> bool:
    return request._get_current_object().path.startswith("/api/")


def uses_bearer_token() -> bool:
    return request._get_current_object().headers.get("Authorization", "").startswith("Bearer ")


def carries_cookies() -> bool:
    """Whether the request sends any cookie (a session, a remember-me...) a forged request could ride on."""
    return bool(request.cookies)


def init_guards(app) -> None:
    """Registered after all blueprints so the guards see every route."""

    # The guards run on every request: each takes the request, app and person once, not through
    # Flask's context-local proxies at every use.

    @app.before_request
    def _plugin_guard():
        registry = get_registry()
        owners = registry.blueprint_owners
        here = request._get_current_object()
        for blueprint in here.blueprints:
            owner = owners.get(blueprint)
            if owner and not registry.is_enabled(owner):
                abort(404)
        owner = owners.get(here.blueprint) if here.blueprint else None
        domain = app.extensions["redumbrella.domains"].get(owner)
        if domain is not None:
            domain.as_default()

    @app.before_request
    def _permission_guard():
        here = request._get_current_object()
        endpoint = here.endpoint
        if endpoint is None:  # no route matched: the 404 handler answers
            return None
        if endpoint == "static" or endpoint.endswith(".static"):
            return None
        view = app.view_functions[endpoint]
        permission = getattr(view, "required_permission", None)
        if permission is None:
            abort(403)  # deny by default: the view declared nothing
        g.required_permission = permission
        if permission == PUBLIC:
            return None
        user = current_user._get_current_object()
        if user_has(app, user, permission):
            paused = access_paused(app, user, permission)
            if paused is None:
                return None
            from core.views.errors import render_error

            return render_error(403, paused.message, link=paused.link, link_label=paused.link_label)
        if user.is_authenticated:
            abort(403)
        if is_api_request():
            abort(401)
        return redirect(url_for("auth.login", next=here.full_path if here.method == "GET" else None))

    @app.before_request
    def _csrf_guard():
        here = request._get_current_object()
        if here.method in {"GET", "HEAD", "OPTIONS"}:
            return None
        if here.endpoint is None:  # no view will run: the 404/405 handler answers
            return None
        if is_api_request() and (uses_bearer_token() or not carries_cookies()):
            return None  # CSRF rides on a browser's cookies: a call without any has no one's session
        if getattr(app.view_functions[here.endpoint], "signed_by_peer", False):
            return None  # a peer's signed request (core.federation.peers): the signature authenticates it
        if is_cross_site():
            raise CSRFError("The request came from another site.")
        csrf.protect()
        return None
