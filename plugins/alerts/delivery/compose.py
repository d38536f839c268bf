"""The words of a message: neutral on a lock screen, in the recipient's language."""

from __future__ import annotations

from core.mail import MailError, PermanentFailure, external_url
from plugins.alerts import _, ngettext
from plugins.alerts.config import settings
from plugins.alerts.delivery.digests import digest_counts, digest_lines
from plugins.alerts.delivery.outbox import Claimed
from plugins.alerts.labels import alert_kind_label
from plugins.alerts.models import Alert, Delivery
from plugins.alerts.reading import public_dict


def compose(delivery: Claimed | Delivery, channel: str) -> tuple[str, str]:
    """Neutral wording: nothing on a lock screen says what this is about. Instances can replace it.

    A correction or a withdrawal keeps its one neutral sentence ("Something ... has been updated")
    before an instance's own wording, which was written for new alerts. Nothing here ever reads a
    withdrawal's reason.

    After the link (below what a lock screen shows: the subject and an SMS's first words stay
    neutral), one line says what kind of warning it is, in words and with a shape in e-mails, so
    members tell a safety notice from an alert about a person at a glance (kind_line); a digest
    says how many of its things are safety notices.
    """
    conf = settings()
    kind = delivery.kind
    about_one = kind in ("alert", "update")  # the link opens the alert; otherwise the list
    try:
        link = external_url("alerts_links.open", alert_id=delivery.alert_id) if about_one else \
            external_url("alerts_links.latest")
    except MailError:
        # No BASE_URL (only possible with the file backend: start-up refuses SMTP without one) and no
        # request to take the address from. A relative link would reach nobody: fail, visibly.
        raise PermanentFailure("NoBaseUrl") from None
    notices: list[str] = []
    marker = None
    if kind == "digest":
        subject = conf["email_subject"] or _("Your daily update")
        counts = digest_counts(delivery)
        notices, prompt = digest_lines(counts)
        if counts.get("notices"):
            marker = ngettext("Of them, %(num)d is a safety notice (not about one person).",
                              "Of them, %(num)d are safety notices (not about one person).", counts["notices"])
    elif kind == "update":
        subject = conf["email_subject"] or _("Something was updated")
        notices = [_("Something for you to read has been updated.")]
        prompt = _("Sign in to see the latest version:")
    elif kind == "withdraw":
        subject = conf["email_subject"] or _("Something was withdrawn")
        notices = [_("Something we sent you has been withdrawn. Please do not pass it on.")]
        prompt = _("Sign in to see what is current:")
    else:
        subject = conf["email_subject"] or _("A new update")
        prompt = _("There is something new for you to read. Sign in to see it:")
    if about_one or kind == "withdraw":
        alert_kind = Alert.select(Alert.kind).where(Alert.id == delivery.alert_id).scalar()
        marker = kind_line(alert_kind, channel)
    custom = conf["sms_text"] if channel == "sms" else conf["email_text"]
    if custom:
        text = custom.replace("{link}", link)
        body = "\n".join([*notices, text if "{link}" in custom else f"{text}\n{link}"])
    else:
        body = " ".join([*notices, prompt]) + f"\n{link}"
    if marker:  # in an e-mail a few blank lines down, like the details, out of a lock screen's preview
        body += ("\n" if channel == "sms" else "\n\n\n\n") + marker
    if channel == "sms":
        return subject, body
    if conf["email_details"] and kind in ("alert", "update", "withdraw"):
        data = public_dict(Alert.get_by_id(delivery.alert_id))
        regions = ", ".join(region["label"] for region in data["regions"])
        # A withdrawn alert is named (title and regions, so people know which one to stop passing
        # on) but not repeated: it may have been withdrawn because it was wrong.
        parts = (data["title"], regions) if kind == "withdraw" else (data["title"], regions, data["summary"])
        body += "\n\n\n\n" + "\n".join(part for part in parts if part)
    body += "\n\n" + _("You chose to get these messages. To change or stop them, sign in and open your settings.")
    return subject, body


def kind_line(alert_kind: str | None, channel: str) -> str:
    """The line that tells a safety notice from an alert about a person in a message: words, and in
    an e-mail a shape too (a triangle or a circle), never colour. Text messages keep to words (a
    symbol would make every text a costlier Unicode message)."""
    label = alert_kind_label(alert_kind or "person")
    if channel == "sms":
        return f"({label})"
    return ("▲ " if alert_kind == "notice" else "● ") + label
