"""Other modules hear when an alert is published or withdrawn (plugins/alerts/hookspecs.py), after
the change is committed, once; and a module whose hook fails does not stop the publication."""

from __future__ import annotations

from types import ModuleType

from alerts_fixtures import in_app
from helpers import enable
from test_alerts import _draft, _publish, _report

from core.hookspecs import hookimpl
from core.plugins import PluginInfo


def _listener(heard: list) -> ModuleType:
    module = ModuleType("listener_hooks")
    module.plugin_info = PluginInfo(name="listener", label="Listener", requires=("alerts",))

    def published(app, alert):
        from plugins.alerts.models import Alert

        # Called after the commit: another connection's view of the row is the published one.
        heard.append(("published", alert.id, Alert.get_by_id(alert.id).status))

    def withdrawn(app, alert):
        heard.append(("withdrawn", alert.id, alert.status))
        raise RuntimeError("a bug in the listener")

    module.alert_published = hookimpl(specname="alert_published")(published)
    module.alert_withdrawn = hookimpl(specname="alert_withdrawn")(withdrawn)
    return module


def test_other_modules_hear_of_a_publication_and_a_withdrawal_once(make_app, make_user):
    from plugins.alerts import service
    from plugins.alerts.models import Alert

    heard: list = []
    app = make_app(extra_plugins=[_listener(heard)])
    enable(app, "reporting", "alerts", "listener")
    moderator = make_user("moderator", email="mod@example.org")
    alert = _draft(app, moderator, [_report(app, phones=("07700 900123",))])
    assert heard == []  # a draft is nobody's business
    _publish(app, moderator, alert)
    assert heard == [("published", alert.id, "published")]

    def withdraw():
        from core.accounts.models import User

        return service.withdraw(Alert.get_by_id(alert.id), User.get_by_id(moderator.id), "wrong person")

    assert in_app(app, withdraw).status == "withdrawn"  # the listener's failure stops nothing
    assert heard[1:] == [("withdrawn", alert.id, "withdrawn")]
