"""Who is signed in: Flask-Login's loaders, the cookie session, and starting or ending a session.

A browser is signed in by its (signed) cookie, checked against the account's session_version and a
server-side session record (core.accounts.sessions); a bearer-token API call by its token alone
(core.accounts.tokens), with an empty session that is never read from nor written to a cookie.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, has_request_context, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, user_accessed, user_loaded_from_request

from core.accounts import sessions, tokens, totp
from core.accounts.models import User
from core.i18n import SESSION_KEY as LOCALE_KEY
from core.numbers import whole_number
from core.security import is_api_request, uses_bearer_token

# Pages an account that must set up two-factor sign-in can still reach before it has.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "auth.two_factor_setup",
        "auth.two_factor_begin",
        "auth.two_factor_confirm",
        "auth.logout",
        "core.set_language",
        "core.healthz",
        "static",
    }
)


def bearer_api_request() -> bool:
    return has_request_context() and is_api_request() and uses_bearer_token()


class _LoginManager(LoginManager):
    def _load_user(self):
        """A bearer-token API call is its token's holder or nobody, whatever cookie it sends: to
        the token at once, without looking in its empty session or parsing its cookies first."""
        if not bearer_api_request():
            return super()._load_user()
        app = current_app._get_current_object()
        user_accessed.send(app)
        user = tokens.authenticate(request._get_current_object().headers.get("Authorization", ""))
        if user is not None:
            user_loaded_from_request.send(app, user=user)
        return self._update_request_context_with_user(user)

    def _session_protection_failed(self):  # asked for browser requests only (_load_user)
        if not session:  # nothing to protect: Flask-Login skips an empty session too, after hashing
            return False  # the browser's address and user agent for nothing
        return super()._session_protection_failed()


login_manager = _LoginManager()


class CookieSession(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS.

    A bearer-token API call gets an empty session that is never read from nor written to a
    cookie: the token alone decides who is calling, and signing cookies would be wasted work.
    """

    def get_signing_serializer(self, app):
        """Flask's serializer, made once per set of keys instead of on every request (twice on a
        page that sets the cookie): it holds only the keys and settings, nothing of a request."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self.__dict__.setdefault("_serializers", {})
        if keys not in made:
            made.clear()  # the keys changed: the old serializer must not sign anything more
            made[keys] = super().get_signing_serializer(app)
        return made[keys]

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure))

    def open_session(self, app, request):
        if bearer_api_request():
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if bearer_api_request():
            return None
        return super().save_session(app, session, response)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    if bearer_api_request():
        return None  # tokens only: see _LoginManager._load_user
    if g.get("database_unavailable"):
        return None  # core.db could not connect: the "unavailable" page is shown signed out
    user_text, _sep, version_text = str(session_id).partition(":")
    user_id, version = whole_number(user_text), whole_number(version_text)
    if user_id is None or version is None:
        return None
    user = User.get_or_none(User.id == user_id)
    if (
        user is None
        or not user.active
        or user.session_version != version
        or sessions.current_record(user) is None
    ):
        # Disabled, signed out everywhere, idle too long or past its lifetime: start over.
        clear_session()
        flash(_("Your session has ended. Please sign in again."), "info")
        return None
    return user


def clear_session() -> None:
    """Empty the cookie session, keeping only the chosen language."""
    locale = session.get(LOCALE_KEY)
    session.clear()
    if locale:
        session[LOCALE_KEY] = locale


def start_fresh_session(user: User) -> None:
    """A new session for this browser: nothing from before it carries over (no fixation)."""
    clear_session()
    login_user(user)
    sessions.start_session(user)


def end_everywhere_and_continue(user: User) -> None:
    """After a password or two-factor change: every session ends, then this browser gets a new one."""
    sessions.end_all_sessions(user)
    start_fresh_session(user)


def require_two_factor():
    """Before each request: staff who have not set up two-factor sign-in can reach only the setup page."""
    endpoint = request._get_current_object().endpoint  # the objects once, not through their proxies
    if endpoint is None or endpoint in ENROLMENT_ENDPOINTS or endpoint.endswith(".static"):
        return None
    user = current_user._get_current_object()
    if not user.is_authenticated or g._get_current_object().get("access_token_id") is not None:
        return None
    if totp.needs_enrolment(user):
        if is_api_request():
            abort(403)
        return redirect(url_for("auth.two_factor_setup"))
    return None
