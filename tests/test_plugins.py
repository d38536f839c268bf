"""The plugin system (issue 2, items 3 and 4), proved with a fixture plugin that implements every hook.

While a plugin is disabled its pages and API answer 404, its navigation items are gone, its hooks
are not called and its tasks do not run; its data is kept, and enabling it brings everything back.
`requires` is enforced both ways from the CLI and the admin page, a misspelt hook implementation
stops start-up, and a plugin's settings page validates and saves.
"""

from __future__ import annotations

import inspect
from types import ModuleType

import pluggy
import pytest
from fixtures import sample_plugin
from fixtures.sample_plugin import CALLS, NAV_LABEL, PAGE_TEXT, Note, calls
from helpers import csrf_token, enable, post_form, sign_in

from core import hookspecs, retention
from core.cli import cli
from core.db import connection
from core.hookspecs import hookimpl
from core.permissions import role_table
from core.plugins import PluginError, PluginInfo, get_registry
from core.queue import current_queue
from core.schema import upgrade
from core.settings import plugin_settings


def _child_plugin() -> ModuleType:
    """A second fixture plugin that needs the sample plugin."""
    module = ModuleType("samplechild_hooks")
    module.plugin_info = PluginInfo(name="samplechild", label="Sample child", requires=("sample",))
    return module


@pytest.fixture
def sample_app(app, make_app):
    """An app with the sample plugin (and one that requires it) on a database that has its table.

    Depends on `app` so the PostgreSQL test database is emptied first.
    """
    built = make_app(extra_plugins=[sample_plugin, _child_plugin()])
    with built.app_context(), connection():
        upgrade(built)
    CALLS.clear()
    return built


def _set(app, name: str, enabled: bool) -> None:
    with app.app_context(), connection():
        get_registry(app).set_enabled(name, enabled)


def _note_count(app) -> int:
    with app.app_context(), connection():
        return Note.select().count()


def test_sample_plugin_implements_every_hookspec():
    """The fixture below proves every hook only while it implements every hook."""
    specs = {name for name, fn in inspect.getmembers(hookspecs) if hasattr(fn, f"{hookspecs.PROJECT}_spec")}
    implemented = {
        name for name, fn in inspect.getmembers(sample_plugin) if hasattr(fn, f"{hookspecs.PROJECT}_impl")
    }
    assert specs, "no hookspecs found"
    assert specs == implemented


def test_registration_hooks_contribute_everything(sample_app):
    registry = get_registry(sample_app)
    assert {"sample", "sample_api"} <= {name for name, owner in registry.blueprint_owners.items() if owner == "sample"}
    assert "sample.manage" in sample_app.extensions["redumbrella.permissions"]
    assert "sample_keeper" in role_table(sample_app)
    assert sample_app.extensions["redumbrella.domains"]["sample"] is sample_plugin.domain
    assert {"sample.add_note", "sample.tick"} <= set(sample_app.extensions["redumbrella.queue"].names)
    with sample_app.app_context(), connection():
        from core.schema import status

        sample_status = next(owner for owner in status(sample_app) if owner.owner == "sample")
        assert sample_status.applied == ["sample:0001_notes"] and sample_status.pending == []
        assert Note.table_exists()


def test_enabled_plugin_serves_pages_api_nav_tasks_and_commands(sample_app):
    _set(sample_app, "sample", True)
    assert calls("plugin_enabled") == ["sample"]
    client = sample_app.test_client()

    page = client.get("/sample/")
    assert page.status_code == 200 and PAGE_TEXT in page.get_data(as_text=True)
    assert client.get("/api/v1/sample").get_json() == {"notes": 0}

    CALLS.clear()
    home = client.get("/").get_data(as_text=True)
    assert NAV_LABEL in home and 'href="/sample/"' in home
    assert "SAMPLE-BLOCK" in home  # its page_blocks block, on the home page
    assert calls("nav_items"), "nav_items was not called for an enabled plugin"
    assert "/sample" in client.get("/api/v1/openapi.json").get_json()["paths"]

    with sample_app.app_context(), connection():
        assert sample_plugin.add_note("from a test")() == 1
        assert Note.get().text == "from a test (core)"  # ran inside the app's context
        sample_rules = [rule for owner, rule in retention.rules(sample_app) if owner == "sample"]
        assert [rule.label for rule in sample_rules] == ["sample notes"]

    result = sample_app.test_cli_runner().invoke(cli, ["sample", "add-note", "by command"])
    assert result.exit_code == 0, result.output
    assert "2 notes" in result.output
    assert client.get("/api/v1/sample").get_json() == {"notes": 2}


def test_disabled_plugin_disappears_keeps_its_data_and_comes_back(sample_app):
    _set(sample_app, "sample", True)
    with sample_app.app_context(), connection():
        sample_plugin.add_note("kept")
        sample_plugin.add_note("kept too")

    _set(sample_app, "sample", False)
    assert calls("plugin_disabled") == ["sample"]
    CALLS.clear()
    client = sample_app.test_client()

    # Pages and API answer 404 (not a sign-in redirect, not 403: the plugin is simply not there).
    assert client.get("/sample/").status_code == 404
    assert client.get("/sample/manage").status_code == 404
    api = client.get("/api/v1/sample")
    assert api.status_code == 404 and api.get_json()["error"]["status"] == 404
    posted = client.post("/api/v1/sample", json={"text": "x"}, headers={"Authorization": "Bearer t"})
    assert posted.status_code == 404

    # Its navigation item is gone and its nav_items hook was not even called.
    home = client.get("/").get_data(as_text=True)
    assert NAV_LABEL not in home and 'href="/sample/"' not in home
    assert calls("nav_items") == []
    assert "/sample" not in client.get("/api/v1/openapi.json").get_json()["paths"]

    with sample_app.app_context(), connection():
        assert "sample" not in {owner for owner, _rule in retention.rules(sample_app)}
        get_registry(sample_app).call("demo_data", app=sample_app, accounts={})
        # Its tasks do not run: the queue's runner skips them, queued or periodic.
        assert sample_plugin.add_note("while off")() is None
        current_queue().bound(sample_plugin.tick)()
    assert CALLS == [], f"hooks of a disabled plugin were called: {CALLS}"
    assert _note_count(sample_app) == 2, "disabling must keep the plugin's data and run none of its tasks"

    # Enabling again brings everything back, with the data.
    _set(sample_app, "sample", True)
    assert calls("plugin_enabled") == ["sample"]
    assert client.get("/api/v1/sample").get_json() == {"notes": 2}
    assert "2 notes" in client.get("/sample/").get_data(as_text=True)
    posted = client.post("/api/v1/sample", json={"text": "x"}, headers={"Authorization": "Bearer t"})
    assert posted.status_code == 201 and posted.get_json() == {"notes": 3}
    assert NAV_LABEL in client.get("/").get_data(as_text=True)
    with sample_app.app_context(), connection():
        assert sample_plugin.add_note("back")() == 4
        current_queue().bound(sample_plugin.tick)()  # huey keeps no result for periodic tasks
    assert _note_count(sample_app) == 5


def test_a_disabled_plugin_is_not_notified_of_other_plugins_changes(sample_app):
    _set(sample_app, "sample", True)
    _set(sample_app, "samplechild", True)
    assert calls("plugin_enabled") == ["sample", "samplechild"]
    _set(sample_app, "samplechild", False)
    _set(sample_app, "sample", False)
    CALLS.clear()
    # samplechild needs sample, so turn on an unrelated installed plugin instead.
    _set(sample_app, "training", True)
    assert calls("plugin_enabled") == []


def _plugins_cli(app, *args):
    return app.test_cli_runner().invoke(cli, ["plugins", *args])


def test_requires_is_enforced_both_ways_from_the_cli(sample_app):
    refused = _plugins_cli(sample_app, "enable", "samplechild")
    assert refused.exit_code == 1
    assert "samplechild needs sample: enable sample first" in refused.output
    listing = _plugins_cli(sample_app, "list")
    assert listing.exit_code == 0
    lines = {line.split()[0]: line for line in listing.output.splitlines()}
    assert "disabled" in lines["samplechild"] and "(needs sample)" in lines["samplechild"]

    assert _plugins_cli(sample_app, "enable", "sample").exit_code == 0
    enabled = _plugins_cli(sample_app, "enable", "samplechild")
    assert enabled.exit_code == 0, enabled.output
    assert "samplechild enabled" in enabled.output

    refused = _plugins_cli(sample_app, "disable", "sample")
    assert refused.exit_code == 1
    assert "samplechild needs sample: disable samplechild first" in refused.output
    with sample_app.app_context(), connection():
        assert {"sample", "samplechild"} <= get_registry(sample_app).enabled()

    assert _plugins_cli(sample_app, "disable", "samplechild").exit_code == 0
    assert _plugins_cli(sample_app, "disable", "sample").exit_code == 0
    unknown = _plugins_cli(sample_app, "enable", "nosuchplugin")
    assert unknown.exit_code == 1 and "there is no plugin called nosuchplugin" in unknown.output
    listing = _plugins_cli(sample_app, "list").output
    assert all("disabled" in line for line in listing.splitlines() if line.startswith("sample"))


def test_requires_is_enforced_both_ways_from_the_admin_page(sample_app, make_user):
    admin = make_user("admin")
    client = sample_app.test_client()
    sign_in(client, admin)

    page = client.get("/admin/plugins")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'action="/admin/plugins/samplechild"' in text and "Needs: Sample<" in text  # labels, not names

    def switch(name, on):
        return post_form(client, f"/admin/plugins/{name}", {"enabled": "1" if on else "0"}, token_from="/admin/plugins")

    def refusal(response) -> str:
        """The reason shown on the modules page itself, which still has every switch on it."""
        text = response.get_data(as_text=True)
        assert "<h1>Modules</h1>" in text and 'action="/admin/plugins/samplechild"' in text
        assert "samplechild" not in text.split('role="alert"')[1].split("</div>")[0]
        return text

    refused = switch("samplechild", True)
    assert refused.status_code == 409
    assert "Sample child needs Sample. Turn on Sample first." in refusal(refused)

    assert switch("sample", True).status_code == 303
    assert switch("samplechild", True).status_code == 303
    refused = switch("sample", False)
    assert refused.status_code == 409
    assert "Sample child needs Sample. To turn off Sample, first turn off Sample child." in refusal(refused)
    with sample_app.app_context(), connection():
        assert {"sample", "samplechild"} <= get_registry(sample_app).enabled()

    # A change made on the page is visible at once, in this request and the next.
    assert switch("samplechild", False).status_code == 303
    assert switch("sample", False).status_code == 303
    assert client.get("/sample/").status_code == 404
    assert switch("sample", True).status_code == 303
    assert client.get("/sample/").status_code == 200


def test_only_administrators_switch_plugins(sample_app, make_user):
    client = sample_app.test_client()
    anonymous = client.post("/admin/plugins/sample", data={"enabled": "1", "csrf_token": csrf_token(client)})
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    sign_in(client, make_user("member"))
    assert client.get("/admin/plugins").status_code == 403
    assert post_form(client, "/admin/plugins/sample", {"enabled": "1"}).status_code == 403
    with sample_app.app_context(), connection():
        assert not get_registry(sample_app).is_enabled("sample")


def test_misspelt_hook_implementation_fails_at_start_up(make_app):
    typo = ModuleType("typo_hooks")
    typo.plugin_info = PluginInfo(name="typo", label="Typo")

    @hookimpl
    def nav_item(app, user):  # should be nav_items
        return []

    typo.nav_item = nav_item
    with pytest.raises(pluggy.PluginValidationError, match="nav_item"):
        make_app(extra_plugins=[typo])


def test_hook_implementation_with_wrong_arguments_fails_at_start_up(make_app):
    wrong = ModuleType("wrong_hooks")
    wrong.plugin_info = PluginInfo(name="wrong", label="Wrong")

    @hookimpl
    def nav_items(app, person):  # the spec's argument is `user`
        return []

    wrong.nav_items = nav_items
    with pytest.raises(pluggy.PluginValidationError, match="person"):
        make_app(extra_plugins=[wrong])


def test_requirement_that_is_not_installed_fails_at_start_up(make_app):
    orphan = ModuleType("orphan_hooks")
    orphan.plugin_info = PluginInfo(name="orphan", label="Orphan", requires=("nothere",))
    with pytest.raises(PluginError, match="orphan requires nothere, which is not installed"):
        make_app(extra_plugins=[orphan])


def test_settings_page_validates_and_saves(sample_app, make_user):
    client = sample_app.test_client()
    sign_in(client, make_user("admin"))
    path = "/admin/plugins/sample/settings"
    assert 'href="/admin/plugins/sample/settings"' in client.get("/admin/plugins").get_data(as_text=True)

    form = client.get(path)
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert 'name="greeting"' in html and 'value="Hello"' in html
    assert 'type="number" id="setting-max_notes"' in html and 'type="checkbox" id="setting-public_board"' in html

    bad = post_form(client, path, {"greeting": "Hi", "max_notes": "500"}, token_from=path)
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "Please give a number from 1 to 100." in page
    assert 'aria-describedby="setting-max_notes-hint setting-max_notes-error"' in page
    assert 'value="500"' in page, "the person's input is shown again for correction"
    not_a_number = post_form(client, path, {"greeting": "Hi", "max_notes": "lots"}, token_from=path)
    assert not_a_number.status_code == 422
    assert "This is not the right kind of value." in not_a_number.get_data(as_text=True)
    too_long = post_form(client, path, {"greeting": "x" * 41, "max_notes": "5"}, token_from=path)
    assert too_long.status_code == 422
    with sample_app.test_request_context(), connection():
        assert plugin_settings("sample") == {"greeting": "Hello", "max_notes": 10, "public_board": False}

    saved = post_form(client, path, {"greeting": "Welcome", "max_notes": "25", "public_board": "1"}, token_from=path)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(path)
    html = client.get(path).get_data(as_text=True)
    assert 'value="Welcome"' in html and 'value="25"' in html and "checked" in html
    with sample_app.test_request_context(), connection():
        assert plugin_settings("sample") == {"greeting": "Welcome", "max_notes": 25, "public_board": True}

    # A plugin without settings has no settings page; only administrators reach one.
    assert client.get("/admin/plugins/samplechild/settings").status_code == 404
    member = sample_app.test_client()
    sign_in(member, make_user("member"))
    assert member.get(path).status_code == 403


def test_a_disabled_plugins_commands_are_refused_and_switches_are_audited_once(sample_app):
    from core.audit import AuditEntry

    result = sample_app.test_cli_runner().invoke(cli, ["sample", "add-note", "while off"])
    assert result.exit_code == 1
    assert "the sample plugin is disabled" in result.output

    result = sample_app.test_cli_runner().invoke(cli, ["plugins", "enable", "sample"])
    assert result.exit_code == 0, result.output
    with sample_app.app_context(), connection():
        entries = [(e.action, e.target) for e in AuditEntry.select().where(AuditEntry.target == "plugin:sample")]
    assert entries == [("plugin.enabled", "plugin:sample")]


def test_a_blueprint_named_outside_its_plugin_fails_at_start_up(make_app):
    """A plugin called "sample" may not claim another plugin's names, like "sampleX" or "alerts"."""
    from flask import Blueprint

    from core.hookspecs import hookimpl
    from core.plugins import PluginInfo

    squatter = ModuleType("squatter")
    squatter.plugin_info = PluginInfo(name="alert", label="Squatter")
    squatter.register_blueprints = hookimpl(lambda app: [Blueprint("alerts_api_copy", __name__)])
    with pytest.raises(ValueError, match="name it alert or alert_"):
        make_app(extra_plugins=[squatter])



def test_settings_show_choices_and_codes_in_words(app, make_app, make_user):
    """A select shows its choices' labels (sending the values); a list of codes is shown in words
    under its box (a listed code by its label, "code | Name" by that name, anything else as written)."""
    from marshmallow import Schema, fields, validate

    module = ModuleType("wordy_hooks")
    module.plugin_info = PluginInfo(name="wordy", label="Wordy")

    class WordySettings(Schema):
        colour = fields.String(load_default="red", validate=validate.OneOf(("red", "blue")),
                               metadata={"label": "Colour", "choice_labels": {"red": "Warm red", "blue": "Calm blue"}})
        kinds = fields.List(fields.String(), load_default=lambda: ["plain", "own | Our own words", "odd"],
                            metadata={"label": "Kinds", "codes": {"plain": "Plain note"}})

    @hookimpl
    def settings_schema(app):
        return WordySettings

    module.settings_schema = settings_schema
    built = make_app(extra_plugins=[module])
    client = built.test_client()
    sign_in(client, make_user("admin"))
    path = "/admin/plugins/wordy/settings"
    html = client.get(path).get_data(as_text=True)
    assert '<option value="red" selected>Warm red</option><option value="blue">Calm blue</option>' in html
    assert "Shown in this language as: Plain note; Our own words; odd</p>" in html
    assert post_form(client, path, {"colour": "blue", "kinds": "plain"}, token_from=path).status_code == 303
    with built.test_request_context(), connection():
        assert plugin_settings("wordy") == {"colour": "blue", "kinds": ["plain"]}

    # A real module: the reporting options' codes (physical_assault) come with their words.
    enable(built, "reporting")
    html = client.get("/admin/plugins/reporting/settings").get_data(as_text=True)
    shown = html.split('id="setting-incident_types-shown">', 1)[1].split("</p>", 1)[0]
    assert "Physical assault" in shown and "physical_assault" not in shown


def test_an_erased_account_reaches_a_plugin_even_when_it_is_switched_off(sample_app, make_user):
    from core.accounts.erasure import erase_account

    person = make_user("member", email="leaving@example.org")
    with sample_app.test_request_context(), connection():
        assert not get_registry(sample_app).is_enabled("sample")  # installed, switched off
        assert erase_account(person.id, actor_id=None)
    assert calls("account_erased") == [person.id]
