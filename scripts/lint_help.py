"""The help rules of `azdev linter` that need no azdev: run by `make lint`, exit 1 on any finding.

azdev's linter needs an azure-cli source checkout; these rules need only the installed az:
- every command and group has help with a short summary; every argument has help text;
- no HTML-like tag `<...>` in any help text unless it is inside backticks (the docs build
  swallows it: `<name>` renders as nothing);
- every command has at least one example, and each example runs that very command;
- a command named `show` is registered with show_command / custom_show_command;
- short options are one character.
The checks are pure functions over plain data (`Command`, the helps mapping), so tests feed them
crafted input; `main` loads the real command table with az's test CLI.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

_TAG = re.compile(r"<([^\n>]+)>")
_BACKTICKED = re.compile(r"`[^`]*`")


@dataclass(frozen=True)
class Command:
    """What the rules need of one registered command."""

    name: str
    is_show_operation: bool
    arguments: Mapping[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)  # dest -> (options, help)


def html_tags(text: str) -> list[str]:
    """The `<...>` tags in `text` outside backticks."""
    return ["<" + m + ">" for m in _TAG.findall(_BACKTICKED.sub("", text or ""))]


def _texts(entry: Mapping) -> Iterator[tuple[str, str]]:
    """(where, text) of every help text of a help entry."""
    for key in ("short-summary", "long-summary"):
        if entry.get(key):
            yield key, str(entry[key])
    for index, example in enumerate(entry.get("examples") or ()):
        yield f"example {index} name", str(example.get("name", ""))
    for parameter in entry.get("parameters") or ():
        for key in ("short-summary", "long-summary"):
            if parameter.get(key):
                yield f"parameter {parameter.get('name')} {key}", str(parameter[key])


def check_entry(name: str, entry: Mapping, *, is_command: bool) -> list[str]:
    """Findings for one help entry (group or command)."""
    findings = []
    if not entry.get("short-summary"):
        findings.append(f"{name}: missing short-summary")
    for where, text in _texts(entry):
        for tag in html_tags(text):
            findings.append(f"{name}: HTML-like tag {tag} in {where} (wrap a placeholder in backticks or rephrase)")
    if is_command:
        examples = entry.get("examples") or ()
        if not examples:
            findings.append(f"{name}: no examples")
        for index, example in enumerate(examples):
            if "az " + name not in str(example.get("text", "")):
                findings.append(f"{name}: example {index} does not run 'az {name}'")
    return findings


def check_command(command: Command) -> list[str]:
    """Findings for one registered command: show_command, argument help, short options."""
    findings = []
    if command.name.split()[-1] == "show" and not command.is_show_operation:
        findings.append(f"{command.name}: a show command must be registered with show_command or custom_show_command")
    for dest, (options, help_text) in sorted(command.arguments.items()):
        if not (help_text or "").strip():
            findings.append(f"{command.name}: argument {dest} has no help")
        for tag in html_tags(help_text or ""):
            findings.append(f"{command.name}: HTML-like tag {tag} in the help of argument {dest}")
        for option in options:
            if not option.startswith("--") and len(option) != 2:
                findings.append(f"{command.name}: multi-character short option {option}")
    return findings


def check_all(commands: Iterable[Command], groups: Iterable[str], helps: Mapping[str, Mapping]) -> list[str]:
    """Every finding over the whole command table and help."""
    findings: list[str] = []
    commands = list(commands)
    for name in sorted(groups):
        if name not in helps:
            findings.append(f"{name}: group without help")
        else:
            findings.extend(check_entry(name, helps[name], is_command=False))
    for command in sorted(commands, key=lambda c: c.name):
        if command.name not in helps:
            findings.append(f"{command.name}: command without help")
        else:
            findings.extend(check_entry(command.name, helps[command.name], is_command=True))
        findings.extend(check_command(command))
    return findings


def load() -> tuple[list[Command], set[str], dict[str, Mapping]]:
    """The extension's commands, groups and parsed help, loaded the way az's main loader does."""
    import yaml
    from azure.cli.core.commands.command_operation import ShowCommandOperation
    from azure.cli.core.mock import DummyCli

    from azext_prototype import PrototypeCommandsLoader
    from azext_prototype._help import helps

    loader = PrototypeCommandsLoader(cli_ctx=DummyCli())
    loader.skip_applicability = True  # no invocation here: register every scope's arguments
    table = loader.load_command_table(None)
    commands = []
    for name, command in table.items():
        # As azure.cli.core's MainCommandsLoader.load_arguments: reflect, register, merge.
        command.load_arguments()
        loader.command_name = name
        loader.load_arguments(name)
        for dest in command.arguments:
            command.update_argument(dest, loader.argument_registry.get_cli_argument(name, dest))
        arguments = {
            dest: (tuple(o for o in (arg.type.settings.get("options_list") or ()) if isinstance(o, str)),
                   str(arg.type.settings.get("help") or ""))
            for dest, arg in command.arguments.items()
            if dest != "cmd"  # az's main loader registers `cmd` as ignored: it is never an option
        }
        operation = getattr(command.handler, "__self__", None)
        commands.append(Command(name, isinstance(operation, ShowCommandOperation), arguments))
    groups = {" ".join(c.name.split()[:depth]) for c in commands for depth in range(1, len(c.name.split()))}
    return commands, groups, {name: yaml.safe_load(text) for name, text in helps.items()}


def main() -> int:
    """Print each finding; exit 1 when there is any."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    commands, groups, helps = load()
    findings = check_all(commands, groups, helps)
    for finding in findings:
        print(finding)
    print(f"help lint: {len(commands)} commands, {len(groups)} groups, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
