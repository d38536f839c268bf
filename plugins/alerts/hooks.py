"""The alerts plugin's metadata and hook implementations."""


from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import Permission
from core.plugins import PluginInfo
from plugins.alerts import _l, hookspecs
from plugins.alerts.erasure import account_erased  # noqa: F401  (the hook: what an erased account leaves)

plugin_info = PluginInfo(
    name="alerts",
    label=_l("Alerts"),
    description=_l("Warnings sent to members and partners, and the number check."),
    requires=("reporting",),
    hookspecs=hookspecs,
)

VETTED = ("member", "partner", "moderator")


@hookimpl
def check_config(app):
    """The text-message settings (REDUMBRELLA_SMS_*), so a wrong one stops start-up, not a delivery."""
    from plugins.alerts import sms

    sms.check_config(app)


@hookimpl
def register_blueprints(app):
    # The modules whose pages are on the alerts blueprint: imported so their routes are on it.
    from plugins.alerts import (  # noqa: F401
        check_views,
        edit_views,
        federation_views,
        manage_views,
        oversight_views,
        subscription_views,
    )
    from plugins.alerts.api import bp as api_bp
    from plugins.alerts.federation_check import bp as peers_api_bp
    from plugins.alerts.federation_check_views import bp as peers_bp
    from plugins.alerts.list_views import links
    from plugins.alerts.views import bp

    return [bp, links, api_bp, peers_api_bp, peers_bp]


@hookimpl
def audit_actions(app):
    """The words for this plugin's audit action codes on the audit log page."""
    from plugins.alerts.audit_labels import ACTIONS

    return ACTIONS


@hookimpl
def register_permissions(app):
    return [
        Permission("alerts.read", _l("Read published alerts"), VETTED),
        Permission("alerts.check", _l("Check a phone number, e-mail, plate or online name"), VETTED),
        Permission("alerts.subscribe", _l("Choose which alerts to get, and how"), VETTED),
        Permission("alerts.publish", _l("Write and publish alerts"), ("moderator",)),
        Permission("alerts.oversee", _l("See deliveries and check warnings, and manage partner feeds"),
                   ("moderator", "admin")),
    ]


@hookimpl
def register_tasks(app):
    from plugins.alerts.federation_check import refresh_peer_tokens
    from plugins.alerts.tasks import drain_outbox, sweep_outbox

    return [drain_outbox, sweep_outbox, refresh_peer_tokens]


@hookimpl
def register_api(app, spec):
    from plugins.alerts.api import register_api as add_paths

    add_paths(spec)


@hookimpl
def settings_schema(app):
    from plugins.alerts.schemas import AlertsSettings

    return AlertsSettings


@hookimpl
def nav_items(app, user):
    return [
        NavItem(_alerts_label(app, user), "alerts.index", "alerts.read", order=20),
        NavItem(_l("Check a number"), "alerts.check_page", "alerts.check", order=21),
        NavItem(_l("My alerts settings"), "alerts.subscription_page", "alerts.subscribe", order=22),
        NavItem(_l("Manage alerts"), "alerts.manage", "alerts.publish", order=40),
        NavItem(_l("Deliveries"), "alerts.deliveries", "alerts.oversee", order=41),
        NavItem(_l("Checks with peers"), "alerts_peers.index", "alerts.oversee", order=42),
    ]


def _alerts_label(app, user):
    """'Alerts', or 'Alerts (2 new)' for a reader with alerts new or updated since their last visit
    (none for a reader whose reading is paused: the link leads to why)."""
    from core.permissions import may_use
    from plugins.alerts import ngettext, unread

    if not (user and user.is_authenticated and may_use(app, user, "alerts.read")):
        return _l("Alerts")
    count = unread.count_new(user)
    return ngettext("Alerts (%(num)d new)", "Alerts (%(num)d new)", count) if count else _l("Alerts")


@hookimpl
def retention_rules(app):
    """Check records and finished messages do not stay for ever (daily check counts are core's
    throttle's, deleted with every other throttle count: core.accounts.housekeeping)."""
    from core.retention import RetentionRule, days_setting
    from plugins.alerts.federation_check_models import PeerCheckWarning
    from plugins.alerts.models import CANCELLED, FAILED, SENT, CheckEvent, CheckWarning, Delivery

    return [
        RetentionRule(model=CheckEvent, age_field=CheckEvent.created_at,
                      max_age=days_setting("alerts", "keep_check_days"), label="identifier check records"),
        RetentionRule(model=CheckWarning, age_field=CheckWarning.created_at,
                      max_age=days_setting("alerts", "keep_check_days"),
                      condition=lambda: CheckWarning.resolved_at.is_null(False), label="resolved check warnings"),
        RetentionRule(model=PeerCheckWarning, age_field=PeerCheckWarning.created_at,
                      max_age=days_setting("alerts", "keep_check_days"),
                      condition=lambda: PeerCheckWarning.resolved_at.is_null(False),
                      label="resolved peer check warnings"),
        RetentionRule(model=Delivery, age_field=Delivery.created_at,
                      max_age=days_setting("alerts", "keep_delivery_days"),
                      condition=lambda: Delivery.status.in_([SENT, CANCELLED, FAILED, "bundled"]),
                      label="finished alert messages"),
    ]


@hookimpl
def demo_data(app, accounts):
    from plugins.alerts.demo import fill

    fill(app, accounts)


@hookimpl
def report_verified(app, report):
    """A verified report whose reporter agreed to a warning goes on the moderators' list."""
    from plugins.alerts.sources import add_candidate

    add_candidate(report)


@hookimpl
def send_sms(app, backend, to, body, key):
    """The built-in backends: "http" (a real gateway) and "file" (development)."""
    from plugins.alerts import sms

    if backend not in sms.BUILT_IN:
        return None
    return sms.send_built_in(app, backend, to, body, key)


@hookimpl
def trend_series(app, start, end, region):
    """Alerts and notices published, and identifier checks made, by month, for reporting's trends page
    (reporting hides the small counts). Checks have no region, so they are left out for one region."""
    from peewee import SQL, fn

    from plugins.alerts.models import Alert, AlertRegion, CheckEvent
    from plugins.reporting.trends import month_of

    month = month_of(Alert.published_at)
    published = (Alert.select(month, fn.COUNT(SQL("*")))
                 .where(Alert.published_at.is_null(False) & (Alert.published_at >= start) & (Alert.published_at < end)))
    if region is not None:
        published = published.where(Alert.id.in_(AlertRegion.select(AlertRegion.alert)
                                                 .where(AlertRegion.region == region)))
    series = [{"key": "alerts_published", "label": _l("Alerts and notices published"),
               "counts": dict(published.group_by(month).tuples())}]
    if region is None:
        month = month_of(CheckEvent.created_at)
        checks = (CheckEvent.select(month, fn.COUNT(SQL("*")))
                  .where((CheckEvent.created_at >= start) & (CheckEvent.created_at < end)).group_by(month))
        series.append({"key": "checks", "label": _l("Number checks made"),
                       "note": _l("Checks are kept for a limited time, so older months may count fewer."),
                       "counts": dict(checks.tuples())})
    return series


@hookimpl
def register_webhook_events(app):
    from core.webhooks import WebhookEvent

    alert = _l("The alert exactly as members and partner feeds see it: title, summary, severity, incident "
               "types, regions, dates, and the numbers and descriptions it warns about. Never its reports, who "
               "made them or who moderated it.")
    return [
        WebhookEvent("alert.published", _l("An alert is published"), alert),
        WebhookEvent("alert.updated", _l("A published alert is corrected"), alert),
        WebhookEvent("alert.withdrawn", _l("An alert is withdrawn"),
                     _l("Only the alert's number and when it was withdrawn.")),
    ]


@hookimpl
def register_federation_kinds(app):
    """Alerts travel between peer instances (plugins/alerts/federation.py)."""
    from plugins.alerts.federation import kinds

    return kinds()


@hookimpl
def page_blocks(app, slot, user):
    from plugins.alerts import slots

    return slots.page_blocks(app, slot, user)
