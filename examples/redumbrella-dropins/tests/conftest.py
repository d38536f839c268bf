"""A real app on a real database for each test: SQLite in a temporary folder, or the PostgreSQL
database named by DROPINS_TEST_DATABASE_URL (emptied before each test)."""

import os
from importlib.metadata import entry_points

import pytest
from core.app import create_app
from core.db import connection, db
from core.plugins import get_registry
from core.schema import upgrade

import redumbrella_dropins.hooks

INSTALLED = any(ep.name == "dropins" for ep in entry_points(group="redumbrella.plugins"))
POSTGRES_URL = os.environ.get("DROPINS_TEST_DATABASE_URL", "")


def enable(registry, name):
    """Switch a plugin on after the plugins it requires (its plugin_info.requires): enabling it
    before them is refused ("dropins needs reporting: enable reporting first")."""
    for required in registry.infos[name].requires:
        enable(registry, required)
    registry.set_enabled(name, True)


@pytest.fixture
def app(tmp_path):
    overrides = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": POSTGRES_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "TESTING": True,
        "QUEUE_IMMEDIATE": True,  # tasks run at once, in the same process
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-123",
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1,
    }
    # Installed (pip install -e . or pip install .): found through its entry point, its catalogs
    # compiled. Not installed: passed in, with no compiled catalog (the Spanish test fails).
    extra = () if INSTALLED else (redumbrella_dropins.hooks,)
    app = create_app(overrides, extra_plugins=extra)
    with app.app_context(), connection():
        if POSTGRES_URL:
            db.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        upgrade(app)
        enable(get_registry(app), "dropins")
    yield app
    db.close_all()  # give the pooled connections back before the next test's app
