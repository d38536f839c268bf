"""Staff pages show times in the instance's time zone (DEFAULT_TIMEZONE) and the reader's language,
not as UTC clock strings: a moderator in Bangkok reading "03:04 UTC" must do sums to know when."""

from __future__ import annotations

import datetime

from helpers import sign_in

from core.db import connection

MADE = datetime.datetime(2026, 1, 2, 3, 4)  # naive UTC, as every timestamp column stores it


def _page_with_a_token_made_at(app, user) -> str:
    from core.accounts.tokens import AccessToken, create_token

    with app.app_context(), connection():
        record, _clear = create_token(user, "phone")
        AccessToken.update(created_at=MADE).where(AccessToken.id == record.id).execute()
    client = app.test_client()
    sign_in(client, user)
    return client.get("/account/tokens").get_data(as_text=True)


def test_times_on_staff_pages_are_in_the_instances_zone_and_the_readers_language(make_app, make_user):
    app = make_app({"DEFAULT_TIMEZONE": "Asia/Bangkok"})  # UTC+7 all year
    page = _page_with_a_token_made_at(app, make_user("moderator", email="mod@example.org"))
    assert "02/01/2026, 10:04" in page  # en-GB, short, in Bangkok
    assert "03:04" not in page and " UTC" not in page

