"""The details of a person who did harm that an alert may carry: the allowlist. Names, narrative,
location and everything about the reporter are deliberately absent."""

from __future__ import annotations

DESCRIPTION_KEYS = ("gender", "age_range", "height", "build", "hair", "features", "languages")
VEHICLE_KEYS = ("make", "model", "colour")
PERSON_FIELDS = DESCRIPTION_KEYS + VEHICLE_KEYS


def allowed_details(description: dict | None, vehicle: dict | None) -> tuple[dict, dict]:
    """The description and vehicle with only the allowlisted details that have a value."""
    return ({key: value for key, value in (description or {}).items() if key in DESCRIPTION_KEYS and value},
            {key: value for key, value in (vehicle or {}).items() if key in VEHICLE_KEYS and value})
