"""The identifier check's answers in words, shared by the check page and the API: what was found,
how what was typed was read, and the daily limit."""

from __future__ import annotations

from plugins.alerts import _, check
from plugins.alerts.config import settings


def check_limits() -> tuple[int, int]:
    """Checks allowed a day: per account, and per network address."""
    conf = settings()
    return conf["check_limit_account"], conf["check_limit_address"]


def quota_message() -> str:
    return _("You have made the most checks allowed in one day. Please try again tomorrow, or contact us if "
             "you need to check more.")


def answer_message(result: str, with_alerts: bool, kinds: list[str] | tuple = ()) -> str:
    """The answer in words; for a caution, which kind of warning matched (outcome.kinds)."""
    if result == check.NO_RECORD:
        return _("We have no warning about this. That does not mean they are safe: trust your instincts, and "
                 "tell us if something happens.")
    if with_alerts and list(kinds) == ["notice"]:
        return _("This matches a safety notice we published (about a place, a scam or something happening, not "
                 "one person). Please read it before you decide anything.")
    if with_alerts and "notice" in kinds:
        return _("This matches an alert about a person and a safety notice. Please read them before you decide "
                 "anything.")
    if with_alerts:
        return _("We have a warning that matches this. Please read it before you decide anything.")
    return _("We have information that matches this. Please take care, and contact us if you would like to "
             "know more.")


def read_as_message(readings: list[tuple[str, str]]) -> str | None:
    """How the check read what was typed, so a member can spot a typo: the kind, and for a phone
    only its last four digits (the page never shows the identifier back)."""
    if not readings:
        return None
    kind, value = readings[0]
    if kind == "phone":
        return _("Checked as a phone number ending %(digits)s.", digits=value[-4:])
    if kind == "email":
        return _("Checked as an e-mail address.")
    if kind == "plate":
        if any(other == "handle" for other, _value in readings):
            return _("Checked as a number plate and as an online name.")
        return _("Checked as a number plate.")
    if kind == "website":
        return _("Checked as a website.")
    if any(other == "website" and ("handle", value) in readings for other, value in readings):
        # "fake-agency.example": a site's name, or someone's. (For a profile address such as
        # instagram.com/someone the name is what was meant; its site is looked up all the same.)
        return _("Checked as an online name and as a website.")
    return _("Checked as an online name.")
