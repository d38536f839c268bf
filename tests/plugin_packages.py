"""Install a plugin package as a user would (pip, not editable) into a folder of its own, and run
its own tests against it in a fresh Python process, on this suite's database kind.

`pip install --target FOLDER` keeps the suite's environment as it is: only the process started
with that folder on PYTHONPATH sees the plugin's entry point. The package is copied first, so the
build (which compiles its catalogs and writes build/ and *.egg-info) leaves the repository alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fixtures.processes import clean_environ

ROOT = Path(__file__).resolve().parent.parent  # this checkout: the child runs the core under test
INSTALL_TIMEOUT = 180
TEST_TIMEOUT = 600


def pip_install(source: Path, workdir: Path) -> tuple[Path, Path]:
    """Copy the package to workdir/src and install it into workdir/site; return (site, src)."""
    copy = workdir / "src"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", "*.mo", ".ruff_cache", ".pytest_cache"))
    site = workdir / "site"
    # --no-build-isolation: build with this environment's setuptools and Babel (scripts/dev.py
    # installs them), so no index is asked and it takes seconds; --no-deps: it has none.
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-input", "--disable-pip-version-check", "--target", str(site), str(copy)],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT, env=_env(),
    )
    assert result.returncode == 0, f"pip could not install {source.name}:\n{result.stdout}\n{result.stderr}"
    return site, copy


def run_its_tests(tests: Path, site: Path, cwd: Path, database_url: str = "", database_variable: str = ""):
    """Run the package's own tests with the installed copy importable (and its source not: the
    importlib import mode puts no test or source folder on the path)."""
    env = _env(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    if database_url:
        env[database_variable] = database_url
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
         f"--basetemp={cwd / 'basetemp'}"],
        cwd=cwd, capture_output=True, text=True, timeout=TEST_TIMEOUT, env=env,
    )


def where_installed(module: str, site: Path, cwd: Path) -> tuple[str, str]:
    """(the module's file, its entry point's version) as a process with `site` on its path sees them."""
    code = (
        "import importlib, importlib.metadata as m\n"
        f"mod = importlib.import_module({module!r})\n"
        "eps = [ep for ep in m.entry_points(group='redumbrella.plugins') if ep.value.startswith(mod.__name__)]\n"
        "print(mod.__file__)\n"
        "print(eps[0].dist.version if eps else '')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,  # noqa: S603
                            env=_env(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)])), timeout=60)
    assert result.returncode == 0, result.stderr
    file, version = result.stdout.splitlines()
    return file, version


def _env(**extra) -> dict[str, str]:
    """No REDUMBRELLA_* setting of this suite's, no PYTHONPATH or pytest options but ours."""
    env = {key: value for key, value in clean_environ().items() if key not in {"PYTHONPATH", "PYTEST_ADDOPTS"}}
    env.update(extra)
    env["PIP_NO_INPUT"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def summary(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-3000:]}"
