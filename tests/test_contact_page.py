"""The Contact us page: what the administrators wrote on core's settings page, linked from every
page's footer; no page and no link until they write something."""

from __future__ import annotations

from helpers import post_form
from test_membership import staff_client

SETTINGS = "/admin/plugins/core/settings"
BASE = {"regions": "North\nSouth", "work_types": "Other", "declined_retention_days": "30", "link_valid_hours": "72",
        "accept_applications": "1"}


def test_no_contact_page_or_link_until_the_team_writes_one(app, make_user):
    public = app.test_client()
    assert public.get("/contact").status_code == 404
    assert "/contact" not in public.get("/").get_data(as_text=True)

    admin = staff_client(app, make_user, "admin")
    form = admin.get(SETTINGS).get_data(as_text=True)
    assert "How people can reach your team" in form
    lines = "Call or text 0800 000 0000 (Monday to Friday, 10 to 6)\nhelp@example.org\n<b>not bold</b>"
    assert post_form(admin, SETTINGS, {**BASE, "contact": lines}, token_from=SETTINGS).status_code == 303

    home = public.get("/").get_data(as_text=True)
    assert 'href="/contact"' in home
    page = public.get("/contact")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<li>Call or text 0800 000 0000 (Monday to Friday, 10 to 6)</li>" in text
    assert "<li>help@example.org</li>" in text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in text and "<b>not bold</b>" not in text
    assert 'class="quick-exit"' in text

    assert post_form(admin, SETTINGS, {**BASE, "contact": ""}, token_from=SETTINGS).status_code == 303
    assert public.get("/contact").status_code == 404


def test_contact_lines_are_checked(app, make_user):
    admin = staff_client(app, make_user, "admin")
    too_many = "\n".join(f"line {number}" for number in range(13))
    refused = post_form(admin, SETTINGS, {**BASE, "contact": too_many}, token_from=SETTINGS)
    assert refused.status_code == 422 and "at most 12 lines" in refused.get_data(as_text=True)
    too_long = post_form(admin, SETTINGS, {**BASE, "contact": "x" * 201}, token_from=SETTINGS)
    assert too_long.status_code == 422 and "1 to 200 characters" in too_long.get_data(as_text=True)
