"""A member's or partner's own subscription: regions, channels and how often.

Channels are stored as they always were: "email" and "sms" are messages, "web" means the alert
list opens on the person's regions. The page asks one question instead ("How should we tell
you?", HOW_CHANNELS), so it cannot be answered with two contradictory ticks or none at all.
"""

from __future__ import annotations

from core.accounts.models import User
from core.db import db, lock_row, utcnow
from plugins.alerts import _
from plugins.alerts.models import CANCELLED, HELD, PENDING, Delivery, Subscription, SubscriptionRegion


class SubscriptionError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


# The page's one choice of how to be told, and the channels each stands for. The alert list opens
# on the person's regions whichever they choose ("web"), as the hint on the page says.
HOW_CHANNELS = {
    "email": ["email", "web"],
    "sms": ["sms", "web"],
    "both": ["email", "sms", "web"],
    "web": ["web"],
}


def how_of(channels: list[str]) -> str:
    """The page's choice that stands for these stored channels ("web" when no message is sent)."""
    sent = [channel for channel in ("email", "sms") if channel in channels]
    if len(sent) == 2:
        return "both"
    return sent[0] if sent else "web"


def how_choices(user, sms_available: bool) -> list[tuple[str, str]]:
    """The ways this person can be told here: e-mail only with an address on the account, text
    messages only where this service sends them."""
    email = bool(getattr(user, "email", None))
    found = []
    if email:
        found.append(("email", _("By e-mail")))
    if sms_available:
        found.append(("sms", _("By text message")))
    if email and sms_available:
        found.append(("both", _("By e-mail and by text message")))
    found.append(("web", _("No messages: I will look at the alerts on this site")))
    return found


def get(user) -> Subscription | None:
    return Subscription.get_or_none(Subscription.user == user.id)


def as_dict(subscription: Subscription | None) -> dict:
    if subscription is None:
        return {"regions": [], "all_regions": False, "channels": ["web"], "frequency": "immediate",
                "sms_number": None}
    regions = [row.region for row in SubscriptionRegion.select(SubscriptionRegion.region)
               .where(SubscriptionRegion.subscription == subscription).order_by(SubscriptionRegion.id)]
    return {
        "regions": regions,
        "all_regions": subscription.all_regions,
        "channels": subscription.channel_list,
        "frequency": subscription.frequency,
        "sms_number": subscription.sms_number,
    }


def save(user, data: dict, sms_available: bool) -> Subscription:
    """Replace the user's subscription with data (already checked by SubscriptionInSchema or the form)."""
    channels = [channel for channel in data.get("channels") or [] if channel]
    regions = [region for region in data.get("regions") or [] if region]
    if "email" in channels and not getattr(user, "email", None):
        raise SubscriptionError(_("There is no e-mail address on your account, so we cannot send you e-mails. "
                                  "Please choose another way."), "channels")
    if "sms" in channels:
        if not sms_available:
            raise SubscriptionError(_("Text messages are not available on this service."), "channels")
        if not data.get("sms_number"):
            raise SubscriptionError(_("Please give the mobile number for text messages."), "sms_number")
    if any(channel in channels for channel in ("email", "sms")) and not regions and not data.get("all_regions"):
        raise SubscriptionError(_("Please choose at least one region, or all regions."), "regions")
    with db.atomic():
        lock_row(User, user.id)  # two saves by one person (two tabs, a retry) apply one after the other
        subscription = get(user) or Subscription(user=user.id)
        subscription.channels = ",".join(channels)
        subscription.all_regions = bool(data.get("all_regions"))
        subscription.frequency = data.get("frequency") or "immediate"
        subscription.sms_number = data.get("sms_number") if "sms" in channels else None
        subscription.changed_at = utcnow()
        subscription.save()
        SubscriptionRegion.delete().where(SubscriptionRegion.subscription == subscription).execute()
        for region in dict.fromkeys(regions):
            SubscriptionRegion.create(subscription=subscription, region=region)
        # Messages not yet sent on a channel the person has just turned off are not sent.
        dropped = [channel for channel in ("email", "sms") if channel not in channels]
        if dropped:
            Delivery.update(status=CANCELLED).where(
                (Delivery.user == user.id) & Delivery.channel.in_(dropped) & Delivery.status.in_([PENDING, HELD])
            ).execute()
    return subscription
