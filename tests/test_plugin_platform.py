"""What core checks and fills in when it loads a plugin (issue #13): versions and the releases a
plugin works with, the naming rules, the folders found by convention, and a `--help` that writes
nothing. Plugins here are real packages written to a temporary folder (and, for the command line,
installed there with a dist-info, as pip would), loaded by a real app or a real `redumbrella`.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from fixtures.processes import clean_environ, instance_env, run_cli
from helpers import sign_in

from core import __version__
from core.cli import cli
from core.db import connection
from core.hookspecs import hookimpl
from core.mail import MailKind
from core.permissions import Permission
from core.plugins import PluginInfo, PluginLoadError, PluginNameError, get_registry
from core.schema import status, upgrade

RELEASE = ".".join(__version__.split(".")[:2])  # "0.2"
NEXT = f"{RELEASE.split('.')[0]}.{int(RELEASE.split('.')[1]) + 1}"  # "0.3"


def _package(root: Path, name: str, files: dict[str, str]) -> ModuleType:
    """Write package `name` under root, put root on the path, and import its hooks module."""
    for relative, text in files.items():
        path = root / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (root / name / "__init__.py").touch()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    return importlib.import_module(f"{name}.hooks")


@pytest.fixture
def packages(tmp_path):
    """A folder for packages on the import path, and everything imported from it forgotten after."""
    root = tmp_path / "packages"
    root.mkdir()
    before = set(sys.modules)
    yield root
    sys.path.remove(str(root)) if str(root) in sys.path else None
    for name in set(sys.modules) - before:
        if getattr(sys.modules[name], "__file__", "") and str(root) in (sys.modules[name].__file__ or ""):
            del sys.modules[name]


HOOKS = """\
from core.hookspecs import hookimpl
from core.plugins import PluginInfo

plugin_info = PluginInfo(name="{name}", label="{name}"{extra})
"""


# -- versions -------------------------------------------------------------------------------------


def _versioned(name: str, **info) -> ModuleType:
    module = ModuleType(f"{name}_hooks")
    module.plugin_info = PluginInfo(name=name, label=name, **info)
    return module


def test_a_plugin_for_this_release_loads_and_shows_its_version(app, make_app):
    built = make_app(extra_plugins=[_versioned("fits", version="1.2.0", requires_core=f">={RELEASE},<{NEXT}")])
    registry = get_registry(built)
    assert registry.infos["fits"].version == "1.2.0"
    assert registry.infos["core"].version == __version__
    assert registry.infos["reporting"].version == __version__  # built-in: core's own release


def test_a_plugin_for_another_release_stops_start_up_naming_both_versions(app, make_app):
    with pytest.raises(PluginLoadError) as raised:
        make_app(extra_plugins=[_versioned("old", version="0.9.1", requires_core=f"<{RELEASE}")])
    assert str(raised.value) == (
        f"plugin old 0.9.1 works with Red Umbrella <{RELEASE}, but this is Red Umbrella {__version__}: "
        f"install a release of old made for {__version__}, or remove it"
    )
    with pytest.raises(PluginLoadError, match=r"requires_core 'soon' is not a version specifier"):
        make_app(extra_plugins=[_versioned("vague", requires_core="soon")])


def _installed_plugin(site: Path, name: str, version: str, requires_core: str) -> None:
    """A plugin installed the way pip leaves one: a module and a dist-info with its entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{name}_plugin.py").write_text(
        "from core.plugins import PluginInfo\n"
        f"plugin_info = PluginInfo(name={name!r}, label={name!r}, requires_core={requires_core!r})\n")
    info = site / f"redumbrella_{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: redumbrella-{name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[redumbrella.plugins]\n{name} = {name}_plugin\n")


def test_a_plugin_that_cannot_be_imported_stops_start_up_with_one_line_and_the_way_back(app, database_url, tmp_path):
    """Not a traceback, and not a site running without it: it may be a module that guards access."""
    site = tmp_path / "site"
    _installed_plugin(site, "vanbroken", "0.1.0", "")
    module = site / "vanbroken_plugin.py"
    module.write_text("import a_dependency_that_is_not_installed\n" + module.read_text())
    env = instance_env(tmp_path / "instance", database_url)
    env["PYTHONPATH"] = str(site)
    expected = ("redumbrella: configuration error: plugin vanbroken could not be loaded (ModuleNotFoundError: "
                "No module named 'a_dependency_that_is_not_installed'): fix it, or remove it with "
                "`pip uninstall redumbrella-vanbroken`, then start again")
    for command in (["plugins", "list"], ["plugins", "disable", "vanbroken"]):
        result = run_cli(command, env)
        assert (result.returncode, result.stderr.strip()) == (2, expected), command


def test_the_command_line_stops_with_one_line_and_lists_versions(app, database_url, tmp_path):
    site = tmp_path / "site"
    _installed_plugin(site, "vanold", "0.4.0", f"<{RELEASE}")
    env = instance_env(tmp_path / "instance", database_url)
    env["PYTHONPATH"] = str(site)
    result = run_cli(["plugins", "list"], env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"redumbrella: configuration error: plugin vanold 0.4.0 works with Red Umbrella <{RELEASE}, "
        f"but this is Red Umbrella {__version__}: install a release of vanold made for {__version__}, or remove it"
    )

    fresh = tmp_path / "site2"
    _installed_plugin(fresh, "vannew", "0.5.0", f">={RELEASE},<{NEXT}")
    env["PYTHONPATH"] = str(fresh)
    run_cli(["db", "upgrade"], env)
    result = run_cli(["plugins", "list"], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Red Umbrella {__version__}"
    assert any(line.split()[:3] == ["vannew", "0.5.0", "disabled"] for line in lines), result.stdout
    assert any(line.split()[:3] == ["reporting", __version__, "disabled"] for line in lines), result.stdout


def test_the_admin_modules_page_shows_each_version(app, make_user):
    client = app.test_client()
    sign_in(client, make_user("admin"))
    page = client.get("/admin/plugins").get_data(as_text=True)
    assert '<th scope="col">Version</th>' in page
    assert page.count(f"<td>{__version__}</td>") == len(get_registry(app).names)


# -- naming rules ----------------------------------------------------------------------------------


def test_a_permission_outside_the_plugins_name_stops_start_up(app, make_app):
    module = _versioned("vanlog")
    module.register_permissions = hookimpl(lambda app: [Permission("manage_vans", "Manage vans", ("admin",))])
    with pytest.raises(PluginNameError) as raised:
        make_app(extra_plugins=[module])
    assert str(raised.value) == "plugin vanlog defines permission manage_vans: name it vanlog.<action>"
    module.register_permissions = hookimpl(lambda app: [Permission("vanlogx.manage", "Manage vans", ("admin",))])
    with pytest.raises(PluginNameError, match="name it vanlog.<action>"):
        make_app(extra_plugins=[module])  # a prefix without the dot is someone else's name


def test_a_table_outside_the_plugins_name_stops_start_up(app, make_app, packages):
    hooks = _package(packages, "vantables", {
        "hooks.py": HOOKS.format(name="vantables", extra=""),
        "models.py": """
            from peewee import CharField
            from core.db import BaseModel

            class Trip(BaseModel):
                place = CharField()

                class Meta:
                    table_name = "trips"
        """,
    })
    with pytest.raises(PluginNameError) as raised:
        make_app(extra_plugins=[hooks])
    assert str(raised.value) == "plugin vantables has model Trip with table trips: name it vantables_..."


def test_the_built_in_plugins_follow_the_naming_rules(app):
    registry = get_registry(app)
    assert {"reporting", "alerts", "casework", "training"} <= set(registry.packages)
    assert registry._owner_of_module("plugins.alerts.unread") == "alerts"  # a model outside models.py
    for name, permission in app.extensions["redumbrella.permissions"].items():
        owner = name.split(".")[0]
        assert owner in registry.infos or owner == "admin", permission
    for blueprint, owner in registry.blueprint_owners.items():
        assert owner == "core" or blueprint == owner or blueprint.startswith(f"{owner}_")


# -- conventions -----------------------------------------------------------------------------------


def _conventional(packages: Path, name: str, extra: str = "") -> ModuleType:
    """A plugin whose hooks.py implements only register_blueprints: the rest is found beside it."""
    return _package(packages, name, {
        "hooks.py": HOOKS.format(name=name, extra=extra) + textwrap.dedent(f"""
            @hookimpl
            def register_blueprints(app):
                from {name}.views import bp
                return [bp]
        """),
        "views.py": f"""
            from flask import Blueprint, render_template
            from core.permissions import PUBLIC, requires

            bp = Blueprint("{name}", __name__, url_prefix="/{name}")

            @bp.route("/")
            @requires(PUBLIC)
            def index():
                return render_template("{name}/index.html")
        """,
        f"templates/{name}/index.html": """
            {% extends "base.html" %}
            {% block content %}<h1>{{ _("Van log") }}</h1>{% endblock %}
        """,
        f"migrations/0001_{name}.py": f"""
            def up(migrator, db):
                db.execute_sql("CREATE TABLE {name}_trip (id INTEGER PRIMARY KEY)")
        """,
        f"translations/es/LC_MESSAGES/{name}.po": """
            msgid ""
            msgstr ""
            "Language: es\\n"
            "Content-Type: text/plain; charset=utf-8\\n"

            msgid "Van log"
            msgstr "Registro de la furgoneta"
        """,
    })


def _compile(packages: Path, name: str) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = packages / name / "translations" / "es" / "LC_MESSAGES" / f"{name}.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    with po.with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog)


def test_migrations_translations_and_templates_are_found_beside_the_hooks(app, make_app, packages):
    hooks = _conventional(packages, "vanconv")
    _compile(packages, "vanconv")
    built = make_app(extra_plugins=[hooks])
    with built.app_context(), connection():
        upgrade(built)
        assert next(owner for owner in status(built) if owner.owner == "vanconv").applied == ["vanconv:0001_vanconv"]
        get_registry(built).set_enabled("vanconv", True)
    domain = built.extensions["redumbrella.domains"]["vanconv"]
    assert domain.name == "vanconv" and domain.directory == packages / "vanconv" / "translations"
    assert "vanconv_templates" in get_registry(built).blueprint_owners
    client = built.test_client()
    assert "Van log" in client.get("/vanconv/").get_data(as_text=True)
    spanish = client.get("/vanconv/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Registro de la furgoneta" in spanish


def test_plugin_info_can_name_other_folders_or_none(app, make_app, packages, tmp_path):
    hooks = _conventional(packages, "vannone", extra=", migrations=None, translations=None")
    built = make_app(extra_plugins=[hooks])
    with built.app_context(), connection():
        assert "vannone" not in {owner.owner for owner in status(built)}
    assert "vannone" not in built.extensions["redumbrella.domains"]

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "0001_first.py").parent.mkdir()
    (elsewhere / "0001_first.py").write_text("def up(migrator, db):\n    pass\n")
    hooks = _conventional(packages, "vanelse", extra=f", migrations={str(elsewhere)!r}")
    built = make_app(extra_plugins=[hooks])
    with built.app_context(), connection():
        assert next(o for o in status(built) if o.owner == "vanelse").pending == ["vanelse:0001_first"]


def test_a_module_shared_by_two_plugins_gets_no_conventions(app):
    registry = get_registry(app)
    shared = {"one": ModuleType("shared.hooks"), "two": ModuleType("shared.hooks")}
    single_file = ModuleType("fixtures.one_plugin")  # a plugin that is one file among others'
    for module in (*shared.values(), single_file):
        module.__file__ = "/nowhere/shared/x.py"
    from core.plugins import _own_packages

    assert _own_packages(shared) == {}
    assert set(_own_packages({"one": shared["one"]})) == {"one"}
    assert _own_packages({"one": single_file}) == {}
    assert registry.folder("core", "templates") is None


# -- the command line writes nothing to find its commands ------------------------------------------


def test_help_creates_no_instance_and_still_lists_plugin_commands(tmp_path):
    instance = tmp_path / "never"
    env = clean_environ()
    env["REDUMBRELLA_INSTANCE_PATH"] = str(instance)
    top = run_cli(["--help"], env)
    assert top.returncode == 0, top.stderr
    assert "training" in top.stdout and "new-plugin" in top.stdout
    group = run_cli(["training", "--help"], env)
    assert group.returncode == 0, group.stderr
    assert not instance.exists(), f"--help wrote {sorted(p.name for p in instance.rglob('*'))}"


def test_a_plugin_command_still_runs_on_the_real_app(app):
    result = app.test_cli_runner().invoke(cli, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Red Umbrella {__version__}\n")


def test_the_tutorial_quotes_the_naming_messages_start_up_prints(app, make_app, packages):
    """docs/writing-a-plugin.md shows what start-up says for each broken rule: those exact lines."""
    from flask import Blueprint

    doc = (Path(__file__).resolve().parent.parent / "docs" / "writing-a-plugin.md").read_text(encoding="utf-8")
    quoted = doc.split("What start-up says when a rule is broken", 1)[1].split("```\n", 2)[1].splitlines()

    def message(module) -> str:
        with pytest.raises(PluginNameError) as raised:
            make_app(extra_plugins=[module])
        return str(raised.value)

    blueprint = _versioned("dropins")
    blueprint.register_blueprints = hookimpl(lambda app: [Blueprint("drop_api", __name__)])
    permission = _versioned("dropins")
    permission.register_permissions = hookimpl(lambda app: [Permission("manage_dropins", "Manage", ("admin",))])
    table = _package(packages, "dropinsbad", {
        "hooks.py": HOOKS.format(name="dropins", extra=""),
        "models.py": """
            from peewee import CharField
            from core.db import BaseModel

            class DropIn(BaseModel):
                name = CharField()

                class Meta:
                    table_name = "dropin"
        """,
    })
    kind = _versioned("dropins")
    kind.register_mail_kinds = hookimpl(lambda app: [MailKind("reminder", "Reminder", "admin.users")])
    assert quoted == [message(blueprint), message(permission), message(table), message(kind)]


def test_help_still_lists_cores_commands_when_a_plugin_is_broken():
    """A plugin that fails to import (not a setting: that is one line and exit 2) is reported, and
    `--help` still lists core's own commands, so `redumbrella plugins ...` can be found."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    def broken_plugin():
        raise ImportError("No module named 'redumbrella_gone'")

    result = CliRunner().invoke(cli, ["--help"], obj=ScriptInfo(create_app=broken_plugin))
    assert result.exit_code == 0
    assert {"plugins", "db", "new-plugin"} <= {line.split()[0] for line in
                                              result.stdout.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert "ImportError: No module named 'redumbrella_gone'" in result.stderr
