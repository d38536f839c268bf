"""What core's own hooks (core/builtin.py) add for webhooks: the permission, the page in the
navigation, the audit log's words, the queue tasks, the retention rule and the blueprint."""

from __future__ import annotations

import datetime

from flask_babel import lazy_gettext as _l

MANAGE_WEBHOOKS = "admin.webhooks"
DELIVERIES_KEPT_DAYS = 30

AUDIT_ACTIONS = {
    "webhook.created": _l("Webhook added for a partner system"),
    "webhook.deleted": _l("Webhook deleted"),
    "webhook.paused": _l("Webhook paused"),
    "webhook.resumed": _l("Webhook resumed"),
    "webhook.retried": _l("Webhook message sent again"),
    "webhook.secret_rotated": _l("Webhook secret replaced"),
    "webhook.tested": _l("Webhook test message sent"),
}


def permissions():
    from core.permissions import Permission

    return [Permission(MANAGE_WEBHOOKS, _l("Manage webhooks to partner systems"), ("admin",))]


def nav_items():
    from core.navigation import NavItem

    return [NavItem(_l("Webhooks"), "webhooks.index", MANAGE_WEBHOOKS, order=89)]


def tasks():
    from core.webhooks.tasks import TASKS

    return list(TASKS)


def retention_rules():
    """Deliveries that were delivered or gave up are deleted after DELIVERIES_KEPT_DAYS."""
    from core.retention import RetentionRule
    from core.webhooks.models import WebhookDelivery
    from core.webhooks.service import delivered_or_failed

    return [RetentionRule(WebhookDelivery, WebhookDelivery.created_at, datetime.timedelta(days=DELIVERIES_KEPT_DAYS),
                          condition=delivered_or_failed, label="finished webhook deliveries")]


def blueprint():
    from core.webhooks.views import bp

    return bp
