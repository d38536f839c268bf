"""Signing in and out, two-factor sign-in, password change and access tokens (Flask-Login).

A session is tied to the account's session_version and to a server-side session record
(core.accounts.sessions); /api/ requests may instead carry `Authorization: Bearer <token>`
(core.accounts.tokens). Sign-in is throttled per account and per address (core.accounts.throttle)
and every answer to a failed sign-in is the same, whether the account exists or not.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from core.accounts import sessions, throttle, tokens, totp
from core.accounts.models import User
from core.accounts.passwords import MAX_PASSWORD_LENGTH, hash_password, hasher, password_problem, verify_password
from core.audit import record
from core.i18n import SESSION_KEY as LOCALE_KEY
from core.identifiers import InvalidIdentifier
from core.permissions import PUBLIC, SIGNED_IN, requires
from core.security import is_api_request, uses_bearer_token

bp = Blueprint("auth", __name__, url_prefix="/account")
api_bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60  # the second step must follow the first within five minutes
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
    def _session_protection_failed(self):
        # A bearer-token API call is judged by its token alone, never by a cookie sent with it.
        if bearer_api_request():
            return False
        return super()._session_protection_failed()


login_manager = _LoginManager()


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS.

    A bearer-token API call gets an empty session that is never read from nor written to a
    cookie: the token alone decides who is calling, and signing cookies would be wasted work.
    """

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


# -- forms ---------------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords are not the same."))],
    )


class ConfirmPasswordForm(FlaskForm):
    """Sensitive changes ask for the password again, so a borrowed open session cannot make them."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class TokenForm(ConfirmPasswordForm):
    label = StringField(_l("What the token is for"), validators=[Length(max=tokens.MAX_LABEL_LENGTH)])


# -- loading the signed-in account ---------------------------------------------------------------


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    if bearer_api_request():
        return None  # tokens only: see load_user_from_request
    if g.get("database_unavailable"):
        return None  # core.db could not connect: the "unavailable" page is shown signed out
    user_id, _sep, version = str(session_id).partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = User.get_or_none(User.id == int(user_id))
    if (
        user is None
        or not user.active
        or user.session_version != int(version)
        or sessions.current_record(user) is None
    ):
        # Disabled, signed out everywhere, idle too long or past its lifetime: start over.
        _clear_session()
        flash(_("Your session has ended. Please sign in again."), "info")
        return None
    return user


@login_manager.request_loader
def load_user_from_request(req) -> User | None:
    if not bearer_api_request():
        return None
    return tokens.authenticate(req.headers.get("Authorization", ""))


def _clear_session() -> None:
    """Empty the cookie session, keeping only the chosen language."""
    locale = session.get(LOCALE_KEY)
    session.clear()
    if locale:
        session[LOCALE_KEY] = locale


def _start_fresh_session(user: User) -> None:
    """A new session for this browser: nothing from before it carries over (no fixation)."""
    _clear_session()
    login_user(user)
    sessions.start_session(user)


def _end_everywhere_and_continue(user: User) -> None:
    """After a password or two-factor change: every session ends, then this browser gets a new one."""
    sessions.end_all_sessions(user)
    _start_fresh_session(user)


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in."""
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _ref(user: User | None) -> str:
    return f"user:{user.id}" if user is not None else ""


# -- signing in ----------------------------------------------------------------------------------


def _throttled_page(form, template: str, **context):
    flash(_("Too many attempts. Please wait a while and try again."), "error")
    return render_template(template, form=form, **context), 429


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    form = LoginForm()
    if request.method == "GET":
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400

    account_key = throttle.account_key(form.email.data)
    address_key = throttle.address_key()
    if throttle.is_throttled(account_key, address_key):
        return _throttled_page(form, "auth/login.html")

    try:
        user = User.by_email(form.email.data)
    except InvalidIdentifier:
        user = None
    # verify_password costs the same when there is no account (it checks a dummy hash).
    matches = verify_password(user.password_hash if user else None, form.password.data)
    if not (matches and user is not None and user.active):
        reached = throttle.record_failure(account_key, address_key)
        record("auth.sign_in_failed", target=_ref(user), actor_id=None)
        if reached:
            record("auth.throttled", target=_ref(user), actor_id=None)
        flash(_("That email and password do not match an account."), "error")
        return render_template("auth/login.html", form=form), 400

    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(form.password.data)
        user.save(only=[User.password_hash])
    next_path = safe_next(request.args.get("next"))
    if totp.is_enrolled(user):
        _clear_session()
        session[PENDING_KEY] = {
            "user": user.id,
            "version": user.session_version,
            "at": int(time.time()),
            "next": next_path,
        }
        # The account's failures are not forgotten yet: wrong codes keep counting against it
        # until a code is right too, however often the password is typed again.
        return redirect(url_for("auth.login_code"))
    throttle.clear_account(account_key)
    return _finish_sign_in(user, next_path, "password")


def _finish_sign_in(user: User, next_path: str | None, method: str):
    _start_fresh_session(user)
    record("auth.signed_in", target=_ref(user), actor_id=user.id)
    if method == "recovery":
        record("auth.recovery_code_used", target=_ref(user), actor_id=user.id)
        left = totp.recovery_codes_left(user)
        # Three whole sentences, so each language can say "1 code" and "5 codes" its own way.
        flash(
            " ".join(
                [
                    _("You signed in with a recovery code."),
                    ngettext("%(num)d recovery code is left.", "%(num)d recovery codes are left.", left),
                    _("You can make new ones on the two-factor page."),
                ]
            ),
            "info",
        )
    return redirect(next_path or url_for("core.index"))


def _pending_user() -> tuple[User | None, dict]:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, {}
    if int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None, {}
    user = User.get_or_none(User.id == pending.get("user"))
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None, {}
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
@requires(PUBLIC)
def login_code():
    """The second step: a code from the authenticator app, or a recovery code."""
    user, pending = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if request.method == "GET":
        return render_template("auth/login_code.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login_code.html", form=form), 400
    # The same account key as the password step: a wrong code counts against the account from
    # any address, and past the limit every code waits, whichever address sends it.
    account_key = throttle.account_key(user.email or "")
    address_key = throttle.address_key()
    if throttle.is_throttled(account_key, address_key):
        return _throttled_page(form, "auth/login_code.html")
    method = totp.verify_second_factor(user, form.code.data)
    if method is None:
        reached = throttle.record_failure(account_key, address_key)
        record("auth.two_factor_failed", target=_ref(user), actor_id=None)
        if reached:
            record("auth.throttled", target=_ref(user), actor_id=None)
        flash(
            _(
                "That code did not work. Each code works once only: if you have just used one, wait for "
                "the next code in your app."
            ),
            "error",
        )
        return render_template("auth/login_code.html", form=form), 400
    throttle.clear_account(account_key)
    return _finish_sign_in(user, pending.get("next"), method)


@bp.route("/logout", methods=["POST"])
@requires(SIGNED_IN)
def logout():
    """Signing out ends every session of the account, on every device."""
    user = current_user._get_current_object()
    sessions.end_all_sessions(user)
    record("auth.signed_out", target=_ref(user), actor_id=user.id)
    logout_user()
    _clear_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("core.index"))


# -- forgotten password ---------------------------------------------------------------------------


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords are not the same."))],
    )


@bp.route("/reset", methods=["GET", "POST"])
@requires(PUBLIC)
def request_reset():
    """Ask for a reset link. The answer is the same whether or not the email has an account."""
    from core.accounts import reset

    form = ResetRequestForm()
    if request.method == "GET":
        return render_template("auth/reset_request.html", form=form, sent=False)
    if not form.validate_on_submit():
        return render_template("auth/reset_request.html", form=form, sent=False), 400
    account_key = throttle.account_key(form.email.data, kind=throttle.RESET)
    address_key = throttle.address_key(kind=throttle.RESET)
    if throttle.is_throttled(account_key, address_key, kind=throttle.RESET):
        return render_template("auth/reset_request.html", form=form, sent=True)  # the same answer
    throttle.record_failure(account_key, address_key, kind=throttle.RESET)
    try:
        user = User.by_email(form.email.data)
    except InvalidIdentifier:
        user = None
    wanted = user is not None and user.active
    record("auth.reset_requested", target=_ref(user if wanted else None), actor_id=None)
    # Queued either way (a task for account 0 does nothing), so both answers cost the same.
    reset.send_reset_link(user if wanted else None)
    return render_template("auth/reset_request.html", form=form, sent=True)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def reset_password(token: str):
    from core.accounts import reset
    from core.views.errors import render_error

    user = reset.user_for_token(token)
    if user is None:
        return render_error(
            404, _("This link does not work any more. It may have been used already, or it has expired.")
        )
    form = ResetPasswordForm()
    if request.method == "GET":
        return render_template("auth/reset_password.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/reset_password.html", form=form), 422
    problem = password_problem(form.new_password.data)
    if problem:
        form.new_password.errors.append(problem)
        return render_template("auth/reset_password.html", form=form), 422
    user.password_hash = hash_password(form.new_password.data)
    user.save(only=[User.password_hash])
    sessions.end_all_sessions(user)
    throttle.clear_account(throttle.account_key(user.email or ""))
    record("auth.password_reset", target=_ref(user), actor_id=user.id)
    _clear_session()
    flash(_("Your new password is saved. Please sign in."), "info")
    return redirect(url_for("auth.login"), code=303)


# -- the account's security page, password change ------------------------------------------------


@bp.route("/security")
@requires(SIGNED_IN)
def security():
    return render_template(
        "auth/security.html",
        enrolled=totp.is_enrolled(current_user),
        required=totp.is_required(current_user),
        codes_left=totp.recovery_codes_left(current_user),
        token_count=sum(1 for t in tokens.tokens_of(current_user) if t.active),
    )


def _password_confirmed(user: User, field) -> bool:
    """Check a re-typed password, counting wrong ones against the account's throttle."""
    account_key = throttle.account_key(user.email or "")
    address_key = throttle.address_key()
    if throttle.is_throttled(account_key, address_key):
        field.errors.append(_("Too many attempts. Please wait a while and try again."))
        return False
    if verify_password(user.password_hash, field.data or ""):
        return True
    throttle.record_failure(account_key, address_key)
    field.errors.append(_("That is not your current password."))
    return False


@bp.route("/password", methods=["GET", "POST"])
@requires(SIGNED_IN)
def change_password():
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_template("auth/password.html", form=form)
    user = current_user._get_current_object()
    if not form.validate_on_submit() or not _password_confirmed(user, form.current_password):
        return render_template("auth/password.html", form=form), 422
    problem = password_problem(form.new_password.data)
    if problem:
        form.new_password.errors.append(problem)
        return render_template("auth/password.html", form=form), 422
    user.password_hash = hash_password(form.new_password.data)
    user.save(only=[User.password_hash])
    record("auth.password_changed", target=_ref(user), actor_id=user.id)
    _end_everywhere_and_continue(user)
    flash(_("Your password is changed. You are signed out on every other device."), "info")
    return redirect(url_for("auth.security"), code=303)


# -- two-factor sign-in --------------------------------------------------------------------------


@bp.route("/two-factor")
@requires(SIGNED_IN)
def two_factor_setup():
    user = current_user._get_current_object()
    secret = totp.pending_secret(user)
    context = {
        "enrolled": totp.is_enrolled(user),
        "required": totp.is_required(user),
        "codes_left": totp.recovery_codes_left(user),
        "secret": totp.group_secret(secret) if secret else None,
        "form": ConfirmPasswordForm(),
        "code_form": CodeForm(),
    }
    if secret:
        uri = totp.provisioning_uri(user, secret)
        context.update(uri=uri, qr=totp.qr_data_uri(uri))
    return render_template("auth/two_factor.html", **context)


@bp.route("/two-factor/begin", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_begin():
    """Make a new secret to scan (after the password is typed again)."""
    user = current_user._get_current_object()
    form = ConfirmPasswordForm()
    if not form.validate_on_submit() or not _password_confirmed(user, form.password):
        return (
            render_template(
                "auth/two_factor.html",
                enrolled=totp.is_enrolled(user),
                required=totp.is_required(user),
                codes_left=totp.recovery_codes_left(user),
                secret=None,
                form=form,
                code_form=CodeForm(),
            ),
            422,
        )
    totp.begin_enrolment(user)
    return redirect(url_for("auth.two_factor_setup"), code=303)


@bp.route("/two-factor/confirm", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_confirm():
    user = current_user._get_current_object()
    form = CodeForm()
    replacing = totp.is_enrolled(user)
    codes = totp.confirm_enrolment(user, form.code.data or "") if form.validate_on_submit() else None
    if codes is None:
        flash(_("That code did not match. Please type the code your app shows now."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    record("auth.two_factor_replaced" if replacing else "auth.two_factor_enabled", target=_ref(user), actor_id=user.id)
    _end_everywhere_and_continue(user)
    return render_template("auth/two_factor_codes.html", codes=codes, first_time=not replacing)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_recovery_codes():
    user = current_user._get_current_object()
    form = ConfirmPasswordForm()
    if not totp.is_enrolled(user):
        abort(409)
    if not form.validate_on_submit() or not _password_confirmed(user, form.password):
        flash(" ".join(str(e) for e in form.password.errors) or _("Please type your password."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    codes = totp.regenerate_recovery_codes(user)
    record("auth.recovery_codes_replaced", target=_ref(user), actor_id=user.id)
    _end_everywhere_and_continue(user)
    return render_template("auth/two_factor_codes.html", codes=codes, first_time=False)


@bp.route("/two-factor/disable", methods=["POST"])
@requires(SIGNED_IN)
def two_factor_disable():
    user = current_user._get_current_object()
    if totp.is_required(user):
        flash(_("Your role needs two-factor sign-in, so it cannot be turned off."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    form = ConfirmPasswordForm()
    if not form.validate_on_submit() or not _password_confirmed(user, form.password):
        flash(" ".join(str(e) for e in form.password.errors) or _("Please type your password."), "error")
        return redirect(url_for("auth.two_factor_setup"), code=303)
    totp.remove(user)
    record("auth.two_factor_disabled", target=_ref(user), actor_id=user.id)
    _end_everywhere_and_continue(user)
    flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("auth.security"), code=303)


# -- personal access tokens ----------------------------------------------------------------------


def _tokens_page(form, new_token: str | None = None, status: int = 200):
    return (
        render_template("auth/tokens.html", form=form, tokens=tokens.tokens_of(current_user), new_token=new_token),
        status,
    )


@bp.route("/tokens", methods=["GET", "POST"])
@requires(SIGNED_IN)
def access_tokens():
    form = TokenForm()
    if request.method == "GET":
        return _tokens_page(form)
    user = current_user._get_current_object()
    if not form.validate_on_submit() or not _password_confirmed(user, form.password):
        return _tokens_page(form, status=422)
    token_record, token = tokens.create_token(user, form.label.data)
    record("auth.token_created", target=f"token:{token_record.id}", actor_id=user.id)
    form.label.data = ""
    return _tokens_page(form, new_token=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(SIGNED_IN)
def revoke_token(token_id: int):
    if not tokens.revoke(current_user, token_id):
        abort(404)
    record("auth.token_revoked", target=f"token:{token_id}")
    flash(_("The token is revoked: it no longer works."), "info")
    return redirect(url_for("auth.access_tokens"), code=303)


@api_bp.route("/account")
@requires(SIGNED_IN)
def api_account():
    """Who the token (or session) acts as: for partner systems to check their token."""
    return jsonify(
        {
            "id": current_user.id,
            "roles": sorted(current_user.role_names),
            "two_factor": totp.is_enrolled(current_user),
            "via_token": g.get("access_token_id") is not None,
        }
    )


# -- wiring --------------------------------------------------------------------------------------


def init_app(app) -> None:
    # Behind N reverse proxies (REDUMBRELLA_TRUSTED_PROXIES=N), take the client's address and
    # scheme from their X-Forwarded-For/-Proto headers: per-address throttling and Secure cookies
    # need them. Never set it when clients can reach the app directly (they could forge them).
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.session_interface = _SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)

    @app.before_request
    def _require_two_factor():
        """Staff who have not set up two-factor sign-in can reach only the setup page."""
        endpoint = request.endpoint
        if endpoint is None or endpoint in ENROLMENT_ENDPOINTS or endpoint.endswith(".static"):
            return None
        if not current_user.is_authenticated or g.get("access_token_id") is not None:
            return None
        if totp.needs_enrolment(current_user):
            if is_api_request():
                abort(403)
            return redirect(url_for("auth.two_factor_setup"))
        return None

