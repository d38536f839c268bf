"""Plugin settings: a marshmallow schema per plugin, stored as JSON, edited on the admin page.

A plugin returns its Schema class from the settings_schema hook. Fields carry their label and help
text in metadata ({"label": _l("..."), "help": _l("...")}); load_default gives the value an
instance starts with. Read settings with plugin_settings("reporting")["allow_anonymous"].
"""

from __future__ import annotations

import copy
import datetime
import decimal
import functools
import json

from flask import current_app, g, has_request_context
from marshmallow import Schema, ValidationError, fields

from core import stored_state
from core.db import run_sql, utcnow
from core.models import PluginSetting
from core.plugins import get_registry


def schema_for(plugin: str) -> Schema | None:
    schema_class = _schema_class(plugin)
    return schema_class() if schema_class is not None else None


SCHEMA_CLASSES = "redumbrella.settings_schema_classes"


def _schema_class(plugin: str) -> type[Schema] | None:
    """The plugin's settings schema class, asked of that plugin once per app: the busiest endpoints
    read settings on every call. Asking every plugin would call disabled plugins' hooks."""
    known = current_app._get_current_object().extensions.setdefault(SCHEMA_CLASSES, {})
    found = known.get(plugin)
    if found is None:
        found = get_registry().call_plugin("settings_schema", plugin, app=current_app)
        if found is not None:  # a plugin without settings is asked again: cheap, and never stale
            known[plugin] = found
    return found


def plugin_settings(plugin: str) -> dict:
    """The plugin's settings with defaults filled in; read once per request."""
    cache = g._get_current_object().setdefault("plugin_settings", {}) if has_request_context() else {}
    if plugin not in cache:
        state = stored_state.current()  # a request reads every plugin's in one statement
        if state is not None:
            stored = state.settings.get(plugin, "{}")
        else:
            row = run_sql("SELECT data FROM plugin_setting WHERE plugin = %s", (plugin,)).fetchone()
            stored = row[0] if row else "{}"
        cache[plugin] = _copied(_loaded(_schema_class(plugin), stored))
    return cache[plugin]


_IMMUTABLE = (str, int, float, bool, bytes, type(None), datetime.date, datetime.time, decimal.Decimal)
_PLAIN = frozenset({str, int, float, bool, type(None)})  # what settings hold, told apart by type alone


def _copied(value):
    """The caller's own copy of loaded settings (what is kept stays as loaded): containers copied,
    values that cannot change shared; deepcopy only for anything else. Cheaper than deepcopy on
    every request."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dict):
        return {key: item if type(item) in _PLAIN else _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [item if type(item) in _PLAIN else _copied(item) for item in value]
    if isinstance(value, _IMMUTABLE):
        return value
    return copy.deepcopy(value)


@functools.lru_cache(maxsize=64)
def _loaded(schema_class: type[Schema] | None, stored_text: str) -> dict:
    """Stored JSON checked by the plugin's schema, kept per process while it is unchanged:
    the busiest endpoints read settings on every call."""
    stored = json.loads(stored_text)
    if schema_class is None:
        return stored
    schema = schema_class()
    known = {key: value for key, value in stored.items() if key in schema.fields}
    try:
        return schema.load(known)
    except ValidationError:  # a stored value no longer fits: fall back to the defaults
        return schema.load({})


def save_settings(plugin: str, raw: dict) -> dict:
    """Validate raw input with the plugin's schema and store it; raises ValidationError."""
    schema = schema_for(plugin)
    if has_request_context():  # a person reads the messages: in their language
        from core.api import translate_fields

        translate_fields(schema)
    loaded = schema.load(raw)
    data = schema.dump(loaded)
    PluginSetting.insert(plugin=plugin, data=json.dumps(data), changed_at=utcnow()).on_conflict(
        conflict_target=[PluginSetting.plugin],
        update={PluginSetting.data: json.dumps(data), PluginSetting.changed_at: utcnow()},
    ).execute()
    if has_request_context():
        stored_state.forget()
        g.setdefault("plugin_settings", {}).pop(plugin, None)
    return loaded


def form_fields(schema: Schema) -> list[dict]:
    """Describe a schema's fields for the generic settings form template."""
    described = []
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        if isinstance(field, fields.Boolean):
            widget = "checkbox"
        elif isinstance(field, fields.Integer):
            widget = "number"
        elif isinstance(field, fields.List):
            widget = "lines"
        elif getattr(field, "validate", None) and hasattr(field.validate, "choices"):
            widget = "select"
        else:
            widget = "text"
        choice_labels = field.metadata.get("choice_labels") or {}
        choices = getattr(field.validate, "choices", None)
        codes = field.metadata.get("codes")
        described.append(
            {
                "name": name,
                "widget": widget,
                "label": field.metadata.get("label", name),
                "help": field.metadata.get("help", ""),
                # A select shows each choice's label (metadata "choice_labels") and sends its value.
                "choices": [(choice, choice_labels.get(choice, choice)) for choice in choices] if choices else None,
                # A list of codes (metadata "codes": {code: label}) is shown in words under its box.
                "shown_as": functools.partial(code_line_label, codes) if codes is not None else None,
            }
        )
    return described


def code_line_label(codes: dict, line: str) -> str:
    """How one line of a list of codes reads: "code | Name" is the instance's own name, a listed
    code its translated label; anything else is shown as written."""
    code, separator, own_name = str(line).partition("|")
    if separator and own_name.strip():
        return own_name.strip()
    label = codes.get(code.strip().lower())
    return str(label) if label is not None else str(line).strip()


def form_to_raw(schema: Schema, form) -> dict:
    """Turn submitted form values into what the schema loads (checkboxes, one item a line)."""
    raw = {}
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        if isinstance(field, fields.Boolean):
            raw[name] = name in form
        elif isinstance(field, fields.List):
            raw[name] = [line.strip() for line in form.get(name, "").splitlines() if line.strip()]
        elif name in form:
            raw[name] = form.get(name)
    return raw
