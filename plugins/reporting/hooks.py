"""The reporting plugin's metadata and hook implementations."""

import datetime

from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import PUBLIC, SIGNED_IN, Permission
from core.plugins import PluginInfo
from plugins.reporting import _l, hookspecs
from plugins.reporting.erasure import account_erased  # noqa: F401  (the hook: what an erased account leaves)

plugin_info = PluginInfo(
    name="reporting",
    label=_l("Reporting"),
    description=_l("Sex workers report harm safely; moderators review what is reported."),
    hookspecs=hookspecs,
)


@hookimpl
def register_blueprints(app):
    from plugins.reporting.api import bp as api_bp
    from plugins.reporting.moderation import bp as moderation_bp
    from plugins.reporting.research_views import bp as research_bp
    from plugins.reporting.trends_views import api_bp as trends_api_bp
    from plugins.reporting.trends_views import bp as trends_bp
    from plugins.reporting.views import bp

    return [bp, moderation_bp, api_bp, trends_bp, trends_api_bp, research_bp]


@hookimpl
def audit_actions(app):
    """The words for this plugin's audit action codes on the audit log page."""
    from plugins.reporting.audit_labels import ACTIONS

    return ACTIONS


@hookimpl
def register_permissions(app):
    return [
        Permission("reporting.moderate", _l("Review reports and message reporters"), ("moderator",)),
        # Which account sent a report: reviewing, messaging and publishing never need it (messages
        # reach the account through the report). Only whoever acts on an account does: stopping
        # misuse, or answering a person's request about their own data.
        Permission("reporting.reporter_account",
                   _l("See which account sent a report (to act on misuse, or on a person's request about "
                      "their data)"), ("admin",)),
        # The trends page (counts with small numbers hidden); the trends_audience setting can open it wider.
        Permission("reporting.trends", _l("See trends: monthly counts of reports, with small numbers hidden"),
                   ("moderator", "admin")),
        # Research exports: an admin asks, and another staff member must approve before it can be downloaded.
        Permission("reporting.research", _l("Ask for and download de-identified research exports"), ("admin",)),
        Permission("reporting.research_approve", _l("Approve or refuse research exports someone else asked for"),
                   ("moderator", "admin")),
    ]


@hookimpl
def register_tasks(app):
    from plugins.reporting.tasks import notify_moderators, notify_reporter, purge_drafts

    return [notify_moderators, notify_reporter, purge_drafts]


@hookimpl
def register_mail_kinds(app):
    from core.mail import MailKind
    from plugins.reporting.notices import MODERATOR_NOTICE, REPORTER_NOTICE

    return [MailKind(MODERATOR_NOTICE, _l("Notice to moderators that a report came in"), "reporting.moderate"),
            MailKind(REPORTER_NOTICE, _l("Notice to a reporter with an account that the team wrote to them"),
                     "reporting.moderate")]


@hookimpl
def settings_schema(app):
    from plugins.reporting.schemas import ReportingSettings

    return ReportingSettings


@hookimpl
def nav_items(app, user):
    items = [
        NavItem(_l("Report an incident"), "reporting.index", PUBLIC, order=10,
                description=_l("Tell us what happened, safely and anonymously if you want.")),
        NavItem(_l("Reports to review"), "reporting_moderate.queue", "reporting.moderate", order=15),
        NavItem(_l("Trends"), "reporting_trends.page", _trends_permission(), order=16),
        NavItem(_l("Research exports"), "reporting_research.index", "reporting.research_approve", order=17),
    ]
    if getattr(user, "is_authenticated", False):
        items.append(NavItem(_l("My reports"), "reporting.mine", SIGNED_IN, order=11))
    return items


def _trends_permission() -> str:
    """Who sees the Trends link: as the trends_audience setting opens the page (trends_views checks it)."""
    from core.settings import plugin_settings

    audience = plugin_settings("reporting").get("trends_audience", "staff")
    return {"public": PUBLIC, "members": SIGNED_IN}.get(audience, "reporting.trends")


@hookimpl
def register_api(app, spec):
    from plugins.reporting import trends_views
    from plugins.reporting.api import describe

    describe(spec)
    trends_views.describe(spec)


@hookimpl
def report_submitted(app, report):
    """Let moderators know something is waiting, when they need telling (notices.py); the task gets
    the report's id only, and its row in core's mail record lets a notice that a killed worker was
    sending be sent again."""
    from core.mail import queue_mail
    from plugins.reporting.notices import MODERATOR_NOTICE, moderators_need_telling
    from plugins.reporting.tasks import notify_moderators

    if moderators_need_telling(report):
        queue_mail(notify_moderators, MODERATOR_NOTICE, report.target(), report.id)


@hookimpl
def retention_rules(app):
    from core.retention import RetentionRule, days_setting
    from plugins.reporting.models import Draft, Report

    rules = []
    for status in ("rejected", "duplicate", "verified"):
        rules.append(
            RetentionRule(
                model=Report,
                age_field=Report.status_changed_at,
                max_age=days_setting("reporting", f"keep_{status}_days"),
                condition=Report.status == status,
                delete_nullable=True,  # pictures hang off a nullable key (drafts); they go with the report
                label=f"{status} reports",
            )
        )
    rules.append(RetentionRule(model=Draft, age_field=Draft.expires_at, max_age=datetime.timedelta(seconds=1),
                               label="unsent report drafts"))
    return rules


@hookimpl
def demo_data(app, accounts):
    from plugins.reporting.demo import fill

    fill(app, accounts)


@hookimpl
def register_webhook_events(app):
    from core.webhooks import WebhookEvent

    return [WebhookEvent("report.received", _l("A report is received"),
                         _l("Only the hour it arrived in. Never its content, reference, place or type, or "
                            "anything about who made it."))]


@hookimpl
def page_blocks(app, slot, user):
    from plugins.reporting import slots

    return slots.page_blocks(app, slot, user)
