"""What this plugin's audit action codes mean, for the audit log page (the audit_actions hook).
A code missing here is shown as it is: add a line whenever you record a new one."""

from plugins.reporting import _l

ACTIONS = {
    "report.submitted": _l("Report sent"),
    "report.viewed": _l("Report read"),
    # report.<status>, when a moderator changes a report's status
    "report.new": _l("Report marked as new"),
    "report.triage": _l("Report being looked at"),
    "report.needs_info": _l("Report waiting for more information"),
    "report.verified": _l("Report verified"),
    "report.duplicate": _l("Report marked as a duplicate"),
    "report.rejected": _l("Report rejected"),
    "report.urgency_changed": _l("Report urgency changed"),
    "report.note_added": _l("Internal note added to a report"),
    "report.message_sent": _l("Message sent to a reporter"),
    "report.reporter_wrote": _l("Reporter wrote a message"),
    "report.files_added": _l("Pictures added to a report"),
    "report.file_viewed": _l("Picture of a report opened"),
    "report.consent_given": _l("Consent given on a report"),
    "report.consent_withdrawn": _l("Consent withdrawn on a report"),
    "report.reporter_account_shown": _l("Reporter's account shown to staff"),
    # research exports: research_export:<id>; "made" adds counts, k and the attribute codes
    # trends:<first month>..<last month>[ region=<code>], by anyone signed in
    "trends.viewed": _l("Trends looked at"),
    "trends.downloaded": _l("Trends downloaded as CSV"),
    "research_export.requested": _l("Research export asked for"),
    "research_export.approved": _l("Research export approved"),
    "research_export.refused": _l("Research export refused"),
    "research_export.made": _l("Research export file made"),
}
