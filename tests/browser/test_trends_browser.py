"""Trends in a real browser with JavaScript switched off, on a 360 px phone: the server-drawn SVG
charts are visible, each has a title and a table of the same numbers, nothing under 5 is drawn,
and the page does not scroll sideways (wide heat maps and tables scroll inside their own box)."""

from __future__ import annotations

import datetime

import pytest
from helpers import enable

from core.db import connection

pytestmark = pytest.mark.browser

PHONE = (360, 740)


@pytest.fixture
def reporting(app):
    enable(app, "reporting", "alerts")
    from plugins.reporting.models import Consent, Report
    from plugins.reporting.service import new_reference

    with app.app_context(), connection():
        for month, count, region, police in (("2025-01", 12, "london", True), ("2025-01", 3, "wales", False),
                                             ("2025-02", 9, "london", False), ("2025-02", 7, "wales", True)):
            when = datetime.datetime.fromisoformat(month + "-05T10:00:00")
            for _ in range(count):
                report = Report.create(reference=new_reference(), status="verified", incident_types="robbery",
                                       region=region, created_at=when, updated_at=when, status_changed_at=when)
                if police:
                    Consent.create(report=report, purpose="police_report", given_at=when)
    return app


def test_the_charts_show_at_360px_without_javascript(reporting, live_server, browser_page, browser_sign_in,
                                                     make_user, screenshot):
    page = browser_page(javascript=False, viewport=PHONE)
    browser_sign_in(page, live_server, make_user("moderator", email="mod@example.org"))
    page.goto(f"{live_server}/reporting/trends/?from=2025-01&to=2025-03")
    assert page.get_by_role("heading", name="Trends", exact=True).is_visible()
    charts = page.locator("svg.trend-chart")
    assert charts.count() >= 6
    for index in range(charts.count()):
        chart = charts.nth(index)
        assert chart.get_attribute("role") == "img"
        chart.scroll_into_view_if_needed()
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box["width"] > 100 and box["height"] > 20
        assert chart.locator("title").count() == 1
    # The bar chart of reports fits the phone's width; the drawn bars are there.
    reports = page.locator("#chart-reports-title").locator("xpath=..")
    assert reports.bounding_box()["width"] <= PHONE[0]
    assert page.locator("svg.trend-chart rect.chart-bar").count() >= 2
    assert page.get_by_role("table", name="Reports received: the numbers").is_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE[0]
    screenshot(page, "trends-360")
