"""core.identifiers: one normalised value for every way of writing one identifier, links included
(tel:, sms:, WhatsApp, profile addresses); handles that are only punctuation and phone numbers
with a digit missing are refused; text-message numbers must be mobiles in use."""

from __future__ import annotations

import contextlib
import time

import pytest

from core.identifiers import (
    InvalidIdentifier,
    NotAMobile,
    guess_kind,
    handle_readings,
    normalise,
    normalise_mobile,
)

# -- plain inputs read as they always were ------------------------------------------------------

PLAIN = [
    ("phone", "07700 900123", "+447700900123"),
    ("phone", "+44 7700 900123", "+447700900123"),
    ("phone", "447700900123", "+447700900123"),
    ("phone", "(07700) 900-123", "+447700900123"),
    ("phone", "07700/900123", "+447700900123"),
    ("phone", "07911 123456", "+447911123456"),
    ("phone", "020 7946 0018", "+442079460018"),
    ("phone", "01632 960001", "+441632960001"),
    ("phone", "0800 1111", "+448001111"),
    ("phone", "+1 202 555 0123", "+12025550123"),
    ("email", " Bad.Man@Example.COM ", "bad.man@example.com"),
    ("plate", "ab12-cde", "AB12CDE"),
    ("handle", "@Dave_X", "dave_x"),
    ("handle", "bob123", "bob123"),
    ("handle", "Café_Bob", "café_bob"),
    ("handle", "https://www.dangerdan/", "dangerdan"),
    ("handle", "instagram.com", "instagram.com"),
    ("handle", "07700900123", "07700900123"),
]


@pytest.mark.parametrize(("kind", "text", "expected"), PLAIN)
def test_plain_inputs_are_normalised_as_before(kind, text, expected):
    assert normalise(kind, text, "GB") == expected


# -- links ------------------------------------------------------------------------------------------

PHONE_LINKS = [
    "https://wa.me/447700900123",
    "wa.me/447700900123?text=Hi%20there%2C%20free%20at%205",
    "https://wa.me/+447700900123/",
    "https://api.whatsapp.com/send?phone=447700900123",
    "https://api.whatsapp.com/send/?phone=%2B447700900123&text&type=phone_number&app_absent=0",
    "https://web.whatsapp.com/send?text=hello&phone=447700900123",
    "whatsapp://send?phone=447700900123&text=5",
    "tel:+447700900123",
    "tel:07700900123",
    "TEL:+44-7700-900123;ext=12",
    "tel:%2B44%207700%20900123",
    "sms:07700900123?body=Hi 5pm",
    "sms:+447700900123,+447700900999",
    "smsto:07700900123",
    "t.me/+447700900123",
    "viber://chat?number=%2B447700900123",
]


@pytest.mark.parametrize("link", PHONE_LINKS)
def test_a_phone_link_gives_the_plain_number(link):
    assert normalise("phone", link, "GB") == "+447700900123"
    assert guess_kind(link, "GB") == ("phone", "+447700900123")


@pytest.mark.parametrize("link", ["tel:", "https://wa.me/", "https://api.whatsapp.com/send?text=hi", "tel:12",
                                  "https://wa.me/4477009001"])
def test_a_phone_link_without_a_whole_number_is_refused(link):
    with pytest.raises(InvalidIdentifier):
        normalise("phone", link, "GB")
    with pytest.raises(InvalidIdentifier):
        guess_kind(link, "GB")


PROFILES = [
    "instagram.com/demo_timewaster",
    "https://www.instagram.com/demo_timewaster/",
    "https://www.instagram.com/Demo_Timewaster/?hl=en",
    "https://twitter.com/@demo_timewaster",
    "x.com/demo_timewaster?ref=abc#top",
    "onlyfans.com/demo_timewaster",
    "https://onlyfans.com/demo_timewaster/media",
    "t.me/demo_timewaster",
    "https://www.tiktok.com/@demo_timewaster/video/7301234567890",
    "https://x.com/demo_timewaster/status/1234567890",
    "http://m.facebook.com/demo_timewaster",
    "https://www.instagram.com/%40demo_timewaster",
]


@pytest.mark.parametrize("address", PROFILES)
def test_a_profile_address_gives_the_name_in_it(address):
    assert normalise("handle", address, "GB") == "demo_timewaster"
    assert guess_kind(address, "GB") == ("handle", "demo_timewaster")


def test_a_profile_address_is_also_read_the_way_handles_were_stored_before():
    # A report written before links were understood stored the whole address; a check still finds it.
    assert handle_readings("https://www.instagram.com/demo_timewaster/") == [
        "demo_timewaster", "instagram.com/demo_timewaster"]
    assert handle_readings("@demo_timewaster") == ["demo_timewaster"]


def test_an_address_naming_a_page_not_a_person_is_kept_whole():
    # profile.php?id=… is everybody's last segment: reading it as the name would match strangers.
    assert normalise("handle", "https://www.facebook.com/profile.php?id=100012345", "GB") == \
        "facebook.com/profile.php?id=100012345"
    assert normalise("handle", "https://www.facebook.com/profile.php?id=100099999", "GB") != \
        normalise("handle", "https://www.facebook.com/profile.php?id=100012345", "GB")


def test_a_phone_link_written_as_an_online_name_is_stored_as_its_number():
    for link in ("https://wa.me/447700900123", "tel:07700900123"):
        assert normalise("handle", link, "GB") == "+447700900123"
    assert handle_readings("https://wa.me/447700900123") == ["+447700900123", "wa.me/447700900123"]


def test_links_do_not_turn_into_emails():
    assert guess_kind("https://www.tiktok.com/@some.name", "GB") == ("handle", "some.name")
    assert guess_kind("mailto:Bad.Man@Example.com?subject=hi", "GB") == ("email", "bad.man@example.com")


# -- handles need a letter or a digit ------------------------------------------------------------


@pytest.mark.parametrize("text", ["!!!! ???", "!!!", "@@", "@ @", "___", "...", "-", "¿¡!?", "@!"])
def test_a_handle_of_punctuation_only_is_refused(text):
    with pytest.raises(InvalidIdentifier):
        normalise("handle", text, "GB")
    with pytest.raises(InvalidIdentifier):
        guess_kind(text, "GB")


# -- phone numbers of the wrong length ---------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "07700 90012",     # a UK mobile with a digit missing: 9 digits is possible for some UK numbers, not for 07
    "07911 12345",
    "020 7946 001",
    "0161 496 000",
    "07700 9001234",   # a digit too many
    "12345",           # a local number without its area code: reachable from nowhere in particular
    "+4412345",
    "12",
])
def test_a_phone_number_of_the_wrong_length_is_not_a_phone(text):
    with pytest.raises(InvalidIdentifier):
        normalise("phone", text, "GB")


def test_numbers_from_unassigned_ranges_still_count():
    # 07700 900xxx is not in use (phonenumbers calls it invalid) but has a mobile's length: a
    # report may give one and a check must find it.
    assert normalise("phone", "07700 900000", "GB") == "+447700900000"
    assert normalise("phone", "+44 1632 960999", "GB") == "+441632960999"


# -- numbers for text messages -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("07911 123456", "+447911123456"),
    ("+44 7911 123456", "+447911123456"),
    ("447911123456", "+447911123456"),
    ("+1 650 253 0000", "+16502530000"),  # the US does not tell mobiles from landlines: allowed
    ("+34 612 345 678", "+34612345678"),
])
def test_a_text_message_number_is_a_mobile_in_e164(text, expected):
    assert normalise_mobile(text, "GB") == expected


@pytest.mark.parametrize("text", ["12345", "+4412345", "07700 900123", "07911 12345", "not a number", ""])
def test_a_text_message_number_must_be_a_number_in_use(text):
    with pytest.raises(InvalidIdentifier) as raised:
        normalise_mobile(text, "GB")
    assert not isinstance(raised.value, NotAMobile)


@pytest.mark.parametrize("text", ["020 7946 0018", "0800 123456", "+34 912 345 678"])
def test_a_landline_or_freephone_number_is_not_a_text_message_number(text):
    with pytest.raises(NotAMobile):
        normalise_mobile(text, "GB")


# -- cost ---------------------------------------------------------------------------------------


def test_hostile_input_is_read_in_linear_time():
    hostile = [
        "a." * 127, "a" * 254, "https://" + "a-" * 120 + "/", "tel:" + "1" * 250, "wa.me/" + "+" * 248,
        "https://api.whatsapp.com/send?" + "&" * 220 + "phone", "x.com/" + "/" * 248, "@" * 254, "1 " * 127,
        "a.b" * 84 + "/", "sms:" + ";" * 250,
    ]
    started = time.perf_counter()
    for text in hostile * 20:
        for kind in ("phone", "email", "plate", "handle"):
            with contextlib.suppress(InvalidIdentifier):
                normalise(kind, text, "GB")
        with contextlib.suppress(InvalidIdentifier):
            guess_kind(text, "GB")
    # Linear patterns read these 220 texts five ways in a few milliseconds; a backtracking one
    # would take seconds or more.
    assert time.perf_counter() - started < 2.0
