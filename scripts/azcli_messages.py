"""Harvest the error message templates and the terms of the installed azure-cli (its real sources).

Used twice: by `build_vocabulary.py` (az's own words, flags and provider names go into the
shipped vocabulary) and by the corpus test (every template, placeholders filled with planted
private values, must come out of `sanitize_error` with nothing planted and most words kept).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

PLACEHOLDER = object()  # one slot of a template, filled by the caller
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifgxXeEc]")
_BRACES = re.compile(r"\{[^{}]*\}")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_PROVIDER = re.compile(r"\bMicrosoft\.[A-Za-z]+(?:/[A-Za-z]+){0,3}")


@dataclass(frozen=True)
class Template:
    """One raised error: its exception class and the message as literal text and slots."""

    kind: str
    parts: tuple[object, ...]
    source: str

    @property
    def literal_text(self) -> str:
        return " ".join(p for p in self.parts if isinstance(p, str))

    @property
    def slots(self) -> int:
        return sum(1 for p in self.parts if p is PLACEHOLDER)


def azure_cli_root() -> Path:
    """The installed azure-cli's `azure/cli` folder."""
    import azure.cli.core

    return Path(azure.cli.core.__file__).resolve().parent.parent


def source_files(root: Path) -> Iterator[Path]:
    """azure-cli's own modules: not its tests, not the vendored SDKs."""
    for path in sorted(root.rglob("*.py")):
        text = str(path)
        if "/tests/" in text or "vendored_sdks" in text:
            continue
        yield path


def _split_format(text: str, pattern: re.Pattern[str]) -> list[object]:
    parts: list[object] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(text[last:match.start()])
        parts.append(PLACEHOLDER)
        last = match.end()
    parts.append(text[last:])
    return parts


def _message_parts(node: ast.AST) -> list[object] | None:
    """Literal text and slots of a message expression, or None when it is not built from a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts: list[object] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append(PLACEHOLDER)
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            return _split_format(node.left.value, _PERCENT)
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _message_parts(node.left), _message_parts(node.right)
        if left is None and right is None:
            return None
        return (left or [PLACEHOLDER]) + (right or [PLACEHOLDER])
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str)):
        return _split_format(node.func.value.value, _BRACES)
    return None


def _exception_name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def templates(root: Path | None = None) -> list[Template]:
    """Every `raise SomethingError(<message literal>)` of azure-cli, in file order."""
    found: list[Template] = []
    base = root or azure_cli_root()
    for path in source_files(base):
        source = path.read_text(encoding="utf-8", errors="replace")
        if "raise" not in source:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args):
                continue
            kind = _exception_name(node.exc.func)
            if not kind.endswith(("Error", "Exception")):
                continue
            parts = _message_parts(node.exc.args[0])
            if parts is None:
                continue
            merged = [p for p in parts if p is PLACEHOLDER or p]
            if any(isinstance(p, str) and p.strip() for p in merged):
                found.append(Template(kind, tuple(merged), f"{path.relative_to(base)}:{node.lineno}"))
    return found


def string_constants(root: Path | None = None) -> Iterator[str]:
    """Every string literal of azure-cli's sources (for flag and provider names)."""
    for path in source_files(root or azure_cli_root()):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 400:
                yield node.value


def flags_in(text: str) -> list[str]:
    """`--resource-group` style flag names in a text."""
    return _FLAG.findall(text)


def providers_in(text: str) -> list[str]:
    """`Microsoft.Web/sites` style resource-provider names in a text."""
    return _PROVIDER.findall(text)
