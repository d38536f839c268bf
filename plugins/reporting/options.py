"""The lists a report chooses from: incident types, regions, work settings, contact methods, times.

An instance configures its lists on the plugin's settings page, one entry a line: a known code
("robbery") shows our translated name; "code | Name" adds the instance's own entry (shown as
written). The defaults below are what a new instance starts with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plugins.reporting import _l

INCIDENT_TYPES = {
    "physical_assault": _l("Physical assault"),
    "sexual_assault": _l("Sexual assault"),
    "rape": _l("Rape"),
    "robbery": _l("Robbery or theft"),
    "threats": _l("Threats or intimidation"),
    "harassment": _l("Harassment or stalking"),
    "non_payment": _l("Non-payment"),
    "condom_refusal": _l("Condom refusal or stealthing"),
    "fake_client": _l("Fake client or time-waster"),
    "doxxing": _l("Doxxing or outing"),
    "blackmail": _l("Blackmail"),
    "other": _l("Something else"),
}
# A recent report of one of these, or a request for support, goes to the top of the queue.
SERIOUS_TYPES = frozenset({"physical_assault", "sexual_assault", "rape"})

REGIONS = {
    "london": _l("London"),
    "south_east": _l("South East England"),
    "south_west": _l("South West England"),
    "east_of_england": _l("East of England"),
    "east_midlands": _l("East Midlands"),
    "west_midlands": _l("West Midlands"),
    "yorkshire": _l("Yorkshire and the Humber"),
    "north_west": _l("North West England"),
    "north_east": _l("North East England"),
    "wales": _l("Wales"),
    "scotland": _l("Scotland"),
    "northern_ireland": _l("Northern Ireland"),
    "online": _l("Online only"),
    "outside_uk": _l("Outside the UK"),
}

WORK_SETTINGS = {
    "indoor_alone": _l("Indoors, working alone"),
    "indoor_shared": _l("Indoors, with others (flat, parlour, sauna)"),
    "outcall": _l("Outcall (their place or a hotel)"),
    "street": _l("Street-based"),
    "venue": _l("Club, bar or venue"),
    "online": _l("Online (webcam, content, chat)"),
    "other": _l("Somewhere else"),
}

CONTACT_METHODS = {
    "online_ad": _l("Online advert or profile"),
    "phone": _l("Phone call or text"),
    "app": _l("App or social media"),
    "street": _l("On the street"),
    "venue": _l("At a venue"),
    "regular": _l("A regular or someone I knew"),
    "other": _l("Another way"),
}

TIMES_OF_DAY = {
    "morning": _l("Morning (6am to noon)"),
    "afternoon": _l("Afternoon (noon to 6pm)"),
    "evening": _l("Evening (6pm to midnight)"),
    "night": _l("Night (midnight to 6am)"),
}

KNOWN = {
    "incident_types": INCIDENT_TYPES,
    "regions": REGIONS,
    "work_settings": WORK_SETTINGS,
    "contact_methods": CONTACT_METHODS,
}

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Choice:
    code: str
    label: object  # a lazy string for known codes, the instance's own text otherwise


def parse_line(line: str) -> tuple[str, str | None]:
    """'code' or 'code | Name' -> (code, name or None); raises ValueError on a bad code."""
    code, _sep, name = line.partition("|")
    code = code.strip().lower()
    if not CODE_PATTERN.match(code):
        raise ValueError(code)
    return code, (name.strip() or None)


def choices(kind: str, lines: list[str]) -> list[Choice]:
    """The configured choices of one list, in the configured order."""
    known = KNOWN[kind]
    found = []
    for line in lines:
        try:
            code, name = parse_line(line)
        except ValueError:
            continue  # the settings page refuses bad lines; skip any that got stored anyway
        found.append(Choice(code, name or known.get(code, code)))
    return found


def configured(kind: str) -> list[Choice]:
    from core.settings import plugin_settings

    return choices(kind, plugin_settings("reporting")[kind])


def times_of_day() -> list[Choice]:
    return [Choice(code, label) for code, label in TIMES_OF_DAY.items()]


def label_for(kind: str, code: str | None) -> object:
    """The name of a stored code, even when it is no longer configured."""
    if not code:
        return ""
    if kind == "times":
        return TIMES_OF_DAY.get(code, code)
    for choice in configured(kind):
        if choice.code == code:
            return choice.label
    return KNOWN[kind].get(code, code)
