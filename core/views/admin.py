"""The administrator's settings pages: turn plugins on and off, and edit their settings."""

from __future__ import annotations

from babel.lists import format_list
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from marshmallow import ValidationError

from core.permissions import requires
from core.plugins import PluginError, get_registry
from core.settings import form_fields, form_to_raw, plugin_settings, save_settings, schema_for

bp = Blueprint("admin", __name__, url_prefix="/admin")
MANAGE_PLUGINS = "admin.plugins"


@bp.route("/plugins")
@requires(MANAGE_PLUGINS)
def plugins():
    return _plugins_page()


def _plugins_page(refusal: str = "", status: int = 200):
    registry = get_registry()
    enabled = registry.enabled()
    rows = [
        {"info": registry.infos[name], "enabled": name in enabled, "has_settings": schema_for(name) is not None,
         "needs": _labels(registry, registry.infos[name].requires)}
        for name in registry.names
    ]
    return render_template("admin/plugins.html", rows=rows, core_settings=schema_for("core") is not None,
                           refusal=refusal), status


def _labels(registry, names) -> str:
    """Plugins by their translated labels, as a list for a sentence."""
    return format_list([str(registry.infos[name].label) if name in registry.infos else name for name in names],
                       locale=get_locale())


def _refusal(registry, exc: PluginError) -> str:
    """Why a switch was refused, naming modules as the page does (labels, not internal names)."""
    if exc.kind not in ("needs", "needed_by"):
        return str(exc)
    module = str(registry.infos[exc.plugin].label)
    others = _labels(registry, exc.others)
    if exc.kind == "needs":
        return _("%(module)s needs %(others)s. Turn on %(others)s first.", module=module, others=others)
    return ngettext("%(others)s needs %(module)s. To turn off %(module)s, first turn off %(others)s.",
                    "%(others)s need %(module)s. To turn off %(module)s, first turn off %(others)s.",
                    len(exc.others), others=others, module=module)


@bp.route("/plugins/<name>", methods=["POST"])
@requires(MANAGE_PLUGINS)
def switch_plugin(name: str):
    registry = get_registry()
    if name not in registry.names:
        abort(404)
    enable = request.form.get("enabled") == "1"
    try:
        registry.set_enabled(name, enable)
    except PluginError as exc:  # the same page again, saying why (409: the change conflicts with the others)
        return _plugins_page(refusal=_refusal(registry, exc), status=409)
    label = registry.infos[name].label
    flash(_("%(plugin)s is on.", plugin=label) if enable else _("%(plugin)s is off.", plugin=label), "info")
    return redirect(url_for("admin.plugins"), code=303)


@bp.route("/plugins/<name>/settings", methods=["GET", "POST"])
@requires(MANAGE_PLUGINS)
def plugin_settings_page(name: str):
    registry = get_registry()
    schema = schema_for(name) if name in registry.names or name == "core" else None  # core has settings too
    if schema is None:
        abort(404)
    errors: dict = {}
    values = plugin_settings(name)
    status = 200
    if request.method == "POST":
        raw = form_to_raw(schema, request.form)
        try:
            save_settings(name, raw)
        except ValidationError as exc:
            errors, values, status = _as_text(exc.messages), {**values, **raw}, 422
        else:
            from core.audit import record

            record("plugin.settings_changed", target=f"plugin:{name}")
            flash(_("Settings saved."), "info")
            return redirect(url_for("admin.plugin_settings_page", name=name), code=303)
    return (
        render_template(
            "admin/plugin_settings.html",
            info=registry.infos[name],
            fields=form_fields(schema),
            values=values,
            errors=errors,
        ),
        status,
    )


def _as_text(messages: dict) -> dict[str, list[str]]:
    """Marshmallow errors as lists of plain strings: a lazy message (from error_messages) is not
    a str, so the template would spell it out letter by letter; list items' errors are flattened."""

    def flatten(value) -> list[str]:
        if isinstance(value, dict):
            return [text for item in value.values() for text in flatten(item)]
        if isinstance(value, list | tuple):
            return [text for item in value for text in flatten(item)]
        return [str(value)]

    return {name: flatten(value) for name, value in messages.items()}


# -- erasing an account and its data (core.accounts.erasure) ----------------------------------------

MANAGE_USERS = "admin.users"


def _find_account(text: str):
    """The account for an e-mail address or an account number (12 or #12), or None."""
    from core.accounts.models import User
    from core.identifiers import InvalidIdentifier, normalise_email
    from core.numbers import is_ascii_number, whole_number

    text = (text or "").strip()
    number = text.removeprefix("#")
    if is_ascii_number(number):
        from core.accounts.erasure import is_erased

        user_id = whole_number(number)
        found = User.get_or_none(User.id == user_id) if user_id is not None else None
        return None if found is None or is_erased(found.id) else found
    try:
        return User.by_email(normalise_email(text))
    except InvalidIdentifier:
        return None


def _erase_page(account=None, query: str = "", problems: dict | None = None, status: int = 200):
    from flask_login import current_user

    from core.accounts.erasure import last_admin_message, only_admin
    from core.accounts.invitations import role_labels

    refusal = ""
    if account is not None and account.id == current_user.id:
        refusal = _("This is your own account. To delete it, use Delete my account on your My account page.")
    elif account is not None and account.active and only_admin(account):
        refusal = last_admin_message()
    labels = role_labels()
    roles = sorted(str(labels.get(name, name)) for name in account.role_names) if account is not None else []
    return render_template("admin/erase_account.html", account=account, query=query, roles=roles,
                           refusal=refusal, problems=problems or {}), status


@bp.route("/members/erase", methods=["GET", "POST"])
@requires(MANAGE_USERS)
def erase_find():
    """Step one: find the account (by e-mail address or number) and see what erasing it means. The
    address is sent in the body, never in the page's address, so no log or history keeps it."""
    if request.method == "GET":
        return _erase_page()
    query = request.form.get("account", "")[:254]
    account = _find_account(query)
    if account is None:
        return _erase_page(query=query, problems={"account": _("No account has that email address or number.")},
                           status=404)
    return _erase_page(account, query=query)


@bp.route("/members/erase/<int:user_id>", methods=["POST"])
@requires(MANAGE_USERS)
def erase_member(user_id: int):
    """Step two: the administrator ticks that they understand and types their own password."""
    from flask_login import current_user

    from core.accounts.erasure import ErasureRefused, erase_account, is_erased
    from core.accounts.models import User
    from core.accounts.profile import TooManyAttempts, confirm_identity

    account = User.get_or_none(User.id == user_id)
    if account is None or is_erased(account.id):
        abort(404)
    admin = current_user._get_current_object()
    if account.id == admin.id:
        return _erase_page(account, query=f"#{account.id}", status=409)
    problems = {}
    if request.form.get("confirm") != "yes":
        problems["confirm"] = _("Please tick the box to say you understand that this cannot be undone.")
    try:
        problems.update(confirm_identity(admin, request.form.get("password", "")[:1024], None,
                                         second_factor=False))
    except TooManyAttempts:
        return _erase_page(account, query=f"#{account.id}", status=429, problems={
            "password": _("Too many attempts. Please wait a while and try again.")})
    if problems:
        return _erase_page(account, query=f"#{account.id}", problems=problems, status=422)
    try:
        erase_account(account.id, actor_id=admin.id)
    except ErasureRefused:
        return _erase_page(account, query=f"#{account.id}", status=409)
    flash(_("Account #%(number)d and its data are erased.", number=user_id), "info")
    return redirect(url_for("admin.erase_find"), code=303)
