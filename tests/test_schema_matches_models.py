"""Every model's columns are the columns its migrations made, on SQLite and PostgreSQL.

Migrations are written by hand with frozen copies of the models; a field added to a model and
forgotten in a migration would otherwise only fail when a page first touches it.
"""

from __future__ import annotations

import importlib
import pkgutil

import core
import plugins
from core.db import BaseModel, db


def all_models() -> list[type]:
    """Every concrete model of core and the built-in plugins (a table name that exists in the schema)."""
    for package in (core, plugins):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" not in module.name and not module.name.endswith(("wsgi", "__main__")):
                importlib.import_module(module.name)
    found, pending = [], list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith(("core.", "plugins.")) and "_meta" in vars(model):
            found.append(model)
    return found


def test_every_model_matches_its_table(ctx):
    tables = set(db.get_tables())
    models = all_models()
    # A model that others subclass (CaseworkModel) is a shared base, not a table.
    problems = [f"{model.__name__}: no table {model._meta.table_name}" for model in models
                if model._meta.table_name not in tables and not model.__subclasses__()]
    models = [model for model in models if model._meta.table_name in tables]
    assert any(model._meta.table_name == "casework_case" for model in models)
    for model in models:
        columns = {column.name for column in db.get_columns(model._meta.table_name)}
        fields = {field.column_name for field in model._meta.sorted_fields}
        if columns != fields:
            problems.append(f"{model.__name__}: only in the model {sorted(fields - columns)}, "
                            f"only in the table {sorted(columns - fields)}")
    assert not problems, "\n".join(problems)
