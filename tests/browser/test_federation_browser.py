"""Federation's pages in a real browser on a 360 px phone with JavaScript off: an admin adds a peer
after comparing its fingerprint, sets its regions, makes a sharing group, and a moderator shares an
alert with that group. Each page is checked (its heading, no sideways scrolling, no serious axe
violation).

These pages are the screenshots of docs/federation.md. To make them again after changing a page:

    REDUMBRELLA_DOCS_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_federation_browser.py

which writes small PNGs (360 px wide, 64 colours) into docs/img/.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from helpers import TEST_PASSWORD, enable

from core.db import connection

pytestmark = pytest.mark.browser

PHONE = (360, 740)
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
MAX_HEIGHT = 1800


@pytest.fixture
def shoot(screenshot, axe_serious):
    def take(page, name: str, heading: str) -> None:
        assert page.get_by_role("heading", name=heading, level=1).is_visible(), page.url
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0], page.url
        assert axe_serious(page) == [], page.url
        if os.environ.get("REDUMBRELLA_DOCS_SCREENSHOTS") != "1":
            screenshot(page, name)
            return
        from PIL import Image

        image = Image.open(io.BytesIO(page.screenshot(full_page=True)))
        if image.height > MAX_HEIGHT:
            image = image.crop((0, 0, image.width, MAX_HEIGHT))
        image = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        image.save(DOCS_IMAGES / f"{name}.png", optimize=True)

    return take


def test_an_admin_adds_a_peer_and_a_moderator_shares_an_alert(app, make_user, live_server, browser_page,
                                                             browser_sign_in, shoot):
    from test_alerts_helpers import make_report

    from core.federation import identity
    from plugins.alerts import service

    enable(app, "reporting", "alerts")
    admin = make_user("admin", email="admin@example.org")
    moderator = make_user("moderator", email="moderator@example.org")
    key = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)).decode()
    with app.test_request_context(), connection():
        ours = identity.fingerprint()
        alert = service.create_from_reports([make_report(phones=["07700 900123"])],
                                            {"summary": "He takes the money back by force.",
                                             "title": "Robbery after booking"}, moderator)

    page = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(page, live_server, admin, TEST_PASSWORD)
    page.goto(f"{live_server}/admin/peers")
    assert ours in page.content()
    page.get_by_label("Address of the other instance").fill("https://north.example.org")
    page.get_by_label("Its public key").fill(key)
    page.get_by_label("Name for it here (optional)").fill("North Umbrella")
    with page.expect_navigation():
        page.get_by_role("button", name="Next: compare the fingerprint").click()
    shoot(page, "federation-compare", "Compare the fingerprint")
    page.get_by_label("I read the fingerprint with the other group's admin and it is the same").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Add this peer").click()
    page.get_by_label("Its regions and ours").fill("north = north_east\nyorks = yorkshire")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    shoot(page, "federation-peer", "North Umbrella")

    page.goto(f"{live_server}/admin/peers")
    page.get_by_label("Name of the group").fill("North of England groups")
    with page.expect_navigation():
        page.get_by_role("button", name="Create group").click()
    page.get_by_label("North Umbrella").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    page.goto(f"{live_server}/admin/peers")
    shoot(page, "federation-peers", "Peers")

    staff = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(staff, live_server, moderator, TEST_PASSWORD)
    staff.goto(f"{live_server}/alerts/manage/{alert.id}")
    staff.get_by_label("Who gets it").select_option("group:North of England groups")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Save sharing").click()
    assert staff.get_by_label("Who gets it").input_value() == "group:North of England groups"
    shoot(staff, "federation-alert", "Robbery after booking")
