"""What was made faster for issue #14 still tells the truth, on SQLite and PostgreSQL:

- /healthz keeps its list of migration files per process and reads the history again only when it
  changed: an upgrade that brings new migrations is reported, `db upgrade` clears it, and a history
  row removed by another process (a rollback) is reported again by an app that had seen it applied;
- GET /api/v1/me/subscriptions reads with one plain statement: each caller gets their own
  subscription, field for field what the model gives (the encrypted number decrypted), and a
  change shows at once;
- /api/v1/regions dumps with one schema: the configured list, in order, in the caller's language,
  following a settings change at the next call.
"""

from __future__ import annotations

import shutil

import pytest
from fixtures import sample_plugin
from helpers import sign_in

from core.db import connection, db
from core.schema import HISTORY_TABLE, upgrade


@pytest.fixture
def new_release(tmp_path):
    """A release that brings one new migration: the sample plugin with its 0001 file."""
    folder = tmp_path / "release-migrations"
    shutil.copytree(sample_plugin.MIGRATIONS, folder)
    return {"SAMPLE_MIGRATIONS": str(folder)}


def health(app) -> tuple[int, dict]:
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


def test_healthz_reports_the_migrations_an_upgrade_brings_until_they_are_applied(make_app, new_release):
    before = make_app()
    with before.app_context(), connection():
        # Another test may have left the sample plugin migrated in this database (PostgreSQL's is
        # emptied of rows between tests, not of a third-party plugin's history): start from before it.
        db.execute_sql(f'DELETE FROM "{HISTORY_TABLE}" WHERE name = {db.param}', ("sample:0001_notes",))  # noqa: S608
        db.execute_sql("DROP TABLE IF EXISTS sample_note")
    status, report = health(before)
    assert status == 200 and report["pending_migrations"] == 0

    # The new release starts (a new process: a new app) before anyone ran `db upgrade`.
    after = make_app(new_release, extra_plugins=[sample_plugin])
    status, report = health(after)
    assert status == 503 and report["pending_migrations"] == 1 and report["status"] == "unavailable"
    assert health(after)[1]["pending_migrations"] == 1, "asked again, still pending"

    with after.app_context(), connection():
        assert upgrade(after) == ["sample:0001_notes"]
    status, report = health(after)
    assert status == 200 and report["pending_migrations"] == 0

    # Rolled back by another process (its history row removed behind this app's back): pending again.
    with after.app_context(), connection():
        db.execute_sql(f'DELETE FROM "{HISTORY_TABLE}" WHERE name = {db.param}', ("sample:0001_notes",))  # noqa: S608
    status, report = health(after)
    assert status == 503 and report["pending_migrations"] == 1
    with after.app_context(), connection():
        upgrade(after)
    assert health(after)[0] == 200


def test_healthz_on_a_database_never_migrated_lists_every_migration(make_app, tmp_path):
    fresh = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    status, report = health(fresh)
    assert status == 503
    with fresh.app_context(), connection():
        from core.schema import status as owners_status

        expected = sum(len(owner.pending) for owner in owners_status(fresh))
    assert report["pending_migrations"] == expected > 0


def _subscription_dict(app, user_id: int) -> dict:
    from core.accounts.models import User
    from plugins.alerts import subscriptions

    with app.test_request_context(), connection():
        return subscriptions.as_dict(subscriptions.get(User.get_by_id(user_id)))


def _token_for(app, user) -> str:
    from core.accounts import tokens
    from core.accounts.models import User

    with app.test_request_context(), connection():
        return tokens.create_token(User.get_by_id(user.id), "tests")[1]


def test_each_caller_gets_their_own_subscription_as_the_model_reads_it(on, make_user):
    from plugins.alerts import subscriptions

    first, second, third = (make_user("member", email=f"reader{n}@example.org") for n in range(3))
    with on.test_request_context(), connection():
        from core.accounts.models import User

        subscriptions.save(User.get_by_id(first.id), {"channels": ["sms", "web"], "regions": ["scotland", "london"],
                                                      "sms_number": "+447911123456", "frequency": "daily"}, True)
        subscriptions.save(User.get_by_id(second.id), {"channels": ["email"], "all_regions": True}, False)
    client = on.test_client()
    answers = {}
    for user in (first, second, third):
        token = _token_for(on, user)
        response = client.get("/api/v1/me/subscriptions", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        answers[user.id] = response.get_json()
        assert answers[user.id] == _subscription_dict(on, user.id)
    assert answers[first.id]["sms_number"] == "+447911123456"
    assert answers[first.id]["regions"] == ["scotland", "london"] and answers[first.id]["frequency"] == "daily"
    assert answers[second.id]["all_regions"] is True and answers[second.id]["sms_number"] is None
    assert answers[third.id] == {"regions": [], "all_regions": False, "channels": ["web"], "frequency": "immediate",
                                 "sms_number": None}

    # A change shows at the next call: nothing is kept between requests.
    signed_in = on.test_client()
    sign_in(signed_in, second)
    before = signed_in.get("/api/v1/me/subscriptions").get_json()
    assert before == answers[second.id]
    with on.test_request_context(), connection():
        from core.accounts.models import User

        subscriptions.save(User.get_by_id(second.id), {"channels": ["web"], "regions": ["wales"]}, False)
    assert signed_in.get("/api/v1/me/subscriptions").get_json()["regions"] == ["wales"]


def test_regions_follow_the_settings_and_the_callers_language(on):
    from core.settings import save_settings

    client = on.test_client()
    default = client.get("/api/v1/regions").get_json()
    assert default[0] == {"code": "london", "name": "London"} and len(default) == 14
    with on.test_request_context(), connection():
        from core.settings import plugin_settings

        settings = dict(plugin_settings("reporting"))
        settings["regions"] = ["wales", "north | Up North", "london"]
        save_settings("reporting", settings)
    assert client.get("/api/v1/regions").get_json() == [
        {"code": "wales", "name": "Wales"}, {"code": "north", "name": "Up North"},
        {"code": "london", "name": "London"}]
    spanish = client.get("/api/v1/regions", headers={"Accept-Language": "es"}).get_json()
    assert [row["code"] for row in spanish] == ["wales", "north", "london"]
    assert spanish[1]["name"] == "Up North" and spanish[0]["name"] != "Wales", "translated: Gales"
    assert client.get("/api/v1/regions").get_json()[0]["name"] == "Wales", "each caller their own language"


def test_queue_worker_threads_default_to_four(make_app):
    assert make_app().config["QUEUE_WORKERS"] == 4
