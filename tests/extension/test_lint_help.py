"""scripts/lint_help.py: the azdev linter's help rules find what they should (and the tree passes)."""

from __future__ import annotations

import sys

import pytest

import azcli

sys.path.insert(0, str(azcli.REPO / "scripts"))
import lint_help  # noqa: E402  (scripts/ is not a package: put it on the path first)

GOOD = {
    "type": "command",
    "short-summary": "Show the thing.",
    "examples": [{"name": "Show it.", "text": "az demo show --name x"}],
}


def test_html_like_tags_are_found_outside_backticks_only():
    assert lint_help.html_tags("Creates <output-dir>/<name>.") == ["<output-dir>", "<name>"]
    assert lint_help.html_tags("Creates `<output-dir>/<name>`.") == []


@pytest.mark.parametrize("entry, finding", [
    ({**GOOD, "long-summary": "In <az config dir>."}, "HTML-like tag <az config dir> in long-summary"),
    ({**GOOD, "examples": []}, "no examples"),
    ({**GOOD, "examples": [{"name": "n", "text": "az other show"}]}, "example 0 does not run 'az demo show'"),
    ({k: v for k, v in GOOD.items() if k != "short-summary"}, "missing short-summary"),
])
def test_help_entry_rules(entry, finding):
    assert lint_help.check_entry("demo show", GOOD, is_command=True) == []
    assert any(finding in f for f in lint_help.check_entry("demo show", entry, is_command=True))


def test_command_rules():
    ok = lint_help.Command("demo show", True, {"name": (("--name", "-n"), "The name.")})
    assert lint_help.check_command(ok) == []
    bad = lint_help.Command("demo show", False, {"name": (("--name", "-nm"), ""), "dir": (("--dir",), "Into <dir>.")})
    findings = "\n".join(lint_help.check_command(bad))
    assert "show_command" in findings and "argument name has no help" in findings
    assert "multi-character short option -nm" in findings and "<dir>" in findings


def test_commands_and_groups_without_help_are_findings():
    findings = lint_help.check_all([lint_help.Command("demo show", True)], {"demo"}, {})
    assert findings == ["demo: group without help", "demo show: command without help"]


def test_the_extension_passes_its_own_help_rules():
    commands, groups, helps = lint_help.load()
    assert {"prototype config show", "prototype telemetry show"} <= {c.name for c in commands}
    assert lint_help.check_all(commands, groups, helps) == []
