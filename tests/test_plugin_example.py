"""The tutorial's plugin, examples/redumbrella-dropins, installed as a user installs it (pip, not
editable: its catalogs compiled by its build) and run: its own tests migrate, enable, serve and
use it, on SQLite or, when this suite runs on PostgreSQL, on a PostgreSQL database of their own.

The package is installed once per session into a folder of its own, so the rest of the suite
never sees it; tests/test_plugin_docs_example.py checks that the tutorial shows this very code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import using_postgres
from fixtures.databases import empty_database
from plugin_packages import pip_install, run_its_tests, summary, where_installed

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "redumbrella-dropins"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the folder it is installed in, the copy it was built from)"""
    return pip_install(EXAMPLE, tmp_path_factory.mktemp("dropins"))


def test_the_installed_package_has_its_compiled_catalog_and_files(installed):
    package = installed[0] / "redumbrella_dropins"
    assert (package / "translations" / "es" / "LC_MESSAGES" / "dropins.mo").is_file(), "the build compiled no .mo"
    assert (package / "migrations" / "0001_dropins.py").is_file()
    assert (package / "templates" / "dropins" / "index.html").is_file()


def test_the_example_passes_its_own_tests_installed(installed, tmp_path):
    site, source = installed
    file, version = where_installed("redumbrella_dropins", site, tmp_path)
    assert file.startswith(str(site)), f"the tests would use {file}, not the installed copy"
    assert version == "0.1.0"  # found through its entry point, with the version from __init__.py

    with empty_database(tmp_path, "dropins") as url:
        result = run_its_tests(source / "tests", site, tmp_path,
                               database_url=url if using_postgres() else "",
                               database_variable="DROPINS_TEST_DATABASE_URL")
    assert result.returncode == 0, summary(result)
    assert " passed" in result.stdout and "failed" not in result.stdout and "skipped" not in result.stdout, \
        summary(result)
