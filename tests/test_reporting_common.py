"""Shared steps for the reporting tests (no tests here): walk the real form, call the real API.

A test file takes the app with the reporting module on as its own ``app`` fixture with one line,
``app = with_reporting`` (the fixture is found by the name it is bound to in that file)."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager

import pytest
from helpers import csrf_token, enable

from core.db import connection

FORM = "/reporting/report"
RECEIPT_PATTERN = re.compile(r'id="receipt"><strong>([\d ]+)</strong>')

WHAT = {"incident_types": ["physical_assault", "robbery"], "narrative": "He took the money back and hit me."}
WHEN = {"occurred_on": "2024-05-01", "occurred_time": "evening", "region": "london", "location": "near the station",
        "work_setting": "outcall", "contact_method": "online_ad"}
WHO = {"p0-names": "Dave\nBig D", "p0-phones": "07700 900123", "p0-emails": "Dave@Example.com",
       "p0-handles": "@dave_x", "p0-vehicle_make": "Ford", "p0-vehicle_model": "Focus", "p0-vehicle_colour": "silver",
       "p0-vehicle_plate": "ab12 cde", "p0-gender": "man", "p0-age_range": "40 to 50", "p0-height": "tall",
       "p0-build": "heavy", "p0-hair": "grey", "p0-features": "snake tattoo on left arm", "p0-languages": "English"}
WISHES = {"consent_share_alert": "yes", "consent_police_intelligence": "no", "consent_police_report": "no",
          "consent_wants_support": "yes", "consent_research": "no", "support_contact": "07700 900999",
          "support_safe_times": "text only"}


@pytest.fixture
def with_reporting(app):
    """The app with the reporting module on."""
    enable(app, "reporting")
    return app


def _page(response) -> str:
    """The text of a response (the page a test client got)."""
    return response.get_data(as_text=True)


def png(colour=(0, 0, 255)) -> bytes:
    """A small picture, as a phone would send one."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="PNG")
    return out.getvalue()


@contextmanager
def in_db(app):
    with app.app_context(), connection():
        yield


def step(client, data: dict | None = None, action: str = "next", step_code: str | None = None, **kwargs):
    """POST one step of the form, the way the browser does (same address every time), with the
    CSRF token a page of this session carried (read once, fetched again if the session changed),
    and follow the redirect to the page it shows (post/redirect/get; follow_redirects=False to
    see the redirect itself)."""
    kwargs.setdefault("follow_redirects", True)
    payload = {"action": action, **(data or {})}
    if step_code:
        payload["step"] = step_code
    token = getattr(client, "_reporting_csrf", None) or csrf_token(client, "/")
    response = client.post(FORM, data={"csrf_token": token, **payload}, **kwargs)
    if response.status_code == 400 and "form has expired" in response.get_data(as_text=True):
        token = csrf_token(client, "/")
        response = client.post(FORM, data={"csrf_token": token, **payload}, **kwargs)
    client._reporting_csrf = token
    return response


def fill_in(client, what=None, when=None, who=None, wishes=None):
    """Walk every step up to the check page; returns the check page's response. After a report
    was sent in this session, "Start a new report" first (the form says it was sent until then)."""
    if "Start a new report" in client.get(FORM).get_data(as_text=True):
        step(client, action="new")
    for code, values in (("what", what or WHAT), ("when", when or WHEN), ("who", who or WHO),
                         ("wishes", wishes or WISHES), ("files", {})):
        response = step(client, values, step_code=code)
        assert response.status_code == 200, (code, response.get_data(as_text=True)[:2000])
    return response


def send_report(client, **kwargs) -> tuple[str, str | None]:
    """Make a report through the web form; returns (reference, receipt or None)."""
    fill_in(client, **kwargs)
    response = step(client, action="send", step_code="check")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    page = response.get_data(as_text=True)
    reference = re.search(r'class="reference">(R-[0-9A-Z]{6})<', page).group(1)
    match = RECEIPT_PATTERN.search(page)
    return reference, (match.group(1) if match else None)


def api_report(client, body: dict | None = None, **kwargs):
    payload = body if body is not None else {
        "incident_types": ["robbery"],
        "occurred_on": "2024-05-01",
        "region": "london",
        "narrative": "Took the money back.",
        "perpetrators": [{"names": ["Dave"], "phones": ["07700 900123"]}],
        "consent": {"share_alert": True, "police_intelligence": False, "police_report": False,
                    "wants_support": False},
    }
    return client.post("/api/v1/reports", json=payload, **kwargs)
