"""How values read on a page (issue 12): phone numbers as people write them, identifiers kept left to
right inside right-to-left text, and plain-text messages in a right-to-left language marked so that
mail apps and phones show them right to left."""

from __future__ import annotations

import pytest

from core.display import RLM, directed_text, direction
from core.identifiers import readable_phone


@pytest.mark.parametrize("stored,country,shown", [
    ("+447912345678", "GB", "07912 345678"),        # at home: the national format
    ("+33612345678", "GB", "+33 6 12 34 56 78"),    # from abroad: the international one
    ("+447912345678", "FR", "+44 7912 345678"),
    ("+15555550123", "GB", "+1 555-555-0123"),
    ("not a number", "GB", "not a number"),         # what it cannot read is left as it is
])
def test_a_stored_number_reads_as_people_write_it(stored, country, shown):
    assert readable_phone(stored, country) == shown


def test_identifiers_on_a_page_are_isolated_left_to_right(app):
    from flask import render_template_string

    with app.test_request_context():
        page = render_template_string(
            "{{ '+447912345678'|phone }}|{{ 'a<b@example.org'|identifier('email') }}|{{ '+447912345678'|phone_text }}")
    assert page == ('<bdi dir="ltr">07912 345678</bdi>|<bdi dir="ltr">a&lt;b@example.org</bdi>|07912 345678')


def test_direction_of_each_language():
    assert direction("ar") == "rtl" and direction("fa_IR") == "rtl"
    assert {direction(code) for code in ("en", "en_GB", "es", "pt_BR", "ro", "pl", "bg", "hu", "th", "zh_Hans",
                                         "fr")} == {"ltr"}


def test_plain_text_in_arabic_starts_each_line_right_to_left():
    text = "07700 900123 اتصل\n\nhttps://example.org/a/1\nسطر"
    marked = directed_text(text, "ar")
    assert marked.split("\n") == [RLM + "07700 900123 اتصل", "", RLM + "https://example.org/a/1", RLM + "سطر"]
    assert directed_text(marked, "ar") == marked, "marking twice changes nothing"
    assert directed_text(text, "en") == text and directed_text(text, None) == text


def test_pages_in_arabic_are_right_to_left_and_others_left_to_right(make_app):
    app = make_app({"LOCALES": ["en", "ar", "es"]})
    client = app.test_client()
    arabic = client.get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic
    spanish = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in spanish


def test_an_email_in_arabic_is_marked_right_to_left(make_app):
    from core.mail import render_message

    app = make_app({"LOCALES": ["en", "ar"], "BASE_URL": "https://x.test"})
    with app.app_context():
        message = render_message("a@example.org", "mail/reset_password.txt", locale="ar",
                                 link="https://x.test/l", minutes=60)
        english = render_message("a@example.org", "mail/reset_password.txt", locale="en",
                                 link="https://x.test/l", minutes=60)
    body = message.get_content()
    lines = [line for line in body.splitlines() if line.strip()]
    assert lines and all(line.startswith(RLM) for line in lines)
    assert message["Subject"].startswith(RLM) and message["Content-Language"] == "ar"
    assert RLM not in english.get_content() and RLM not in english["Subject"]
