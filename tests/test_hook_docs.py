"""Every hook a plugin can implement is documented in docs/plugin-hooks.md, and nothing else is.

Hookspecs are found the way the platform finds them: core's (core/hookspecs.py) and each
installed plugin's own module named by PluginInfo(hookspecs=...), through the PluginRegistry of a
created app. A hook is documented when docs/plugin-hooks.md has a `## name` section with a fenced
code block that shows its signature exactly, `name(arg, ...)`. A `## name` section for a hook that
no longer exists fails too, so the page cannot drift either way.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import ModuleType

from core import hookspecs
from core.hookspecs import hookspec
from core.plugins import PluginInfo, get_registry

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugin-hooks.md"
# A hook's section is a level-2 heading that is a bare snake_case name; prose headings have spaces.
HOOK_HEADING = re.compile(r"^## ([a-z_][a-z0-9_]*)\s*$")


def hookspec_signatures(app) -> dict[str, str]:
    """{hook name: "name(arg, ...)"} for core's hookspecs and every installed plugin's."""
    registry = get_registry(app)
    modules = [hookspecs] + [info.hookspecs for info in registry.infos.values() if info.hookspecs is not None]
    found: dict[str, str] = {}
    for module in modules:
        for name, function in vars(module).items():
            if registry.pm.parse_hookspec_opts(module, name) is None:
                continue  # not a hookspec (imports, markers, helpers)
            found[name] = f"{name}{inspect.signature(function)}"
    return found


def hook_sections(text: str) -> dict[str, list[str]]:
    """{hook name: [its section's lines]} for every `## snake_case` heading outside code blocks.

    A heading that appears twice is returned under "name#2" so it is reported, not merged.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            match = HOOK_HEADING.match(line)
            current = None
            if match:
                name = match.group(1)
                key = name if name not in sections else f"{name}#2"
                current = sections.setdefault(key, [])
                continue
        if current is not None:
            current.append(line)
    return sections


def fenced_code(lines: list[str]) -> str:
    """The contents of every fenced code block among the lines, joined."""
    code, in_fence = [], False
    for line in lines:
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif in_fence:
            code.append(line.strip())
    return "\n".join(code)


def doc_problems(signatures: dict[str, str], text: str) -> list[str]:
    """Every way the page and the hookspecs disagree, one line each (empty when they agree)."""
    sections = hook_sections(text)
    problems = []
    for name, signature in sorted(signatures.items()):
        if name not in sections:
            problems.append(f"{name}: no '## {name}' section in docs/plugin-hooks.md")
        elif signature not in fenced_code(sections[name]).splitlines():
            problems.append(f"{name}: its section has no code block line reading exactly `{signature}`")
    for name in sorted(set(sections) - set(signatures)):
        if name.endswith("#2"):
            problems.append(f"{name[:-2]}: documented twice")
        else:
            problems.append(f"{name}: documented, but no hookspec of that name exists")
    return problems


def test_every_hookspec_is_documented_with_its_signature(app):
    signatures = hookspec_signatures(app)
    assert "register_blueprints" in signatures  # discovery found core's hookspecs at all
    assert doc_problems(signatures, DOC.read_text(encoding="utf-8")) == []


def test_discovery_sees_every_hookspec_the_plugin_manager_knows(app):
    """Nothing reaches the plugin manager's hookspecs by a route this test does not look at."""
    pm = get_registry(app).pm
    known = {name for name, caller in vars(pm.hook).items() if getattr(caller, "spec", None) is not None}
    assert set(hookspec_signatures(app)) == known


def _plugin_with_its_own_hookspec() -> ModuleType:
    """A plugin that, like reporting, defines an event hook for other plugins."""
    specs = ModuleType("docsprobe_hookspecs")

    @hookspec
    def docsprobe_happened(app, thing):
        """An event only this test knows."""

    specs.docsprobe_happened = docsprobe_happened
    plugin = ModuleType("docsprobe_hooks")
    plugin.plugin_info = PluginInfo(name="docsprobe", label="Docs probe", hookspecs=specs)
    return plugin


def test_an_undocumented_plugin_hookspec_fails_the_check(make_app):
    probe_app = make_app(extra_plugins=[_plugin_with_its_own_hookspec()])
    signatures = hookspec_signatures(probe_app)
    assert signatures["docsprobe_happened"] == "docsprobe_happened(app, thing)"
    text = DOC.read_text(encoding="utf-8")
    assert doc_problems(signatures, text) == [
        "docsprobe_happened: no '## docsprobe_happened' section in docs/plugin-hooks.md"
    ]

    documented = text + "\n## docsprobe_happened\n\n```python\ndocsprobe_happened(app, thing)\n```\n"
    assert doc_problems(signatures, documented) == []


def test_a_wrong_signature_a_stale_section_and_a_repeat_fail_the_check(app):
    signatures = hookspec_signatures(app)
    text = DOC.read_text(encoding="utf-8")

    wrong = text.replace("\nnav_items(app, user)\n", "\nnav_items(app)\n")
    assert wrong != text
    assert doc_problems(signatures, wrong) == [
        "nav_items: its section has no code block line reading exactly `nav_items(app, user)`"
    ]

    stale = text + "\n## register_widgets\n\n```python\nregister_widgets(app)\n```\n"
    assert doc_problems(signatures, stale) == ["register_widgets: documented, but no hookspec of that name exists"]

    repeated = text + "\n## nav_items\n\nAgain.\n"
    assert doc_problems(signatures, repeated) == ["nav_items: documented twice"]


def test_headings_inside_code_blocks_are_not_sections():
    text = "## How hooks are called\n\n```python\n## not_a_hook\n```\n\n## real_hook\n\n```\nreal_hook(app)\n```\n"
    assert doc_problems({"real_hook": "real_hook(app)"}, text) == []


# -- behaviour: when and on which plugins each hook is called --------------------------------------

ROOT = DOC.parent.parent
CALL = re.compile(r"\.(call|collect|call_each|call_plugin|notify)\(\s*\"([a-z_]+)\"")
# Hooks called with a name held in a variable, and where: (file, the text of that call).
CALLED_BY_NAME_IN_A_VARIABLE = {
    "plugin_enabled": ("core/plugins.py", "self.notify(hook, include=(name,)"),
    "plugin_disabled": ("core/plugins.py", "self.notify(hook, include=(name,)"),
}
PHRASES = {"installed": "every installed plugin", "enabled": "enabled plugins"}


def _call_text(text: str, start: int) -> str:
    """The whole call starting at `start` (the dot), up to its closing parenthesis."""
    depth, index = 0, text.index("(", start)
    for position in range(index, len(text)):
        depth += {"(": 1, ")": -1}.get(text[position], 0)
        if depth == 0:
            return text[start:position + 1]
    return text[start:]


def call_sites(roots=("core", "plugins")) -> dict[str, set[str]]:
    """{hook: {"installed" | "enabled" | "one"}}: how core and the plugins call each hook, read from
    their source. call_each reaches every installed plugin unless enabled_only=True; call and
    collect (and notify, for events) reach enabled plugins unless they include every installed one;
    call_plugin one plugin."""
    found: dict[str, set[str]] = {}
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for match in CALL.finditer(text):
                method, hook, call = match.group(1), match.group(2), _call_text(text, match.start())
                if method == "call_each":
                    kind = "enabled" if "enabled_only=True" in call else "installed"
                elif method == "call_plugin":
                    kind = "one"
                else:
                    kind = "installed" if "include=tuple(registry.infos)" in call else "enabled"
                found.setdefault(hook, set()).add(kind)
    for hook, (file, call) in CALLED_BY_NAME_IN_A_VARIABLE.items():
        assert call in (ROOT / file).read_text(encoding="utf-8"), f"{hook}: no longer called as {call}"
        found.setdefault(hook, set()).add("enabled")
    return found


def paragraph(lines: list[str], label: str) -> str:
    """The paragraph of a section that starts with **label:**, as one line of plain words."""
    text = "\n".join(lines)
    start = text.find(f"**{label}:**")
    if start < 0:
        return ""
    end = text.find("\n\n", start)
    return " ".join(text[start:end if end >= 0 else None].replace("**", "").split())


def behaviour_problems(signatures: dict[str, str], text: str, sites: dict[str, set[str]]) -> list[str]:
    sections = hook_sections(text)
    problems = []
    for name in sorted(signatures):
        lines = sections.get(name)
        if lines is None:
            continue  # reported by doc_problems
        called, returned = paragraph(lines, "Called"), paragraph(lines, "Return")
        if not called:
            problems.append(f"{name}: no '**Called:**' paragraph saying when and on which plugins")
        if not returned:
            problems.append(f"{name}: no '**Return:**' paragraph saying what to return")
        if name not in sites:
            problems.append(f"{name}: nothing in core/ or plugins/ calls it")
            continue
        for kind in sorted(sites[name] - {"one"}):
            if PHRASES[kind] not in called.lower():
                problems.append(f"{name}: called on {PHRASES[kind]}, which its 'Called' paragraph does not say")
    return problems


def test_every_hook_says_when_it_is_called_and_on_which_plugins_as_the_code_does(app):
    signatures = hookspec_signatures(app)
    sites = call_sites()
    assert sites["register_blueprints"] == {"installed"} and sites["nav_items"] == {"enabled"}
    assert sites["retention_rules"] == {"enabled"} and sites["settings_schema"] == {"one"}
    assert behaviour_problems(signatures, DOC.read_text(encoding="utf-8"), sites) == []


def test_a_section_that_misstates_which_plugins_are_called_fails(app):
    signatures = hookspec_signatures(app)
    sites = call_sites()
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## register_tasks\n", 1)[1].split("\n## ", 1)[0]
    wrong = text.replace(section, section.replace("**every installed\nplugin**", "**enabled plugins only**", 1))
    assert wrong != text
    assert behaviour_problems(signatures, wrong, sites) == [
        "register_tasks: called on every installed plugin, which its 'Called' paragraph does not say"
    ]
    uncalled = behaviour_problems(signatures, text, {k: v for k, v in sites.items() if k != "demo_data"})
    assert uncalled == ["demo_data: nothing in core/ or plugins/ calls it"]
