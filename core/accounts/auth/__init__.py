"""Signing in and out, two-factor sign-in, password change and access tokens (Flask-Login).

A session is tied to the account's session_version and to a server-side session record
(core.accounts.sessions); /api/ requests may instead carry `Authorization: Bearer <token>`
(core.accounts.tokens). Sign-in is throttled per account and per address (core.accounts.throttle)
and every answer to a failed sign-in is the same, whether the account exists or not.

One job a module:
- pages.py: the blueprints ("auth" under /account, "auth_api" under /api/v1) and what the pages
  share (an audit target, the password typed again, the throttled page);
- forms.py: every form of these pages;
- login_session.py: who is signed in (Flask-Login's loaders, the cookie session, starting and
  ending a session) and the rule that keeps staff on the two-factor setup page until they enrol;
- sign_in.py: sign in (password, then the second factor), sign out;
- password_pages.py: the security page, changing a password, a forgotten password;
- two_factor.py: setting two-factor sign-in up, replacing recovery codes, turning it off;
- token_pages.py: personal access tokens, and GET /api/v1/account.
"""

from __future__ import annotations

from core.accounts.auth import password_pages, sign_in, token_pages, two_factor  # noqa: F401 - their routes
from core.accounts.auth.login_session import CookieSession, login_manager, require_two_factor
from core.accounts.auth.pages import api_bp, bp
from core.accounts.auth.sign_in import safe_next

__all__ = ["api_bp", "bp", "init_app", "login_manager", "safe_next"]


def init_app(app) -> None:
    # Behind N reverse proxies (REDUMBRELLA_TRUSTED_PROXIES=N), take the client's address and
    # scheme from their X-Forwarded-For/-Proto headers: per-address throttling and Secure cookies
    # need them. Never set it when clients can reach the app directly (they could forge them).
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.session_interface = CookieSession()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.before_request(require_two_factor)
