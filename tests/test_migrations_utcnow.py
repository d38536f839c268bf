"""No migration uses the deprecated datetime.utcnow (issue #13, item 11): core's, the example
plugin's, the scaffold's and the built-in plugins'. A migration keeps its own naive-UTC now()
instead, as it may import nothing from the live code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def utcnow_uses(path: Path, root: Path = ROOT) -> list[str]:
    """`datetime.utcnow` / `datetime.datetime.utcnow` in the file's code (not its words), by line."""
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".tmpl":
        source = source.replace("@@name@@", "name")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "utcnow":
            base = node.value
            if (isinstance(base, ast.Name) and base.id == "datetime") or (
                    isinstance(base, ast.Attribute) and base.attr == "datetime"):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def migrations(*patterns: str) -> list[Path]:
    files = [path for pattern in patterns for path in sorted(ROOT.glob(pattern))]
    assert files, f"no migrations found under {patterns}"
    return files


@pytest.mark.parametrize("patterns", [
    ("core/migrations/*.py",),
    ("examples/*/*/migrations/*.py",),
    ("core/scaffold/files/PACKAGE/migrations/*.py.tmpl",),
    ("plugins/*/migrations/*.py",),
], ids=["core", "example", "scaffold", "built-in plugins"])
def test_no_migration_uses_datetime_utcnow(patterns):
    assert [use for path in migrations(*patterns) for use in utcnow_uses(path)] == []


def test_the_check_finds_a_use(tmp_path):
    sample = tmp_path / "0001_x.py"
    sample.write_text('"""datetime.utcnow in words is fine."""\nimport datetime\nnow = datetime.datetime.utcnow\n')
    assert utcnow_uses(sample, root=tmp_path) == ["0001_x.py:3"]
