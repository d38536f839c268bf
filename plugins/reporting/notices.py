"""Whether moderators need an e-mail about a new report: decided once, when the report comes in.

Not for a report marked many_from_address (plugins/reporting/flood.py), nor when they were told of
a report of the same kind (urgent, other) in this quarter of an hour: moderators who were told that
something is waiting find everything that came since in the queue, and a flood of reports cannot
become a flood of e-mails. Deciding here rather than in the task that sends it means the task,
retried or sent again after its worker died (core.mail.record), always sends what was decided.
"""

from __future__ import annotations

import datetime
import logging

from core import throttle
from plugins.reporting.models import URGENCY_URGENT, Report

log = logging.getLogger("redumbrella.reporting")
NOTICES = throttle.Limit("reporting-notice", per=datetime.timedelta(minutes=15))
# The notices' kinds in core's mail record (hooks.register_mail_kinds), so staff see one not sent.
MODERATOR_NOTICE, REPORTER_NOTICE = "reporting_moderator_notice", "reporting_reporter_notice"


def moderators_need_telling(report: Report) -> bool:
    if report.many_from_address:
        reason = "many_from_address"
    else:
        kind = "urgent" if report.urgency == URGENCY_URGENT else "other"
        if throttle.hit(NOTICES, [kind])[kind] == 1:
            return True
        reason = "told_lately"
    log.info("moderators not told", extra={"event": "moderators_not_notified", "plugin": "reporting", "reason": reason})
    return False
