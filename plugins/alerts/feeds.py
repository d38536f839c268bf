"""Partner feeds: published alerts as Atom and as JSON, for a partner organisation's token.

Feed tokens are issued by staff on the feeds page, shown once, and kept only as SHA-256 (they
carry 256 random bits, like core's access tokens). A token is sent as `Authorization: Bearer
<token>`; feed readers that cannot send headers may use `?token=` (it then sits in that reader's
history and any proxy log in between: prefer the header). A member's or partner's own access
token (core's `ru_` tokens) works as well.
"""

from __future__ import annotations

import hashlib
import secrets
from xml.sax.saxutils import escape  # nosec B406  # escapes text we write into XML; parses nothing

from flask import current_app, request

from core.db import utcnow
from plugins.alerts.models import FeedToken

PREFIX = "ruf_"
TOUCH_SECONDS = 60


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(label: str, actor) -> tuple[FeedToken, str]:
    token = PREFIX + secrets.token_urlsafe(32)
    row = FeedToken.create(label=label.strip()[:120], token_hash=hash_token(token),
                           created_by=actor.id if actor else None)
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


def atom(alerts: list[dict], self_url: str, alternate) -> str:
    """An Atom 1.0 document; alternate(alert) gives each entry's page address."""
    site = current_app.config["NEUTRAL_TITLE"] or current_app.config["SITE_NAME"]
    updated = max((a["updated_at"] or a["published_at"] for a in alerts), default=None) or \
        utcnow().replace(microsecond=0).isoformat() + "Z"
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(site)}</title>",
        f"<id>{escape(self_url)}</id>",
        f'<link rel="self" href="{escape(self_url)}"/>',
        f"<updated>{escape(updated)}</updated>",
    ]
    for alert in alerts:
        url = alternate(alert)
        regions = ", ".join(region["label"] for region in alert["regions"])
        types = ", ".join(item["label"] for item in alert["incident_types"])
        lines = [alert["summary"]]
        if alert["identifiers"]:
            lines.append("; ".join(f"{item['kind']}: {item['value']}" for item in alert["identifiers"]))
        for person in alert["perpetrators"]:
            details = {**person["description"], **person["vehicle"]}
            if details:
                lines.append("; ".join(f"{key}: {value}" for key, value in details.items()))
        parts += [
            "<entry>",
            f"<id>{escape(url)}</id>",
            f"<title>{escape(alert['title'])}</title>",
            f'<link rel="alternate" href="{escape(url)}"/>',
            f"<published>{escape(alert['published_at'] or updated)}</published>",
            f"<updated>{escape(alert['updated_at'] or alert['published_at'] or updated)}</updated>",
            f'<category term="{escape(alert["severity"])}" label="{escape(alert["severity_label"])}"/>',
            *[f'<category term="{escape(r["code"])}" label="{escape(r["label"])}"/>' for r in alert["regions"]],
            f"<summary>{escape(' · '.join(part for part in (types, regions) if part))}</summary>",
            f'<content type="text">{escape(chr(10).join(lines))}</content>',
            "</entry>",
        ]
    parts.append("</feed>")
    return "\n".join(parts) + "\n"
