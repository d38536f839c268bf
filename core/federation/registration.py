"""What core's own hooks (core/builtin.py) and pages add for federation: the permission, the page
in the navigation, the audit log's words, the queue tasks, the retention rule and the blueprints."""

from __future__ import annotations

import datetime

from flask_babel import lazy_gettext as _l

MANAGE_PEERS = "admin.federation"
PUSHES_KEPT_DAYS = 30

AUDIT_ACTIONS = {
    "federation.peer_added": _l("Peer instance added"),
    "federation.peer_removed": _l("Peer instance removed"),
    "federation.peer_changed": _l("Peer instance settings changed"),
    "federation.peer_key_changed": _l("Peer instance's key replaced"),
    "federation.group_created": _l("Sharing group created"),
    "federation.group_changed": _l("Sharing group members changed"),
    "federation.group_deleted": _l("Sharing group deleted"),
    "federation.key_rotated": _l("This instance's federation key replaced"),
    "federation.check_key_rotated": _l("This instance's key of the blinded check replaced"),
    "federation.pulled": _l("Peers' feeds fetched by hand"),
}


def permissions():
    from core.permissions import Permission

    return [Permission(MANAGE_PEERS, _l("Manage peer instances and sharing groups"), ("admin",))]


def nav_items():
    from core.navigation import NavItem

    return [NavItem(_l("Peers"), "federation_admin.index", MANAGE_PEERS, order=89)]


def tasks():
    from core.federation.tasks import TASKS

    return list(TASKS)


def retention_rules():
    """Pushes that were delivered or gave up are deleted after PUSHES_KEPT_DAYS; a withdrawal
    (tombstone) leaves the feed once peers have had TOMBSTONES_KEPT to fetch it. What was received
    is kept: its versions are what refuses a replay."""
    from core.federation.feed import TOMBSTONES_KEPT
    from core.federation.models import DELIVERED, FAILED, FeedItem, PushMessage
    from core.retention import RetentionRule

    return [RetentionRule(PushMessage, PushMessage.created_at, datetime.timedelta(days=PUSHES_KEPT_DAYS),
                          condition=lambda: PushMessage.status.in_([DELIVERED, FAILED]),
                          label="finished pushes to peers"),
            RetentionRule(FeedItem, FeedItem.updated_at, TOMBSTONES_KEPT,
                          condition=lambda: FeedItem.tombstone == True,  # noqa: E712
                          label="withdrawals in the feed to peers")]


def blueprints() -> list:
    from core.federation.admin import bp as admin
    from core.federation.api import bp as api

    return [api, admin]
