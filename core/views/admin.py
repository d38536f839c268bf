"""The administrator's settings pages: turn plugins on and off, and edit their settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
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
    registry = get_registry()
    enabled = registry.enabled()
    rows = [
        {"info": registry.infos[name], "enabled": name in enabled, "has_settings": schema_for(name) is not None}
        for name in registry.names
    ]
    return render_template("admin/plugins.html", rows=rows, core_settings=schema_for("core") is not None)


@bp.route("/plugins/<name>", methods=["POST"])
@requires(MANAGE_PLUGINS)
def switch_plugin(name: str):
    registry = get_registry()
    if name not in registry.names:
        abort(404)
    enable = request.form.get("enabled") == "1"
    try:
        registry.set_enabled(name, enable)
    except PluginError as exc:
        flash(_("That change was not made: %(reason)s", reason=str(exc)), "error")
        return render_template("admin/plugins_refused.html", reason=str(exc)), 409
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
