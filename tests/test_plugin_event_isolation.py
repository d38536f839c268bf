"""One module's bug in an event hook must not cost anyone else: the reporter still gets the receipt
of the report that was kept, the other modules are still told (reporting's own notice to
moderators), and turning a module on or off still works (core.plugins.PluginRegistry.notify)."""

from __future__ import annotations

import logging
from types import ModuleType

import pytest
from helpers import enable
from test_reporting_common import api_report

from core.db import connection
from core.hookspecs import hookimpl
from core.plugins import PluginInfo, get_registry


def _broken() -> ModuleType:
    """A plugin whose event hooks all raise; its name sorts before reporting, so it is told first."""
    module = ModuleType("broken_hooks")
    module.plugin_info = PluginInfo(name="broken", label="Broken")

    def failing():
        def fail(**_kwargs):
            raise RuntimeError("a bug in someone else's module")

        return hookimpl(fail)

    for hook in ("report_submitted", "plugin_enabled", "plugin_disabled"):
        setattr(module, hook, failing())
    return module


@pytest.fixture
def broken_app(make_app, caplog):
    """An app with the broken plugin; the platform's loggers do not propagate and are set up with
    the app (core.logs), so pytest's handler is added to them after it."""
    app = make_app(extra_plugins=[_broken()])
    logger = logging.getLogger("redumbrella")
    logger.addHandler(caplog.handler)
    yield app
    logger.removeHandler(caplog.handler)


def _logged_failures(caplog) -> list[tuple[str, str]]:
    return [(r.__dict__.get("plugin"), r.__dict__.get("reason"))
            for r in caplog.records if getattr(r, "event", None) == "hook_failed"]


def test_a_raising_report_submitted_leaves_the_receipt_and_the_other_modules_alone(broken_app, make_user, caplog):
    from core.mail import OutgoingMail
    from plugins.reporting.models import Report

    app = broken_app
    enable(app, "reporting", "broken")
    make_user("moderator", email="mod@example.org")
    caplog.clear()  # turning the modules on was logged too
    with caplog.at_level(logging.ERROR, logger="redumbrella.plugins"):
        response = api_report(app.test_client(), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["receipt"]
    with app.app_context(), connection():
        assert Report.select().count() == 1
        assert [row.kind for row in OutgoingMail.select()] == ["reporting_moderator_notice"]  # reporting was told
    assert _logged_failures(caplog) == [("broken", "report_submitted")]


def test_a_raising_plugin_enabled_or_disabled_does_not_stop_the_switch(broken_app, caplog):
    app = broken_app
    registry = get_registry(app)
    with app.app_context(), connection(), caplog.at_level(logging.ERROR, logger="redumbrella.plugins"):
        registry.set_enabled("broken", True)
        registry.set_enabled("training", True)  # every enabled plugin hears of it
        registry.set_enabled("broken", False)
        assert "training" in registry.enabled() and "broken" not in registry.enabled()
    assert _logged_failures(caplog) == [("broken", "plugin_enabled"), ("broken", "plugin_enabled"),
                                        ("broken", "plugin_disabled")]
