"""What this plugin's audit action codes mean, for the audit log page (the audit_actions hook).
A code missing here is shown as it is: add a line whenever you record a new one."""

from plugins.alerts import _l

ACTIONS = {
    "alerts.created": _l("Alert drafted"),
    "alerts.notice_created": _l("Safety notice drafted"),
    "alerts.edited": _l("Alert draft edited"),
    "alerts.reviewed": _l("Alert checked before publishing"),
    "alerts.published": _l("Alert published"),
    "alerts.corrected": _l("Published alert corrected"),
    "alerts.withdrawn": _l("Alert withdrawn"),
    "alerts.received": _l("Alert received from a peer instance"),
    "alerts.sharing_changed": _l("Alert's sharing with peers changed"),
    "alerts.identifiers_entered": _l("Numbers, e-mails, plates or names entered on an alert"),
    "alerts.check": _l("Check made"),
    "alerts.check_refused": _l("Check refused: daily limit reached"),
    "alerts.check_warning": _l("Many similar checks by one account"),
    "alerts.check_warning_resolved": _l("Similar-checks warning dealt with"),
    "alerts.peer_check": _l("Check asked by a peer instance"),
    "alerts.peer_check_refused": _l("Check by a peer instance refused: daily limit reached"),
    "alerts.peer_check_warning": _l("Many checks asked by one peer instance"),
    "alerts.peer_check_warning_resolved": _l("Peer checks warning dealt with"),
    "alerts.warning_list_added": _l("Put on the warning list (never matches)"),
    "alerts.warning_list_removed": _l("Taken off the warning list"),
    "alerts.warning_list_adopted": _l("A peer's warning list entry adopted"),
    "alerts.warning_list_dismissed": _l("A peer's warning list entry set aside"),
    "alerts.deliveries_retried": _l("Failed messages sent again"),
    "alerts.feed_token_created": _l("Feed token made"),
    "alerts.feed_token_revoked": _l("Feed token withdrawn"),
}
