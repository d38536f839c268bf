"""`redumbrella new-plugin NAME` (issue #13): the package it writes lints clean, installs with pip
(its catalog compiled by its build), and passes its own tests at once, on SQLite or PostgreSQL;
writing it needs no instance and creates none, and bad names or an existing folder are refused.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import using_postgres
from fixtures.databases import empty_database
from fixtures.processes import clean_environ, run_cli
from plugin_packages import pip_install, run_its_tests, summary, where_installed

from core import __version__
from core.scaffold import ScaffoldError, check_name, compatible_releases, write

pytestmark = pytest.mark.slow


def _cli(args: list[str], instance: Path) -> subprocess.CompletedProcess:
    env = clean_environ()
    env["REDUMBRELLA_INSTANCE_PATH"] = str(instance)
    return run_cli(args, env, timeout=120)


@pytest.fixture(scope="session")
def scaffolded(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(the written package, the folder it is installed in, the instance folder the command was given)"""
    work = tmp_path_factory.mktemp("scaffold")
    instance = work / "instance-never-made"
    result = _cli(["new-plugin", "vanlog", "--dir", str(work / "out"), "--label", "Van log"], instance)
    assert result.returncode == 0, result.stderr
    root = work / "out" / "redumbrella-vanlog"
    assert f"Plugin vanlog written to {root}" in result.stdout
    site, _copy = pip_install(root, work / "install")
    return root, site, instance


def test_writing_a_plugin_needs_no_instance_and_makes_none(scaffolded):
    root, _site, instance = scaffolded
    assert not instance.exists()
    hooks = (root / "redumbrella_vanlog" / "hooks.py").read_text()
    assert 'name="vanlog"' in hooks and f'requires_core="{compatible_releases()}"' in hooks
    assert (root / "redumbrella_vanlog" / "migrations" / "0001_vanlog.py").is_file()
    po = (root / "redumbrella_vanlog" / "translations" / "es" / "LC_MESSAGES" / "vanlog.po").read_text()
    assert 'msgid "Van log"' in po and "@@" not in po


def test_the_written_package_lints_clean_with_its_own_rules(scaffolded):
    root = scaffolded[0]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=root,  # noqa: S603
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_written_package_installs_and_passes_its_own_tests(scaffolded, tmp_path):
    root, site, _instance = scaffolded
    file, version = where_installed("redumbrella_vanlog", site, tmp_path)
    assert file.startswith(str(site)) and version == "0.1.0"
    assert (Path(file).parent / "translations" / "es" / "LC_MESSAGES" / "vanlog.mo").is_file()
    with empty_database(tmp_path, "vanlog") as url:
        result = run_its_tests(root / "tests", site, tmp_path, database_url=url if using_postgres() else "",
                               database_variable="VANLOG_TEST_DATABASE_URL")
    assert result.returncode == 0, summary(result)
    assert "4 passed" in result.stdout, summary(result)


def test_names_that_cannot_be_plugins_are_refused(tmp_path):
    for bad in ("Vanlog", "van_log", "v", "9lives", "van-log", "core", "db", "x" * 31):
        with pytest.raises(ScaffoldError):
            check_name(bad)
    assert check_name("vanlog2") == "vanlog2"
    result = _cli(["new-plugin", "Van_Log", "--dir", str(tmp_path)], tmp_path / "instance")
    assert result.returncode == 1
    assert "cannot be a plugin's name" in result.stderr and not list(tmp_path.iterdir())
    result = _cli(["new-plugin", "backup", "--dir", str(tmp_path)], tmp_path / "instance")  # a core command
    assert result.returncode == 1
    assert "'backup' is taken by Red Umbrella itself" in result.stderr and not list(tmp_path.iterdir())
    with pytest.raises(ScaffoldError, match="taken"):  # the command passes every core command's name
        write("vanx", tmp_path, taken=frozenset({"vanx"}))


def test_an_existing_folder_is_never_overwritten(tmp_path):
    write("outreach", tmp_path)
    hooks = tmp_path / "redumbrella-outreach" / "redumbrella_outreach" / "hooks.py"
    hooks.write_text("# my own work\n")
    with pytest.raises(ScaffoldError, match="already exists"):
        write("outreach", tmp_path)
    assert hooks.read_text() == "# my own work\n"


def test_a_new_plugin_starts_with_this_release_series():
    assert compatible_releases("0.2.0") == ">=0.2,<0.3"
    assert compatible_releases("0.2.5.dev1") == ">=0.2,<0.3"
    assert compatible_releases("1.4.2") == ">=1.4,<2"
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(compatible_releases()).contains(__version__, prereleases=True)


def test_the_scaffold_packages_tests_and_extracts_as_the_tutorial_does(tmp_path):
    """What the tutorial's example does to package its templates, extract mail text and enable its
    requirements in tests, the scaffold does too (the same files, names apart)."""
    root = write("dropins", tmp_path).root
    example = Path(__file__).resolve().parent.parent / "examples" / "redumbrella-dropins"
    for name in ("babel.cfg", "tests/conftest.py"):
        assert (root / name).read_text() == (example / name).read_text(), f"the scaffold's {name} differs"

    def package_data(path):
        return path.read_text().split("[tool.setuptools.package-data]")[1].split("\n\n")[0]

    assert package_data(root / "pyproject.toml") == package_data(example / "pyproject.toml")
