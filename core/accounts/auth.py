"""Signing in and out with Flask-Login; a session is tied to the account's session_version."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from core.accounts.models import User
from core.accounts.passwords import verify_password
from core.identifiers import InvalidIdentifier
from core.permissions import PUBLIC, SIGNED_IN, requires

bp = Blueprint("auth", __name__, url_prefix="/account")
login_manager = LoginManager()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = User.get_or_none(User.id == int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None  # the account was disabled or signed out everywhere
    return user


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in."""
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = User.by_email(form.email.data)
        except InvalidIdentifier:
            user = None
        if verify_password(user.password_hash if user else None, form.password.data) and user.active:
            session.clear()  # a fresh session at sign-in: nothing carried over from before
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("core.index"))
        flash(_("That email and password do not match an account."), "error")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/logout", methods=["POST"])
@requires(SIGNED_IN)
def logout():
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("core.index"))


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)


@bp.route("/profile", methods=["GET", "POST"])
@requires(SIGNED_IN)
def profile():
    """The person's own settings; for now, the language pages are shown in."""
    from flask import current_app

    if request.method == "POST":
        code = request.form.get("locale", "")
        if code not in current_app.config["LOCALES"]:
            flash(_("Please choose one of the languages listed."), "error")
            return render_template("auth/profile.html"), 422
        current_user.locale = code
        current_user.save(only=["locale"])
        flash(_("Your settings are saved."), "info")
        return redirect(url_for("auth.profile"), code=303)
    return render_template("auth/profile.html")
