"""Partner feeds: published alerts as Atom and as JSON, for a partner organisation's token.

Feed tokens are issued by staff on the feeds page, shown once, and kept only as SHA-256 (they
carry 256 random bits, like core's access tokens). A token is sent as `Authorization: Bearer
<token>`; feed readers that cannot send headers may use `?token=` (it then sits in that reader's
history and any proxy log in between: prefer the header). A member's or partner's own access
token (core's `ru_` tokens) works as well.
"""

from __future__ import annotations

import datetime
import re
from xml.etree import ElementTree  # nosec B405  # builds the feed; parses nothing

from flask import current_app, request

from core.db import utcnow
from core.display import join_list, phone_text
from core.tokens import hash_token, new_token
from plugins.alerts.models import FeedToken

PREFIX = "ruf_"
TOUCH_SECONDS = 60


def create_token(label: str, actor, organisation_id: int | None = None) -> tuple[FeedToken, str]:
    """A new token for a partner organisation (core.organisations), or for a name typed in."""
    token = new_token(PREFIX)
    row = FeedToken.create(label=(label or "").strip()[:120], token_hash=hash_token(token),
                           organisation_id=organisation_id, created_by=actor.id if actor else None)
    return row, token


def token_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return request.args.get("token") or None


def authenticate() -> FeedToken | None:
    token = token_from_request()
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = FeedToken.get_or_none(FeedToken.token_hash == hash_token(token))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > TOUCH_SECONDS:
        FeedToken.update(last_used_at=now).where(FeedToken.id == row.id).execute()
    return row


ATOM = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all (even escaped): C0 controls but tab, newline and carriage
# return, lone surrogates, U+FFFE and U+FFFF. Dropped from text so one stray byte cannot break a feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value) -> str:
    return _NOT_XML.sub("", str(value))


def _rfc3339(value: str | datetime.datetime | None) -> str:
    """An RFC 3339 UTC time (2026-11-02T10:15:00Z), as Atom requires, from a stored time or ISO text."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value is None:
        value = utcnow()
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def atom(alerts: list[dict], self_url: str, alternate) -> bytes:
    """An Atom 1.0 document (RFC 4287) as UTF-8 bytes; alternate(alert) gives each entry's address.

    Built with the standard library's ElementTree, which escapes every text and attribute value,
    so a region called 'The "Docks" area' or a title with '<' or '&' stays well-formed XML.
    """
    site = current_app.config["NEUTRAL_TITLE"] or current_app.config["SITE_NAME"]
    stamps = [alert["updated_at"] or alert["published_at"] for alert in alerts]
    updated = max((_rfc3339(stamp) for stamp in stamps if stamp), default=None) or _rfc3339(None)

    def add(parent, tag: str, text=None, **attributes):
        element = ElementTree.SubElement(parent, tag, {k: _text(v) for k, v in attributes.items()})
        if text is not None:
            element.text = _text(text)
        return element

    # Plain names under one xmlns on the root: every element is in the Atom namespace, unprefixed.
    feed = ElementTree.Element("feed", xmlns=ATOM)
    add(feed, "title", site)
    add(feed, "id", self_url)
    add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    add(feed, "updated", updated)
    author = add(feed, "author")
    add(author, "name", site)
    for alert in alerts:
        url = alternate(alert)
        regions = join_list(region["label"] for region in alert["regions"])
        types = join_list(item["label"] for item in alert["incident_types"])
        lines = [alert["summary"]]
        if alert["identifiers"]:
            shown = [(item["kind"], phone_text(item["value"]) if item["kind"] == "phone" else item["value"])
                     for item in alert["identifiers"]]
            lines.append("; ".join(f"{kind}: {value}" for kind, value in shown))
        for person in alert["perpetrators"]:
            details = {**person["description"], **person["vehicle"]}
            if details:
                lines.append("; ".join(f"{key}: {value}" for key, value in details.items()))
        published = _rfc3339(alert["published_at"] or updated)
        entry = add(feed, "entry")
        add(entry, "id", url)  # the alert's own page: permanent, and unique per alert
        add(entry, "title", alert["title"], type="text")
        add(entry, "link", rel="alternate", href=url, type="text/html")
        add(entry, "published", published)
        add(entry, "updated", _rfc3339(alert["updated_at"]) if alert["updated_at"] else published)
        add(entry, "category", term=alert["kind"], label=alert["kind_label"])  # person, or a safety notice
        if alert.get("category"):
            add(entry, "category", term=alert["category"]["code"], label=alert["category"]["label"])
        add(entry, "category", term=alert["severity"], label=alert["severity_label"])
        for region in alert["regions"]:
            add(entry, "category", term=region["code"], label=region["label"])
        add(entry, "summary", " · ".join(part for part in (types, regions) if part), type="text")
        add(entry, "content", "\n".join(lines), type="text")
    ElementTree.indent(feed)
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
