"""The tutorial's code is the example plugin's code (issue #13): every fenced block in
docs/writing-a-plugin.md whose first line names a file (`# redumbrella_dropins/hooks.py`,
`{# redumbrella_dropins/templates/dropins/new.html #}`) is that file of
examples/redumbrella-dropins, whole, or in parts when later blocks say "(continued)"; every file
of the package is shown; and its catalogs are in step with its code.

tests/test_plugin_example.py installs the same package and runs its tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-a-plugin.md"
EXAMPLE = ROOT / "examples" / "redumbrella-dropins"
MARKER = re.compile(r"^(?:#|\{#)\s*(?P<path>[\w./-]+\.\w+)(?P<continued>\s+\(continued\))?\s*(?:#\})?$")
# Made by tools, not written by hand: the .pot by `extract` (checked below), the rest by builds.
GENERATED = re.compile(r"(\.pot|\.mo|\.pyc)$|(^|/)(build|dist|__pycache__|[^/]*\.egg-info)(/|$)")


def fenced_blocks(text: str) -> list[list[str]]:
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def files_shown(text: str) -> dict[str, str]:
    """{path: the text the doc shows for it}, its parts joined as a module's top-level parts are."""
    shown: dict[str, list[str]] = {}
    for block in fenced_blocks(text):
        match = MARKER.match(block[0]) if block else None
        if not match:
            continue
        path, body = match.group("path"), "\n".join(block[1:]) + "\n"
        if match.group("continued"):
            assert path in shown, f"{path}: a '(continued)' block comes before the first part"
            shown[path].append(body)
        else:
            assert path not in shown, f"{path}: shown twice without '(continued)'"
            shown[path] = [body]
    return {path: "\n\n".join(parts) for path, parts in shown.items()}


def package_files() -> set[str]:
    """The example's files, less generated ones and hidden folders (.ruff_cache, .pytest_cache)."""
    found = set()
    for path in EXAMPLE.rglob("*"):
        relative = path.relative_to(EXAMPLE)
        hidden = any(part.startswith(".") for part in relative.parts)
        if path.is_file() and not hidden and not GENERATED.search(relative.as_posix()):
            found.add(relative.as_posix())
    return found


def test_every_file_the_doc_shows_is_the_example_file():
    shown = files_shown(DOC.read_text(encoding="utf-8"))
    assert "redumbrella_dropins/hooks.py" in shown  # the markers were found at all
    for path, text in sorted(shown.items()):
        actual = EXAMPLE / path
        assert actual.is_file(), f"the doc shows {path}, which examples/redumbrella-dropins does not have"
        assert text == actual.read_text(encoding="utf-8"), (
            f"docs/writing-a-plugin.md shows {path} differently from examples/redumbrella-dropins/{path}"
        )


def test_the_doc_shows_every_file_of_the_example():
    shown = set(files_shown(DOC.read_text(encoding="utf-8")))
    assert package_files() - shown == set(), "files of the example the tutorial never shows"


def test_a_changed_line_or_a_missing_file_fails_the_comparison():
    """The check above can fail: one changed character, and one file left out, are both seen."""
    text = DOC.read_text(encoding="utf-8")
    changed = text.replace('table_name = "dropins_dropin"', 'table_name = "dropins_dropins"', 1)
    assert changed != text
    shown = files_shown(changed)
    assert shown["redumbrella_dropins/models.py"] != (EXAMPLE / "redumbrella_dropins/models.py").read_text()
    without = text.replace("# redumbrella_dropins/tasks.py\n", "# tasks, not marked\n", 1)
    assert "redumbrella_dropins/tasks.py" in package_files() - set(files_shown(without))


def test_continued_parts_join_like_top_level_code():
    text = "```python\n# pkg/a.py\nx = 1\n```\n\nprose\n\n```python\n# pkg/a.py (continued)\ny = 2\n```\n"
    assert files_shown(text) == {"pkg/a.py": "x = 1\n\n\ny = 2\n"}


def test_the_catalog_template_is_what_extract_writes(tmp_path):
    """Every string of the example is in its .pot (extracted as the tutorial says), and so in the
    Spanish catalog, translated."""
    from babel.messages.pofile import read_po

    fresh = tmp_path / "dropins.pot"
    subprocess.run(  # noqa: S603 - the tutorial's own command
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "--no-location", "--sort-output", "--omit-header", "-o", str(fresh),
         "redumbrella_dropins"],
        cwd=EXAMPLE, check=True, capture_output=True,
    )
    committed = EXAMPLE / "redumbrella_dropins" / "translations" / "dropins.pot"
    assert fresh.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
        "the example's dropins.pot is out of date: run the tutorial's extract and update commands"
    )
    with fresh.open("rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with (EXAMPLE / "redumbrella_dropins/translations/es/LC_MESSAGES/dropins.po").open("rb") as handle:
        spanish = {message.id: message.string for message in read_po(handle, locale="es") if message.id}
    assert wanted == set(spanish), "the Spanish catalog and the template have different strings"
    assert [msgid for msgid, text in spanish.items() if not text] == [], "strings left untranslated"


def test_mail_templates_are_packaged_and_their_strings_extracted(tmp_path):
    """A mail template (templates/dropins/mail/*.txt) is package data and babel.cfg reads it, so
    an installed plugin has its mail text, translated (findings C, M2)."""
    import glob
    import shutil
    import tomllib

    patterns = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = tmp_path / "redumbrella_dropins"
    mail = package / "templates" / "dropins" / "mail" / "reminder.txt"
    mail.parent.mkdir(parents=True)
    mail.write_text('{% block subject %}{{ _("A drop-in reminder") }}{% endblock %}\n', encoding="utf-8")
    shipped = {name for pattern in patterns["redumbrella_dropins"]  # setuptools globs recursively too
               for name in glob.glob(pattern, root_dir=package, recursive=True)}
    assert "templates/dropins/mail/reminder.txt" in shipped

    shutil.copy(EXAMPLE / "babel.cfg", tmp_path / "babel.cfg")
    subprocess.run(  # noqa: S603 - the tutorial's own command
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-o", "out.pot",
         "redumbrella_dropins"], cwd=tmp_path, check=True, capture_output=True,
    )
    assert 'msgid "A drop-in reminder"' in (tmp_path / "out.pot").read_text(encoding="utf-8")
