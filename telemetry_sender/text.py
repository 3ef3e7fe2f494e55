"""Text for a person's terminal or a log line: control characters made visible, long text shortened or wrapped.

Every string that comes from a spool (properties, file names, service messages, reasons)
is untrusted: a raw ESC can retitle or clear the engineer's terminal and a raw newline
can forge a log line. `printable` is the one place that turns them into visible escapes;
JSON output needs no help (json.dumps escapes them itself).
"""

from __future__ import annotations

import textwrap
from typing import Any

# The custom properties a one-line view of an event shows beside its command and outcome.
SHOWN_PROPERTIES = ("provider", "model", "location", "resourceType", "sku")
ELLIPSIS = "..."

_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def printable(value: object) -> str:
    """`value` as text with every character Python calls unprintable shown as a visible escape.

    That is C0/C1 controls and DEL, format characters such as the bidi overrides that reorder
    a line on screen ("Trojan Source"), line and paragraph separators, and spaces other than " ".
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, and fast: nothing to escape
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters (whitespace runs collapsed), cut with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - len(ELLIPSIS))] + ELLIPSIS


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """`text` whole, escaped and wrapped into lines of at most `width` characters, each after `indent`."""
    lines = textwrap.wrap(printable(text), width=max(20, width - len(indent)),
                          break_long_words=True, break_on_hyphens=False)
    return [indent + line for line in lines] or [indent]


def printable_tree(value: Any) -> Any:
    """A JSON-like value with every string in it (keys too) made `printable`, for output formats that print raw text."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(k) if isinstance(k, str) else k: printable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_tree(v) for v in value]
    return value
