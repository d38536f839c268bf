"""What the identifier check keeps between requests to cost less (issue #14) never outlives a
change, on SQLite and PostgreSQL:

- plugin settings: each app keeps its plugins' settings schema classes and the loaded values per
  stored text, and reads the stored row on every request, so a change saved by another process
  (another app on the same database) shows at that app's very next request;
- a revoked token stops working at once, and the check answers each token's holder alone.
"""

from __future__ import annotations

import pytest
from alerts_fixtures import in_app
from helpers import enable

from core.accounts import tokens
from core.accounts.models import User
from core.settings import plugin_settings, save_settings


def _check(client, token: str, identifier: str = "07700 900123", language: str = "en"):
    return client.post("/api/v1/check", json={"identifier": identifier},
                       headers={"Authorization": f"Bearer {token}", "Accept-Language": language})


def test_a_settings_change_by_another_app_shows_at_the_next_request(on, make_app, member):
    other = make_app()  # another worker or process on the same database
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(member.id), "checks"))
    client = on.test_client()
    in_app(other, save_settings, "alerts", {"check_limit_account": 2, "check_limit_address": 100})
    assert [_check(client, token).status_code for _n in range(3)] == [200, 200, 429]
    assert in_app(on, plugin_settings, "alerts")["check_limit_account"] == 2

    in_app(other, save_settings, "alerts", {"check_limit_account": 5, "check_limit_address": 100})
    assert in_app(on, plugin_settings, "alerts")["check_limit_account"] == 5
    assert _check(client, token).status_code == 200, "the raised limit holds at once in the first app"


def test_settings_read_are_the_callers_own_copy(on):
    first = in_app(on, plugin_settings, "alerts")
    first["check_limit_account"] = -1  # a caller changing what it was given changes nothing kept
    assert in_app(on, plugin_settings, "alerts")["check_limit_account"] != -1
    lists = in_app(on, plugin_settings, "reporting")
    names = [name for name, value in lists.items() if isinstance(value, list)]
    assert names, "the reporting settings hold lists"
    for name in names:
        lists[name].append("changed by a caller")
    again = in_app(on, plugin_settings, "reporting")
    assert all("changed by a caller" not in again[name] for name in names)


def test_each_app_asks_its_own_plugins_for_their_settings_schema(make_app):
    plain, with_alerts = make_app(), make_app()
    enable(with_alerts, "reporting", "alerts")
    loaded = in_app(with_alerts, plugin_settings, "alerts")
    assert "check_limit_account" in loaded
    assert in_app(plain, plugin_settings, "no-such-plugin") == {}


def test_a_revoked_token_is_refused_at_once_and_tokens_stay_apart(on, make_user, member):
    other = make_user("member", email="other-member@example.org")
    mine, my_token = in_app(on, lambda: tokens.create_token(User.get_by_id(member.id), "checks"))
    _theirs, their_token = in_app(on, lambda: tokens.create_token(User.get_by_id(other.id), "checks"))
    client = on.test_client()
    assert _check(client, my_token).status_code == 200
    assert _check(client, their_token).status_code == 200
    assert in_app(on, tokens.revoke, User.get_by_id(member.id), mine.id)
    assert _check(client, my_token).status_code == 401
    assert _check(client, their_token).status_code == 200


def test_a_token_holders_roles_are_read_with_the_token_at_every_call(on, make_user):
    from core.accounts.models import UserRole

    person = make_user("member", email="roles@example.org")
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(person.id), "checks"))
    client = on.test_client()
    assert _check(client, token).status_code == 200
    in_app(on, lambda: UserRole.delete().where(UserRole.user == person.id).execute())
    assert _check(client, token).status_code == 403, "no role left: no check"
    in_app(on, lambda: User.get_by_id(person.id).grant("member", "partner"))
    assert _check(client, token).status_code == 200
    assert in_app(on, lambda: tokens.authenticate(f"Bearer {token}").role_names) == {"member", "partner"}


def test_the_request_log_keeps_one_formatted_second_and_moves_on_with_the_clock():
    import json
    import logging

    from core.logs import JsonFormatter

    formatter = JsonFormatter()
    first = logging.LogRecord("redumbrella.request", logging.INFO, __file__, 1, "request", None, None)
    later = logging.LogRecord("redumbrella.request", logging.INFO, __file__, 1, "request", None, None)
    first.created, later.created = 1_800_000_000.2, 1_800_000_001.7
    first.status, later.event = 200, "request"
    shown = [json.loads(formatter.format(record)) for record in (first, first, later)]
    expected = [formatter.formatTime(record, "%Y-%m-%dT%H:%M:%S") for record in (first, first, later)]
    assert [line["time"] for line in shown] == expected and expected[0] != expected[2]
    assert shown[0]["status"] == 200 and "event" not in shown[0] and shown[2]["event"] == "request"


def test_alert_names_kept_per_worker_follow_language_wording_and_settings_changed_elsewhere(
        on, make_app, moderator, member, make_user):
    """A caution's alerts name their regions from names kept per process (plugins.alerts.labels):
    each language its own, and a local wording edit or a settings change made through another app
    shows at the very next check."""
    from helpers import sign_in
    from test_alerts_check import published
    from test_wording import change

    from plugins.alerts import labels

    other = make_app()
    published(on, moderator, phones=["07700 900123"], region="london")
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(member.id), "checks"))
    client = on.test_client()

    def region(language: str = "en") -> str:
        answer = _check(client, token, "07700 900123", language).get_json()
        assert answer["result"] == "caution"
        return answer["alerts"][0]["regions"][0]["label"]

    assert [region(), region("es"), region()] == ["London", "Londres", "London"]
    kept = in_app(on, labels.names)
    assert kept["regions"]["london"] == "London"
    with pytest.raises(TypeError):
        kept["regions"]["london"] = "changed by a caller"  # what is kept is read-only

    admin = other.test_client()
    sign_in(admin, make_user("admin", email="wording.check@example.org"))
    assert change(admin, "en", "reporting", "London", "Greater London").status_code == 303
    assert [region(), region("es")] == ["Greater London", "Londres"]

    regions = in_app(other, plugin_settings, "reporting")["regions"]
    changed = [line if line != "london" else "london | The Capital" for line in regions]
    in_app(other, save_settings, "reporting", {"regions": changed})
    assert [region(), region("es")] == ["The Capital", "The Capital"]


def test_the_checks_answer_kept_per_worker_follows_a_wording_edit_made_elsewhere(on, make_app, member, make_user):
    """The check's answers are made once per language and wording version (plugins.alerts.api):
    an edit through another app shows at the next check, in that language only."""
    from helpers import sign_in
    from test_wording import change

    other = make_app()
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(member.id), "checks"))
    client = on.test_client()

    def message(language: str = "en") -> str:
        answer = _check(client, token, "07700 900999", language).get_json()
        assert answer["result"] == "no_record"
        return answer["message"]

    shipped, spanish = message(), message("es")
    assert shipped != spanish and message() == shipped
    admin = other.test_client()
    sign_in(admin, make_user("admin", email="wording.answer@example.org"))
    assert change(admin, "en", "alerts", shipped, "Nothing is known about this. Stay careful.").status_code == 303
    assert [message(), message("es")] == ["Nothing is known about this. Stay careful.", spanish]


def test_flask_remembers_plain_functions_only(on, member):
    """core.app.Platform remembers, per function, whether Flask must wrap it to run it; the table
    holds the app's hooks and views, and does not grow with requests (a bound method, made afresh
    at each use, is never kept)."""
    _row, token = in_app(on, lambda: tokens.create_token(User.get_by_id(member.id), "checks"))
    client = on.test_client()
    _check(client, token)
    known = dict(on._sync_of)
    assert on.before_request_funcs[None][0] in known, "a request hook is remembered"
    for _n in range(5):
        assert _check(client, token).status_code == 200
        client.get("/healthz")
    client.get("/healthz")
    assert len(on._sync_of) <= len(known) + 1, "requests add nothing but /healthz's view"

    class Hooks:
        def hook(self):
            return None

    made_afresh = Hooks().hook
    assert on.ensure_sync(made_afresh) == made_afresh
    assert made_afresh not in on._sync_of
