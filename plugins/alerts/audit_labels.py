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
    "alerts.deliveries_retried": _l("Failed messages sent again"),
    "alerts.feed_token_created": _l("Feed token made"),
    "alerts.feed_token_revoked": _l("Feed token withdrawn"),
}
